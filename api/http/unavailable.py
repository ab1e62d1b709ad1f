"""Fail closed while the database is unreachable: 503 + Retry-After.

A request that needs the database and cannot reach it must neither be
acknowledged (2xx for work that was not stored) nor look like a bug (a bare 500):
it gets 503 with Retry-After, which webhook senders and API clients retry.
Webhooks and every money-moving mutation are idempotent, so their retries are
safe; catalogue edits have no idempotency key and a retry may repeat one. asyncpg's pool reconnects by itself once
the server is back, so nothing has to restart.
"""

import errno
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import asyncpg
import httpx
from graphql import GraphQLError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from tortoise.exceptions import DBConnectionError

logger = logging.getLogger("ladder.http")

CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "The service cannot reach its database; retry later."

# What asyncpg and tortoise raise when the server is gone, restarting or full.
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02: a sibling backend crashed
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.ConnectionDoesNotExistError,  # closed in the middle of an operation
    DBConnectionError,
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,
    socket.gaierror,  # the database host does not resolve
)
_NETWORK_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ETIMEDOUT}


class DatabaseUnavailableError(Exception):
    """Raised where a failure was caught before it could reach the middleware."""


def is_database_unavailable(error: BaseException) -> bool:
    """True when the error, or one it came from, says the database is unreachable."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < 100:  # chains are short; never loop on a cycle
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _is_unavailable(current):
            return True
        if isinstance(current, httpx.HTTPError):
            continue  # a platform's outage, not ours (httpx chains the OSError)
        if isinstance(current, GraphQLError) and current.original_error is not None:
            pending.append(current.original_error)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(
            e for e in (current.__cause__, current.__context__) if e is not None
        )
    return False


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, (DatabaseUnavailableError, *_DRIVER_ERRORS)):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        # asyncpg's words for a connection the server closed under us
        return "connection is closed" in str(error)
    if isinstance(error, OSError):
        # asyncio reports every failed address of a host as one plain OSError
        return error.errno in _NETWORK_ERRNOS or str(error).startswith(
            "Multiple exceptions"
        )
    return False


def response(retry_after_seconds: int) -> JSONResponse:
    """GraphQL-shaped, so API clients parse one format and see a typed code."""
    return JSONResponse(
        {
            "errors": [
                {
                    "message": MESSAGE,
                    "extensions": {
                        "code": CODE,
                        "retryAfterSeconds": retry_after_seconds,
                    },
                }
            ]
        },
        status_code=503,
        headers={"retry-after": str(retry_after_seconds)},
    )


class FailClosed:
    """ASGI middleware: a request that failed because the database is unreachable
    gets 503 + Retry-After instead of Starlette's 500."""

    def __init__(self, app: ASGIApp, retry_after_seconds: int) -> None:
        self.app = app
        self.retry_after_seconds = retry_after_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            if started:
                # Work after the answer (a privacy request's or an uninstall's
                # processing) failed; the inbox keeps the delivery and the
                # maintenance loop redrives it.
                logger.warning(
                    "database unavailable after the response was sent",
                    exc_info=error,
                )
                return
            logger.warning("database unavailable: %s answered 503", scope["path"])
            await response(self.retry_after_seconds)(scope, receive, send)


_seen: ContextVar[list[GraphQLError] | None] = ContextVar(
    "ladder_database_errors", default=None
)


class DatabaseErrorProbe(SchemaExtension):
    """Notes resolver errors caused by an unreachable database before MaskErrors
    anonymises them, so the view can answer 503 instead of a masked 200.

    Add it after the masking extension: execution hooks exit before operation
    hooks, so it sees the original errors.
    """

    def on_execute(self) -> Iterator[None]:
        yield
        seen = _seen.get()
        errors = getattr(self.execution_context.result, "errors", None)
        if seen is not None and errors:
            seen.extend(e for e in errors if is_database_unavailable(e))


@contextmanager
def watch_graphql() -> Iterator[list[GraphQLError]]:
    """Collect, for one execution, the errors DatabaseErrorProbe flagged."""
    seen: list[GraphQLError] = []
    token = _seen.set(seen)
    try:
        yield seen
    finally:
        _seen.reset(token)

"""ASGI middleware: every HTTP response carries `x-request-id`, and a crash that
escaped every handler answers a GraphQL-shaped 500 naming that id (never a
traceback) while the log line with the traceback names it too."""

import logging

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core import request_id

logger = logging.getLogger("ladder.http")


class RequestId:
    """Outermost middleware, so 413s, 429s and 503s carry the id as well."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id.accept(Headers(scope=scope).get(request_id.HEADER))
        request_id.set_current(rid)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[request_id.HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:
                raise  # too late to answer; the server logs it as before
            logger.exception("unhandled error, request %s", rid)
            await _crashed(rid)(scope, receive, send_with_id)


def _crashed(rid: str) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": "Unexpected error.",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid},
                }
            ]
        },
        status_code=500,
    )

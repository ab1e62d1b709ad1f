"""A small GraphQL-over-HTTP client for tests, and a SQL statement counter."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Result:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def error_codes(self) -> list[str | None]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


class GraphQLClient:
    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        sent = {"content-type": "application/json", **(headers or {})}
        if key:
            sent["authorization"] = f"Bearer {key}"
        if token:
            sent["x-ladder-customer-token"] = token
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=sent,
        )
        return Result(response.status_code, response.json())


@dataclass
class QueryCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


class _Collect(logging.Handler):
    def __init__(self, counter: QueryCounter):
        super().__init__(logging.DEBUG)
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().lstrip()
        if text.upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            self.counter.statements.append(text)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Count SQL statements run inside the block (for N+1 checks)."""
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    handler = _Collect(counter)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield counter
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def global_id(type_name: str, db_id: object) -> str:
    """The Relay global id the API shows for a row."""
    from strawberry import relay

    return relay.to_base64(type_name, str(db_id))

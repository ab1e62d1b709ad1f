"""A production-configured app (no introspection, no GraphiQL, no suggestions)
with a seeded store, and a way to send raw requests while counting SQL."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Environment, Settings
from api.stores.service import IssuedKeys
from tests.graphql import count_queries


@dataclass
class Sent:
    response: httpx.Response
    sql: list[str]

    @property
    def body(self) -> Any:
        return self.response.json()

    @property
    def messages(self) -> list[str]:
        return [e["message"] for e in self.body.get("errors", [])]


class Production:
    """Sends one request and records the SQL statements it ran."""

    def __init__(self, client: httpx.AsyncClient, keys: IssuedKeys):
        self.client = client
        self.keys = keys
        self.auth = {"authorization": f"Bearer {keys.secret_key}"}

    async def send(self, method: str, url: str = "/graphql", **kwargs: Any) -> Sent:
        with count_queries() as counter:
            response = await self.client.request(method, url, **kwargs)
        return Sent(response, counter.statements)

    async def post(self, body: Any, *, auth: bool = True, **headers: str) -> Sent:
        sent = {"content-type": "application/json", **headers}
        if auth:
            sent.update(self.auth)
        return await self.send("POST", json=body, headers=sent)


@pytest.fixture
async def production(
    settings: Settings, db_clean: None, store: IssuedKeys
) -> AsyncIterator[Production]:
    app = create_app(
        settings.model_copy(update={"environment": Environment.PRODUCTION}),
        manage_orm=False,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield Production(client, store)


def only_key_lookup(sql: list[str]) -> bool:
    """The one statement authentication runs; an attack must add nothing to it."""
    return len(sql) == 1 and "key_hash" in sql[0]

import httpx
import pytest

from api.http import health


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_when_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert (response.status_code, response.json()["database"]) == (200, "ok")


async def test_readyz_is_503_when_database_fails(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Down:
        async def execute_query(self, sql: str) -> None:
            raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(health, "get_connection", lambda name: Down())
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert (await client.get("/healthz")).status_code == 200

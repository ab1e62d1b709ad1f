"""Per-key request limits: a key over its budget gets 429 + THROTTLED with a
retry hint; other keys are not affected."""

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.http.ratelimit import RateLimiter
from api.settings import Settings
from api.stores.service import IssuedKeys

QUERY = {"query": "{ store { name } }"}


def test_bucket_bursts_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # 1 per second, bursts of 60
    assert [limiter.take("k") for _ in range(60)] == [0.0] * 60
    assert limiter.take("k") == pytest.approx(1.0)
    assert limiter.take("other") == 0.0
    now[0] += 1.0
    assert limiter.take("k") == 0.0


@pytest.fixture
async def limited(
    settings: Settings, db_clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 3}), manage_orm=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as c:
            yield c


async def test_fourth_request_in_a_minute_is_throttled(
    limited: httpx.AsyncClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    def auth(key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    statuses = [
        (
            await limited.post("/graphql", json=QUERY, headers=auth(store.secret_key))
        ).status_code
        for _ in range(3)
    ]
    throttled = await limited.post(
        "/graphql", json=QUERY, headers=auth(store.secret_key)
    )
    other = await limited.post(
        "/graphql", json=QUERY, headers=auth(other_store.secret_key)
    )
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    [error] = throttled.json()["errors"]
    assert error["extensions"]["code"] == "THROTTLED"
    assert error["extensions"]["retryAfterSeconds"] >= 1
    assert other.json() == {"data": {"store": {"name": "Store B"}}}

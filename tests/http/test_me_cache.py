"""The storefront `me` cache (api/http/me_cache.py) serves an answer only while
it is the answer a fresh computation would give."""

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from api.app import create_app
from api.core.clock import utc_now
from api.customers import service as customers
from api.http.me_cache import window_of
from api.ledger import service as ledger
from api.orders.events import OrderEventKind
from api.program import service as program
from api.rewards import service as rewards
from api.rewards.errors import RewardError
from api.settings import Settings
from api.stores import service as stores
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_reward,
    make_spend_rule,
    make_tier,
    order_event,
)
from tests.graphql import GraphQLClient, count_queries, global_id

ME = """{ me { pointsBalance pointsPending stage isLapsed tier { name }
  tierProgress { metric nextTier { name } amountToNext reviewAt amountToKeep }
  nudges { type data } pointsLots { remaining expiresAt }
  orders(first: 5) { edges { node { orderRef pointsEarned } } } } }"""
# The cache compares versions kept by PostgreSQL triggers (migration 0008).
pytestmark = pytest.mark.postgres
HEADER = "x-ladder-cache"
START = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
SECONDS = Settings.model_fields["me_cache_seconds"].default


async def _ask(
    client: httpx.AsyncClient, keys: IssuedKeys, token: str | None, query: str = ME
) -> httpx.Response:
    """A storefront request: the publishable key, and the shopper's token."""
    headers = {"authorization": f"Bearer {keys.publishable_key}"}
    if token is not None:
        headers["x-ladder-customer-token"] = token
    return await client.post("/graphql", json={"query": query}, headers=headers)


async def _me(
    client: httpx.AsyncClient, keys: IssuedKeys, token: str
) -> httpx.Response:
    response = await _ask(client, keys, token)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response


@pytest.fixture
async def uncached(
    settings: Settings, app: Starlette
) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database with the cache off: the reference."""
    reference = create_app(
        settings.model_copy(update={"me_cache_seconds": 0}), manage_orm=False
    )
    async with (
        reference.router.lifespan_context(reference),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=reference), base_url="http://testserver"
        ) as c,
    ):
        yield c


def _window_start(customer_id: UUID) -> datetime:
    """The start of the shopper's first cache window after START."""
    _, start = window_of(customer_id, START, SECONDS)
    return start + timedelta(seconds=SECONDS)


def _token(keys: IssuedKeys, customer_id: Any) -> str:
    return stores.mint_customer_token(keys.store, customer_id, ttl=timedelta(days=400))[
        0
    ]


async def test_a_repeated_me_is_served_from_the_cache(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    # Inside one window: two requests either side of its end are two misses.
    with time_machine.travel(_window_start(ada.id) + timedelta(seconds=3), tick=False):
        token = _token(store, ada.id)
        first = await _me(client, store, token)
        second = await _me(client, store, token)
    assert (first.headers[HEADER], second.headers[HEADER]) == ("miss", "hit")
    assert second.json() == first.json()


async def test_a_hit_is_one_statement_the_key_with_both_versions(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    with time_machine.travel(_window_start(ada.id) + timedelta(seconds=3), tick=False):
        token = _token(store, ada.id)
        await _me(client, store, token)
        with count_queries() as counter:
            hit = await _me(client, store, token)
    assert hit.headers[HEADER] == "hit"
    assert counter.count == 1, counter.statements


async def test_the_version_read_ahead_is_only_used_for_the_verified_shopper(
    client: httpx.AsyncClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    """The shopper a token names is read before the token is verified: a token
    of another store, or a forged one, must not lend that read to anyone."""
    ada = await make_customer(store.store, external_id="ada")
    eve = await make_customer(other_store.store, external_id="eve")
    await _me(client, store, _token(store, ada.id))
    # Eve's token sent with this store's key: refused, nothing served.
    crossed = await _ask(client, store, _token(other_store, eve.id))
    assert crossed.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    forged = stores.mint_customer_token(
        other_store.store, ada.id, ttl=timedelta(days=1)
    )
    refused = await _ask(client, store, forged[0])
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Ada's own answer still moves with her writes.
    async with in_transaction():
        await ledger.adjust(store.store, ada.id, points=5, reason="goodwill")
    after = await _me(client, store, _token(store, ada.id))
    assert after.headers[HEADER] == "miss"
    assert after.json()["data"]["me"]["pointsBalance"] == 5


async def test_a_write_about_the_shopper_is_seen_at_once(
    client: httpx.AsyncClient, gql: GraphQLClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    token = _token(store, ada.id)
    await _me(client, store, token)
    adjusted = await gql(
        """mutation($input: PointsAdjustInput!) { pointsAdjust(input: $input) {
        userErrors { code } } }""",
        {
            "input": {
                "customerId": global_id("Customer", ada.id),
                "points": 250,
                "reason": "goodwill",
                "idempotencyKey": "adjust-1",
            }
        },
        key=store.secret_key,
    )
    assert adjusted.data["pointsAdjust"]["userErrors"] == []
    after = await _me(client, store, token)
    assert after.headers[HEADER] == "miss"
    assert after.json()["data"]["me"]["pointsBalance"] == 250


async def test_a_programme_change_is_seen_at_once(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    token = _token(store, ada.id)
    before = await _me(client, store, token)
    assert before.json()["data"]["me"]["tierProgress"]["nextTier"] is None
    await make_tier(store.store, "Gold", 1, 1_000)
    after = await _me(client, store, token)
    assert after.headers[HEADER] == "miss"
    assert after.json()["data"]["me"]["tierProgress"]["nextTier"] == {"name": "Gold"}


async def test_answers_never_cross_shoppers_or_stores(
    client: httpx.AsyncClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    ada = await make_customer(store.store, external_id="ada")
    bob = await make_customer(store.store, external_id="bob", email="bob@example.com")
    eve = await make_customer(other_store.store, external_id="ada")
    async with in_transaction():
        await ledger.adjust(store.store, ada.id, points=7, reason="goodwill")
    seen = {}
    for keys, who in ((store, ada), (store, bob), (other_store, eve)):
        token = _token(keys, who.id)
        response = await _me(client, keys, token)
        assert response.headers[HEADER] == "miss"
        seen[who.id] = response.json()["data"]["me"]["pointsBalance"]
    assert seen == {ada.id: 7, bob.id: 0, eve.id: 0}


async def test_the_window_moves_on(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    start = _window_start(ada.id)
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        token = _token(store, ada.id)
        first = await _me(client, store, token)
        again = await _me(client, store, token)
    with time_machine.travel(start + timedelta(seconds=SECONDS + 1), tick=False):
        later = await _me(client, store, token)
    assert [r.headers[HEADER] for r in (first, again, later)] == ["miss", "hit", "miss"]


async def test_a_clock_boundary_inside_the_window_shows_from_the_next_one(
    client: httpx.AsyncClient, uncached: httpx.AsyncClient, store: IssuedKeys
) -> None:
    """Only the clock (here: lapsing) may be one window late; the answer is
    the one computed at the miss."""
    s = store.store
    await program.update_settings(s, {"lapse_days": 30})
    ada = await make_customer(s, external_id="cust-1")
    start = _window_start(ada.id)
    with time_machine.travel(start - timedelta(days=30) + timedelta(seconds=5)):
        await ingest(s, order_event(ref="o-1", customer="cust-1", at=utc_now()))
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        token = _token(store, ada.id)
        missed = await _me(client, store, token)
        fresh_then = await _me(uncached, store, token)
    with time_machine.travel(start + timedelta(seconds=7), tick=False):
        hit = await _me(client, store, token)
        fresh_now = await _me(uncached, store, token)
    with time_machine.travel(start + timedelta(seconds=SECONDS), tick=False):
        next_window = await _me(client, store, token)
    assert [missed.headers[HEADER], hit.headers[HEADER]] == ["miss", "hit"]
    assert missed.json() == fresh_then.json() == hit.json()
    assert hit.json()["data"]["me"]["isLapsed"] is False
    assert fresh_now.json()["data"]["me"]["isLapsed"] is True
    assert next_window.headers[HEADER] == "miss"
    assert next_window.json()["data"]["me"]["isLapsed"] is True


async def test_only_me_documents_for_a_shopper_are_cached(
    client: httpx.AsyncClient, gql: GraphQLClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    token = _token(store, ada.id)
    mixed = "{ me { pointsBalance } rewards(first: 1) { edges { node { id } } } }"
    for _ in range(2):
        response = await _ask(client, store, token, mixed)
        assert response.status_code == 200
        assert HEADER not in response.headers
        anonymous = await _ask(client, store, None)
        assert anonymous.json()["data"] == {"me": None}
        assert HEADER not in anonymous.headers


async def test_an_erased_shopper_is_not_served_from_the_cache(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    ada = await make_customer(store.store)
    token = _token(store, ada.id)
    await _me(client, store, token)
    async with in_transaction():
        await customers.erase(store.store, ada.id)
    after = await _ask(client, store, token)
    assert after.json()["data"] == {"me": None}


async def test_cached_answers_equal_fresh_ones_through_any_sequence_of_writes(
    client: httpx.AsyncClient, uncached: httpx.AsyncClient, store: IssuedKeys
) -> None:
    """Random writes of every kind, and time moving on, between reads: every
    cached answer is exactly what the app without a cache answered at the
    request that computed it, and every write is seen at once."""
    s = store.store
    rng = random.Random(20261123)
    shoppers = [
        await make_customer(s, external_id=f"c{i}", email=f"c{i}@example.com")
        for i in range(3)
    ]
    with time_machine.travel(START - timedelta(days=1)):
        tokens = {c.id: _token(store, c.id) for c in shoppers}
    now = START
    with time_machine.travel(now, tick=False) as clock:
        await make_spend_rule(s)
        await make_tier(s, "Silver", 1, 50)
        reward = await make_reward(s, cost=20)
        counter = 0

        async def order() -> None:
            nonlocal counter
            counter += 1
            who = rng.randrange(3)
            await ingest(
                s,
                order_event(
                    ref=f"o-{counter}",
                    customer=f"c{who}",
                    amount=rng.randrange(1_000, 9_000),
                    at=utc_now(),
                ),
            )

        async def refund() -> None:
            if counter:
                ref = f"o-{rng.randrange(1, counter + 1)}"
                await ingest(
                    s,
                    order_event(
                        OrderEventKind.REFUNDED,
                        ref=ref,
                        customer="c0",
                        refund_ref=f"r-{ref}-{rng.random()}",
                        refunded=500,
                        at=utc_now(),
                    ),
                )

        async def adjust() -> None:
            async with in_transaction():
                await ledger.adjust(
                    s, rng.choice(shoppers).id, points=rng.randrange(1, 60), reason="x"
                )

        async def redeem() -> None:
            try:
                async with in_transaction():
                    await rewards.redeem(s, rng.choice(shoppers).id, reward.id)
            except RewardError:
                pass  # not enough points: nothing written

        tiers_made = 0

        async def programme() -> None:
            nonlocal tiers_made
            tiers_made += 1
            if rng.random() < 0.5:
                await make_reward(
                    s, name=f"Reward {tiers_made}", cost=rng.randrange(5, 90)
                )
                return
            await make_tier(
                s, f"Tier {tiers_made}", 1 + tiers_made, 50 + 60 * tiers_made
            )

        async def settings() -> None:
            await program.update_settings(s, {"lapse_days": rng.randrange(30, 120)})

        async def time_passes() -> None:
            nonlocal now
            now += timedelta(seconds=rng.choice([3, 10, 60, 3600, 86400]))
            clock.move_to(now)

        writes: list[Callable[[], Awaitable[None]]] = [
            order,
            refund,
            adjust,
            redeem,
            programme,
            settings,
            time_passes,
        ]
        hits = 0
        computed_at: dict[UUID, datetime] = {}
        for step in range(60):
            if step % 2:
                await rng.choice(writes)()
            for shopper in shoppers:
                cached = await _me(client, store, tokens[shopper.id])
                if cached.headers[HEADER] == "miss":
                    computed_at[shopper.id] = now
                hits += cached.headers[HEADER] == "hit"
                # The reference: a fresh answer as of the request that
                # computed the cached one (a hit is never older than that).
                clock.move_to(computed_at[shopper.id])
                fresh = await _me(uncached, store, tokens[shopper.id])
                clock.move_to(now)
                assert cached.json() == fresh.json(), f"step {step}"
    assert hits > 20, "the sequence must exercise hits, not only misses"


@given(
    customer=st.uuids(),
    now=st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2040, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    seconds=st.integers(min_value=1, max_value=3600),
)
def test_a_window_holds_now_and_starts_where_it_turns(
    customer: UUID, now: datetime, seconds: int
) -> None:
    window, start = window_of(customer, now, seconds)
    assert start <= now < start + timedelta(seconds=seconds)
    assert start.microsecond == 0
    assert window_of(customer, start, seconds) == (window, start)
    before = start - timedelta(microseconds=1)
    assert window_of(customer, before, seconds)[0] == window - 1

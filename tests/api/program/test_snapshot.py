"""The programme snapshot (api/program/snapshot.py): read once per change,
and every change is seen by the very next order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from api.core.clock import utc_now
from api.program import service as program
from api.program import snapshot
from api.program.models import EarningRule
from api.stores.service import IssuedKeys
from api.versions import service as versions
from tests.factories.customers import make_customer
from tests.factories.program import ingest, make_spend_rule, make_tier, order_event
from tests.graphql import count_queries


async def test_each_programme_change_is_seen_by_the_next_order(
    store: IssuedKeys,
) -> None:
    s = store.store
    rule = await make_spend_rule(s, per_unit="1")
    await make_customer(s)
    earned = []

    async def pay(ref: str) -> None:
        result = await ingest(s, order_event(ref=ref, amount=10_000))
        earned.append(result.points_earned)

    await pay("o-1")
    await pay("o-2")  # unchanged programme
    await EarningRule.filter(id=rule.id).update(points_per_unit=Decimal(3))
    await pay("o-3")
    await program.save_campaign(
        s,
        program.CampaignFields(
            name="Double",
            starts_at=utc_now() - timedelta(days=1),
            ends_at=utc_now() + timedelta(days=1),
            multiplier=Decimal(2),
        ),
    )
    await pay("o-4")
    await make_tier(s, "Gold", 0, 0, multiplier="2")
    await pay("o-5")  # joins Gold with this order: the multiplier counts from the next
    await pay("o-6")
    assert earned == [100, 100, 300, 600, 600, 1200]


@pytest.mark.postgres
async def test_an_unchanged_programme_is_read_once(store: IssuedKeys) -> None:
    s = store.store
    await make_spend_rule(s)
    await make_tier(s, "Member", 0, 0)
    first = await snapshot.of(s)
    with count_queries() as counter:
        again = await snapshot.of(s)
    assert again is first
    assert counter.count == 1  # the version
    await make_tier(s, "Gold", 1, 100)
    changed = await snapshot.of(s)
    assert [t.name for t in changed.tiers] == ["Member", "Gold"]


@pytest.mark.postgres
async def test_a_programme_changed_in_a_rolled_back_transaction_is_not_kept(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_tier(s, "Member", 0, 0)
    seen: list[str] = []

    async def ghost_tier() -> None:
        async with in_transaction():
            await make_tier(s, "Ghost", 1, 100)
            seen.extend(t.name for t in (await snapshot.of(s)).tiers)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await ghost_tier()
    assert seen == ["Member", "Ghost"]
    await make_tier(s, "Gold", 1, 200)  # the same version number as the ghost's
    assert [t.name for t in (await snapshot.of(s)).tiers] == ["Member", "Gold"]


async def test_tiers_are_those_of_the_current_programme(store: IssuedKeys) -> None:
    s = store.store
    await make_tier(s, "Member", 0, 0)
    assert [t.name for t in await snapshot.tiers_of(s)] == ["Member"]
    await make_tier(s, "Gold", 1, 100)
    assert [t.name for t in await snapshot.tiers_of(s)] == ["Member", "Gold"]


@pytest.mark.postgres
async def test_tiers_of_an_unchanged_programme_cost_one_small_read(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_tier(s, "Member", 0, 0)
    first = await snapshot.tiers_of(s)  # keeps the programme
    with count_queries() as counter:
        again = await snapshot.tiers_of(s)
    assert again == first
    assert counter.count == 1  # the version


@pytest.mark.postgres
async def test_the_version_read_with_the_store_serves_the_kept_programme_unread(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_tier(s, "Member", 0, 0)
    first = await snapshot.of(s)
    version = await versions.of_store(s.id)
    with count_queries() as counter:
        again = await snapshot.of(s, read_at=version)
    assert again is first
    assert counter.count == 0
    # after a change, the version read with the store is not the kept one's:
    # the programme is read again
    await make_tier(s, "Gold", 1, 100)
    changed = await versions.of_store(s.id)
    assert changed != version
    with count_queries() as counter:
        fresh = await snapshot.of(s, read_at=changed)
    assert [t.name for t in fresh.tiers] == ["Member", "Gold"]
    assert counter.count > 1

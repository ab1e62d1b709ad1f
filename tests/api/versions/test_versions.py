"""Change versions (migration 0008): every table is classified, has its
triggers, and every kind of write moves the version a cached read compares."""

import contextlib
from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest
from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from api.customers import service as customers
from api.customers.models import Customer, CustomerIdentity, Platform
from api.customers.rules import CustomerChanges
from api.ledger import service as ledger
from api.orders.events import OrderEventKind
from api.orders.models import OrderRefund
from api.rewards import service as rewards
from api.rewards.models import Reward
from api.stores.models import Store
from api.stores.service import IssuedKeys
from api.tiers.models import Tier
from api.versions import service as versions
from api.versions.tables import CONFIG_TABLES, CUSTOMER_TABLES, UNVERSIONED
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_reward,
    make_spend_rule,
    make_tier,
    order_event,
    seed_everything,
)

pytestmark = pytest.mark.usefixtures("db_clean")
# The versions live in PostgreSQL triggers; SQLite has none (migration 0008).
on_postgres = pytest.mark.postgres


def _tables() -> set[str]:
    return {
        model._meta.db_table for app in Tortoise.apps.values() for model in app.values()
    }


def test_every_table_is_classified_exactly_once() -> None:
    kinds = [set(CUSTOMER_TABLES), set(CONFIG_TABLES), set(UNVERSIONED)]
    assert sum(len(k) for k in kinds) == len(set().union(*kinds)), "listed twice"
    assert set().union(*kinds) == _tables()


async def _trigger_tables() -> set[str]:
    rows = await get_connection("default").execute_query_dict(
        "SELECT DISTINCT event_object_table AS t FROM information_schema.triggers"
        " WHERE trigger_name LIKE '%\\_version'"
    )
    return {row["t"] for row in rows}


@on_postgres
async def test_every_versioned_table_has_its_triggers() -> None:
    assert await _trigger_tables() == CUSTOMER_TABLES | CONFIG_TABLES | {
        "customers",
        "stores",
    }


async def _versions(store: Store, customer_id: UUID) -> tuple[int, int]:
    customer = await versions.of_customer(store.id, customer_id)
    programme = await versions.of_store(store.id)
    assert customer is not None and programme is not None
    return customer, programme


@on_postgres
async def test_another_stores_customer_has_no_versions(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    customer = await make_customer(store.store)
    assert await versions.of_customer(other_store.store.id, customer.id) is None


async def _moves(
    store: Store, customer_id: UUID, write: Callable[[], Awaitable[object]]
) -> tuple[bool, bool]:
    before = await _versions(store, customer_id)
    await write()
    after = await _versions(store, customer_id)
    assert after[0] >= before[0] and after[1] >= before[1], "versions never go back"
    return after[0] > before[0], after[1] > before[1]


@on_postgres
async def test_writes_about_a_customer_move_only_that_customer(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    ada = await make_customer(s, external_id="ada")
    bob = await make_customer(s, external_id="bob", email="bob@example.com")
    reward = await make_reward(s, cost=10)

    async def adjust() -> None:
        async with in_transaction():
            await ledger.adjust(s, ada.id, points=500, reason="goodwill")

    async def redeem() -> None:
        async with in_transaction():
            await rewards.redeem(s, ada.id, reward.id)

    async def paid() -> None:
        await ingest(s, order_event(ref="o-1", customer="ada", amount=2_000))

    async def refunded() -> None:
        await ingest(
            s,
            order_event(
                OrderEventKind.REFUNDED,
                ref="o-1",
                customer="ada",
                amount=2_000,
                refund_ref="r-1",
                refunded=1_000,
            ),
        )

    async def renamed() -> None:
        async with in_transaction():
            await customers.update(
                s, ada.id, changes=CustomerChanges({"first_name": "Augusta"})
            )

    for write in (adjust, redeem, paid, refunded, renamed):
        bob_before = await _versions(s, bob.id)
        assert await _moves(s, ada.id, write) == (True, False), write.__name__
        assert (await _versions(s, bob.id))[0] == bob_before[0], write.__name__
    assert await OrderRefund.filter(store_id=s.id).count() == 1


@on_postgres
async def test_a_stale_orm_save_still_moves_the_version(store: IssuedKeys) -> None:
    s = store.store
    loaded = await make_customer(s)
    # A child row moves the version behind the loaded object's back...
    async with in_transaction():
        await ledger.adjust(s, loaded.id, points=5, reason="goodwill")
    middle = await _versions(s, loaded.id)
    # ...and saving the stale object must not take it back.
    loaded.first_name = "Augusta"
    await loaded.save()
    assert (await _versions(s, loaded.id))[0] > middle[0]


@on_postgres
async def test_programme_changes_move_the_store_version(store: IssuedKeys) -> None:
    s = store.store
    ada = await make_customer(s)

    async def tier() -> None:
        await make_tier(s, "Gold", 1, 1_000)

    async def rule() -> None:
        await make_spend_rule(s)

    async def reward() -> None:
        await make_reward(s)

    async def retire_reward() -> None:
        await Reward.filter(store_id=s.id).update(active=False)

    async def drop_tier() -> None:
        await Tier.filter(store_id=s.id).delete()

    async def settings() -> None:
        s.timezone = "Europe/Paris"
        await s.save()

    for write in (tier, rule, reward, retire_reward, drop_tier, settings):
        assert await _moves(s, ada.id, write) == (False, True), write.__name__


@on_postgres
async def test_erasure_and_everything_seeded_move_versions(store: IssuedKeys) -> None:
    seeded = await seed_everything(store, email="ada@example.com")
    s = store.store

    async def erase() -> None:
        async with in_transaction():
            await customers.erase(s, seeded.customer.id)

    assert (await _moves(s, seeded.customer.id, erase))[0]
    assert await Customer.filter(id=seeded.customer.id).count() == 1


async def _identity(store: Store, customer_id: UUID, ref: str) -> None:
    """A row about the customer that leaves the customer row itself alone."""
    await CustomerIdentity.create(
        store_id=store.id,
        customer_id=customer_id,
        platform=Platform.SHOPIFY,
        external_id=ref,
    )


class _UndoError(Exception):
    pass


@on_postgres
async def test_a_transaction_moves_the_version_once_however_many_rows_it_writes(
    store: IssuedKeys,
) -> None:
    s = store.store
    ada = await make_customer(s)
    before, _ = await _versions(s, ada.id)
    async with in_transaction():
        for n in range(3):
            await _identity(s, ada.id, f"ada-{n}")
    assert (await _versions(s, ada.id))[0] == before + 1
    # The next transaction moves it again.
    async with in_transaction():
        await _identity(s, ada.id, "ada-3")
    assert (await _versions(s, ada.id))[0] == before + 2


@on_postgres
async def test_a_write_undone_with_its_savepoint_does_not_stop_the_next_one_moving_the_version(
    store: IssuedKeys,
) -> None:
    s = store.store
    ada = await make_customer(s)
    before, _ = await _versions(s, ada.id)
    async with in_transaction():
        with contextlib.suppress(_UndoError):
            async with in_transaction():  # a savepoint, rolled back
                await _identity(s, ada.id, "undone")
                raise _UndoError
        await _identity(s, ada.id, "kept")
    assert (await _versions(s, ada.id))[0] > before
    assert await CustomerIdentity.filter(external_id="undone").count() == 0

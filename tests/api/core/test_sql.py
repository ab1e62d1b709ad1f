"""Hand-written reads (api/core/sql.py) map rows exactly as tortoise does, and
read pages as a connection needs them."""

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.exceptions import IncompleteInstanceError, IntegrityError
from tortoise.transactions import in_transaction

from api.core import sql
from api.core.clock import utc_now
from api.customers import service as customers
from api.customers.models import Customer, CustomerIdentity, Platform
from api.customers.rules import CustomerChanges
from api.db import APP_LABEL
from api.inbox.models import WebhookDelivery
from api.ledger.models import PointsLot, PointsTransaction, TransactionKind
from api.orders.models import Order, OrderStatus
from api.platforms import PlatformName
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.factories.program import seed_everything
from tests.graphql import count_queries


def _comparable(instance: Any) -> dict[str, Any]:
    """Attributes, with each datetime's offset and zone name (aware datetimes
    in different zones compare equal). The zone object may differ: UTC as
    asyncpg's `timezone.utc` or as tortoise's `ZoneInfo("UTC")`."""
    return {
        name: (value, value.utcoffset(), value.tzname())
        if isinstance(value, datetime)
        else value
        for name, value in instance.__dict__.items()
    }


async def test_rows_map_as_tortoise_maps_them_for_every_model(
    store: IssuedKeys,
) -> None:
    await seed_everything(store, email="ada@example.com")
    compared = 0
    for model in Tortoise.apps[APP_LABEL].values():
        rows = await sql.fetch_all(
            f"SELECT {sql.columns(model, 't')} FROM {model._meta.db_table} t"  # noqa: S608 - names from the models
        )
        for row in rows:
            ours = sql.model_from(model, row)
            theirs = model._init_from_db(**dict(row))
            assert _comparable(ours) == _comparable(theirs), model.__name__
            # Same values, same types (a datetime's offset and zone name included).
            assert {k: type(v) for k, v in ours.__dict__.items()} == {
                k: type(v) for k, v in theirs.__dict__.items()
            }
            compared += 1
    assert compared >= 15  # customers, orders, ledger, rewards, tiers, rules, ...


@pytest.mark.usefixtures("store")
async def test_enum_columns_map_to_the_members_tortoise_gives() -> None:
    # read by value from a table: the same members, and the same refusal of
    # a value the enum does not have
    for model in Tortoise.apps[APP_LABEL].values():
        for field in model._meta.fields_map.values():
            if not hasattr(field, "enum_type"):
                continue
            convert = sql._converter(field)
            for value in [*(m.value for m in field.enum_type), None]:
                assert convert(value) is field.to_python_value(value)
            with pytest.raises(ValueError, match="is not a valid"):
                convert("no such value")


async def test_mapped_rows_save_and_reload_like_tortoise_rows(
    store: IssuedKeys,
) -> None:
    customer = await make_customer(store.store)
    found = await sql.fetch_model(Customer, "t.id = $1", customer.id)
    assert found is not None
    found.first_name = "Grace"
    await found.save(update_fields=["first_name"])
    again = await Customer.get(id=customer.id)
    assert (again.first_name, again.email) == ("Grace", customer.email)


async def test_rows_read_with_fields_are_partial_like_tortoise_only(
    store: IssuedKeys,
) -> None:
    customer = await make_customer(store.store, email="ada@example.com")
    rows = sql.Rows(
        Customer,
        "t.store_id = $1",
        [store.store.id],
        order_by="t.id",
        fields=("id", "email", "stage"),
    )
    [partial] = await rows[0:10]
    tortoise = await Customer.filter(id=customer.id).only("id", "email", "stage").get()
    assert (partial.id, partial.email, partial.stage) == (
        tortoise.id,
        tortoise.email,
        tortoise.stage,
    )
    with pytest.raises(AttributeError):
        _ = partial.points_balance  # not read: never a wrong value
    # saved only field by field, as tortoise's own partial rows
    with pytest.raises(IncompleteInstanceError):
        await partial.save()
    partial.email = "grace@example.com"
    await partial.save(update_fields=["email"])
    assert (await Customer.get(id=customer.id)).email == "grace@example.com"


async def test_rows_read_pages_and_count(store: IssuedKeys) -> None:
    for n in range(5):
        await make_customer(
            store.store, external_id=f"r-{n}", email=f"r{n}@example.com"
        )
    rows = sql.Rows(
        Customer, "t.store_id = $1", [store.store.id], order_by="t.email ASC"
    )
    assert [c.email for c in await rows[1:3]] == ["r1@example.com", "r2@example.com"]
    assert [c.email for c in await rows[4:10]] == ["r4@example.com"]
    assert await rows[5:9] == []
    assert await rows.count() == 5
    assert len(await rows) == 5
    with pytest.raises(ValueError, match="pages"):
        rows[2:]


async def test_insert_unless_exists_inserts_once_per_unique_key(
    store: IssuedKeys,
) -> None:
    def delivery(payload: dict[str, Any]) -> WebhookDelivery:
        return WebhookDelivery(
            store_id=store.store.id,
            platform=PlatformName.SHOPIFY,
            shop_ref="a.myshopify.com",
            topic="orders/paid",
            event_key="evt-1",
            payload=payload,
        )

    first = delivery({"n": 1})
    assert await sql.insert_unless_exists(first) is True
    assert first._saved_in_db
    # The same event again: refused by the unique key, nothing written.
    again = delivery({"n": 2})
    assert await sql.insert_unless_exists(again) is False
    assert not again._saved_in_db
    stored = await WebhookDelivery.all()
    assert [(d.id, d.payload, d.received_at) for d in stored] == [
        (first.id, {"n": 1}, first.received_at)
    ]
    # Another key goes in, and the inserted instance saves as an update.
    other = delivery({"n": 3})
    other.event_key = "evt-2"
    assert await sql.insert_unless_exists(other) is True
    other.attempts = 2
    await other.save(update_fields=["attempts"])
    assert (await WebhookDelivery.get(id=other.id)).attempts == 2
    assert await WebhookDelivery.all().count() == 2


async def test_writes_run_together_and_fail_together(store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    stamped = customer.updated_at

    def entry(points: int, key: str) -> PointsTransaction:
        return PointsTransaction(
            store_id=store.store.id,
            customer_id=customer.id,
            kind=TransactionKind.ADJUST,
            points=points,
            reason="goodwill",
            idempotency_key=key,
        )

    first = entry(5, "k-1")
    lot = PointsLot(  # refers to the entry written in the same round trip
        store_id=store.store.id,
        customer_id=customer.id,
        origin_id=first.id,
        points=5,
        remaining=5,
        available_at=first.created_at or customer.created_at,
        pending=False,
    )
    customer.points_balance = 5
    async with in_transaction():
        await sql.write(
            sql.insert(first),
            sql.insert(lot),
            sql.update(customer, ["points_balance", "updated_at"]),
        )
    assert first._saved_in_db and lot._saved_in_db
    saved = await Customer.get(id=customer.id)
    assert saved.points_balance == 5
    assert saved.updated_at > stamped  # auto_now, as tortoise's save sets it
    assert (await PointsLot.get(id=lot.id)).origin_id == first.id
    # A write that breaks a key takes the others in its transaction with it.
    customer.points_balance = 10
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await sql.write(
                sql.update(customer, ["points_balance"]),
                sql.insert(entry(5, "k-2")),
                sql.insert(entry(5, "k-1")),  # the key is taken
            )
    assert (await Customer.get(id=customer.id)).points_balance == 5
    assert await PointsTransaction.filter(customer_id=customer.id).count() == 1


async def test_a_read_rides_last_in_the_writes_round_trip(store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    other = await make_customer(store.store, external_id="cust-2", email=None)
    customer.points_balance = 7
    read = sql.Read("SELECT points_balance FROM customers WHERE id = $1", (other.id,))
    with count_queries() as counter:
        async with in_transaction():
            await sql.write(sql.update(customer, ["points_balance"]), read)
    assert [dict(row) for row in read.rows] == [{"points_balance": 0}]
    assert (await Customer.get(id=customer.id)).points_balance == 7
    # one statement on PostgreSQL; SQLite runs them one by one
    assert counter.count == (1 if sql.is_postgres() else 2)
    with pytest.raises(ValueError, match="last"):
        await sql.write(read, sql.update(customer, ["points_balance"]))


ORDER_1001 = "t.store_id = $1 AND t.platform = $2 AND t.order_ref = $3"


async def _backend_pid() -> int:
    """The PostgreSQL backend of the caller's connection (its transaction's)."""
    row = await sql.fetch_one("SELECT pg_backend_pid() AS pid")
    assert row is not None
    return int(row["pid"])


async def _until_blocked_by(holder: int) -> None:
    """Until a statement waits for a lock the holder's backend holds: a task
    that has not sent its statement yet proves nothing by not being done."""
    for _ in range(1_000):
        row = await sql.fetch_one(
            "SELECT count(*) AS waiting FROM pg_stat_activity"
            " WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))",
            holder,
        )
        if row is not None and row["waiting"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nothing waits for backend {holder} after 10 s")


def _order_1001(store: IssuedKeys, customer: Customer | None, name: str) -> Order:
    # Without a customer for `lock_or_insert_under`, which links it.
    owner = {} if customer is None else {"customer_id": customer.id}
    return Order(
        store_id=store.store.id,
        **owner,
        platform="shopify",
        order_ref="1001",
        name=name,
        status=OrderStatus.PLACED,
        currency="EUR",
        eligible_minor=1_000,
        placed_at=utc_now(),
        snapshot_at=utc_now(),
    )


async def test_lock_or_insert_finds_the_stored_row_or_inserts_the_new_one(
    store: IssuedKeys,
) -> None:
    customer = await make_customer(store.store)
    where = ORDER_1001

    def new(name: str) -> Order:
        return _order_1001(store, customer, name)

    async with in_transaction():
        first = new("#1001")
        found, created = await sql.lock_or_insert(
            first, where, store.store.id, "shopify", "1001"
        )
        assert (found, created) == (first, True)
    async with in_transaction():
        found, created = await sql.lock_or_insert(
            new("#other"), where, store.store.id, "shopify", "1001"
        )
        assert created is False and found is not None
        assert (found.id, found.name) == (first.id, "#1001")
    stored = await Order.filter(store_id=store.store.id)
    assert [(o.id, o.name, o.eligible_minor) for o in stored] == [
        (first.id, "#1001", 1_000)
    ]


@pytest.mark.postgres
async def test_lock_or_insert_reports_a_concurrent_first_insert(
    store: IssuedKeys,
) -> None:
    """Two first inserts of one key: the second waits for the first to commit,
    inserts nothing and says so, for the caller to read the winner."""
    customer = await make_customer(store.store)
    key = (store.store.id, "shopify", "1001")
    inserted, commit = asyncio.Event(), asyncio.Event()
    holders: list[int] = []

    async def first() -> tuple[Order | None, bool]:
        async with in_transaction():
            found = await sql.lock_or_insert(
                _order_1001(store, customer, "#first"), ORDER_1001, *key
            )
            holders.append(await _backend_pid())
            inserted.set()
            await commit.wait()
        return found

    async def second() -> tuple[Order | None, bool]:
        await inserted.wait()
        async with in_transaction():
            return await sql.lock_or_insert(
                _order_1001(store, customer, "#second"), ORDER_1001, *key
            )

    winner, loser = asyncio.create_task(first()), asyncio.create_task(second())
    await inserted.wait()
    await _until_blocked_by(holders[0])  # the second, on the first
    assert not loser.done()
    commit.set()
    (made, created), lost = await winner, await loser
    assert created is True and made is not None
    assert lost == (None, False)
    stored = await Order.filter(store_id=store.store.id)
    assert [(o.id, o.name) for o in stored] == [(made.id, "#first")]


def _buyer(store: IssuedKeys, external_id: str = "cust-1") -> sql.Parent[Customer]:
    return customers.locked_by_external_id(
        store.store,
        platform=Platform.CUSTOM,
        external_id=external_id,
        prefix="buyer_",
    )


async def _order_locked_elsewhere(store: IssuedKeys) -> bool:
    """Whether another transaction holds order 1001's row lock."""
    try:
        async with in_transaction():
            await sql.fetch_all(
                "SELECT t.id FROM orders t WHERE t.store_id = $1 AND t.platform = $2"
                " AND t.order_ref = $3 FOR UPDATE NOWAIT",
                store.store.id,
                "shopify",
                "1001",
            )
    except asyncpg.LockNotAvailableError:
        return True
    return False


@pytest.mark.postgres
async def test_lock_or_insert_under_inserts_the_child_with_its_parent_then_finds_it(
    store: IssuedKeys,
) -> None:
    customer = await make_customer(store.store, external_id="cust-1")
    key = (store.store.id, "shopify", "1001")
    with count_queries() as counter:
        async with in_transaction():
            first = _order_1001(store, None, "#1001")
            parent, child, created = await sql.lock_or_insert_under(
                _buyer(store), first, "customer_id", ORDER_1001, *key
            )
    assert counter.count == 1
    assert parent is not None and child is first and created is True
    assert _comparable(parent) == _comparable(await Customer.get(id=customer.id))
    assert first.customer_id == customer.id
    async with in_transaction():
        parent, child, created = await sql.lock_or_insert_under(
            _buyer(store),
            _order_1001(store, None, "#other"),
            "customer_id",
            ORDER_1001,
            *key,
        )
    assert parent is not None and parent.id == customer.id
    assert child is not None and created is False
    assert (child.id, child.name) == (first.id, "#1001")
    stored = await Order.filter(store_id=store.store.id)
    assert [(o.id, o.name, o.customer_id) for o in stored] == [
        (first.id, "#1001", customer.id)
    ]


@pytest.mark.postgres
async def test_lock_or_insert_under_writes_nothing_without_its_parent(
    store: IssuedKeys,
) -> None:
    await make_customer(store.store, external_id="cust-1")
    key = (store.store.id, "shopify", "1001")
    async with in_transaction():
        found = await sql.lock_or_insert_under(
            _buyer(store, "someone-else"),
            _order_1001(store, None, "#1001"),
            "customer_id",
            ORDER_1001,
            *key,
        )
    assert found == (None, None, False)
    assert await Order.filter(store_id=store.store.id).count() == 0


@pytest.mark.postgres
async def test_lock_or_insert_under_locks_the_parent_before_the_child(
    store: IssuedKeys,
) -> None:
    """Customer, then order, as every other path locks them: a statement
    waiting for the customer holds no lock on the order (else two paths
    could deadlock)."""
    customer = await make_customer(store.store, external_id="cust-1")
    key = (store.store.id, "shopify", "1001")
    async with in_transaction():
        await sql.lock_or_insert(
            _order_1001(store, customer, "#1001"), ORDER_1001, *key
        )
    held, release = asyncio.Event(), asyncio.Event()
    ran, finish = asyncio.Event(), asyncio.Event()

    holders: list[int] = []

    async def holder() -> None:
        async with in_transaction():
            await sql.fetch_all(
                "SELECT id FROM customers WHERE id = $1 FOR UPDATE", customer.id
            )
            holders.append(await _backend_pid())
            held.set()
            await release.wait()

    async def merged() -> tuple[Any, Any, bool]:
        await held.wait()
        async with in_transaction():
            found = await sql.lock_or_insert_under(
                _buyer(store),
                _order_1001(store, None, "#other"),
                "customer_id",
                ORDER_1001,
                *key,
            )
            ran.set()
            await finish.wait()
        return found

    holding, waiting = asyncio.create_task(holder()), asyncio.create_task(merged())
    try:
        await held.wait()
        await _until_blocked_by(holders[0])  # the merged one, for the customer
        assert not ran.is_set()
        assert not await _order_locked_elsewhere(store)
        release.set()
        await holding
        await ran.wait()
        assert await _order_locked_elsewhere(store)  # now it holds both
    finally:
        release.set()
        finish.set()
    parent, child, created = await waiting
    assert parent is not None and parent.id == customer.id
    assert child is not None and child.name == "#1001" and created is False


@dataclass
class _HeldInsert:
    """Order 1001's first insert, by a transaction left open until `commit`."""

    task: asyncio.Task[None]
    backend: int
    commit: asyncio.Event

    async def committed_once_blocking(self, waiting: asyncio.Task[Any]) -> None:
        """Commits once `waiting` is blocked on this insert, not before."""
        await _until_blocked_by(self.backend)
        assert not waiting.done()
        self.commit.set()
        await self.task


async def _first_insert_held(store: IssuedKeys, owner: Customer) -> _HeldInsert:
    inserted, commit, backends = asyncio.Event(), asyncio.Event(), []

    async def first() -> None:
        async with in_transaction():
            await sql.lock_or_insert(
                _order_1001(store, owner, "#first"),
                ORDER_1001,
                store.store.id,
                "shopify",
                "1001",
            )
            backends.append(await _backend_pid())
            inserted.set()
            await commit.wait()

    task = asyncio.create_task(first())
    await inserted.wait()
    return _HeldInsert(task, backends[0], commit)


@pytest.mark.postgres
async def test_lock_or_insert_under_reports_a_concurrent_first_insert(
    store: IssuedKeys,
) -> None:
    """The child's first insert by a transaction that does not hold the parent
    (the order of another buyer): the statement waits for it to commit, keeps
    its parent locked and inserts nothing, for the caller to read the winner."""
    other = await make_customer(store.store, external_id="cust-2", email=None)
    customer = await make_customer(store.store, external_id="cust-1")
    key = (store.store.id, "shopify", "1001")
    first = await _first_insert_held(store, other)

    async def second() -> tuple[Any, Any, bool]:
        async with in_transaction():
            return await sql.lock_or_insert_under(
                _buyer(store),
                _order_1001(store, None, "#second"),
                "customer_id",
                ORDER_1001,
                *key,
            )

    loser = asyncio.create_task(second())
    await first.committed_once_blocking(loser)
    parent, child, created = await loser
    assert parent is not None and parent.id == customer.id
    assert (child, created) == (None, False)
    stored = await Order.filter(store_id=store.store.id)
    assert [(o.name, o.customer_id) for o in stored] == [("#first", other.id)]


def _new_customer(store: IssuedKeys, external_id: str) -> customers.NewCustomer:
    return customers.prepare(
        store.store,
        platform=Platform.CUSTOM,
        external_id=external_id,
        changes=CustomerChanges({}),
    )


async def test_lock_or_insert_after_inserts_the_gate_then_the_child(
    store: IssuedKeys,
) -> None:
    made = _new_customer(store, "cust-1")
    key = (store.store.id, "shopify", "1001")
    order = _order_1001(store, made.customer, "#1001")
    with count_queries() as counter:
        async with in_transaction():
            result = await sql.lock_or_insert_after(
                made.identity, made.first, order, ORDER_1001, *key
            )
    assert result == (True, order, True)
    if sql.is_postgres():
        assert counter.count == 1  # the customer, their identity and the order
    stored = await Order.get(store_id=store.store.id, order_ref="1001")
    assert stored.customer_id == made.customer.id
    assert await CustomerIdentity.get(external_id="cust-1")
    # again, for an order stored already: found, not inserted
    again = _new_customer(store, "cust-2")
    async with in_transaction():
        gated, found, created = await sql.lock_or_insert_after(
            again.identity,
            again.first,
            _order_1001(store, again.customer, "#again"),
            ORDER_1001,
            *key,
        )
    assert (gated, created) == (True, False)
    assert found is not None and (found.id, found.name) == (order.id, "#1001")


async def test_lock_or_insert_after_touches_nothing_of_the_child_when_the_gate_is_taken(
    store: IssuedKeys,
) -> None:
    # given a known buyer and an order stored already
    known = await make_customer(store.store, external_id="cust-1")
    key = (store.store.id, "shopify", "1001")
    async with in_transaction():
        await sql.lock_or_insert(_order_1001(store, known, "#1001"), ORDER_1001, *key)
    made = _new_customer(store, "cust-1")
    ran, finish = asyncio.Event(), asyncio.Event()

    async def taken() -> tuple[bool, Order | None, bool]:
        async with in_transaction():
            result = await sql.lock_or_insert_after(
                made.identity,
                made.first,
                _order_1001(store, made.customer, "#other"),
                ORDER_1001,
                *key,
            )
            ran.set()
            await finish.wait()
        return result

    # when a new customer's identity is taken, in a transaction still open
    task = asyncio.create_task(taken())
    try:
        await ran.wait()
        # then the order is not locked
        if sql.is_postgres():
            assert not await _order_locked_elsewhere(store)
    finally:
        finish.set()
    # nor written, and the identity stayed its customer's
    assert await task == (False, None, False)
    assert [o.name for o in await Order.filter(store_id=store.store.id)] == ["#1001"]
    identity = await CustomerIdentity.get(external_id="cust-1")
    assert identity.customer_id == known.id
    # and with no order stored under the key, none is inserted
    again = _new_customer(store, "cust-1")
    order = _order_1001(store, again.customer, "#1002")
    order.order_ref = "1002"
    async with in_transaction():
        result = await sql.lock_or_insert_after(
            again.identity,
            again.first,
            order,
            ORDER_1001,
            store.store.id,
            "shopify",
            "1002",
        )
    assert result == (False, None, False)
    assert not await Order.filter(store_id=store.store.id, order_ref="1002").exists()


@pytest.mark.postgres
async def test_lock_or_insert_after_reports_a_concurrent_first_insert(
    store: IssuedKeys,
) -> None:
    """The child's first insert by another transaction, committed while the
    statement waited on it: the gate's rows stay, nothing of the child is
    inserted, and the caller reads the winner."""
    other = await make_customer(store.store, external_id="cust-2", email=None)
    key = (store.store.id, "shopify", "1001")
    first = await _first_insert_held(store, other)
    made = _new_customer(store, "cust-1")

    async def second() -> tuple[bool, Order | None, bool]:
        async with in_transaction():
            return await sql.lock_or_insert_after(
                made.identity,
                made.first,
                _order_1001(store, made.customer, "#second"),
                ORDER_1001,
                *key,
            )

    loser = asyncio.create_task(second())
    await first.committed_once_blocking(loser)
    assert await loser == (True, None, False)
    stored = await Order.filter(store_id=store.store.id)
    assert [(o.name, o.customer_id) for o in stored] == [("#first", other.id)]
    identity = await CustomerIdentity.get(external_id="cust-1")
    assert identity.customer_id == made.customer.id


def test_sql_refuses_a_model_before_tortoise_sets_it_up() -> None:
    # What api/core/sql.py builds from a model is kept for good: built before
    # Tortoise.init it would lack the link columns, so it is refused.
    code = """
from api.core import sql
from api.orders.models import Order

for build in (lambda: sql.columns(Order, "t"), lambda: sql.insert(Order())):
    try:
        build()
    except RuntimeError as error:
        assert "before Tortoise.init" in str(error), error
    else:
        raise AssertionError("built before Tortoise.init")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr

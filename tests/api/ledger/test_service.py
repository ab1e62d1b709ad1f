"""The points ledger on the database: pending points, expiry per lot,
oldest-expiring-first spending and manual adjustments.

`assert_ledger_consistent` is the ledger invariant; the other service tests
import it and assert it after every scenario.
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import time_machine
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from api.customers.errors import CustomerErrorCode, CustomerNotFoundError
from api.customers.models import NOTHING_DUE, Customer
from api.ledger import service as ledger
from api.ledger.errors import InsufficientPointsError, LedgerError, LedgerErrorCode
from api.ledger.models import PointsLot, PointsTransaction, TransactionKind
from api.maintenance import service as maintenance
from api.program import service as program
from api.rewards import service as rewards
from api.rewards.errors import RewardError, RewardErrorCode
from api.rewards.models import Redemption
from api.stores.models import Store
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_reward,
    make_spend_rule,
    order_event,
)
from tests.graphql import count_queries

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def assert_ledger_consistent(customer_id: UUID) -> Customer:
    """balance + pending == sum of entries == sum of lots' remaining; none negative."""
    customer = await Customer.get(id=customer_id)
    entries = (
        await PointsTransaction.filter(customer_id=customer_id)
        .annotate(total=Sum("points"))
        .values("total")
    )
    lots = (
        await PointsLot.filter(customer_id=customer_id)
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    entries_total = int(entries[0]["total"] or 0) if entries else 0
    lots_total = int(lots[0]["total"] or 0) if lots else 0
    cached = customer.points_balance + customer.points_pending
    assert (cached, lots_total) == (entries_total, entries_total), (
        f"balance {customer.points_balance} + pending {customer.points_pending} "
        f"vs entries {entries_total} vs lots {lots_total}"
    )
    assert customer.points_balance >= 0
    assert customer.points_pending >= 0
    assert await PointsLot.filter(customer_id=customer_id, remaining__lt=0).count() == 0
    pending_lots = (
        await PointsLot.filter(customer_id=customer_id, pending=True)
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    assert int(pending_lots[0]["total"] or 0) == customer.points_pending
    return customer


async def _redeem(store: Store, customer_id: UUID, reward_id: UUID) -> Redemption:
    async with in_transaction():
        return await rewards.redeem(store, customer_id, reward_id)


async def _adjust(
    store: Store, customer_id: UUID, points: int, reason: str = "Goodwill"
) -> PointsTransaction:
    async with in_transaction():
        return await ledger.adjust(store, customer_id, points=points, reason=reason)


async def _settle(store: Store, customer_id: UUID) -> None:
    async with in_transaction():
        customer = await ledger.lock_customer(store, customer_id)
        await ledger.settle(store, customer)


# --- pending points ------------------------------------------------------------


async def test_pending_points_are_not_spendable_until_the_hold_ends(
    store: IssuedKeys,
) -> None:
    # given a 14-day hold and an order paid at T0
    s = store.store
    await program.update_settings(s, {"pending_days": 14})
    await make_spend_rule(s)
    reward = await make_reward(s, cost=50)
    with time_machine.travel(T0, tick=False):
        result = await ingest(s, order_event(amount=10_000))
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (0, 100)
    lot = await PointsLot.get(customer_id=customer_id)
    assert (lot.pending, lot.available_at) == (True, T0 + timedelta(days=14))

    # when the customer tries to spend them a second before the hold ends
    with (
        time_machine.travel(T0 + timedelta(days=14, seconds=-1), tick=False),
        pytest.raises(RewardError) as caught,
    ):
        await _redeem(s, customer_id, reward.id)
    # then nothing was spent, and settling changes nothing yet
    assert caught.value.code is RewardErrorCode.INSUFFICIENT_POINTS
    assert await Redemption.all().count() == 0
    with time_machine.travel(T0 + timedelta(days=14, seconds=-1), tick=False):
        await _settle(s, customer_id)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (0, 100)

    # when the hold ends
    with time_machine.travel(T0 + timedelta(days=14), tick=False):
        await _settle(s, customer_id)
        customer = await assert_ledger_consistent(customer_id)
        assert (customer.points_balance, customer.points_pending) == (100, 0)
        redemption = await _redeem(s, customer_id, reward.id)
    # then they are spendable, and no entry was written to release them
    assert redemption.points_spent == 50
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (50, 0)
    kinds = [t.kind for t in await PointsTransaction.filter(customer_id=customer_id)]
    assert sorted(kinds) == [TransactionKind.EARN, TransactionKind.REDEEM]


async def test_orders_and_redemptions_read_no_lots_until_one_can_be_due(
    store: IssuedKeys,
) -> None:
    # given a 14-day hold, points expiring after a year, and two paid orders
    s = store.store
    await program.update_settings(s, {"pending_days": 14, "expiry_days": 365})
    await make_spend_rule(s)
    with time_machine.travel(T0, tick=False):
        first = await ingest(s, order_event(ref="o-1", amount=10_000))
    customer_id = first.order.customer_id
    assert isinstance(customer_id, UUID)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        await ingest(s, order_event(ref="o-2", amount=5_000))
    # then the first hold to end is when the customer's lots are next due
    customer = await assert_ledger_consistent(customer_id)
    assert customer.lots_due_at == T0 + timedelta(days=14)
    # and settling before then reads and writes nothing
    with time_machine.travel(T0 + timedelta(days=13), tick=False):
        async with in_transaction():
            locked = await ledger.lock_customer(s, customer_id)
            with count_queries() as counter:
                await ledger.settle(s, locked)
    assert counter.statements == []
    # when the first hold ends, its points are released; the second's is next
    with time_machine.travel(T0 + timedelta(days=14), tick=False):
        await _settle(s, customer_id)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (100, 50)
    assert customer.lots_due_at == T0 + timedelta(days=15)
    # and once both are released, the first expiry is next
    with time_machine.travel(T0 + timedelta(days=15), tick=False):
        await _settle(s, customer_id)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.lots_due_at) == (
        150,
        T0 + timedelta(days=365),
    )


async def test_a_customer_whose_lots_due_time_is_not_known_is_settled_from_the_lots(
    store: IssuedKeys,
) -> None:
    # given pending points that never expire, of a customer from before the
    # due time was kept
    s = store.store
    await program.update_settings(s, {"pending_days": 14, "expiry_days": None})
    await make_spend_rule(s)
    with time_machine.travel(T0, tick=False):
        result = await ingest(s, order_event(amount=10_000))
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)
    await Customer.filter(id=customer_id).update(lots_due_at=None)
    # when the hold has ended, settling reads the lots and releases them
    with time_machine.travel(T0 + timedelta(days=20), tick=False):
        await _settle(s, customer_id)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (100, 0)
    # and, with no expiry, nothing is ever due again
    assert customer.lots_due_at == NOTHING_DUE


async def test_maintenance_releases_pending_points_after_the_hold(
    store: IssuedKeys,
) -> None:
    # given
    s = store.store
    await program.update_settings(s, {"pending_days": 14})
    await make_spend_rule(s)
    with time_machine.travel(T0, tick=False):
        result = await ingest(s, order_event(amount=25_000))
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)

    # when maintenance runs before, then at the end of the hold
    before = await maintenance.run(now=T0 + timedelta(days=13, hours=23))
    customer_before = await assert_ledger_consistent(customer_id)
    with time_machine.travel(T0 + timedelta(days=14, minutes=5), tick=False):
        after = await maintenance.run()
        again = await maintenance.run()

    # then only the second run releases them, once
    assert (before.settled, after.settled, again.settled) == (0, 1, 0)
    assert (customer_before.points_balance, customer_before.points_pending) == (0, 250)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (250, 0)
    assert customer.points_lifetime == 250


async def test_pending_points_cannot_pay_a_negative_adjustment(
    store: IssuedKeys,
) -> None:
    s = store.store
    await program.update_settings(s, {"pending_days": 14})
    await make_spend_rule(s)
    result = await ingest(s, order_event(amount=10_000))
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)

    with pytest.raises(InsufficientPointsError) as caught:
        await _adjust(s, customer_id, -10, "Correction")

    assert (caught.value.needed, caught.value.available) == (10, 0)
    assert caught.value.code is LedgerErrorCode.INSUFFICIENT_POINTS
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (0, 100)
    assert await PointsTransaction.filter(customer_id=customer_id).count() == 1


# --- expiry ----------------------------------------------------------------------


async def test_a_lot_expires_after_expiry_days_with_an_expire_entry(
    store: IssuedKeys,
) -> None:
    # given points that expire 30 days after they were earned
    s = store.store
    await program.update_settings(s, {"expiry_days": 30})
    await make_spend_rule(s)
    with time_machine.travel(T0, tick=False):
        result = await ingest(s, order_event(amount=12_000))
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)
    lot = await PointsLot.get(customer_id=customer_id)
    assert lot.expires_at == T0 + timedelta(days=30)

    # when maintenance runs a second before, then at the expiry date
    early = await maintenance.run(now=T0 + timedelta(days=30, seconds=-1))
    assert early.settled == 0
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        report = await maintenance.run()
        repeat = await maintenance.run()

    # then the lot expired once, with an entry that says so
    assert (report.settled, repeat.settled) == (1, 0)
    expired = await PointsTransaction.get(
        customer_id=customer_id, kind=TransactionKind.EXPIRE
    )
    assert expired.points == -120
    assert expired.reason == "120 points earned on 2026-03-02 expired"
    assert (expired.source_type, expired.source_id) == ("lot", str(lot.id))
    await lot.refresh_from_db()
    assert lot.remaining == 0
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (0, 0)
    # Expired points were earned all the same.
    assert customer.points_lifetime == 120


async def test_spending_takes_the_oldest_lot_first_and_only_the_rest_expires(
    store: IssuedKeys,
) -> None:
    # given two lots: 100 earned at T0, 50 earned ten days later (30-day expiry)
    s = store.store
    await program.update_settings(s, {"expiry_days": 30})
    await make_spend_rule(s)
    reward = await make_reward(s, cost=120)
    with time_machine.travel(T0, tick=False):
        first = await ingest(s, order_event(ref="o-1", amount=10_000))
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        second = await ingest(s, order_event(ref="o-2", amount=5_000))
    customer_id = first.order.customer_id
    assert isinstance(customer_id, UUID)

    # when 120 points are spent on day 20
    with time_machine.travel(T0 + timedelta(days=20), tick=False):
        redemption = await _redeem(s, customer_id, reward.id)

    # then the first lot is emptied before the second is touched
    lot_1 = await PointsLot.get(order_id=first.order.id)
    lot_2 = await PointsLot.get(order_id=second.order.id)
    assert (lot_1.remaining, lot_2.remaining) == (0, 30)
    spent = await PointsTransaction.get(
        customer_id=customer_id, kind=TransactionKind.REDEEM
    )
    assert spent.points == -120
    assert (spent.source_type, spent.source_id) == ("redemption", str(redemption.id))
    assert spent.details["lots"] == [[str(lot_1.id), 100], [str(lot_2.id), 20]]

    # when the first lot's date passes: nothing is left in it to expire
    with time_machine.travel(T0 + timedelta(days=30, hours=1), tick=False):
        await maintenance.run()
    assert await PointsTransaction.filter(kind=TransactionKind.EXPIRE).count() == 0
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 30

    # when the second lot's date passes: its 30 remaining points expire
    with time_machine.travel(T0 + timedelta(days=40, hours=1), tick=False):
        await maintenance.run()
    expired = [
        t.points for t in await PointsTransaction.filter(kind=TransactionKind.EXPIRE)
    ]
    assert list(expired) == [-30]
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 0


async def test_spending_takes_the_lot_expiring_first_not_the_one_created_first(
    store: IssuedKeys,
) -> None:
    # given a goodwill lot created first (expires in 365 days), then points for
    # an order paid 200 days ago, recorded later but expiring in 165 days
    s = store.store
    await make_spend_rule(s)
    reward = await make_reward(s, cost=60)
    customer = await make_customer(s)
    with time_machine.travel(T0, tick=False):
        goodwill = await _adjust(s, customer.id, 100)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        old = await ingest(s, order_event(amount=5_000, at=T0 - timedelta(days=200)))
    order_lot = await PointsLot.get(order_id=old.order.id)
    goodwill_lot = await PointsLot.get(origin_id=goodwill.id)
    assert order_lot.expires_at == T0 + timedelta(days=165)
    assert goodwill_lot.expires_at == T0 + timedelta(days=365)
    assert order_lot.created_at > goodwill_lot.created_at

    # when
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        await _redeem(s, customer.id, reward.id)

    # then the order's lot, expiring first, went first
    await order_lot.refresh_from_db()
    await goodwill_lot.refresh_from_db()
    assert (order_lot.remaining, goodwill_lot.remaining) == (0, 90)
    lots = await ledger.open_lots(s, customer.id)
    assert [lot.id for lot in lots] == [goodwill_lot.id]
    current = await assert_ledger_consistent(customer.id)
    assert current.points_balance == 90


async def test_expired_and_spendable_lots_settle_together(store: IssuedKeys) -> None:
    # given a pending lot whose hold ends, and an older lot past its expiry
    s = store.store
    await program.update_settings(s, {"pending_days": 5, "expiry_days": 10})
    await make_spend_rule(s)
    with time_machine.travel(T0, tick=False):
        first = await ingest(s, order_event(ref="o-1", amount=4_000))
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        await ingest(s, order_event(ref="o-2", amount=7_000))
    customer_id = first.order.customer_id
    assert isinstance(customer_id, UUID)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (40, 70)

    # when day 13 comes: o-1 expired on day 10, o-2 released
    with time_machine.travel(T0 + timedelta(days=13), tick=False):
        report = await maintenance.run()

    # then
    assert report.settled == 1
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (70, 0)
    expired = [
        t.points for t in await PointsTransaction.filter(kind=TransactionKind.EXPIRE)
    ]
    assert list(expired) == [-40]


# --- manual adjustments ----------------------------------------------------------


async def test_positive_adjustment_is_spendable_at_once_even_with_a_hold(
    store: IssuedKeys,
) -> None:
    s = store.store
    await program.update_settings(s, {"pending_days": 30})
    customer = await make_customer(s)

    entry = await _adjust(s, customer.id, 250, "  Sorry for the late parcel  ")

    assert entry.kind is TransactionKind.ADJUST
    assert entry.points == 250
    assert entry.reason == "Sorry for the late parcel"
    assert (entry.source_type, entry.source_id) == ("manual", "")
    current = await assert_ledger_consistent(customer.id)
    assert (current.points_balance, current.points_pending) == (250, 0)
    # A goodwill gesture is not "earned": lifetime counts earn and bonus only.
    assert current.points_lifetime == 0


@pytest.mark.parametrize(
    ("points", "reason", "field"),
    [
        (10, "", "reason"),
        (10, "   ", "reason"),
        (10, "x" * 256, "reason"),
        (0, "Nothing", "points"),
        (10_000_001, "Too much", "points"),
        (-10_000_001, "Too much", "points"),
    ],
)
async def test_adjustment_needs_a_reason_and_sane_points(
    store: IssuedKeys, points: int, reason: str, field: str
) -> None:
    customer = await make_customer(store.store)

    with pytest.raises(LedgerError) as caught:
        await _adjust(store.store, customer.id, points, reason)

    assert (caught.value.code, caught.value.field) == (LedgerErrorCode.INVALID, field)
    assert await PointsTransaction.all().count() == 0
    await assert_ledger_consistent(customer.id)


async def test_negative_adjustment_never_takes_the_balance_below_zero(
    store: IssuedKeys,
) -> None:
    # given 100 points
    s = store.store
    customer = await make_customer(s)
    await _adjust(s, customer.id, 100)

    # when the merchant takes back 101, then 40
    with pytest.raises(InsufficientPointsError) as caught:
        await _adjust(s, customer.id, -101, "Correction")
    taken = await _adjust(s, customer.id, -40, "Correction")

    # then the first changed nothing, the second took exactly 40
    assert (caught.value.needed, caught.value.available) == (101, 100)
    assert (taken.kind, taken.points, taken.reason) == (
        TransactionKind.ADJUST,
        -40,
        "Correction",
    )
    current = await assert_ledger_consistent(customer.id)
    assert current.points_balance == 60
    assert await PointsTransaction.filter(customer_id=customer.id).count() == 2

    # and the whole rest can go, but not a point more
    await _adjust(s, customer.id, -60, "Correction")
    with pytest.raises(InsufficientPointsError):
        await _adjust(s, customer.id, -1, "Correction")
    current = await assert_ledger_consistent(customer.id)
    assert current.points_balance == 0


async def test_adjusting_an_unknown_or_other_stores_customer_is_not_found(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    theirs = await make_customer(other_store.store)

    with pytest.raises(CustomerNotFoundError) as caught:
        await _adjust(store.store, theirs.id, 10)

    assert caught.value.code is CustomerErrorCode.NOT_FOUND
    assert await PointsTransaction.all().count() == 0


async def test_history_is_newest_first_with_readable_reasons(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    with time_machine.travel(T0, tick=False):
        result = await ingest(s, order_event(amount=3_000))
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        await _adjust(s, customer_id, -10, "Duplicate points corrected")

    rows = await ledger.history(s, customer_id).values_list("points", "reason")

    assert [tuple(r) for r in rows] == [
        (-10, "Duplicate points corrected"),
        (30, "Points for order #o-1"),
    ]
    await assert_ledger_consistent(customer_id)

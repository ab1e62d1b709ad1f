"""Order intake end to end on the database: points, refunds, codes, ladder, tiers."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import time_machine
from tortoise.transactions import in_transaction

from api.core import sql
from api.core.clock import utc_now
from api.customers import service as customers
from api.customers.models import Customer, CustomerIdentity, Platform
from api.customers.rules import CustomerChanges
from api.ladder.models import Stage, StageChange
from api.ledger.models import PointsLot, PointsTransaction, TransactionKind
from api.membership import service as membership
from api.orders import service as orders_service
from api.orders.errors import OrderError, OrderErrorCode
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.orders.models import CHANGING, Order, OrderRefund, OrderStatus
from api.orders.service import IngestResult
from api.program import service as program
from api.rewards import service as rewards
from api.rewards.models import Redemption, RedemptionStatus
from api.stores.models import Store
from api.stores.service import IssuedKeys
from api.tiers.models import TierChange, TierChangeReason
from tests.api.core.test_sql import _backend_pid, _until_blocked_by
from tests.api.ledger.test_service import assert_ledger_consistent
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_reward,
    make_spend_rule,
    make_tier,
    order_event,
)
from tests.graphql import count_queries

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
PAID = OrderEventKind.PAID
PLACED = OrderEventKind.PLACED
UPDATED = OrderEventKind.UPDATED
REFUNDED = OrderEventKind.REFUNDED
CANCELLED = OrderEventKind.CANCELLED


def _customer_id(order: Order) -> UUID:
    customer_id = order.customer_id
    assert isinstance(customer_id, UUID)
    return customer_id


async def _entries(customer_id: UUID) -> list[tuple[TransactionKind, int]]:
    rows = await PointsTransaction.filter(customer_id=customer_id).order_by(
        "created_at", "id"
    )
    return [(r.kind, r.points) for r in rows]


async def _redeem(store: Store, customer_id: UUID, reward_id: UUID) -> Redemption:
    async with in_transaction():
        return await rewards.redeem(store, customer_id, reward_id)


# --- earning -------------------------------------------------------------------


async def test_every_order_column_is_saved_by_events_or_never_changes(
    store: IssuedKeys,  # the models are set up (foreign keys get their columns)
) -> None:
    # An event writes only the columns it can change: a new column must say which.
    fixed = {
        "id", "store_id", "customer_id", "platform", "order_ref", "currency",
        "placed_at", "created_at",
    }  # fmt: skip
    columns = set(Order._meta.fields_db_projection)
    assert columns == fixed | set(CHANGING)
    assert not fixed & set(CHANGING)


async def test_paid_order_earns_per_spend_rule(store: IssuedKeys) -> None:
    # given 2 points per euro, rounded down
    s = store.store
    rule = await make_spend_rule(s, per_unit="2")

    # when an order of 123.45 EUR is paid
    result = await ingest(s, order_event(amount=12_345))

    # then 246 points (246.9 rounded down), explained by the rule
    assert result.effects == ["created", "paid"]
    assert result.points_earned == 246
    order = await Order.get(id=result.order.id)
    assert (order.status, order.points_earned, order.eligible_minor) == (
        OrderStatus.PAID,
        246,
        12_345,
    )
    entry = await PointsTransaction.get(customer_id=_customer_id(order))
    assert (entry.kind, entry.points, entry.reason) == (
        TransactionKind.EARN,
        246,
        "Points for order #o-1",
    )
    assert (entry.rule_id, entry.campaign_id) == (rule.id, None)
    assert (entry.source_type, entry.source_id) == ("order", str(order.id))
    assert entry.details["eligible_minor"] == 12_345
    assert entry.details["points_per_unit"] == "2.0000"
    customer = await assert_ledger_consistent(_customer_id(order))
    assert (customer.points_balance, customer.points_lifetime) == (246, 246)
    assert (customer.paid_orders, customer.last_order_at) == (1, order.paid_at)


async def test_order_without_a_spend_rule_earns_nothing_but_is_recorded(
    store: IssuedKeys,
) -> None:
    result = await ingest(store.store, order_event(amount=10_000))

    assert result.points_earned == 0
    assert (await Order.get(id=result.order.id)).status is OrderStatus.PAID
    assert await PointsTransaction.all().count() == 0
    customer = await assert_ledger_consistent(_customer_id(result.order))
    assert (customer.paid_orders, customer.stage) == (1, Stage.PURCHASER)


async def test_tier_multiplier_and_campaign_give_separate_named_entries(
    store: IssuedKeys,
) -> None:
    # given an enrolled customer in a x1.5 tier, and a running x2 campaign with a bonus
    s = store.store
    rule = await make_spend_rule(s)
    gold = await make_tier(s, "Gold", 0, 0, multiplier="1.5")
    customer = await make_customer(s)
    async with in_transaction():
        await membership.enroll(s, customer.id)
    campaign = await program.save_campaign(
        s,
        program.CampaignFields(
            name="Double days",
            starts_at=utc_now() - timedelta(days=1),
            ends_at=utc_now() + timedelta(days=1),
            multiplier=Decimal(2),
            bonus_points=25,
        ),
    )

    # when a 100 EUR order is paid
    result = await ingest(s, order_event(amount=10_000))

    # then 100 x 1.5 x 2 for the order, plus the campaign's own bonus entry
    assert result.points_earned == 325
    earn = await PointsTransaction.get(customer_id=customer.id, kind="earn")
    bonus = await PointsTransaction.get(customer_id=customer.id, kind="bonus")
    assert (earn.points, earn.reason) == (300, "Points for order #o-1 (x3)")
    assert (earn.rule_id, earn.campaign_id) == (rule.id, campaign.id)
    assert earn.details["tier_multiplier"] == "1.50"
    assert earn.details["campaign_multiplier"] == "2.00"
    assert earn.details["campaign"] == "Double days"
    assert (bonus.points, bonus.reason) == (25, "Double days bonus")
    assert (bonus.rule_id, bonus.campaign_id) == (rule.id, campaign.id)
    current = await assert_ledger_consistent(customer.id)
    assert (current.tier_id, current.points_balance) == (gold.id, 325)
    assert (await Order.get(id=result.order.id)).points_earned == 325


async def test_campaign_outside_its_window_gives_nothing_extra(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    await program.save_campaign(
        s,
        program.CampaignFields(
            name="Last week",
            starts_at=T0 - timedelta(days=8),
            ends_at=T0 - timedelta(days=1),
            multiplier=Decimal(3),
            bonus_points=50,
        ),
    )

    result = await ingest(s, order_event(amount=10_000, at=T0))

    assert result.points_earned == 100
    assert await _entries(_customer_id(result.order)) == [(TransactionKind.EARN, 100)]


# --- idempotency and snapshots ---------------------------------------------------


async def test_same_paid_event_twice_credits_once(store: IssuedKeys) -> None:
    # given
    s = store.store
    await make_spend_rule(s)
    event = order_event(amount=10_000)

    # when the platform delivers the same event twice
    first = await ingest(s, event)
    second = await ingest(s, event)

    # then one credit
    assert (first.applied, first.points_earned) == (True, 100)
    assert (second.applied, second.effects, second.points_earned) == (False, [], 0)
    assert second.order.id == first.order.id
    customer_id = _customer_id(first.order)
    assert await _entries(customer_id) == [(TransactionKind.EARN, 100)]
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.paid_orders) == (100, 1)
    assert await Order.all().count() == 1


async def test_newer_paid_snapshot_of_a_paid_order_credits_nothing_more(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    await ingest(s, order_event(amount=10_000, at=T0))

    # A later snapshot claims a bigger amount: after payment only refunds go down,
    # and nothing pays twice.
    later = await ingest(
        s, order_event(amount=20_000, at=T0, updated_at=T0 + timedelta(hours=1))
    )

    assert (later.effects, later.points_earned) == ([], 0)
    order = await Order.get(id=later.order.id)
    assert (order.eligible_minor, order.points_earned) == (10_000, 100)
    assert order.snapshot_at == T0 + timedelta(hours=1)
    await assert_ledger_consistent(_customer_id(order))


async def test_older_snapshot_after_a_newer_one_changes_nothing(
    store: IssuedKeys,
) -> None:
    # given an order placed at T0 whose newest snapshot (T0+2h) says 200 EUR
    s = store.store
    await make_spend_rule(s)
    await ingest(s, order_event(PLACED, amount=15_000, at=T0))
    newer = await ingest(
        s,
        order_event(UPDATED, amount=20_000, at=T0, updated_at=T0 + timedelta(hours=2)),
    )
    assert newer.effects == ["amount updated"]

    # when an older snapshot (T0+1h, 50 EUR) arrives late
    older = await ingest(
        s, order_event(UPDATED, amount=5_000, at=T0, updated_at=T0 + timedelta(hours=1))
    )

    # then it changes nothing
    assert (older.applied, older.effects) == (False, [])
    order = await Order.get(id=older.order.id)
    assert (order.eligible_minor, order.snapshot_at) == (
        20_000,
        T0 + timedelta(hours=2),
    )

    # and once paid (T0+3h), a stale cancellation (T0+2h30) changes nothing either
    paid = await ingest(
        s, order_event(PAID, amount=20_000, at=T0, updated_at=T0 + timedelta(hours=3))
    )
    assert paid.points_earned == 200
    stale = await ingest(
        s,
        order_event(
            CANCELLED, amount=20_000, at=T0, updated_at=T0 + timedelta(hours=2.5)
        ),
    )
    assert (stale.applied, stale.points_reversed) == (False, 0)
    order = await Order.get(id=older.order.id)
    assert (order.status, order.points_reversed) == (OrderStatus.PAID, 0)
    customer = await assert_ledger_consistent(_customer_id(order))
    assert (customer.points_balance, customer.paid_orders) == (200, 1)


async def test_placed_then_paid(store: IssuedKeys) -> None:
    # given
    s = store.store
    await make_spend_rule(s)

    # when the order is placed
    placed = await ingest(s, order_event(PLACED, amount=8_000, at=T0))

    # then it is known, unpaid, and earns nothing yet
    customer_id = _customer_id(placed.order)
    assert placed.effects == ["created"]
    order = await Order.get(id=placed.order.id)
    assert (order.status, order.paid_at, order.points_earned) == (
        OrderStatus.PLACED,
        None,
        0,
    )
    customer = await Customer.get(id=customer_id)
    assert (customer.stage, customer.paid_orders) == (Stage.PROSPECT, 0)
    assert await PointsTransaction.all().count() == 0

    # when it is paid, with its final amount
    paid = await ingest(
        s, order_event(PAID, amount=9_000, at=T0 + timedelta(minutes=5))
    )

    # then it earns on the paid amount
    assert paid.effects == ["amount updated", "paid"]
    assert paid.points_earned == 90
    order = await Order.get(id=placed.order.id)
    assert (order.status, order.paid_at, order.eligible_minor) == (
        OrderStatus.PAID,
        T0 + timedelta(minutes=5),
        9_000,
    )
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.stage) == (90, Stage.PURCHASER)


# --- refunds and cancellations -----------------------------------------------------


async def test_partial_refunds_take_back_pro_rata_and_in_full_at_the_end(
    store: IssuedKeys,
) -> None:
    # given an order of 99.99 EUR that earned 99 points
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=9_999))
    assert paid.points_earned == 99
    customer_id = _customer_id(paid.order)

    # when it is refunded in three parts summing to the whole
    steps = []
    for ref, amount in [("r-1", 2_500), ("r-2", 2_500), ("r-3", 4_999)]:
        result = await ingest(
            s, order_event(REFUNDED, amount=9_999, refund_ref=ref, refunded=amount)
        )
        order = await Order.get(id=paid.order.id)
        customer = await assert_ledger_consistent(customer_id)
        steps.append((result.points_reversed, order.status, customer.points_balance))

    # then each takes back its share (cumulative, rounded half up), the last the rest
    assert steps == [
        (25, OrderStatus.PARTIALLY_REFUNDED, 74),  # 99 x 2500/9999 = 24.75
        (25, OrderStatus.PARTIALLY_REFUNDED, 49),  # 99 x 5000/9999 = 49.5 -> 50
        (49, OrderStatus.REFUNDED, 0),
    ]
    order = await Order.get(id=paid.order.id)
    assert (order.refunded_minor, order.points_reversed, order.points_unrecovered) == (
        9_999,
        99,
        0,
    )
    refunds = await OrderRefund.filter(order_id=order.id).order_by("created_at")
    assert [(r.refund_ref, r.points_reversed) for r in refunds] == [
        ("r-1", 25),
        ("r-2", 25),
        ("r-3", 49),
    ]
    reversals = await PointsTransaction.filter(kind=TransactionKind.REVERSE)
    assert {r.reason for r in reversals} == {"Refund on order #o-1"}
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_lifetime) == (0, 0)
    # Fully refunded: no longer a paid order.
    assert (customer.paid_orders, customer.stage) == (0, Stage.PROSPECT)


async def test_two_partial_refunds_summing_to_the_whole_take_back_exactly(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s, per_unit="3")
    paid = await ingest(s, order_event(amount=3_333))  # 99.99 points -> 99
    assert paid.points_earned == 99

    a = await ingest(s, order_event(REFUNDED, refund_ref="a", refunded=1_111))
    b = await ingest(s, order_event(REFUNDED, refund_ref="b", refunded=2_222))

    assert (a.points_reversed, b.points_reversed) == (33, 66)
    assert a.points_reversed + b.points_reversed == paid.points_earned
    customer = await assert_ledger_consistent(_customer_id(paid.order))
    assert customer.points_balance == 0


async def test_refund_repeated_with_the_same_ref_has_no_effect(
    store: IssuedKeys,
) -> None:
    # given
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=10_000))
    event = order_event(REFUNDED, refund_ref="re-1", refunded=3_000)

    # when the same refund arrives twice
    first = await ingest(s, event)
    second = await ingest(s, event)

    # then it counts once
    assert (first.effects, first.points_reversed) == (["refunded"], 30)
    assert (second.applied, second.points_reversed) == (False, 0)
    order = await Order.get(id=paid.order.id)
    assert (order.refunded_minor, order.points_reversed, order.status) == (
        3_000,
        30,
        OrderStatus.PARTIALLY_REFUNDED,
    )
    assert await OrderRefund.filter(order_id=order.id).count() == 1
    customer = await assert_ledger_consistent(_customer_id(order))
    assert customer.points_balance == 70


async def test_refunds_beyond_the_order_amount_take_back_only_what_it_gave(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=10_000))

    await ingest(s, order_event(REFUNDED, refund_ref="a", refunded=8_000))
    over = await ingest(s, order_event(REFUNDED, refund_ref="b", refunded=8_000))

    assert over.points_reversed == 20
    order = await Order.get(id=paid.order.id)
    assert (order.refunded_minor, order.points_reversed) == (10_000, 100)
    customer = await assert_ledger_consistent(_customer_id(order))
    assert customer.points_balance == 0


async def test_cancel_after_paid_takes_everything_back(store: IssuedKeys) -> None:
    # given a paid order with campaign bonus points
    s = store.store
    await make_spend_rule(s)
    await program.save_campaign(
        s,
        program.CampaignFields(
            name="Spring",
            starts_at=utc_now() - timedelta(days=1),
            ends_at=utc_now() + timedelta(days=1),
            bonus_points=10,
        ),
    )
    paid = await ingest(s, order_event(amount=10_000))
    assert paid.points_earned == 110

    # when it is cancelled
    cancelled = await ingest(s, order_event(CANCELLED, amount=10_000))

    # then every point it gave is taken back in one entry
    assert (cancelled.effects, cancelled.points_reversed) == (["cancelled"], 110)
    customer_id = _customer_id(paid.order)
    reverse = await PointsTransaction.get(
        customer_id=customer_id, kind=TransactionKind.REVERSE
    )
    assert (reverse.points, reverse.reason) == (-110, "Order #o-1 cancelled")
    order = await Order.get(id=paid.order.id)
    assert (order.status, order.points_reversed) == (OrderStatus.CANCELLED, 110)
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_lifetime) == (0, 0)
    assert customer.paid_orders == 0

    # and a repeated cancellation does nothing more
    again = await ingest(s, order_event(CANCELLED, amount=10_000))
    assert (again.applied, again.points_reversed) == (False, 0)
    await assert_ledger_consistent(customer_id)


async def test_cancel_after_a_partial_refund_takes_back_the_rest(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=10_000))
    refund = await ingest(s, order_event(REFUNDED, refund_ref="r", refunded=4_000))
    cancel = await ingest(s, order_event(CANCELLED, amount=10_000))

    assert (refund.points_reversed, cancel.points_reversed) == (40, 60)
    customer = await assert_ledger_consistent(_customer_id(paid.order))
    assert (customer.points_balance, customer.paid_orders) == (0, 0)


async def _second_of_two_refunded_in_full(store: Store) -> IngestResult:
    """Two paid orders of one buyer (100 points each), the second refunded
    in full: the second's payment."""
    await make_spend_rule(store)
    await ingest(store, order_event(ref="o-1", amount=10_000))
    paid = await ingest(store, order_event(ref="o-2", amount=10_000))
    await ingest(
        store, order_event(REFUNDED, ref="o-2", refund_ref="r-1", refunded=10_000)
    )
    return paid


async def _counts_the_first_order_only(paid: IngestResult) -> None:
    customer = await assert_ledger_consistent(_customer_id(paid.order))
    assert (customer.points_balance, customer.paid_orders) == (100, 1)
    assert customer.stage is Stage.PURCHASER


async def test_cancel_after_a_full_refund_counts_the_order_off_once(
    store: IssuedKeys,
) -> None:
    paid = await _second_of_two_refunded_in_full(store.store)
    cancel = await ingest(store.store, order_event(CANCELLED, ref="o-2", amount=10_000))

    assert cancel.points_reversed == 0
    await _counts_the_first_order_only(paid)


async def test_a_refund_after_a_full_refund_counts_the_order_off_once(
    store: IssuedKeys,
) -> None:
    s = store.store
    paid = await _second_of_two_refunded_in_full(s)

    # when the platform reports another refund of it (shipping, a correction)
    with count_queries() as counter:
        late = await ingest(
            s, order_event(REFUNDED, ref="o-2", refund_ref="r-2", refunded=500)
        )

    # then it is recorded, but the order stopped counting once, and the
    # customer's row is not written (its cached answers stay valid)
    assert (late.effects, late.points_reversed) == (["refunded"], 0)
    assert not [q for q in counter.statements if 'UPDATE "customers"' in q]
    await _counts_the_first_order_only(paid)


async def test_cancelling_a_paid_order_with_nothing_eligible_counts_it_off(
    store: IssuedKeys,
) -> None:
    # given a paid order that earned nothing (all of it gift cards, say)
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=0))
    customer = await assert_ledger_consistent(_customer_id(paid.order))
    assert customer.paid_orders == 1

    # when it is cancelled, it no longer counts as a paid order
    await ingest(s, order_event(CANCELLED, amount=0))
    customer = await assert_ledger_consistent(_customer_id(paid.order))
    assert (customer.paid_orders, customer.stage) == (0, Stage.PROSPECT)


async def test_cancel_before_payment_earns_and_reverses_nothing(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    await ingest(s, order_event(PLACED, amount=10_000, at=T0))
    cancel = await ingest(
        s, order_event(CANCELLED, amount=10_000, at=T0 + timedelta(minutes=1))
    )
    late_payment = await ingest(
        s, order_event(PAID, amount=10_000, at=T0 + timedelta(minutes=2))
    )

    assert (cancel.effects, cancel.points_reversed) == (["cancelled"], 0)
    assert late_payment.points_earned == 0
    order = await Order.get(id=cancel.order.id)
    assert order.status is OrderStatus.CANCELLED
    assert await PointsTransaction.all().count() == 0
    customer = await assert_ledger_consistent(_customer_id(order))
    assert (customer.paid_orders, customer.stage) == (0, Stage.PROSPECT)


async def test_order_then_refund_loop_nets_zero_points(store: IssuedKeys) -> None:
    # given a rule whose rounding leaves fractions
    s = store.store
    await make_spend_rule(s, per_unit="1.3")
    amounts = [1, 99, 1_001, 7_777, 12_345, 33_333, 99_999]

    # when each order is paid, then refunded in uneven parts
    earned = 0
    for i, amount in enumerate(amounts):
        ref = f"loop-{i}"
        paid = await ingest(s, order_event(ref=ref, amount=amount))
        earned += paid.points_earned
        first_part = amount // 3
        for refund_ref, part in [("a", first_part), ("b", amount - first_part)]:
            if part:
                await ingest(
                    s,
                    order_event(
                        REFUNDED, ref=ref, refund_ref=refund_ref, refunded=part
                    ),
                )

    # then everything given was taken back: zero points, zero lifetime
    orders = await Order.filter(store_id=s.id)
    assert earned == sum(o.points_earned for o in orders) > 0
    assert all(o.points_reversed == o.points_earned for o in orders)
    assert all(o.status is OrderStatus.REFUNDED for o in orders)
    customer_id = _customer_id(orders[0])
    current = await assert_ledger_consistent(customer_id)
    assert (current.points_balance, current.points_pending) == (0, 0)
    assert (current.points_lifetime, current.paid_orders) == (0, 0)


async def test_refund_after_the_points_were_spent_records_what_is_unrecovered(
    store: IssuedKeys,
) -> None:
    # given 100 points earned, 80 of them spent on a reward
    s = store.store
    await make_spend_rule(s)
    reward = await make_reward(s, cost=80)
    paid = await ingest(s, order_event(amount=10_000))
    customer_id = _customer_id(paid.order)
    await _redeem(s, customer_id, reward.id)

    # when the whole order is refunded
    refund = await ingest(s, order_event(REFUNDED, refund_ref="r", refunded=10_000))

    # then the 20 left are taken back, the 80 spent are recorded, not hidden
    assert refund.points_reversed == 20
    order = await Order.get(id=paid.order.id)
    assert (order.points_reversed, order.points_unrecovered) == (20, 80)
    reverse = await PointsTransaction.get(kind=TransactionKind.REVERSE)
    assert (reverse.points, reverse.details["shortfall"]) == (-20, 80)
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 0

    # and a cancellation afterwards asks for nothing more
    cancel = await ingest(s, order_event(CANCELLED, amount=10_000))
    assert cancel.points_reversed == 0
    order = await Order.get(id=paid.order.id)
    assert (order.points_reversed, order.points_unrecovered) == (20, 80)
    await assert_ledger_consistent(customer_id)


async def test_refund_takes_spent_points_from_other_lots_before_a_shortfall(
    store: IssuedKeys,
) -> None:
    # given o-1 (100 points) and o-2 (50 points); 80 spent, from o-1's lot first
    s = store.store
    await make_spend_rule(s)
    reward = await make_reward(s, cost=80)
    first = await ingest(s, order_event(ref="o-1", amount=10_000))
    second = await ingest(s, order_event(ref="o-2", amount=5_000))
    customer_id = _customer_id(first.order)
    await _redeem(s, customer_id, reward.id)

    # when o-1 is refunded in full
    refund = await ingest(
        s, order_event(REFUNDED, ref="o-1", refund_ref="r", refunded=10_000)
    )

    # then its own 20, then o-2's 50; the 30 beyond the balance are a shortfall
    assert refund.points_reversed == 70
    order = await Order.get(id=first.order.id)
    assert (order.points_reversed, order.points_unrecovered) == (70, 30)
    lots = await PointsLot.filter(customer_id=customer_id)
    assert {lot.order_id: lot.remaining for lot in lots} == {
        first.order.id: 0,
        second.order.id: 0,
    }
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 0


async def test_partial_refund_after_spending_then_full_refund_settles_the_rest(
    store: IssuedKeys,
) -> None:
    # given 100 points earned, 80 spent
    s = store.store
    await make_spend_rule(s)
    reward = await make_reward(s, cost=80)
    paid = await ingest(s, order_event(ref="o-1", amount=10_000))
    customer_id = _customer_id(paid.order)
    await _redeem(s, customer_id, reward.id)

    # when half is refunded (50 owed, 20 left), more points come, then the rest
    half = await ingest(
        s, order_event(REFUNDED, ref="o-1", refund_ref="r1", refunded=5_000)
    )
    await ingest(s, order_event(ref="o-2", amount=10_000))
    rest = await ingest(
        s, order_event(REFUNDED, ref="o-1", refund_ref="r2", refunded=5_000)
    )

    # then the shortfall of the first refund is not collected twice
    assert (half.points_reversed, rest.points_reversed) == (20, 50)
    order = await Order.get(id=paid.order.id)
    assert (order.points_reversed, order.points_unrecovered) == (70, 30)
    assert order.points_reversed + order.points_unrecovered == order.points_earned
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 50


# --- reward codes, guests, currency ------------------------------------------------


async def test_discount_code_of_a_redemption_in_a_later_order_marks_it_used(
    store: IssuedKeys,
) -> None:
    # given a redemption made with the points of a first order
    s = store.store
    await make_spend_rule(s)
    reward = await make_reward(s, cost=50)
    paid = await ingest(s, order_event(ref="o-1", amount=10_000))
    redemption = await _redeem(s, _customer_id(paid.order), reward.id)

    # when its code (typed in lower case) shows up in a later order
    later = await ingest(
        s,
        order_event(ref="o-2", amount=4_000, codes=(redemption.code.lower(), "SUMMER")),
    )

    # then the redemption is used by that order
    assert "reward codes used" in later.effects
    used = await Redemption.get(id=redemption.id)
    assert (used.status, used.used_order_ref) == (RedemptionStatus.USED, "o-2")
    assert used.used_at is not None
    order = await Order.get(id=later.order.id)
    assert order.discount_codes == [redemption.code.lower(), "SUMMER"]

    # and seeing it again changes nothing
    again = await ingest(
        s, order_event(ref="o-3", amount=1_000, codes=(redemption.code,))
    )
    assert "reward codes used" not in again.effects
    assert (await Redemption.get(id=redemption.id)).used_order_ref == "o-2"
    await assert_ledger_consistent(_customer_id(paid.order))


def _guest_event(ref: str, email: str, amount: int = 10_000) -> OrderEvent:
    return replace(
        order_event(ref=ref, amount=amount),
        customer=CustomerRef(platform="custom", email=email),
    )


async def test_guest_order_by_email_creates_then_finds_the_customer(
    store: IssuedKeys,
) -> None:
    # given
    s = store.store
    await make_spend_rule(s)

    # when a guest orders twice with the same address, differently typed
    first = await ingest(s, _guest_event("g-1", "Guest@Example.com"))
    second = await ingest(s, _guest_event("g-2", "  guest@example.COM "))

    # then one customer, keyed by the email, with both orders' points
    assert first.order.customer_id == second.order.customer_id
    customer = await assert_ledger_consistent(_customer_id(first.order))
    assert (customer.email, customer.points_balance) == ("guest@example.com", 200)
    assert customer.paid_orders == 2
    identity = await CustomerIdentity.get(customer_id=customer.id)
    assert identity.external_id == "email:guest@example.com"
    assert await Customer.filter(store_id=s.id).count() == 1


async def test_guest_order_goes_to_the_known_customer_with_that_email(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    known = await make_customer(s, external_id="shop-9", email="ada@example.com")

    result = await ingest(s, _guest_event("g-1", "ADA@example.com"))

    assert result.order.customer_id == known.id
    assert await Customer.filter(store_id=s.id).count() == 1
    customer = await assert_ledger_consistent(known.id)
    assert customer.points_balance == 100


async def test_order_without_customer_id_or_email_is_refused(
    store: IssuedKeys,
) -> None:
    event = replace(order_event(), customer=CustomerRef(platform="custom"))

    with pytest.raises(OrderError) as caught:
        await ingest(store.store, event)

    assert caught.value.code is OrderErrorCode.CUSTOMER_REQUIRED
    assert await Order.all().count() == 0


async def test_currency_mismatch_is_refused_and_writes_nothing(
    store: IssuedKeys,
) -> None:
    # given a EUR store
    s = store.store
    await make_spend_rule(s)

    # when an order in USD comes
    with pytest.raises(OrderError) as caught:
        await ingest(s, replace(order_event(amount=10_000), currency="USD"))

    # then
    assert (caught.value.code, caught.value.field) == (
        OrderErrorCode.CURRENCY_MISMATCH,
        "currency",
    )
    assert await Order.all().count() == 0
    assert await Customer.all().count() == 0
    assert await PointsTransaction.all().count() == 0
    # the same currency in lower case is fine
    ok = await ingest(s, replace(order_event(amount=10_000), currency="eur"))
    assert ok.points_earned == 100


# --- the loyalty ladder --------------------------------------------------------------


async def _moves(customer_id: UUID) -> list[tuple[Stage | None, Stage, str]]:
    rows = await StageChange.filter(customer_id=customer_id).order_by("created_at")
    return [(r.from_stage, r.to_stage, r.cause) for r in rows]


async def test_ladder_moves_from_prospect_to_purchaser_to_client(
    store: IssuedKeys,
) -> None:
    # given
    s = store.store
    await make_spend_rule(s)

    # when a first, then a second order is paid
    first = await ingest(s, order_event(ref="o-1"))
    customer_id = _customer_id(first.order)
    after_first = (await Customer.get(id=customer_id)).stage
    await ingest(s, order_event(ref="o-2"))

    # then each move is recorded with its cause
    customer = await assert_ledger_consistent(customer_id)
    assert (after_first, customer.stage) == (Stage.PURCHASER, Stage.CLIENT)
    assert customer.stage_changed_at is not None
    assert await _moves(customer_id) == [
        (Stage.PROSPECT, Stage.PURCHASER, "order #o-1 paid"),
        (Stage.PURCHASER, Stage.CLIENT, "order #o-2 paid"),
    ]

    # and a third order changes nothing on the ladder
    await ingest(s, order_event(ref="o-3"))
    assert len(await _moves(customer_id)) == 2


@pytest.mark.parametrize(
    ("kind", "cause"),
    [(CANCELLED, "order #o-1 cancelled"), (REFUNDED, "order #o-1 refunded")],
)
async def test_ladder_moves_back_down_when_the_only_order_is_undone(
    store: IssuedKeys, kind: OrderEventKind, cause: str
) -> None:
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(ref="o-1"))
    customer_id = _customer_id(paid.order)

    await ingest(s, order_event(kind, ref="o-1", refund_ref="r", refunded=10_000))

    customer = await assert_ledger_consistent(customer_id)
    assert (customer.stage, customer.paid_orders) == (Stage.PROSPECT, 0)
    assert await _moves(customer_id) == [
        (Stage.PROSPECT, Stage.PURCHASER, "order #o-1 paid"),
        (Stage.PURCHASER, Stage.PROSPECT, cause),
    ]


async def test_enrolled_customer_falls_back_to_candidate_not_prospect(
    store: IssuedKeys,
) -> None:
    s = store.store
    customer = await make_customer(s)
    async with in_transaction():
        await membership.enroll(s, customer.id)
    await ingest(s, order_event(ref="o-1"))
    await ingest(s, order_event(CANCELLED, ref="o-1"))

    assert [m[:2] for m in await _moves(customer.id)] == [
        (Stage.PROSPECT, Stage.CANDIDATE),
        (Stage.CANDIDATE, Stage.PURCHASER),
        (Stage.PURCHASER, Stage.CANDIDATE),
    ]


# --- tiers ---------------------------------------------------------------------------


async def test_tier_upgrade_happens_as_soon_as_spend_crosses_the_threshold(
    store: IssuedKeys,
) -> None:
    # given tiers on spend (minor units) over the rolling year
    s = store.store
    await make_spend_rule(s)
    bronze = await make_tier(s, "Bronze", 0, 0)
    silver = await make_tier(s, "Silver", 1, 20_000, multiplier="2")
    with time_machine.travel(T0, tick=False):
        # when a first order (150 EUR) is paid
        first = await ingest(
            s, order_event(ref="o-1", amount=15_000, at=T0 - timedelta(minutes=2))
        )
        customer_id = _customer_id(first.order)
        after_first = await Customer.get(id=customer_id)
        # and a second one (100 EUR) takes spend to 250 EUR
        second = await ingest(
            s, order_event(ref="o-2", amount=10_000, at=T0 - timedelta(minutes=1))
        )

    # then Bronze at once, then Silver at once, each recorded
    assert after_first.tier_id == bronze.id
    customer = await assert_ledger_consistent(customer_id)
    assert customer.tier_id == silver.id
    assert customer.tier_review_at == T0 + timedelta(days=365)
    changes = await TierChange.filter(customer_id=customer_id).order_by("created_at")
    assert [(c.from_tier_id, c.to_tier_id, c.reason, c.note) for c in changes] == [
        (None, bronze.id, TierChangeReason.QUALIFIED, "order #o-1 paid"),
        (bronze.id, silver.id, TierChangeReason.QUALIFIED, "order #o-2 paid"),
    ]
    # the order that crossed the line earned at the old multiplier
    assert (first.points_earned, second.points_earned) == (150, 100)

    # and the next order earns at Silver's multiplier
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        third = await ingest(s, order_event(ref="o-3", amount=1_000))
    assert third.points_earned == 20


async def test_tier_upgrade_counts_an_order_stamped_slightly_ahead_of_our_clock(
    store: IssuedKeys,
) -> None:
    # given a Silver tier at 100 EUR
    s = store.store
    await make_tier(s, "Bronze", 0, 0)
    silver = await make_tier(s, "Silver", 1, 10_000)

    # when the platform's clock is 2 seconds ahead of ours
    with time_machine.travel(T0, tick=False):
        result = await ingest(
            s, order_event(amount=15_000, at=T0 + timedelta(seconds=2))
        )

    # then the order still counts towards the upgrade
    customer = await Customer.get(id=_customer_id(result.order))
    assert customer.tier_id == silver.id


@pytest.mark.postgres
async def test_concurrent_first_orders_of_a_new_buyer_make_one_customer(
    store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ten first orders of one buyer Ladder has never seen, released together:
    # one creates the customer, the others wait for it and credit the same
    await make_spend_rule(store.store)
    barrier = asyncio.Barrier(10)
    outcomes: list[bool] = []
    make = orders_service._new_buyer_and_order

    async def noted_make(*args: Any, **kwargs: Any) -> Any:
        made = await make(*args, **kwargs)
        outcomes.append(made is not None)
        return made

    monkeypatch.setattr(orders_service, "_new_buyer_and_order", noted_make)

    async def order(n: int) -> IngestResult:
        await barrier.wait()
        # each in a transaction held open a moment, as a webhook's or a
        # backfill batch's: the others' identity inserts wait on the first's
        async with in_transaction():
            result = await ingest(
                store.store,
                order_event(ref=f"o-{n}", customer="new-buyer", amount=1_000),
            )
            await asyncio.sleep(0.02)
        return result

    results = await asyncio.gather(*(order(n) for n in range(10)))
    assert all(r.applied for r in results)
    customer = await Customer.get(store_id=store.store.id)
    assert await CustomerIdentity.filter(store_id=store.store.id).count() == 1
    assert (customer.paid_orders, customer.points_balance) == (10, 100)
    assert await PointsTransaction.filter(customer_id=customer.id).count() == 10
    # one made it with its order; those that raced it found it, locked
    assert outcomes.count(True) == 1 and outcomes.count(False) >= 1


async def test_creating_a_customer_already_known_by_its_id_creates_nothing(
    store: IssuedKeys,
) -> None:
    known = await make_customer(store.store, external_id="k-1")
    async with in_transaction():
        again = await customers.create(
            store.store,
            platform=Platform.CUSTOM,
            external_id="k-1",
            changes=CustomerChanges({"email": "other@example.com"}),
        )
    assert again is None
    assert [c.id for c in await Customer.filter(store_id=store.store.id)] == [known.id]
    assert (await Customer.get(id=known.id)).email == known.email


@pytest.mark.postgres
async def test_a_returning_guest_and_their_order_are_locked_in_one_statement(
    store: IssuedKeys,
) -> None:
    # given three customers with the guest's email: the oldest erased, the
    # oldest active one made last (so neither order of insertion answers)
    s = store.store
    await make_spend_rule(s)
    erased = await make_customer(s, external_id="gone", email="ada@example.com")
    await make_customer(s, external_id="shop-10", email="ada@example.com")
    oldest = await make_customer(s, external_id="shop-9", email="ada@example.com")
    await Customer.filter(id=erased.id).update(
        erased_at=utc_now(), created_at=utc_now() - timedelta(days=30)
    )
    await Customer.filter(id=oldest.id).update(
        created_at=utc_now() - timedelta(days=20)
    )

    # when a guest pays with that email, and a guest with a new one pays
    with count_queries() as counter:
        paid = await ingest(s, _guest_event("g-1", " ADA@example.com"))
    with count_queries() as counter_new:
        first = await ingest(s, _guest_event("g-2", "new@example.com"))

    # then the oldest active one and the order were found in one statement
    by_email = [q for q in counter.statements if "c.email = $2" in q]
    assert len(by_email) == 1 and "FROM orders t" in by_email[0], counter.statements
    assert "FOR UPDATE OF c" in by_email[0]
    assert not [q for q in counter.statements if "t.email = $2" in q]  # no other look
    assert (paid.order.customer_id, paid.points_earned) == (oldest.id, 100)
    await assert_ledger_consistent(oldest.id)
    # and the new guest, asked for once, was made a customer by their email
    asked = [
        q for q in counter_new.statements if "c.email = $2" in q or "t.email = $2" in q
    ]
    assert len(asked) == 1, counter_new.statements
    # and not read back to be locked: the row is the transaction's own
    assert not [q for q in counter_new.statements if "t.id = $2" in q]
    identity = await CustomerIdentity.get(external_id="email:new@example.com")
    assert first.order.customer_id == identity.customer_id
    await assert_ledger_consistent(first.order.customer_id)  # type: ignore[arg-type]


@pytest.mark.postgres
async def test_a_guests_customer_is_locked_before_their_order(
    store: IssuedKeys,
) -> None:
    # given a guest's placed order, of the customer with their email
    s = store.store
    await make_spend_rule(s)
    known = await make_customer(s, external_id="shop-9", email="ada@example.com")
    async with in_transaction():
        await ingest(s, replace(_guest_event("g-1", "ada@example.com"), kind=PLACED))
    held, release, holders = asyncio.Event(), asyncio.Event(), []

    async def holder() -> None:  # another transaction holds the customer
        async with in_transaction():
            holders.append(await _backend_pid())
            await sql.fetch_all(
                "SELECT id FROM customers WHERE id = $1 FOR NO KEY UPDATE", known.id
            )
            held.set()
            await release.wait()

    async def payment() -> IngestResult:
        async with in_transaction():
            return await ingest(s, _guest_event("g-1", "ada@example.com"))

    # when its payment arrives
    holding = asyncio.create_task(holder())
    await held.wait()
    paying = asyncio.create_task(payment())
    try:
        # then it waits for the customer, holding nothing of the order yet
        await _until_blocked_by(holders[0])
        assert not await _order_locked(s, "g-1")
    finally:
        release.set()
        await holding
    paid = await paying
    assert (paid.order.customer_id, paid.points_earned) == (known.id, 100)


async def _order_locked(store: Store, order_ref: str) -> bool:
    """Whether another transaction holds the order's row lock."""
    try:
        async with in_transaction():
            await sql.fetch_all(
                "SELECT id FROM orders WHERE store_id = $1 AND order_ref = $2"
                " FOR UPDATE NOWAIT",
                store.id,
                order_ref,
            )
    except asyncpg.LockNotAvailableError:
        return True
    return False


@pytest.mark.postgres
async def test_a_new_buyers_order_inserted_meanwhile_is_read_again(
    store: IssuedKeys,
) -> None:
    # given another buyer's delivery that inserts order o-1 and has not
    # committed yet
    s = store.store
    await make_spend_rule(s)
    other = await make_customer(s, external_id="cust-2")
    inserted, commit, holders = asyncio.Event(), asyncio.Event(), []

    async def first() -> IngestResult:
        async with in_transaction():
            placed = await ingest(s, order_event(PLACED, ref="o-1", customer="cust-2"))
            holders.append(await _backend_pid())
            inserted.set()
            await commit.wait()
        return placed

    async def second() -> IngestResult:
        await inserted.wait()
        async with in_transaction():
            return await ingest(s, order_event(ref="o-1", customer="cust-new"))

    # when a new buyer's payment of it waits on that insert, which commits
    winner, loser = asyncio.create_task(first()), asyncio.create_task(second())
    await inserted.wait()
    await _until_blocked_by(holders[0])
    commit.set()
    placed, paid = await winner, await loser

    # then the payment found the order as stored, and paid it
    assert paid.order.id == placed.order.id and "paid" in paid.effects
    stored = await Order.get(id=placed.order.id)
    assert (stored.customer_id, stored.status) == (other.id, OrderStatus.PAID)


@pytest.mark.postgres
async def test_a_returning_buyer_and_their_order_are_locked_in_one_statement(
    store: IssuedKeys,
) -> None:
    # given a known buyer, and a buyer seen for the first time
    s = store.store
    await make_spend_rule(s)
    known = await make_customer(s, external_id="cust-1")

    # when each pays an order, and the known buyer's order is refunded
    with count_queries() as counter:
        paid = await ingest(s, order_event(ref="o-1", customer="cust-1"))
    with count_queries() as counter_new:
        first = await ingest(s, order_event(ref="o-2", customer="cust-new"))
    with count_queries() as counter_again:
        refund = await ingest(
            s, order_event(REFUNDED, ref="o-1", refund_ref="r-1", refunded=5_000)
        )

    # then the known buyer and their new order took one statement, the
    # order's refund found both in one too
    for statements in (counter.statements, counter_again.statements):
        reading_buyer = [q for q in statements if "customer_identities" in q]
        assert len(reading_buyer) == 1, statements
        assert "FROM orders t" in reading_buyer[0]
    assert (paid.order.customer_id, paid.points_earned) == (known.id, 100)
    assert refund.points_reversed == 50
    # and the new buyer, asked for once, was made with their order in one
    asked = [q for q in counter_new.statements if "FROM customer_identities" in q]
    assert len(asked) == 1 and "FROM orders t" in asked[0]
    created = [q for q in counter_new.statements if 'INSERT INTO "customers"' in q]
    assert len(created) == 1 and 'INSERT INTO "orders"' in created[0]
    reading_order = [q for q in counter_new.statements if "FROM orders t" in q]
    assert reading_order == [asked[0], created[0]]  # no lock or insert of its own
    newcomer = await customers.find_by_external_id(
        s, platform=Platform.CUSTOM, external_id="cust-new"
    )
    assert newcomer is not None and first.order.customer_id == newcomer.id
    await assert_ledger_consistent(known.id)
    await assert_ledger_consistent(newcomer.id)
    stored = await Order.filter(store_id=s.id).order_by("order_ref")
    assert [(o.order_ref, o.customer_id) for o in stored] == [
        ("o-1", known.id),
        ("o-2", newcomer.id),
    ]


async def test_owners_are_the_customers_of_this_stores_orders_on_this_platform(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    await ingest(store.store, order_event(ref="o-1", customer="a"))
    await ingest(store.store, order_event(ref="o-2", customer="b"))
    await ingest(other_store.store, order_event(ref="o-3", customer="c"))
    a = await CustomerIdentity.get(store_id=store.store.id, external_id="a")
    found = await orders_service.owners(
        store.store, platform="custom", order_refs=[" o-1 ", "o-3", "o-9"]
    )
    assert found == {"o-1": a.customer_id}
    assert (
        await orders_service.owners(store.store, platform="shopify", order_refs=["o-1"])
        == {}
    )
    assert (
        await orders_service.owners(store.store, platform="custom", order_refs=[]) == {}
    )

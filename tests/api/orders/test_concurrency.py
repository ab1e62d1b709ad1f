"""Concurrent writers on PostgreSQL: row locks make repeats and races harmless."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import pytest
from tortoise.transactions import in_transaction

from api.customers.models import Customer
from api.ledger import service as ledger
from api.ledger.models import PointsTransaction, TransactionKind
from api.orders import service as orders
from api.orders.events import OrderEventKind
from api.orders.models import Order, OrderRefund, OrderStatus
from api.orders.service import IngestResult
from api.rewards import service as rewards
from api.rewards.errors import RewardError, RewardErrorCode
from api.rewards.models import Redemption
from api.stores.service import IssuedKeys
from tests.api.ledger.test_service import assert_ledger_consistent
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_reward,
    make_spend_rule,
    order_event,
)

pytestmark = pytest.mark.postgres

T = TypeVar("T")


async def _race(n: int, work: Callable[[int], Awaitable[T]]) -> list[T | BaseException]:
    """Run `work(i)` n times, released together, each in its own transaction."""
    barrier = asyncio.Barrier(n)

    async def one(i: int) -> T:
        await barrier.wait()
        async with in_transaction():
            return await work(i)

    return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)


@pytest.mark.parametrize("known_customer", [True, False])
async def test_25_concurrent_deliveries_of_the_same_paid_event_credit_once(
    store: IssuedKeys, known_customer: bool
) -> None:
    # given one paid-order event (for a known customer, or one seen first here)
    s = store.store
    await make_spend_rule(s)
    if known_customer:
        await make_customer(s, external_id="cust-1")
    event = order_event(amount=12_345)

    # when the platform delivers it 25 times at once
    results = await _race(25, lambda _: orders.ingest(s, event))

    # then every delivery succeeds, exactly one of them pays
    assert [r for r in results if isinstance(r, BaseException)] == []
    done = [r for r in results if isinstance(r, IngestResult)]
    assert sum("paid" in r.effects for r in done) == 1
    assert sum(r.points_earned for r in done) == 123
    assert len({r.order.id for r in done}) == 1
    assert await Order.filter(store_id=s.id).count() == 1
    assert await Customer.filter(store_id=s.id).count() == 1
    customer_id = done[0].order.customer_id
    assert isinstance(customer_id, UUID)
    earn = await PointsTransaction.filter(
        customer_id=customer_id, kind=TransactionKind.EARN
    )
    assert [t.points for t in earn] == [123]
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.paid_orders) == (123, 1)


async def test_10_concurrent_partial_refunds_take_back_exactly_what_was_earned(
    store: IssuedKeys,
) -> None:
    # given an order of 99.99 EUR that earned 99 points
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=9_999))
    assert paid.points_earned == 99
    parts = [1_000] * 9 + [999]

    # when ten partial refunds with distinct refs arrive at once
    results = await _race(
        10,
        lambda i: orders.ingest(
            s,
            order_event(
                OrderEventKind.REFUNDED, refund_ref=f"r-{i}", refunded=parts[i]
            ),
        ),
    )

    # then all apply, and together they take back exactly the 99 points
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sum(r.points_reversed for r in results if isinstance(r, IngestResult)) == 99
    order = await Order.get(id=paid.order.id)
    assert (order.refunded_minor, order.points_reversed, order.status) == (
        9_999,
        99,
        OrderStatus.REFUNDED,
    )
    assert await OrderRefund.filter(order_id=order.id).count() == 10
    customer_id = order.customer_id
    assert isinstance(customer_id, UUID)
    reversed_total = sum(
        t.points
        for t in await PointsTransaction.filter(
            customer_id=customer_id, kind=TransactionKind.REVERSE
        )
    )
    assert reversed_total == -99
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.paid_orders) == (0, 0)


async def test_concurrent_repeats_of_one_refund_apply_it_once(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_spend_rule(s)
    paid = await ingest(s, order_event(amount=10_000))
    event = order_event(OrderEventKind.REFUNDED, refund_ref="r-1", refunded=2_500)

    results = await _race(10, lambda _: orders.ingest(s, event))

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert [r.points_reversed for r in results if isinstance(r, IngestResult)].count(
        25
    ) == 1
    order = await Order.get(id=paid.order.id)
    assert (order.refunded_minor, order.points_reversed) == (2_500, 25)
    customer_id = order.customer_id
    assert isinstance(customer_id, UUID)
    assert (await assert_ledger_consistent(customer_id)).points_balance == 75


@pytest.mark.parametrize("affordable", [1, 3])
async def test_50_concurrent_redeems_succeed_only_as_often_as_the_balance_covers(
    store: IssuedKeys, affordable: int
) -> None:
    # given a balance covering exactly `affordable` rewards of 100 points (plus 99)
    s = store.store
    customer = await make_customer(s)
    async with in_transaction():
        await ledger.adjust(s, customer.id, points=100 * affordable + 99, reason="Seed")
    reward = await make_reward(s, cost=100)

    # when 50 redemptions are attempted at once
    results = await _race(50, lambda _: rewards.redeem(s, customer.id, reward.id))

    # then exactly `affordable` succeed, the rest are refused for lack of points
    unexpected = [r for r in results if not isinstance(r, Redemption | RewardError)]
    assert unexpected == []
    ok = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, RewardError)]
    assert len(ok) == affordable
    assert len(refused) == 50 - affordable
    assert {e.code for e in refused} == {RewardErrorCode.INSUFFICIENT_POINTS}
    assert len({r.code for r in ok}) == affordable
    assert await Redemption.filter(customer_id=customer.id).count() == affordable
    current = await assert_ledger_consistent(customer.id)
    assert current.points_balance == 99
    spent = await PointsTransaction.filter(
        customer_id=customer.id, kind=TransactionKind.REDEEM
    )
    assert [t.points for t in spent] == [-100] * affordable


async def test_concurrent_redeems_of_the_last_item_by_different_customers(
    store: IssuedKeys,
) -> None:
    # given one item left and 20 customers who can all afford it
    s = store.store
    reward = await make_reward(s, cost=10, stock=1)
    ids = []
    for i in range(20):
        customer = await make_customer(s, external_id=f"c-{i}")
        async with in_transaction():
            await ledger.adjust(s, customer.id, points=50, reason="Seed")
        ids.append(customer.id)

    # when they all redeem at once
    results = await _race(20, lambda i: rewards.redeem(s, ids[i], reward.id))

    # then one gets it, the others are told it is out of stock, nobody pays for nothing
    ok = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, RewardError)]
    assert (len(ok), len(refused)) == (1, 19)
    assert {e.code for e in refused} == {RewardErrorCode.OUT_OF_STOCK}
    balances = sorted([(await assert_ledger_consistent(c)).points_balance for c in ids])
    assert balances == [40] + [50] * 19


async def test_concurrent_redeem_and_refund_keep_the_balance_non_negative(
    store: IssuedKeys,
) -> None:
    # given 100 points from an order, and a reward costing 100
    s = store.store
    await make_spend_rule(s)
    reward = await make_reward(s, cost=100)
    paid = await ingest(s, order_event(amount=10_000))
    customer_id = paid.order.customer_id
    assert isinstance(customer_id, UUID)
    refund = order_event(OrderEventKind.REFUNDED, refund_ref="r", refunded=10_000)

    # when the refund and a redemption race
    async def work(i: int) -> object:
        if i == 0:
            return await orders.ingest(s, refund)
        return await rewards.redeem(s, customer_id, reward.id)

    results = await _race(2, work)

    # then either the redemption won (shortfall recorded) or the refund did
    order = await Order.get(id=paid.order.id)
    redeemed = any(isinstance(r, Redemption) for r in results)
    if redeemed:
        assert (order.points_reversed, order.points_unrecovered) == (0, 100)
    else:
        assert (order.points_reversed, order.points_unrecovered) == (100, 0)
        assert [type(r) for r in results if isinstance(r, BaseException)] == [
            RewardError
        ]
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 0

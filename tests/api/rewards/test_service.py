"""Redemptions on the database: points spent atomically for a code, or nothing."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import time_machine
from tortoise.transactions import in_transaction

from api.customers.models import Customer
from api.ledger import service as ledger
from api.ledger.models import PointsLot, PointsTransaction, TransactionKind
from api.rewards import service as rewards
from api.rewards.errors import RewardError, RewardErrorCode
from api.rewards.models import Redemption, RedemptionStatus, Reward
from api.stores.models import Store
from api.stores.service import IssuedKeys
from tests.api.ledger.test_service import assert_ledger_consistent
from tests.factories.customers import make_customer
from tests.factories.program import ingest, make_reward, make_tier, order_event
from tests.graphql import count_queries

CODE = re.compile(r"^LDR(-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}){4}$")
T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


async def _customer_with(store: Store, points: int, external_id: str = "c-1") -> UUID:
    customer = await make_customer(store, external_id=external_id)
    if points:
        async with in_transaction():
            await ledger.adjust(store, customer.id, points=points, reason="Seed")
    return customer.id


async def _redeem(store: Store, customer_id: UUID, reward_id: UUID) -> Redemption:
    async with in_transaction():
        return await rewards.redeem(store, customer_id, reward_id)


async def _cancel(store: Store, redemption_id: UUID) -> Redemption:
    async with in_transaction():
        return await rewards.cancel(store, redemption_id)


async def _state(customer_id: UUID, reward_id: UUID) -> tuple[Any, ...]:
    customer = await Customer.get(id=customer_id)
    reward = await Reward.get(id=reward_id)
    return (
        customer.points_balance,
        customer.points_pending,
        reward.stock,
        await Redemption.filter(reward_id=reward_id).count(),
        await PointsTransaction.filter(customer_id=customer_id).count(),
        await PointsLot.filter(customer_id=customer_id).values_list(
            "remaining", flat=True
        ),
    )


async def test_redeem_spends_exactly_the_cost_and_issues_a_code(
    store: IssuedKeys,
) -> None:
    # given 250 points
    s = store.store
    customer_id = await _customer_with(s, 250)
    reward = await make_reward(s, name="5 EUR off", cost=100)

    # when
    redemption = await _redeem(s, customer_id, reward.id)

    # then
    assert CODE.match(redemption.code), redemption.code
    assert (redemption.status, redemption.points_spent) == (
        RedemptionStatus.ISSUED,
        100,
    )
    assert (redemption.customer_id, redemption.reward_id) == (customer_id, reward.id)
    spent = await PointsTransaction.get(kind=TransactionKind.REDEEM)
    assert (spent.points, spent.reason) == (-100, "Redeemed 5 EUR off")
    assert (spent.source_type, spent.source_id) == ("redemption", str(redemption.id))
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 150


async def test_codes_are_unique_and_hard_to_guess(store: IssuedKeys) -> None:
    s = store.store
    customer_id = await _customer_with(s, 2_000)
    reward = await make_reward(s, cost=100)

    codes = [(await _redeem(s, customer_id, reward.id)).code for _ in range(20)]

    assert len(set(codes)) == 20
    assert all(CODE.match(code) for code in codes)
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 0


async def test_redeem_spends_the_whole_balance_but_not_a_point_more(
    store: IssuedKeys,
) -> None:
    s = store.store
    customer_id = await _customer_with(s, 100)
    reward = await make_reward(s, cost=100)

    await _redeem(s, customer_id, reward.id)
    with pytest.raises(RewardError) as caught:
        await _redeem(s, customer_id, reward.id)

    assert caught.value.code is RewardErrorCode.INSUFFICIENT_POINTS
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 0
    assert await Redemption.all().count() == 1


async def _inactive(store: Store, customer_id: UUID) -> Reward:
    return await make_reward(store, active=False)


async def _ended(store: Store, customer_id: UUID) -> Reward:
    return await make_reward(
        store, starts_at=T0 - timedelta(days=10), ends_at=T0 - timedelta(seconds=1)
    )


async def _not_started(store: Store, customer_id: UUID) -> Reward:
    return await make_reward(store, starts_at=T0 + timedelta(seconds=1))


async def _tier_required(store: Store, customer_id: UUID) -> Reward:
    # A Base (rank 0) member asking for a Gold (rank 1) reward.
    base = await make_tier(store, "Base", 0, 0)
    await make_tier(store, "Gold", 1, 100_000)
    await Customer.filter(id=customer_id).update(tier_id=base.id)
    return await make_reward(store, min_tier_rank=1)


async def _limit_reached(store: Store, customer_id: UUID) -> Reward:
    reward = await make_reward(store, per_customer_limit=1)
    await _redeem(store, customer_id, reward.id)
    return reward


async def _out_of_stock(store: Store, customer_id: UUID) -> Reward:
    return await make_reward(store, stock=0)


async def _too_expensive(store: Store, customer_id: UUID) -> Reward:
    return await make_reward(store, cost=1_001, stock=5)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (_inactive, RewardErrorCode.INACTIVE),
        (_ended, RewardErrorCode.INACTIVE),
        (_not_started, RewardErrorCode.INACTIVE),
        (_tier_required, RewardErrorCode.TIER_REQUIRED),
        (_limit_reached, RewardErrorCode.LIMIT_REACHED),
        (_out_of_stock, RewardErrorCode.OUT_OF_STOCK),
        (_too_expensive, RewardErrorCode.INSUFFICIENT_POINTS),
    ],
)
async def test_refused_redemption_writes_nothing(
    store: IssuedKeys, make: Any, code: RewardErrorCode
) -> None:
    # given a customer with 1000 points and a reward they may not have now
    s = store.store
    with time_machine.travel(T0, tick=False):
        customer_id = await _customer_with(s, 1_000)
        reward = await make(s, customer_id)
        before = await _state(customer_id, reward.id)

        # when
        with pytest.raises(RewardError) as caught:
            await _redeem(s, customer_id, reward.id)

    # then a typed error, and balance, stock, redemptions and lots are unchanged
    assert (caught.value.code, caught.value.field) == (code, "rewardId")
    assert await _state(customer_id, reward.id) == before
    await assert_ledger_consistent(customer_id)


async def test_tier_restricted_reward_is_open_to_that_tier_and_above(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_tier(s, "Base", 0, 0)
    gold = await make_tier(s, "Gold", 1, 10_000)
    customer_id = await _customer_with(s, 1_000)
    reward = await make_reward(s, cost=100, min_tier_rank=1)
    await ingest(s, order_event(customer="c-1", amount=20_000))
    assert (await Customer.get(id=customer_id)).tier_id == gold.id

    redemption = await _redeem(s, customer_id, reward.id)

    assert redemption.points_spent == 100
    await assert_ledger_consistent(customer_id)


async def test_stock_decrements_and_the_last_item_goes_once(
    store: IssuedKeys,
) -> None:
    # given two items left and three customers with enough points
    s = store.store
    reward = await make_reward(s, cost=100, stock=2)
    customers = [await _customer_with(s, 500, f"c-{i}") for i in range(3)]

    # when they redeem in turn
    await _redeem(s, customers[0], reward.id)
    assert (await Reward.get(id=reward.id)).stock == 1
    await _redeem(s, customers[1], reward.id)
    with pytest.raises(RewardError) as caught:
        await _redeem(s, customers[2], reward.id)

    # then two got one, the third nothing, and stock never goes below zero
    assert caught.value.code is RewardErrorCode.OUT_OF_STOCK
    assert (await Reward.get(id=reward.id)).stock == 0
    assert await Redemption.filter(reward_id=reward.id).count() == 2
    balances = [(await assert_ledger_consistent(c)).points_balance for c in customers]
    assert balances == [400, 400, 500]


async def test_per_customer_limit_counts_each_customer_separately(
    store: IssuedKeys,
) -> None:
    s = store.store
    reward = await make_reward(s, cost=10, per_customer_limit=2)
    ada = await _customer_with(s, 100, "ada")
    bob = await _customer_with(s, 100, "bob")

    for _ in range(2):
        await _redeem(s, ada, reward.id)
    await _redeem(s, bob, reward.id)
    with pytest.raises(RewardError) as caught:
        await _redeem(s, ada, reward.id)

    assert caught.value.code is RewardErrorCode.LIMIT_REACHED
    assert (await assert_ledger_consistent(ada)).points_balance == 80
    assert (await assert_ledger_consistent(bob)).points_balance == 90


async def test_cancel_returns_the_points_as_a_new_entry_and_restores_stock(
    store: IssuedKeys,
) -> None:
    # given a redemption of the only item of a reward, limited to one per customer
    s = store.store
    customer_id = await _customer_with(s, 300)
    reward = await make_reward(
        s, name="Tote bag", cost=120, stock=1, per_customer_limit=1
    )
    redemption = await _redeem(s, customer_id, reward.id)
    assert (await Reward.get(id=reward.id)).stock == 0

    # when it is cancelled
    cancelled = await _cancel(s, redemption.id)

    # then the points come back as a new entry (the redeem entry stays)
    assert cancelled.status is RedemptionStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    entries = await PointsTransaction.filter(customer_id=customer_id).order_by(
        "created_at", "id"
    )
    assert [(e.kind, e.points) for e in entries] == [
        (TransactionKind.ADJUST, 300),
        (TransactionKind.REDEEM, -120),
        (TransactionKind.REVERSE, 120),
    ]
    assert entries[-1].reason == "Returned: Tote bag cancelled"
    assert (entries[-1].source_type, entries[-1].source_id) == (
        "redemption",
        str(redemption.id),
    )
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.points_balance, customer.points_pending) == (300, 0)
    # and the stock and the customer's limit are free again
    assert (await Reward.get(id=reward.id)).stock == 1
    again = await _redeem(s, customer_id, reward.id)
    assert again.code != redemption.code
    assert (await assert_ledger_consistent(customer_id)).points_balance == 180


async def test_cancel_of_a_used_redemption_is_refused(store: IssuedKeys) -> None:
    # given a redemption whose code was used in an order
    s = store.store
    customer_id = await _customer_with(s, 300)
    reward = await make_reward(s, cost=100, stock=3)
    redemption = await _redeem(s, customer_id, reward.id)
    await ingest(s, order_event(customer="c-1", codes=(redemption.code,)))
    assert (await Redemption.get(id=redemption.id)).status is RedemptionStatus.USED
    before = await _state(customer_id, reward.id)

    # when
    with pytest.raises(RewardError) as caught:
        await _cancel(s, redemption.id)

    # then
    assert caught.value.code is RewardErrorCode.ALREADY_USED
    assert await _state(customer_id, reward.id) == before
    assert (await Redemption.get(id=redemption.id)).status is RedemptionStatus.USED


async def test_cancel_twice_is_refused_the_second_time(store: IssuedKeys) -> None:
    # given
    s = store.store
    customer_id = await _customer_with(s, 300)
    reward = await make_reward(s, cost=100, stock=3)
    redemption = await _redeem(s, customer_id, reward.id)
    await _cancel(s, redemption.id)
    before = await _state(customer_id, reward.id)

    # when
    with pytest.raises(RewardError) as caught:
        await _cancel(s, redemption.id)

    # then the points and the stock came back once
    assert caught.value.code is RewardErrorCode.ALREADY_CANCELLED
    assert await _state(customer_id, reward.id) == before
    customer = await assert_ledger_consistent(customer_id)
    assert customer.points_balance == 300
    assert (await Reward.get(id=reward.id)).stock == 3


async def test_used_code_is_not_used_again_by_a_later_order(
    store: IssuedKeys,
) -> None:
    s = store.store
    customer_id = await _customer_with(s, 300)
    reward = await make_reward(s, cost=100)
    redemption = await _redeem(s, customer_id, reward.id)

    used = await rewards.mark_used(s, [f"  {redemption.code.lower()} "], order_ref="A")
    again = await rewards.mark_used(s, [redemption.code], order_ref="B")

    assert (used, again) == (1, 0)
    row = await Redemption.get(id=redemption.id)
    assert (row.status, row.used_order_ref) == (RedemptionStatus.USED, "A")


async def test_the_merchants_own_codes_on_an_order_cost_no_query(
    store: IssuedKeys,
) -> None:
    # Most orders carry the shop's own discount codes, never Ladder's: they
    # are told apart by their shape, without a lookup.
    s = store.store
    customer_id = await _customer_with(s, 300)
    redemption = await _redeem(s, customer_id, (await make_reward(s, cost=100)).id)
    with count_queries() as queries:
        none = await rewards.mark_used(s, ["SAVE10", "LDR-SUMMER", " "], order_ref="A")
    assert (none, queries.count) == (0, 0)
    assert await rewards.mark_used(s, ["SAVE10", redemption.code], order_ref="B") == 1


async def test_another_stores_reward_or_redemption_is_not_found(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    mine = await _customer_with(store.store, 300)
    theirs = await _customer_with(other_store.store, 300)
    their_reward = await make_reward(other_store.store, cost=10)
    their_redemption = await _redeem(other_store.store, theirs, their_reward.id)

    with pytest.raises(RewardError) as redeem_error:
        await _redeem(store.store, mine, their_reward.id)
    with pytest.raises(RewardError) as cancel_error:
        await _cancel(store.store, their_redemption.id)

    assert redeem_error.value.code is RewardErrorCode.NOT_FOUND
    assert cancel_error.value.code is RewardErrorCode.NOT_FOUND
    assert (await assert_ledger_consistent(mine)).points_balance == 300
    assert (await Redemption.get(id=their_redemption.id)).status is (
        RedemptionStatus.ISSUED
    )

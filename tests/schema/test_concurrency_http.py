"""Races through the whole HTTP + GraphQL stack, on PostgreSQL (real row locks).

Every request goes through the in-process httpx client, released together by a
barrier, so each runs in its own transaction on its own pooled connection.
"""

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from api.core.clock import utc_now
from api.customers.models import Customer
from api.idempotency.models import IdempotencyRecord
from api.ledger.models import PointsTransaction, TransactionKind
from api.orders.models import Order
from api.rewards.models import Redemption
from api.stores import service as stores
from api.stores.service import IssuedKeys
from tests.factories.program import ingest, make_reward, make_spend_rule, order_event
from tests.graphql import GraphQLClient, Result, global_id

pytestmark = pytest.mark.postgres

REDEEM = """
mutation($i: RewardRedeemInput!) {
  rewardRedeem(input: $i) {
    redemption { id code } pointsBalance userErrors { field code message }
  }
}
"""
ORDER = """
mutation($i: OrderRecordInput!) {
  orderRecord(input: $i) {
    applied pointsEarned order { id status } userErrors { field code message }
  }
}
"""


async def _together(n: int, call: Any) -> list[Result]:
    barrier = asyncio.Barrier(n)

    async def one(i: int) -> Result:
        await barrier.wait()
        return await call(i)  # type: ignore[no-any-return]

    return await asyncio.gather(*(one(i) for i in range(n)))


async def _shopper_with(store: IssuedKeys, points: int) -> tuple[Customer, str]:
    await make_spend_rule(store.store)
    await ingest(
        store.store,
        order_event(amount=points * 100, at=utc_now() - timedelta(minutes=1)),
    )
    customer = await Customer.get(store_id=store.store.id)
    assert customer.points_balance == points
    token, _ = stores.mint_customer_token(
        store.store, customer.id, ttl=timedelta(hours=1)
    )
    return customer, token


async def _ledger(customer: Customer) -> list[tuple[str, int]]:
    rows = await PointsTransaction.filter(customer_id=customer.id).values_list(
        "kind", "points"
    )
    return sorted((str(kind), points) for kind, points in rows)


async def test_50_redemptions_against_a_balance_for_one(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given 100 points and a reward costing 100
    customer, token = await _shopper_with(store, 100)
    reward = await make_reward(store.store, cost=100)

    async def redeem(i: int) -> Result:
        return await gql(
            REDEEM,
            {
                "i": {
                    "rewardId": global_id("Reward", reward.id),
                    "idempotencyKey": f"redeem-{i}",
                }
            },
            key=store.publishable_key,
            token=token,
        )

    # when 50 storefront tabs redeem at once
    results = await _together(50, redeem)

    # then exactly one wins, every other is told why
    assert all(r.status == 200 and r.errors == [] for r in results)
    payloads = [r.data["rewardRedeem"] for r in results]
    wins = [p for p in payloads if not p["userErrors"]]
    losses = [p for p in payloads if p["userErrors"]]
    assert len(wins) == 1
    assert wins[0]["pointsBalance"] == 0
    assert Counter(
        (e["field"], e["code"]) for p in losses for e in p["userErrors"]
    ) == Counter({("rewardId", "INSUFFICIENT_POINTS"): 49})
    assert all(p["redemption"] is None for p in losses)
    assert (await Customer.get(id=customer.id)).points_balance == 0
    assert await _ledger(customer) == [("earn", 100), ("redeem", -100)]
    assert await Redemption.filter(store_id=store.store.id).count() == 1
    # the losers' keys were not burned: only the winner's is stored
    assert await IdempotencyRecord.filter(store_id=store.store.id).count() == 1


async def test_25_deliveries_of_the_same_paid_order(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a spend rule, and a customer Ladder has not seen yet
    await make_spend_rule(store.store)
    paid_at = (utc_now() - timedelta(minutes=1)).isoformat()

    async def deliver(i: int) -> Result:
        return await gql(
            ORDER,
            {
                "i": {
                    "kind": "PAID",
                    "orderRef": "1001",
                    "customer": {"externalId": "new-shopper"},
                    "currency": "EUR",
                    "eligibleMinor": 12_000,
                    "occurredAt": paid_at,
                    "idempotencyKey": f"delivery-{i}",
                }
            },
            key=store.secret_key,
        )

    # when the same event arrives 25 times at once under different keys
    results = await _together(25, deliver)

    # then one delivery applies it, and the order earns once
    assert all(r.status == 200 and r.errors == [] for r in results)
    payloads = [r.data["orderRecord"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert sorted(p["applied"] for p in payloads) == [False] * 24 + [True]
    assert sorted(p["pointsEarned"] for p in payloads) == [0] * 24 + [120]
    assert {p["order"]["id"] for p in payloads} == {payloads[0]["order"]["id"]}
    assert {p["order"]["status"] for p in payloads} == {"PAID"}
    customer = await Customer.get(store_id=store.store.id)
    assert (customer.points_balance, customer.paid_orders) == (120, 1)
    assert await _ledger(customer) == [("earn", 120)]
    assert await Order.filter(store_id=store.store.id).count() == 1
    assert await Customer.filter(store_id=store.store.id).count() == 1


async def test_20_retries_of_one_redemption_at_once(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given enough points for several rewards
    customer, token = await _shopper_with(store, 1000)
    reward = await make_reward(store.store, cost=100)
    variables = {
        "i": {"rewardId": global_id("Reward", reward.id), "idempotencyKey": "tap-1"}
    }

    async def retry(_: int) -> Result:
        return await gql(REDEEM, variables, key=store.publishable_key, token=token)

    # when a flaky client fires the same request 20 times at once
    results = await _together(20, retry)

    # then every response is the first redemption, paid once
    assert all(r.status == 200 and r.errors == [] for r in results)
    payloads = [r.data["rewardRedeem"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert len({p["redemption"]["code"] for p in payloads}) == 1
    assert len({p["redemption"]["id"] for p in payloads}) == 1
    assert (await Customer.get(id=customer.id)).points_balance == 900
    assert await _ledger(customer) == [("earn", 1000), ("redeem", -100)]
    assert (
        await PointsTransaction.filter(
            customer_id=customer.id, kind=TransactionKind.REDEEM
        ).count()
        == 1
    )

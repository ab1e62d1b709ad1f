"""pointsAdjust, rewardRedeem, redemptionCancel and the rewards catalogue over GraphQL."""

from datetime import timedelta
from typing import Any

from api.core.clock import utc_now
from api.customers.models import Customer
from api.ledger.models import PointsTransaction
from api.rewards.models import Redemption, Reward
from api.stores import service as stores
from api.stores.models import Store
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_reward,
    make_spend_rule,
    make_tier,
    order_event,
)
from tests.graphql import GraphQLClient, global_id

ERRORS = "userErrors { field code message }"
ADJUST = f"""
mutation($i: PointsAdjustInput!) {{
  pointsAdjust(input: $i) {{
    transaction {{ id kind points reason sourceType }} pointsBalance {ERRORS}
  }}
}}
"""
REDEEM = f"""
mutation($i: RewardRedeemInput!) {{
  rewardRedeem(input: $i) {{
    redemption {{ id code status pointsSpent rewardId }} pointsBalance {ERRORS}
  }}
}}
"""
CANCEL = f"""
mutation($i: RedemptionCancelInput!) {{
  redemptionCancel(input: $i) {{
    redemption {{ id status cancelledAt }} pointsBalance {ERRORS}
  }}
}}
"""
REWARDS = """
query($available: Boolean!) {
  rewards(first: 50, available: $available) { edges { node { name costPoints stock } } }
}
"""


def _errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _customer_with_points(
    store: IssuedKeys, points: int, *, external_id: str = "cust-1"
) -> Customer:
    """A customer whose paid order gave `points` (1 point per euro, spendable now)."""
    await ingest(
        store.store,
        order_event(
            ref=f"order-{external_id}",
            customer=external_id,
            amount=points * 100,
            at=utc_now() - timedelta(minutes=1),
        ),
    )
    customer = await Customer.get(
        store_id=store.store.id, identities__external_id=external_id
    )
    assert customer.points_balance == points
    return customer


async def _balance(customer: Customer) -> int:
    return (await Customer.get(id=customer.id)).points_balance


async def _entries(store: IssuedKeys, customer: Customer) -> int:
    return await PointsTransaction.filter(
        store_id=store.store.id, customer_id=customer.id
    ).count()


def _adjust(customer: Customer, points: int, reason: str, key: str) -> dict[str, Any]:
    return {
        "i": {
            "customerId": global_id("Customer", customer.id),
            "points": points,
            "reason": reason,
            "idempotencyKey": key,
        }
    }


def _redeem(
    reward: Reward, key: str, customer: Customer | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "rewardId": global_id("Reward", reward.id),
        "idempotencyKey": key,
    }
    if customer is not None:
        value["customerId"] = global_id("Customer", customer.id)
    return {"i": value}


# pointsAdjust


async def test_adjust_adds_points_with_the_reason_shown_to_the_customer(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    customer = await make_customer(store.store)
    result = await gql(
        ADJUST,
        _adjust(customer, 40, " Sorry for the delay ", "adj-1"),
        key=store.secret_key,
    )
    payload = result.data["pointsAdjust"]
    assert payload["userErrors"] == []
    assert payload["pointsBalance"] == 40
    assert {k: v for k, v in payload["transaction"].items() if k != "id"} == {
        "kind": "ADJUST",
        "points": 40,
        "reason": "Sorry for the delay",
        "sourceType": "manual",
    }
    token, _ = stores.mint_customer_token(
        store.store, customer.id, ttl=timedelta(hours=1)
    )
    me = await gql(
        "{ me { pointsBalance pointsTransactions(first: 5) "
        "{ edges { node { kind points reason } } } } }",
        key=store.publishable_key,
        token=token,
    )
    assert me.data["me"] == {
        "pointsBalance": 40,
        "pointsTransactions": {
            "edges": [
                {
                    "node": {
                        "kind": "ADJUST",
                        "points": 40,
                        "reason": "Sorry for the delay",
                    }
                }
            ]
        },
    }


async def test_adjust_needs_a_reason(gql: GraphQLClient, store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    for i, reason in enumerate(["", "   ", "x" * 256]):
        result = await gql(
            ADJUST, _adjust(customer, 10, reason, f"adj-{i}"), key=store.secret_key
        )
        payload = result.data["pointsAdjust"]
        assert _errors(payload) == [("reason", "INVALID")]
        assert payload["transaction"] is None
        assert payload["pointsBalance"] is None
    assert await _entries(store, customer) == 0
    assert await _balance(customer) == 0


async def test_adjust_points_must_be_non_zero(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    customer = await make_customer(store.store)
    zero = await gql(
        ADJUST, _adjust(customer, 0, "oops", "adj-0"), key=store.secret_key
    )
    huge = await gql(
        ADJUST, _adjust(customer, 10_000_001, "oops", "adj-1"), key=store.secret_key
    )
    assert _errors(zero.data["pointsAdjust"]) == [("points", "INVALID")]
    assert _errors(huge.data["pointsAdjust"]) == [("points", "INVALID")]
    assert await _entries(store, customer) == 0


async def test_adjust_cannot_take_more_than_the_balance(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 30)
    result = await gql(
        ADJUST, _adjust(customer, -31, "correction", "adj-1"), key=store.secret_key
    )
    payload = result.data["pointsAdjust"]
    assert _errors(payload) == [("points", "INSUFFICIENT_POINTS")]
    assert payload["userErrors"][0]["message"] == (
        "Needs 31 points; 30 are available to spend."
    )
    assert await _balance(customer) == 30
    assert await _entries(store, customer) == 1
    # taking exactly the balance is fine
    exact = await gql(
        ADJUST, _adjust(customer, -30, "correction", "adj-2"), key=store.secret_key
    )
    assert exact.data["pointsAdjust"]["pointsBalance"] == 0
    assert exact.data["pointsAdjust"]["transaction"]["points"] == -30


async def test_adjust_replayed_with_its_key_applies_once(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    customer = await make_customer(store.store)
    first = await gql(
        ADJUST, _adjust(customer, 25, "goodwill", "adj-1"), key=store.secret_key
    )
    again = await gql(
        ADJUST, _adjust(customer, 25, "goodwill", "adj-1"), key=store.secret_key
    )
    other = await gql(
        ADJUST, _adjust(customer, 26, "goodwill", "adj-1"), key=store.secret_key
    )
    assert again.data == first.data
    assert first.data["pointsAdjust"]["pointsBalance"] == 25
    assert _errors(other.data["pointsAdjust"]) == [("idempotencyKey", "KEY_REUSED")]
    assert await _balance(customer) == 25
    assert await _entries(store, customer) == 1


async def test_adjust_an_unknown_customer(
    gql: GraphQLClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    theirs = await make_customer(other_store.store)
    result = await gql(
        ADJUST, _adjust(theirs, 25, "goodwill", "adj-1"), key=store.secret_key
    )
    garbage = await gql(
        ADJUST,
        {
            "i": {
                "customerId": "nope",
                "points": 5,
                "reason": "x",
                "idempotencyKey": "k",
            }
        },
        key=store.secret_key,
    )
    assert _errors(result.data["pointsAdjust"]) == [("customerId", "NOT_FOUND")]
    assert _errors(garbage.data["pointsAdjust"]) == [("customerId", "NOT_FOUND")]
    assert await _balance(theirs) == 0


# rewardRedeem


async def test_redeem_with_the_secret_key(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 150)
    reward = await make_reward(store.store, cost=100)
    result = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    payload = result.data["rewardRedeem"]
    assert payload["userErrors"] == []
    assert payload["pointsBalance"] == 50
    assert payload["redemption"]["status"] == "ISSUED"
    assert payload["redemption"]["pointsSpent"] == 100
    assert payload["redemption"]["rewardId"] == global_id("Reward", reward.id)


async def test_redeem_with_the_secret_key_needs_a_customer(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    reward = await make_reward(store.store, cost=100)
    result = await gql(REDEEM, _redeem(reward, "r-1"), key=store.secret_key)
    assert _errors(result.data["rewardRedeem"]) == [("customerId", "NOT_FOUND")]


async def test_redeem_without_enough_points(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 99)
    reward = await make_reward(store.store, cost=100)
    result = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    payload = result.data["rewardRedeem"]
    assert _errors(payload) == [("rewardId", "INSUFFICIENT_POINTS")]
    assert payload["redemption"] is None
    assert payload["pointsBalance"] is None
    assert await _balance(customer) == 99
    assert await Redemption.filter(store_id=store.store.id).count() == 0


async def test_pending_points_cannot_be_spent(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a 14-day return window: the order's points are pending
    await gql(
        "mutation { programSettingsUpdate(input: {pendingDays: 14}) "
        "{ userErrors { code } } }",
        key=store.secret_key,
    )
    fresh = await Store.get(id=store.store.id)  # with the new settings
    await make_spend_rule(fresh)
    await ingest(fresh, order_event(amount=50_000))
    customer = await Customer.get(store_id=store.store.id)
    reward = await make_reward(store.store, cost=100)
    # when
    result = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    # then
    assert (customer.points_balance, customer.points_pending) == (0, 500)
    assert _errors(result.data["rewardRedeem"]) == [("rewardId", "INSUFFICIENT_POINTS")]


async def test_redeem_needs_the_tier(gql: GraphQLClient, store: IssuedKeys) -> None:
    # given a Bronze customer with plenty of points, and a Gold-only reward
    await make_spend_rule(store.store)
    await make_tier(store.store, "Bronze", 0, 0)
    await make_tier(store.store, "Gold", 1, 1_000_000)
    customer = await _customer_with_points(store, 500)
    reward = await make_reward(store.store, cost=100, min_tier_rank=1)
    # when
    result = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    # then
    assert _errors(result.data["rewardRedeem"]) == [("rewardId", "TIER_REQUIRED")]
    assert await _balance(customer) == 500


async def test_redeem_out_of_stock(gql: GraphQLClient, store: IssuedKeys) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 500)
    reward = await make_reward(store.store, cost=100, stock=0)
    result = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    assert _errors(result.data["rewardRedeem"]) == [("rewardId", "OUT_OF_STOCK")]
    assert await _balance(customer) == 500


async def test_last_item_of_stock(gql: GraphQLClient, store: IssuedKeys) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 500)
    reward = await make_reward(store.store, cost=100, stock=1)
    first = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    second = await gql(REDEEM, _redeem(reward, "r-2", customer), key=store.secret_key)
    assert first.data["rewardRedeem"]["userErrors"] == []
    assert _errors(second.data["rewardRedeem"]) == [("rewardId", "OUT_OF_STOCK")]
    assert (await Reward.get(id=reward.id)).stock == 0
    assert await _balance(customer) == 400


async def test_redeem_limits_and_inactive_rewards(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 500)
    once = await make_reward(store.store, name="Once", cost=10, per_customer_limit=1)
    off = await make_reward(store.store, name="Off", cost=10, active=False)
    later = await make_reward(
        store.store, name="Later", cost=10, starts_at=utc_now() + timedelta(days=1)
    )
    first = await gql(REDEEM, _redeem(once, "r-1", customer), key=store.secret_key)
    second = await gql(REDEEM, _redeem(once, "r-2", customer), key=store.secret_key)
    inactive = await gql(REDEEM, _redeem(off, "r-3", customer), key=store.secret_key)
    early = await gql(REDEEM, _redeem(later, "r-4", customer), key=store.secret_key)
    assert first.data["rewardRedeem"]["userErrors"] == []
    assert _errors(second.data["rewardRedeem"]) == [("rewardId", "LIMIT_REACHED")]
    assert _errors(inactive.data["rewardRedeem"]) == [("rewardId", "INACTIVE")]
    assert _errors(early.data["rewardRedeem"]) == [("rewardId", "INACTIVE")]
    assert await _balance(customer) == 490


async def test_redeem_replayed_with_its_key(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 500)
    reward = await make_reward(store.store, cost=100)
    other = await make_reward(store.store, name="Other", cost=100)
    first = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    again = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    reused = await gql(REDEEM, _redeem(other, "r-1", customer), key=store.secret_key)
    assert again.data == first.data
    assert _errors(reused.data["rewardRedeem"]) == [("idempotencyKey", "KEY_REUSED")]
    assert await _balance(customer) == 400
    assert await Redemption.filter(store_id=store.store.id).count() == 1


async def test_publishable_key_without_a_token_is_forbidden(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 500)
    reward = await make_reward(store.store, cost=100)
    result = await gql(
        REDEEM, _redeem(reward, "r-1", customer), key=store.publishable_key
    )
    assert result.data == {"rewardRedeem": None}
    assert result.error_codes == ["FORBIDDEN"]
    assert await _balance(customer) == 500


async def test_shopper_cannot_redeem_for_someone_else(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given two shoppers with points; the storefront is signed in as the first
    await make_spend_rule(store.store)
    me = await _customer_with_points(store, 500, external_id="me")
    victim = await _customer_with_points(store, 500, external_id="victim")
    reward = await make_reward(store.store, cost=100)
    token, _ = stores.mint_customer_token(store.store, me.id, ttl=timedelta(hours=1))
    # when it names the other customer
    result = await gql(
        REDEEM, _redeem(reward, "r-1", victim), key=store.publishable_key, token=token
    )
    # then it looks like no such customer, and nobody paid
    assert result.errors == []
    assert _errors(result.data["rewardRedeem"]) == [("customerId", "NOT_FOUND")]
    assert await _balance(me) == 500
    assert await _balance(victim) == 500
    assert await Redemption.filter(store_id=store.store.id).count() == 0
    # while naming themselves works like leaving the id out
    own = await gql(
        REDEEM, _redeem(reward, "r-2", me), key=store.publishable_key, token=token
    )
    assert own.data["rewardRedeem"]["pointsBalance"] == 400


# redemptionCancel


async def test_cancel_returns_the_points_and_the_stock(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 150)
    reward = await make_reward(store.store, cost=100, stock=3)
    redeemed = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    redemption_id = redeemed.data["rewardRedeem"]["redemption"]["id"]
    # when
    cancelled = await gql(CANCEL, {"i": {"id": redemption_id}}, key=store.secret_key)
    again = await gql(CANCEL, {"i": {"id": redemption_id}}, key=store.secret_key)
    # then
    payload = cancelled.data["redemptionCancel"]
    assert payload["userErrors"] == []
    assert payload["pointsBalance"] == 150
    assert payload["redemption"]["status"] == "CANCELLED"
    assert payload["redemption"]["cancelledAt"] is not None
    assert _errors(again.data["redemptionCancel"]) == [("id", "ALREADY_CANCELLED")]
    assert await _balance(customer) == 150
    assert (await Reward.get(id=reward.id)).stock == 3
    kinds = (
        await PointsTransaction.filter(customer_id=customer.id)
        .order_by("created_at")
        .values_list("kind", "points")
    )
    assert [(str(k), p) for k, p in kinds] == [
        ("earn", 150),
        ("redeem", -100),
        ("reverse", 100),
    ]


async def test_a_used_code_cannot_be_cancelled(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    customer = await _customer_with_points(store, 150)
    reward = await make_reward(store.store, cost=100)
    redeemed = await gql(REDEEM, _redeem(reward, "r-1", customer), key=store.secret_key)
    redemption = redeemed.data["rewardRedeem"]["redemption"]
    await ingest(
        store.store, order_event(ref="o-2", amount=1000, codes=(redemption["code"],))
    )
    result = await gql(CANCEL, {"i": {"id": redemption["id"]}}, key=store.secret_key)
    assert _errors(result.data["redemptionCancel"]) == [("id", "ALREADY_USED")]
    assert await _balance(customer) == 60


async def test_cancel_needs_the_secret_key_and_a_real_redemption(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    forbidden = await gql(
        CANCEL,
        {"i": {"id": global_id("Redemption", "00000000-0000-0000-0000-000000000000")}},
        key=store.publishable_key,
    )
    missing = await gql(
        CANCEL,
        {"i": {"id": global_id("Redemption", "00000000-0000-0000-0000-000000000000")}},
        key=store.secret_key,
    )
    assert forbidden.error_codes == ["FORBIDDEN"]
    assert _errors(missing.data["redemptionCancel"]) == [("id", "NOT_FOUND")]


# rewards catalogue


async def test_catalogue_publishable_sees_only_what_is_on_offer(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    now = utc_now()
    await make_reward(store.store, name="Plenty", cost=300, stock=5)
    await make_reward(store.store, name="Unlimited", cost=100)
    await make_reward(store.store, name="Sold out", cost=50, stock=0)
    await make_reward(store.store, name="Switched off", cost=60, active=False)
    await make_reward(
        store.store, name="Ended", cost=70, ends_at=now - timedelta(minutes=1)
    )
    await make_reward(
        store.store, name="Upcoming", cost=80, starts_at=now + timedelta(days=1)
    )

    def names(result: Any) -> list[str]:
        return [e["node"]["name"] for e in result.data["rewards"]["edges"]]

    public = await gql(REWARDS, {"available": True}, key=store.publishable_key)
    public_all = await gql(REWARDS, {"available": False}, key=store.publishable_key)
    secret = await gql(REWARDS, {"available": True}, key=store.secret_key)
    secret_all = await gql(REWARDS, {"available": False}, key=store.secret_key)

    assert names(public) == ["Unlimited", "Plenty"]
    assert names(public_all) == ["Unlimited", "Plenty"]  # pk cannot ask for more
    assert names(secret) == ["Unlimited", "Plenty"]
    assert names(secret_all) == [
        "Sold out",
        "Switched off",
        "Ended",
        "Upcoming",
        "Unlimited",
        "Plenty",
    ]
    assert secret_all.data["rewards"]["edges"][0]["node"]["stock"] == 0

"""The headless storefront journey, entirely through GraphQL.

Mirrors the README walkthrough a frontend developer copies: the merchant's
server sets the programme up with the secret key, enrols a shopper and mints a
token; the storefront then reads `me` and redeems with the publishable key.
"""

from datetime import timedelta
from typing import Any

from api.core.clock import utc_now
from api.ledger.models import PointsTransaction
from api.stores.service import IssuedKeys
from tests.graphql import GraphQLClient

ERRORS = "userErrors { field code message }"

RULE_CREATE = f"""
mutation($i: EarningRuleInput!) {{
  earningRuleCreate(input: $i) {{ earningRule {{ id kind pointsPerUnit }} {ERRORS} }}
}}
"""
TIER_CREATE = f"""
mutation($i: TierInput!) {{
  tierCreate(input: $i) {{ tier {{ id name rank threshold multiplier }} {ERRORS} }}
}}
"""
REWARD_CREATE = f"""
mutation($i: RewardInput!) {{
  rewardCreate(input: $i) {{
    reward {{ id name kind costPoints value {{ amountMinor currency }} }} {ERRORS}
  }}
}}
"""
UPSERT = f"""
mutation($i: CustomerUpsertInput!) {{
  customerUpsert(input: $i) {{
    created customer {{ id email isEnrolled stage tier {{ name }} }} {ERRORS}
  }}
}}
"""
TOKEN = f"""
mutation($i: CustomerTokenCreateInput!) {{
  customerTokenCreate(input: $i) {{ token expiresAt {ERRORS} }}
}}
"""
ORDER = f"""
mutation($i: OrderRecordInput!) {{
  orderRecord(input: $i) {{
    applied pointsEarned pointsReversed
    order {{ orderRef status pointsEarned pointsReversed pointsUnrecovered }}
    {ERRORS}
  }}
}}
"""
REDEEM = f"""
mutation($i: RewardRedeemInput!) {{
  rewardRedeem(input: $i) {{
    redemption {{ id code status pointsSpent rewardName }} pointsBalance {ERRORS}
  }}
}}
"""
ME = """
{
  me {
    pointsBalance pointsPending tier { name } stage
    tierProgress { nextTier { name } amountToNext }
    nudges { type data }
    pointsTransactions(first: 10) { edges { node { kind points reason } } }
    pointsLots { remaining isPending }
  }
}
"""
ME_REDEMPTIONS = """
{ me { pointsBalance redemptions(first: 5) { edges { node { code status usedOrderRef } } } } }
"""


def _minutes_ago(minutes: int) -> str:
    return (utc_now() - timedelta(minutes=minutes)).isoformat()


def _order(kind: str, ref: str, amount: int, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "i": {
            "kind": kind,
            "orderRef": ref,
            "name": f"#{ref}",
            "customer": {"externalId": "shopper-42"},
            "currency": "EUR",
            "eligibleMinor": amount,
            "occurredAt": _minutes_ago(5),
            "idempotencyKey": key,
            **extra,
        }
    }


async def _ok(
    gql: GraphQLClient, document: str, variables: dict[str, Any], **kw: Any
) -> Any:
    result = await gql(document, variables, **kw)
    assert result.errors == []
    (payload,) = result.data.values()
    assert payload["userErrors"] == []
    return payload


async def _set_up_programme(gql: GraphQLClient, sk: str) -> dict[str, Any]:
    rule = await _ok(
        gql,
        RULE_CREATE,
        {
            "i": {
                "kind": "ORDER_SPEND",
                "name": "1 point per euro",
                "pointsPerUnit": "1",
            }
        },
        key=sk,
    )
    bronze = await _ok(
        gql, TIER_CREATE, {"i": {"name": "Bronze", "rank": 0, "threshold": 0}}, key=sk
    )
    silver = await _ok(
        gql,
        TIER_CREATE,
        {"i": {"name": "Silver", "rank": 1, "threshold": 20000, "multiplier": "1.5"}},
        key=sk,
    )
    reward = await _ok(
        gql,
        REWARD_CREATE,
        {
            "i": {
                "name": "5 EUR off",
                "kind": "FIXED_AMOUNT",
                "costPoints": 100,
                "valueMinor": 500,
            }
        },
        key=sk,
    )
    assert rule["earningRule"]["kind"] == "ORDER_SPEND"
    assert rule["earningRule"]["pointsPerUnit"] == "1"
    assert bronze["tier"]["name"] == "Bronze"
    assert silver["tier"]["multiplier"] == "1.5"
    assert reward["reward"]["value"] == {"amountMinor": 500, "currency": "EUR"}
    created: dict[str, Any] = reward["reward"]
    return created


async def _enrol_and_sign_in(gql: GraphQLClient, sk: str) -> tuple[str, str]:
    upserted = await _ok(
        gql,
        UPSERT,
        {"i": {"externalId": "shopper-42", "email": "ada@example.com", "enroll": True}},
        key=sk,
    )
    assert upserted["created"] is True
    assert upserted["customer"]["isEnrolled"] is True
    customer_id = upserted["customer"]["id"]
    minted = await _ok(gql, TOKEN, {"i": {"id": customer_id}}, key=sk)
    assert minted["token"]
    return customer_id, minted["token"]


async def test_enrol_order_points_redeem_use_refund(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    sk, pk = store.secret_key, store.publishable_key
    # given the programme, an enrolled shopper with a token, and a paid order
    reward = await _set_up_programme(gql, sk)
    _, token = await _enrol_and_sign_in(gql, sk)
    paid = await _ok(
        gql, ORDER, _order("PAID", "1001", 15000, "order-1001-paid"), key=sk
    )
    assert paid == {
        "applied": True,
        "pointsEarned": 150,
        "pointsReversed": 0,
        "order": {
            "orderRef": "1001",
            "status": "PAID",
            "pointsEarned": 150,
            "pointsReversed": 0,
            "pointsUnrecovered": 0,
        },
        "userErrors": [],
    }

    # when the storefront reads the shopper's loyalty state
    me = await gql(ME, key=pk, token=token)

    # then every number is explained
    assert me.errors == []
    state = me.data["me"]
    nudges = state.pop("nudges")
    assert state == {
        "pointsBalance": 150,
        "pointsPending": 0,
        "tier": {"name": "Bronze"},
        "stage": "PURCHASER",
        "tierProgress": {"nextTier": {"name": "Silver"}, "amountToNext": 5000},
        "pointsTransactions": {
            "edges": [
                {
                    "node": {
                        "kind": "EARN",
                        "points": 150,
                        "reason": "Points for order #1001",
                    }
                }
            ]
        },
        "pointsLots": [{"remaining": 150, "isPending": False}],
    }
    assert [n["type"] for n in nudges] == [
        "THANK_YOU",
        "REWARD_AVAILABLE",
        "TIER_PROGRESS",
    ]
    assert nudges[0]["data"] == {"orderName": "#1001", "pointsEarned": 150}
    available = dict(nudges[1]["data"])
    available.pop("rewardId")  # a Reward global id: see the test below
    assert available == {"rewardName": "5 EUR off", "costPoints": 100}
    assert nudges[2]["data"] == {
        "nextTier": "Silver",
        "amountToNext": 5000,
        "basis": "spend",
    }

    # when the shopper redeems for themselves (publishable key + token, no id)
    redeem = {"i": {"rewardId": reward["id"], "idempotencyKey": "redeem-1"}}
    first = await _ok(gql, REDEEM, redeem, key=pk, token=token)
    again = await _ok(gql, REDEEM, redeem, key=pk, token=token)

    # then one code, paid once; the retry returns the same redemption
    code = first["redemption"]["code"]
    assert code.startswith("LDR-") and len(code) == len("LDR-XXXX-XXXX-XXXX-XXXX")
    assert first["redemption"]["status"] == "ISSUED"
    assert first["redemption"]["pointsSpent"] == 100
    assert first["redemption"]["rewardName"] == "5 EUR off"
    assert first["pointsBalance"] == 50
    assert again == first
    assert (
        await PointsTransaction.filter(store_id=store.store.id, kind="redeem").count()
        == 1
    )

    # when the next order uses the code
    used = await _ok(
        gql,
        ORDER,
        _order("PAID", "1002", 2000, "order-1002-paid", discountCodes=[code.lower()]),
        key=sk,
    )
    assert (used["applied"], used["pointsEarned"]) == (True, 20)
    after_use = await gql(ME_REDEMPTIONS, key=pk, token=token)

    # then the redemption is used by that order
    assert after_use.data["me"] == {
        "pointsBalance": 70,
        "redemptions": {
            "edges": [
                {"node": {"code": code, "status": "USED", "usedOrderRef": "1002"}}
            ]
        },
    }

    # when the first order is refunded in full
    refund = await _ok(
        gql,
        ORDER,
        _order(
            "REFUNDED",
            "1001",
            15000,
            "order-1001-refund",
            refundRef="refund-1",
            refundedMinor=15000,
        ),
        key=sk,
    )

    # then its 150 points are taken back: 70 still there, 80 already spent
    assert refund == {
        "applied": True,
        "pointsEarned": 0,
        "pointsReversed": 70,
        "order": {
            "orderRef": "1001",
            "status": "REFUNDED",
            "pointsEarned": 150,
            "pointsReversed": 70,
            "pointsUnrecovered": 80,
        },
        "userErrors": [],
    }
    final = await gql(
        "{ me { pointsBalance pointsPending stage paidOrders "
        "pointsTransactions(first: 10) { edges { node { kind points reason } } } } }",
        key=pk,
        token=token,
    )
    assert final.data["me"] == {
        "pointsBalance": 0,
        "pointsPending": 0,
        "stage": "PURCHASER",
        "paidOrders": 1,
        "pointsTransactions": {
            "edges": [
                {
                    "node": {
                        "kind": "REVERSE",
                        "points": -70,
                        "reason": "Refund on order #1001",
                    }
                },
                {
                    "node": {
                        "kind": "EARN",
                        "points": 20,
                        "reason": "Points for order #1002",
                    }
                },
                {
                    "node": {
                        "kind": "REDEEM",
                        "points": -100,
                        "reason": "Redeemed 5 EUR off",
                    }
                },
                {
                    "node": {
                        "kind": "EARN",
                        "points": 150,
                        "reason": "Points for order #1001",
                    }
                },
            ]
        },
    }


async def test_order_then_full_refund_nets_zero(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a shopper whose only order is paid, then refunded before any spending
    sk, pk = store.secret_key, store.publishable_key
    await _set_up_programme(gql, sk)
    _, token = await _enrol_and_sign_in(gql, sk)
    await _ok(gql, ORDER, _order("PAID", "2001", 12345, "k-paid"), key=sk)
    # when
    refund = await _ok(
        gql,
        ORDER,
        _order(
            "REFUNDED",
            "2001",
            12345,
            "k-refund",
            refundRef="r-1",
            refundedMinor=12345,
        ),
        key=sk,
    )
    me = await gql(
        "{ me { pointsBalance pointsLifetime paidOrders stage pointsLots { remaining } } }",
        key=pk,
        token=token,
    )
    # then
    assert (refund["pointsReversed"], refund["order"]["pointsUnrecovered"]) == (123, 0)
    assert me.data["me"] == {
        "pointsBalance": 0,
        "pointsLifetime": 0,
        "paidOrders": 0,
        "stage": "CANDIDATE",
        "pointsLots": [],
    }


async def test_enrolling_through_graphql_starts_the_journey(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given the programme, with a welcome bonus
    sk = store.secret_key
    await _set_up_programme(gql, sk)
    await _ok(
        gql,
        RULE_CREATE,
        {"i": {"kind": "ENROLLMENT", "name": "Welcome", "points": 25}},
        key=sk,
    )
    # when the merchant's server enrols a new shopper (the README's first step)
    upserted = await _ok(
        gql,
        UPSERT,
        {"i": {"externalId": "shopper-42", "email": "ada@example.com", "enroll": True}},
        key=sk,
    )
    customer = await gql(
        "query($id: ID!) { customer(id: $id) { stage tier { name } pointsBalance "
        "stageHistory { fromStage toStage cause } } }",
        {"id": upserted["customer"]["id"]},
        key=sk,
    )
    # then
    assert upserted["customer"]["stage"] == "CANDIDATE"
    assert upserted["customer"]["tier"] == {"name": "Bronze"}
    assert customer.data["customer"] == {
        "stage": "CANDIDATE",
        "tier": {"name": "Bronze"},
        "pointsBalance": 25,
        "stageHistory": [
            {"fromStage": "PROSPECT", "toStage": "CANDIDATE", "cause": "enrolled"}
        ],
    }


async def test_reward_nudge_can_be_redeemed_as_is(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a shopper who can afford the reward
    sk, pk = store.secret_key, store.publishable_key
    reward = await _set_up_programme(gql, sk)
    _, token = await _enrol_and_sign_in(gql, sk)
    await _ok(gql, ORDER, _order("PAID", "3001", 15000, "k-3001"), key=sk)
    me = await gql("{ me { nudges { type data } } }", key=pk, token=token)
    (nudge,) = [n for n in me.data["me"]["nudges"] if n["type"] == "REWARD_AVAILABLE"]
    # when the storefront redeems the reward the nudge names
    redeemed = await gql(
        REDEEM,
        {"i": {"rewardId": nudge["data"]["rewardId"], "idempotencyKey": "nudge-1"}},
        key=pk,
        token=token,
    )
    # then it is the catalogue's reward, redeemable as is
    assert nudge["data"]["rewardId"] == reward["id"]
    assert redeemed.data["rewardRedeem"]["userErrors"] == []

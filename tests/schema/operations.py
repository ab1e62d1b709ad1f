"""Every root query and mutation, called with another store's ids.

Tests enumerate the schema's root fields at run time and fail when one is
missing here, so each new operation must say how it is attacked.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Access(Enum):
    ANY_KEY = "any key"  # publishable or secret
    SECRET = "secret key only"


@dataclass(frozen=True)
class Target:
    """The other store's things an attacker may know."""

    customer_gid: str
    external_id: str
    email: str
    tier_gid: str = "VGllcjow"
    reward_gid: str = "UmV3YXJkOjA="
    redemption_gid: str = "UmVkZW1wdGlvbjow"
    rule_gid: str = "RWFybmluZ1J1bGU6MA=="
    campaign_gid: str = "Q2FtcGFpZ246MA=="
    order_ref: str = "order-b"


@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[Target], dict[str, Any]]
    access: Access
    # Operations whose argument is an id: B's id must look exactly like a missing one.
    takes_id: bool = False


def _none(_: Target) -> dict[str, Any]:
    return {}


QUERIES: dict[str, Operation] = {
    "store": Operation(
        "{ store { id name currency timezone } }", _none, Access.ANY_KEY
    ),
    "customer": Operation(
        "query($id: ID!) { customer(id: $id) { id email externalIds { id } } }",
        lambda t: {"id": t.customer_gid},
        Access.SECRET,
        takes_id=True,
    ),
    "customerByExternalId": Operation(
        "query($e: String!) { customerByExternalId(externalId: $e) { id email } }",
        lambda t: {"e": t.external_id},
        Access.SECRET,
    ),
    "customers": Operation(
        "query($q: String) { customers(first: 100, query: $q) "
        "{ edges { node { id email externalIds { id } } } } }",
        lambda t: {"q": t.email},
        Access.SECRET,
    ),
    "me": Operation("{ me { id email } }", _none, Access.ANY_KEY),
    "programSettings": Operation(
        "{ programSettings { pendingDays expiryDays tierBasis } }",
        _none,
        Access.ANY_KEY,
    ),
    "earningRules": Operation("{ earningRules { id name } }", _none, Access.ANY_KEY),
    "campaigns": Operation("{ campaigns { id name } }", _none, Access.ANY_KEY),
    "tiers": Operation("{ tiers { id name } }", _none, Access.ANY_KEY),
    "rewards": Operation(
        "{ rewards(first: 100) { edges { node { id name } } } }", _none, Access.ANY_KEY
    ),
    "programSimulate": Operation(
        "query($i: ProgramSimulateInput!) { programSimulate(input: $i) "
        "{ orders pointsActual mostAffected { customerId email } } }",
        lambda t: {
            "i": {"since": "2020-01-01T00:00:00Z", "until": "2021-12-31T00:00:00Z"}
        },
        Access.SECRET,
    ),
}

MUTATIONS: dict[str, Operation] = {
    "customerUpsert": Operation(
        "mutation($i: CustomerUpsertInput!) { customerUpsert(input: $i) "
        "{ created customer { id email } userErrors { field code message } } }",
        lambda t: {"i": {"externalId": t.external_id, "email": "attacker@example.com"}},
        Access.SECRET,
    ),
    "customerUpdate": Operation(
        "mutation($i: CustomerUpdateInput!) { customerUpdate(input: $i) "
        "{ customer { id email } userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid, "email": "attacker@example.com"}},
        Access.SECRET,
        takes_id=True,
    ),
    "customerEnroll": Operation(
        "mutation($i: CustomerEnrollInput) { customerEnroll(input: $i) "
        "{ customer { id email } userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid}},
        Access.ANY_KEY,
        takes_id=True,
    ),
    "customerDelete": Operation(
        "mutation($i: CustomerDeleteInput!) { customerDelete(input: $i) "
        "{ deletedCustomerId userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "customerTokenCreate": Operation(
        "mutation($i: CustomerTokenCreateInput!) { customerTokenCreate(input: $i) "
        "{ token userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "storeUpdate": Operation(
        "mutation($i: StoreUpdateInput!) { storeUpdate(input: $i) "
        "{ store { id name } userErrors { field code message } } }",
        lambda t: {
            "i": {"name": "Renamed", "allowedOrigins": ["https://evil.example.com"]}
        },
        Access.SECRET,
    ),
}

_PAYLOAD = "userErrors { field code message }"

MUTATIONS |= {
    "orderRecord": Operation(
        "mutation($i: OrderRecordInput!) { orderRecord(input: $i) "
        f"{{ applied order {{ id orderRef }} {_PAYLOAD} }} }}",
        lambda t: {
            "i": {
                "kind": "PAID",
                "orderRef": t.order_ref,
                "customer": {"externalId": t.external_id},
                "currency": "EUR",
                "eligibleMinor": 1000,
                "occurredAt": "2026-01-01T10:00:00Z",
                "idempotencyKey": "attack-1",
            }
        },
        Access.SECRET,
    ),
    "pointsAdjust": Operation(
        "mutation($i: PointsAdjustInput!) { pointsAdjust(input: $i) "
        f"{{ pointsBalance {_PAYLOAD} }} }}",
        lambda t: {
            "i": {
                "customerId": t.customer_gid,
                "points": -5,
                "reason": "x",
                "idempotencyKey": "attack-2",
            }
        },
        Access.SECRET,
        takes_id=True,
    ),
    "rewardCreate": Operation(
        "mutation($i: RewardInput!) { rewardCreate(input: $i) "
        f"{{ reward {{ id }} {_PAYLOAD} }} }}",
        lambda t: {"i": {"name": "Free", "kind": "CUSTOM", "costPoints": 1}},
        Access.SECRET,
    ),
    "rewardUpdate": Operation(
        "mutation($i: RewardUpdateInput!) { rewardUpdate(input: $i) "
        f"{{ reward {{ id name }} {_PAYLOAD} }} }}",
        lambda t: {
            "i": {"id": t.reward_gid, "name": "Free", "kind": "CUSTOM", "costPoints": 1}
        },
        Access.SECRET,
        takes_id=True,
    ),
    "rewardRedeem": Operation(
        "mutation($i: RewardRedeemInput!) { rewardRedeem(input: $i) "
        f"{{ redemption {{ code }} pointsBalance {_PAYLOAD} }} }}",
        lambda t: {
            "i": {
                "rewardId": t.reward_gid,
                "customerId": t.customer_gid,
                "idempotencyKey": "attack-3",
            }
        },
        Access.ANY_KEY,
        takes_id=True,
    ),
    "redemptionCancel": Operation(
        "mutation($i: RedemptionCancelInput!) { redemptionCancel(input: $i) "
        f"{{ redemption {{ code }} {_PAYLOAD} }} }}",
        lambda t: {"i": {"id": t.redemption_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "tierCreate": Operation(
        "mutation($i: TierInput!) { tierCreate(input: $i) "
        f"{{ tier {{ id }} {_PAYLOAD} }} }}",
        lambda t: {"i": {"name": "Gold", "rank": 5, "threshold": 1000}},
        Access.SECRET,
    ),
    "tierUpdate": Operation(
        "mutation($i: TierUpdateInput!) { tierUpdate(input: $i) "
        f"{{ tier {{ id name }} {_PAYLOAD} }} }}",
        lambda t: {
            "i": {"id": t.tier_gid, "name": "Hacked", "rank": 7, "threshold": 7}
        },
        Access.SECRET,
        takes_id=True,
    ),
    "tierDelete": Operation(
        "mutation($i: TierDeleteInput!) { tierDelete(input: $i) "
        f"{{ deletedTierId {_PAYLOAD} }} }}",
        lambda t: {"i": {"id": t.tier_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "customerTierSet": Operation(
        "mutation($i: CustomerTierSetInput!) { customerTierSet(input: $i) "
        f"{{ tier {{ id }} isOverride {_PAYLOAD} }} }}",
        lambda t: {"i": {"customerId": t.customer_gid, "tierId": t.tier_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "programSettingsUpdate": Operation(
        "mutation($i: ProgramSettingsUpdateInput!) { programSettingsUpdate(input: $i) "
        f"{{ settings {{ pendingDays }} {_PAYLOAD} }} }}",
        lambda t: {"i": {"pendingDays": 30}},
        Access.SECRET,
    ),
    "earningRuleCreate": Operation(
        "mutation($i: EarningRuleInput!) { earningRuleCreate(input: $i) "
        f"{{ earningRule {{ id }} {_PAYLOAD} }} }}",
        lambda t: {"i": {"kind": "BIRTHDAY", "name": "Birthday", "points": 50}},
        Access.SECRET,
    ),
    "earningRuleUpdate": Operation(
        "mutation($i: EarningRuleUpdateInput!) { earningRuleUpdate(input: $i) "
        f"{{ earningRule {{ id name }} {_PAYLOAD} }} }}",
        lambda t: {
            "i": {"id": t.rule_gid, "kind": "BIRTHDAY", "name": "X", "points": 1}
        },
        Access.SECRET,
        takes_id=True,
    ),
    "campaignCreate": Operation(
        "mutation($i: CampaignInput!) { campaignCreate(input: $i) "
        f"{{ campaign {{ id }} {_PAYLOAD} }} }}",
        lambda t: {
            "i": {
                "name": "Double",
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "2026-02-01T00:00:00Z",
                "multiplier": "2",
            }
        },
        Access.SECRET,
    ),
    "campaignUpdate": Operation(
        "mutation($i: CampaignUpdateInput!) { campaignUpdate(input: $i) "
        f"{{ campaign {{ id name }} {_PAYLOAD} }} }}",
        lambda t: {
            "i": {
                "id": t.campaign_gid,
                "name": "X",
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "2026-02-01T00:00:00Z",
                "multiplier": "2",
            }
        },
        Access.SECRET,
        takes_id=True,
    ),
}

ALL: dict[str, Operation] = {**QUERIES, **MUTATIONS}

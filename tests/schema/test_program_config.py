"""Programme configuration over GraphQL: settings, rules, campaigns, tiers,
manual tier overrides and programSimulate."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from api.core.clock import utc_now
from api.customers.models import Customer
from api.ledger.models import PointsLot, PointsTransaction
from api.orders.events import OrderEventKind
from api.orders.models import Order
from api.stores.models import Store
from api.stores.service import IssuedKeys
from api.tiers.models import TierChange
from tests.factories.customers import make_customer
from tests.factories.program import (
    ingest,
    make_spend_rule,
    make_tier,
    order_event,
)
from tests.graphql import GraphQLClient, global_id

ERRORS = "userErrors { field code message }"
SETTINGS_FIELDS = (
    "pendingDays expiryDays expiryWarningDays tierBasis tierWindow tierWindowDays "
    "tierWarningDays clientMinOrders advocateMinOrders lapseDays"
)
SETTINGS_UPDATE = f"""
mutation($i: ProgramSettingsUpdateInput!) {{
  programSettingsUpdate(input: $i) {{ settings {{ {SETTINGS_FIELDS} }} {ERRORS} }}
}}
"""
SETTINGS = f"{{ programSettings {{ {SETTINGS_FIELDS} }} }}"
DEFAULTS = {
    "pendingDays": 0,
    "expiryDays": 365,
    "expiryWarningDays": 30,
    "tierBasis": "SPEND",
    "tierWindow": "ROLLING",
    "tierWindowDays": 365,
    "tierWarningDays": 30,
    "clientMinOrders": 2,
    "advocateMinOrders": 2,
    "lapseDays": 180,
}
RULE_FIELDS = "id kind name points pointsPerUnit rounding capPoints capPeriod isActive"
RULE_CREATE = f"""
mutation($i: EarningRuleInput!) {{
  earningRuleCreate(input: $i) {{ earningRule {{ {RULE_FIELDS} }} {ERRORS} }}
}}
"""
RULE_UPDATE = f"""
mutation($i: EarningRuleUpdateInput!) {{
  earningRuleUpdate(input: $i) {{ earningRule {{ {RULE_FIELDS} }} {ERRORS} }}
}}
"""
CAMPAIGN_CREATE = f"""
mutation($i: CampaignInput!) {{
  campaignCreate(input: $i) {{
    campaign {{ id name startsAt endsAt multiplier bonusPoints kinds isActive }} {ERRORS}
  }}
}}
"""
TIER_CREATE = f"""
mutation($i: TierInput!) {{
  tierCreate(input: $i) {{ tier {{ id name rank threshold multiplier }} {ERRORS} }}
}}
"""
TIER_SET = f"""
mutation($i: CustomerTierSetInput!) {{
  customerTierSet(input: $i) {{ tier {{ name }} isOverride {ERRORS} }}
}}
"""
HISTORY = """
query($id: ID!) {
  customer(id: $id) { tier { name } tierHistory { fromTierId toTierId reason note } }
}
"""
SIMULATE = """
query($i: ProgramSimulateInput!) {
  programSimulate(input: $i) {
    orders pointsActual pointsProposed
    tiersBefore { tier customers }
    tiersAfter { tier customers }
    mostAffected { customerId email pointsActual pointsProposed }
  }
}
"""


def _decimals(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Decimal fields compared by value: stored ones read back as e.g. "1.0000"."""
    return [row | {name: Decimal(row[name])} for row in rows]


def _errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


# programSettingsUpdate


async def test_settings_change_persists(gql: GraphQLClient, store: IssuedKeys) -> None:
    before = await gql(SETTINGS, key=store.publishable_key)
    changes = {
        "pendingDays": 14,
        "expiryWarningDays": 10,
        "tierBasis": "POINTS",
        "tierWindow": "CALENDAR_YEAR",
        "lapseDays": 90,
    }
    updated = await gql(SETTINGS_UPDATE, {"i": changes}, key=store.secret_key)
    after = await gql(SETTINGS, key=store.publishable_key)
    assert before.data["programSettings"] == DEFAULTS
    assert updated.data["programSettingsUpdate"] == {
        "settings": DEFAULTS | changes,
        "userErrors": [],
    }
    assert after.data["programSettings"] == DEFAULTS | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pendingDays": 400}, "pendingDays"),
        ({"pendingDays": -1}, "pendingDays"),
        ({"expiryDays": 0}, "expiryDays"),
        ({"expiryDays": 3651}, "expiryDays"),
        ({"pendingDays": 30, "expiryDays": 30}, "expiryDays"),
        ({"expiryWarningDays": 366}, "expiryWarningDays"),
        ({"tierWindowDays": 29}, "tierWindowDays"),
        ({"tierWarningDays": 366}, "tierWarningDays"),
        ({"clientMinOrders": 1}, "clientMinOrders"),
        ({"clientMinOrders": 5, "advocateMinOrders": 4}, "advocateMinOrders"),
        ({"lapseDays": 29}, "lapseDays"),
    ],
)
async def test_invalid_settings_change_nothing(
    gql: GraphQLClient, store: IssuedKeys, changes: dict[str, Any], field: str
) -> None:
    result = await gql(SETTINGS_UPDATE, {"i": changes}, key=store.secret_key)
    after = await gql(SETTINGS, key=store.secret_key)
    assert result.data["programSettingsUpdate"]["settings"] is None
    assert _errors(result.data["programSettingsUpdate"]) == [(field, "INVALID")]
    assert after.data["programSettings"] == DEFAULTS


async def test_expiry_days_null_means_points_never_expire(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # when expiry is switched off, then another setting changes without it
    off = await gql(SETTINGS_UPDATE, {"i": {"expiryDays": None}}, key=store.secret_key)
    kept = await gql(SETTINGS_UPDATE, {"i": {"pendingDays": 3}}, key=store.secret_key)
    # then it stays off
    assert off.data["programSettingsUpdate"]["settings"]["expiryDays"] is None
    assert kept.data["programSettingsUpdate"]["settings"]["expiryDays"] is None
    assert kept.data["programSettingsUpdate"]["settings"]["pendingDays"] == 3
    # and new points carry no expiry date
    fresh = await Store.get(id=store.store.id)
    await make_spend_rule(fresh)
    await ingest(fresh, order_event(amount=10_000))
    (lot,) = await PointsLot.filter(store_id=fresh.id)
    assert lot.expires_at is None
    assert lot.pending is True


async def test_settings_need_the_secret_key(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(
        SETTINGS_UPDATE, {"i": {"pendingDays": 3}}, key=store.publishable_key
    )
    assert result.error_codes == ["FORBIDDEN"]


# earning rules


async def test_rule_create_and_update(gql: GraphQLClient, store: IssuedKeys) -> None:
    created = await gql(
        RULE_CREATE,
        {
            "i": {
                "kind": "ORDER_SPEND",
                "name": " Points per euro ",
                "pointsPerUnit": "1.5",
                "rounding": "NEAREST",
                "capPoints": 1000,
                "capPeriod": "MONTH",
            }
        },
        key=store.secret_key,
    )
    rule = created.data["earningRuleCreate"]["earningRule"]
    assert created.data["earningRuleCreate"]["userErrors"] == []
    assert {k: v for k, v in rule.items() if k != "id"} == {
        "kind": "ORDER_SPEND",
        "name": "Points per euro",
        "points": 0,
        "pointsPerUnit": "1.5",
        "rounding": "NEAREST",
        "capPoints": 1000,
        "capPeriod": "MONTH",
        "isActive": True,
    }
    updated = await gql(
        RULE_UPDATE,
        {
            "i": {
                "id": rule["id"],
                "kind": "ORDER_SPEND",
                "name": "Double",
                "pointsPerUnit": "2",
                "isActive": False,
            }
        },
        key=store.secret_key,
    )
    listed = await gql(
        "{ earningRules { id name pointsPerUnit capPoints isActive } }",
        key=store.publishable_key,
    )
    assert updated.data["earningRuleUpdate"]["userErrors"] == []
    assert _decimals(listed.data["earningRules"], "pointsPerUnit") == [
        {
            "id": rule["id"],
            "name": "Double",
            "pointsPerUnit": Decimal(2),
            "capPoints": None,
            "isActive": False,
        }
    ]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "ORDER_SPEND", "name": "Spend"}, "pointsPerUnit"),
        (
            {"kind": "ORDER_SPEND", "name": "Spend", "pointsPerUnit": "-1"},
            "pointsPerUnit",
        ),
        (
            {"kind": "ORDER_SPEND", "name": "Spend", "pointsPerUnit": "10001"},
            "pointsPerUnit",
        ),
        (
            {
                "kind": "ORDER_SPEND",
                "name": "Spend",
                "pointsPerUnit": "1",
                "capPoints": 50,
            },
            "capPoints",
        ),
        (
            {
                "kind": "ORDER_SPEND",
                "name": "Spend",
                "pointsPerUnit": "1",
                "capPeriod": "DAY",
            },
            "capPoints",
        ),
        (
            {
                "kind": "ORDER_SPEND",
                "name": "Spend",
                "pointsPerUnit": "1",
                "capPoints": 0,
                "capPeriod": "DAY",
            },
            "capPoints",
        ),
        ({"kind": "BIRTHDAY", "name": "Birthday"}, "points"),
        ({"kind": "ORDER_SPEND", "name": "  ", "pointsPerUnit": "1"}, "name"),
        # Found by fuzzing: an unused rate still has to fit its column.
        (
            {
                "kind": "BIRTHDAY",
                "name": "Birthday",
                "points": 50,
                "pointsPerUnit": "13068342710.7126",
            },
            "pointsPerUnit",
        ),
        (
            {
                "kind": "ORDER_SPEND",
                "name": "Spend",
                "pointsPerUnit": "1",
                "capPoints": 1_500_000_000,
                "capPeriod": "DAY",
            },
            "capPoints",
        ),
    ],
)
async def test_invalid_rules(
    gql: GraphQLClient, store: IssuedKeys, rule: dict[str, Any], field: str
) -> None:
    existing = await make_spend_rule(store.store)
    created = await gql(RULE_CREATE, {"i": rule}, key=store.secret_key)
    updated = await gql(
        RULE_UPDATE,
        {"i": {**rule, "id": global_id("EarningRule", existing.id)}},
        key=store.secret_key,
    )
    listed = await gql("{ earningRules { name pointsPerUnit } }", key=store.secret_key)
    assert created.data["earningRuleCreate"]["earningRule"] is None
    assert _errors(created.data["earningRuleCreate"]) == [(field, "INVALID")]
    assert _errors(updated.data["earningRuleUpdate"]) == [(field, "INVALID")]
    assert _decimals(listed.data["earningRules"], "pointsPerUnit") == [
        {"name": "Points per euro", "pointsPerUnit": Decimal(1)}
    ]


async def test_update_of_an_unknown_rule(gql: GraphQLClient, store: IssuedKeys) -> None:
    result = await gql(
        RULE_UPDATE,
        {
            "i": {
                "id": global_id("EarningRule", "00000000-0000-0000-0000-000000000000"),
                "kind": "BIRTHDAY",
                "name": "Birthday",
                "points": 5,
            }
        },
        key=store.secret_key,
    )
    assert _errors(result.data["earningRuleUpdate"]) == [("id", "NOT_FOUND")]


# campaigns


async def test_campaign_create(gql: GraphQLClient, store: IssuedKeys) -> None:
    campaign = {
        "name": "Double days",
        "startsAt": "2026-03-01T00:00:00+00:00",
        "endsAt": "2026-03-08T00:00:00+00:00",
        "multiplier": "2",
    }
    result = await gql(CAMPAIGN_CREATE, {"i": campaign}, key=store.secret_key)
    listed = await gql("{ campaigns { name multiplier } }", key=store.publishable_key)
    payload = result.data["campaignCreate"]
    assert payload["userErrors"] == []
    assert payload["campaign"]["kinds"] == ["ORDER_SPEND"]
    assert payload["campaign"]["bonusPoints"] == 0
    assert _decimals(listed.data["campaigns"], "multiplier") == [
        {"name": "Double days", "multiplier": Decimal(2)}
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"endsAt": "2026-02-28T00:00:00+00:00"}, "endsAt"),
        ({"endsAt": "2026-03-01T00:00:00+00:00"}, "endsAt"),
        ({"multiplier": "1"}, "multiplier"),
        ({"multiplier": "11"}, "multiplier"),
        ({"bonusPoints": -1}, "bonusPoints"),
        ({"kinds": []}, "kinds"),
        ({"name": ""}, "name"),
        ({"tierIds": ["garbage"]}, "tierIds"),
    ],
)
async def test_invalid_campaigns(
    gql: GraphQLClient, store: IssuedKeys, changes: dict[str, Any], field: str
) -> None:
    campaign = {
        "name": "Double days",
        "startsAt": "2026-03-01T00:00:00+00:00",
        "endsAt": "2026-03-08T00:00:00+00:00",
        "multiplier": "2",
    } | changes
    result = await gql(CAMPAIGN_CREATE, {"i": campaign}, key=store.secret_key)
    listed = await gql("{ campaigns { name } }", key=store.secret_key)
    assert result.data["campaignCreate"]["campaign"] is None
    assert _errors(result.data["campaignCreate"]) == [(field, "INVALID")]
    assert listed.data["campaigns"] == []


# tiers


async def test_tier_rank_and_threshold_rules(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    async def create(name: str, rank: int, threshold: int, **extra: Any) -> Any:
        result = await gql(
            TIER_CREATE,
            {"i": {"name": name, "rank": rank, "threshold": threshold, **extra}},
            key=store.secret_key,
        )
        return result.data["tierCreate"]

    bronze = await create("Bronze", 0, 0)
    gold = await create("Gold", 2, 50_000, multiplier="2")
    duplicate = await create("Another", 2, 60_000)
    too_low = await create("Platinum", 3, 40_000)
    between = await create("Silver", 1, 60_000)
    negative = await create("Bad", 5, -1)
    multiplier = await create("Bad", 5, 100_000, multiplier="0.5")
    silver = await create("Silver", 1, 20_000, multiplier="1.5")
    listed = await gql(
        "{ tiers { name rank threshold multiplier } }", key=store.publishable_key
    )

    assert bronze["userErrors"] == [] and gold["userErrors"] == []
    assert _errors(duplicate) == [("rank", "DUPLICATE_RANK")]
    assert _errors(too_low) == [("threshold", "THRESHOLD_ORDER")]
    assert _errors(between) == [("threshold", "THRESHOLD_ORDER")]
    assert _errors(negative) == [("threshold", "INVALID")]
    assert _errors(multiplier) == [("multiplier", "INVALID")]
    assert silver["userErrors"] == []
    assert _decimals(listed.data["tiers"], "multiplier") == [
        {"name": "Bronze", "rank": 0, "threshold": 0, "multiplier": Decimal(1)},
        {"name": "Silver", "rank": 1, "threshold": 20000, "multiplier": Decimal("1.5")},
        {"name": "Gold", "rank": 2, "threshold": 50000, "multiplier": Decimal(2)},
    ]


# customerTierSet


async def _bronze_customer(store: IssuedKeys) -> tuple[Customer, str, str]:
    """A customer in Bronze through a small order; Gold is far above."""
    await make_spend_rule(store.store)
    bronze = await make_tier(store.store, "Bronze", 0, 0)
    gold = await make_tier(store.store, "Gold", 1, 1_000_000, "2")
    await make_customer(store.store)
    await ingest(store.store, order_event(amount=1000))
    customer = await Customer.get(store_id=store.store.id)
    assert customer.tier_id == bronze.id
    return customer, global_id("Tier", bronze.id), global_id("Tier", gold.id)


async def test_override_then_clear(gql: GraphQLClient, store: IssuedKeys) -> None:
    customer, bronze_id, gold_id = await _bronze_customer(store)
    customer_id = global_id("Customer", customer.id)
    # when the merchant sets Gold by hand
    held = await gql(
        TIER_SET,
        {"i": {"customerId": customer_id, "tierId": gold_id, "note": "VIP guest"}},
        key=store.secret_key,
    )
    # then it holds, and a new order does not move it
    await ingest(store.store, order_event(ref="o-2", amount=1000))
    during = await gql(HISTORY, {"id": customer_id}, key=store.secret_key)
    # when the override is cleared
    cleared = await gql(
        TIER_SET,
        {"i": {"customerId": customer_id, "tierId": None}},
        key=store.secret_key,
    )
    after = await gql(HISTORY, {"id": customer_id}, key=store.secret_key)
    # then
    assert held.data["customerTierSet"] == {
        "tier": {"name": "Gold"},
        "isOverride": True,
        "userErrors": [],
    }
    assert during.data["customer"]["tier"] == {"name": "Gold"}
    assert during.data["customer"]["tierHistory"] == [
        {
            "fromTierId": bronze_id,
            "toTierId": gold_id,
            "reason": "MANUAL",
            "note": "VIP guest",
        },
        {
            "fromTierId": None,
            "toTierId": bronze_id,
            "reason": "QUALIFIED",
            "note": "order #o-1 paid",
        },
    ]
    assert cleared.data["customerTierSet"]["isOverride"] is False
    assert cleared.data["customerTierSet"]["userErrors"] == []
    reasons = [c["reason"] for c in after.data["customer"]["tierHistory"]]
    assert [r for r in reasons if r in ("MANUAL", "OVERRIDE_CLEARED")] == [
        "OVERRIDE_CLEARED",
        "MANUAL",
    ]
    (clear_entry,) = [
        c
        for c in after.data["customer"]["tierHistory"]
        if c["reason"] == "OVERRIDE_CLEARED"
    ]
    assert clear_entry["note"] == "set by merchant"
    # clearing again changes nothing
    again = await gql(
        TIER_SET, {"i": {"customerId": customer_id}}, key=store.secret_key
    )
    assert again.data["customerTierSet"]["isOverride"] is False
    assert (
        await TierChange.filter(
            customer_id=customer.id, reason="override_cleared"
        ).count()
        == 1
    )


async def test_clearing_an_override_returns_the_qualified_tier(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    customer, _, gold_id = await _bronze_customer(store)
    customer_id = global_id("Customer", customer.id)
    await gql(
        TIER_SET,
        {"i": {"customerId": customer_id, "tierId": gold_id}},
        key=store.secret_key,
    )
    cleared = await gql(
        TIER_SET,
        {"i": {"customerId": customer_id, "tierId": None}},
        key=store.secret_key,
    )
    assert cleared.data["customerTierSet"]["tier"] == {"name": "Bronze"}


async def test_tier_set_unknown_ids(
    gql: GraphQLClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    customer, _, gold_id = await _bronze_customer(store)
    theirs = await make_customer(other_store.store, external_id="theirs")
    unknown_tier = await gql(
        TIER_SET,
        {
            "i": {
                "customerId": global_id("Customer", customer.id),
                "tierId": global_id("Tier", "00000000-0000-0000-0000-000000000000"),
            }
        },
        key=store.secret_key,
    )
    other_customer = await gql(
        TIER_SET,
        {"i": {"customerId": global_id("Customer", theirs.id), "tierId": gold_id}},
        key=store.secret_key,
    )
    assert [e["code"] for e in unknown_tier.data["customerTierSet"]["userErrors"]] == [
        "NOT_FOUND"
    ]
    assert _errors(other_customer.data["customerTierSet"]) == [
        ("customerId", "NOT_FOUND")
    ]
    assert (await Customer.get(id=theirs.id)).tier_id is None


async def test_tier_set_unknown_tier_names_the_tier_id_field(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    customer, _, _ = await _bronze_customer(store)
    result = await gql(
        TIER_SET,
        {
            "i": {
                "customerId": global_id("Customer", customer.id),
                "tierId": global_id("Tier", "00000000-0000-0000-0000-000000000000"),
            }
        },
        key=store.secret_key,
    )
    assert _errors(result.data["customerTierSet"]) == [("tierId", "NOT_FOUND")]


# programSimulate


async def _seed_history(store: IssuedKeys) -> None:
    """Three customers' orders over the last month, one older order outside it.

    Real earning (1 point per euro, Silver x1.5 from 200 EUR): A earns
    100 + 100 + 150, B 50, C 12 (12.34 EUR rounded down), D 99 long ago.
    """
    now = utc_now()
    await make_spend_rule(store.store, "1")
    await make_tier(store.store, "Bronze", 0, 0)
    await make_tier(store.store, "Silver", 1, 20_000, "1.5")
    for external_id in ("a", "b", "c", "d"):
        await make_customer(
            store.store, external_id=external_id, email=f"{external_id}@example.com"
        )
    orders = [
        ("a", "a-1", 10_000, 30),
        ("a", "a-2", 10_000, 20),
        ("a", "a-3", 10_000, 10),
        ("b", "b-1", 5_000, 5),
        ("c", "c-1", 1_234, 3),
        ("d", "d-1", 9_999, 100),
    ]
    for customer, ref, amount, days_ago in orders:
        await ingest(
            store.store,
            order_event(
                ref=ref,
                customer=customer,
                amount=amount,
                at=now - timedelta(days=days_ago),
            ),
        )


async def _row_counts(store: IssuedKeys) -> tuple[int, ...]:
    sid = store.store.id
    return (
        await Order.filter(store_id=sid).count(),
        await PointsTransaction.filter(store_id=sid).count(),
        await PointsLot.filter(store_id=sid).count(),
        await TierChange.filter(store_id=sid).count(),
        await Customer.filter(store_id=sid).count(),
    )


def _range(days: float) -> dict[str, str]:
    now = utc_now()
    return {
        "since": (now - timedelta(days=days)).isoformat(),
        "until": now.isoformat(),
    }


async def _ids(store: IssuedKeys) -> dict[str, str]:
    return {
        c.email.split("@")[0]: global_id("Customer", c.id)
        for c in await Customer.filter(store_id=store.store.id)
        if c.email
    }


async def test_simulate_doubling_points_per_unit(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await _seed_history(store)
    ids = await _ids(store)
    before = await _row_counts(store)
    # when
    result = await gql(
        SIMULATE, {"i": {**_range(60), "pointsPerUnit": "2"}}, key=store.secret_key
    )
    # then
    assert result.errors == []
    assert result.data["programSimulate"] == {
        "orders": 5,
        "pointsActual": 412,
        "pointsProposed": 824,
        "tiersBefore": [
            {"tier": "Bronze", "customers": 2},
            {"tier": "Silver", "customers": 1},
        ],
        "tiersAfter": [
            {"tier": "Bronze", "customers": 2},
            {"tier": "Silver", "customers": 1},
        ],
        "mostAffected": [
            {
                "customerId": ids["a"],
                "email": "a@example.com",
                "pointsActual": 350,
                "pointsProposed": 700,
            },
            {
                "customerId": ids["b"],
                "email": "b@example.com",
                "pointsActual": 50,
                "pointsProposed": 100,
            },
            {
                "customerId": ids["c"],
                "email": "c@example.com",
                "pointsActual": 12,
                "pointsProposed": 24,
            },
        ],
    }
    report = result.data["programSimulate"]
    assert report["pointsProposed"] == 2 * report["pointsActual"]
    assert await _row_counts(store) == before


async def test_simulate_proposed_tiers(gql: GraphQLClient, store: IssuedKeys) -> None:
    await _seed_history(store)
    ids = await _ids(store)
    before = await _row_counts(store)
    tiers = [
        {"name": "VIP", "threshold": 15_000, "multiplier": "2"},
        {"name": "Member", "threshold": 0},
    ]
    result = await gql(
        SIMULATE,
        {"i": {**_range(60), "tiers": tiers, "mostAffected": 1}},
        key=store.secret_key,
    )
    assert result.errors == []
    assert result.data["programSimulate"] == {
        "orders": 5,
        "pointsActual": 412,
        "pointsProposed": 462,  # A's third order at x2: 100 + 100 + 200
        "tiersBefore": [
            {"tier": "Bronze", "customers": 2},
            {"tier": "Silver", "customers": 1},
        ],
        "tiersAfter": [
            {"tier": "Member", "customers": 2},
            {"tier": "VIP", "customers": 1},
        ],
        "mostAffected": [
            {
                "customerId": ids["a"],
                "email": "a@example.com",
                "pointsActual": 350,
                "pointsProposed": 400,
            }
        ],
    }
    assert await _row_counts(store) == before


async def test_simulate_counts_refunds_net(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given B's order half refunded: 25 of its 50 points taken back
    await _seed_history(store)
    await ingest(
        store.store,
        order_event(
            OrderEventKind.REFUNDED,
            ref="b-1",
            customer="b",
            amount=5_000,
            refund_ref="r-1",
            refunded=2_500,
        ),
    )
    result = await gql(
        SIMULATE, {"i": {**_range(60), "pointsPerUnit": "2"}}, key=store.secret_key
    )
    report = result.data["programSimulate"]
    assert (report["orders"], report["pointsActual"], report["pointsProposed"]) == (
        5,
        387,
        774,
    )


async def test_simulate_range_limits(gql: GraphQLClient, store: IssuedKeys) -> None:
    await _seed_history(store)
    longest = await gql(SIMULATE, {"i": _range(731)}, key=store.secret_key)
    too_long = await gql(SIMULATE, {"i": _range(732)}, key=store.secret_key)
    backwards = await gql(
        SIMULATE,
        {"i": {"since": _range(0)["until"], "until": _range(1)["since"]}},
        key=store.secret_key,
    )
    assert longest.errors == []
    assert longest.data["programSimulate"]["orders"] == 6
    assert too_long.data is None
    assert too_long.error_codes == ["BAD_USER_INPUT"]
    assert too_long.errors[0]["message"] == (
        "The range must be positive and at most 731 days."
    )
    assert backwards.error_codes == ["BAD_USER_INPUT"]


async def test_simulate_range_just_over_the_limit(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(SIMULATE, {"i": _range(731.5)}, key=store.secret_key)
    assert result.error_codes == ["BAD_USER_INPUT"]


async def test_simulate_needs_the_secret_key(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(SIMULATE, {"i": _range(30)}, key=store.publishable_key)
    assert result.data is None
    assert result.error_codes == ["FORBIDDEN"]

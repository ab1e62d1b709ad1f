"""The customers connection with loyalty fields: constant SQL per page, and the
ladder, tier and lapse filters."""

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
)
from tortoise.transactions import in_transaction

from api.core import sql
from api.core.clock import utc_now
from api.customers.models import Customer
from api.membership import service as membership
from api.stores.service import IssuedKeys
from api.tiers.models import Tier
from schema import build_schema
from schema.customers.types import LISTED_COLUMNS
from tests.factories.customers import make_customer
from tests.factories.program import ingest, make_spend_rule, make_tier, order_event
from tests.graphql import GraphQLClient, count_queries, global_id

LIST = """
query($first: Int) {
  customers(first: $first) { edges { node { pointsBalance stage tier { name } } } }
}
"""
FILTERED = """
query($stage: LadderStage, $tierId: ID, $lapsed: Boolean, $first: Int = 100) {
  customers(first: $first, stage: $stage, tierId: $tierId, lapsed: $lapsed,
            sortKey: EMAIL, reverse: false) {
    edges { node { email stage isLapsed tier { name } } }
  }
}
"""
# What each kind of customer (index % 5) looks like once seeded.
PROFILES = {
    0: ("CANDIDATE", "Bronze", 0),  # enrolled, never bought
    1: ("PURCHASER", "Bronze", 100),  # one 100 EUR order
    2: ("CLIENT", "Silver", 300),  # two 150 EUR orders
    3: ("PURCHASER", "Gold", 600),  # one 600 EUR order
    4: ("PURCHASER", "Bronze", 50),  # one 50 EUR order, 200 days ago: lapsed
}


@pytest.fixture
async def seeded(store: IssuedKeys) -> dict[str, Tier]:
    """50 customers across the ladder and three tiers, created in index order."""
    s = store.store
    now = utc_now()
    await make_spend_rule(s)
    tiers = {
        "Bronze": await make_tier(s, "Bronze", 0, 0),
        "Silver": await make_tier(s, "Silver", 1, 20_000),
        "Gold": await make_tier(s, "Gold", 2, 50_000),
    }
    for i in range(50):
        external_id = f"c-{i:02}"
        customer = await make_customer(
            s,
            external_id=external_id,
            email=f"c{i:02}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            birthday=date(1990, 1 + i % 12, 1 + i % 28) if i % 2 else None,
        )
        kind = i % 5
        if kind == 0:
            async with in_transaction():
                await membership.enroll(s, customer.id)
            continue
        orders = {
            1: [(10_000, 1)],
            2: [(15_000, 3), (15_000, 2)],
            3: [(60_000, 1)],
            4: [(5_000, 200)],
        }[kind]
        for n, (amount, days_ago) in enumerate(orders):
            await ingest(
                s,
                order_event(
                    ref=f"{external_id}-{n}",
                    customer=external_id,
                    amount=amount,
                    at=now - timedelta(days=days_ago),
                ),
            )
    return tiers


def _nodes(result: Any) -> list[dict[str, Any]]:
    assert result.errors == []
    return [edge["node"] for edge in result.data["customers"]["edges"]]


@pytest.mark.usefixtures("seeded")
async def test_loyalty_fields_cost_the_same_queries_whatever_the_page_size(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    counts = {}
    pages = {}
    for size in (1, 10, 50, 100):
        with count_queries() as counter:
            result = await gql(LIST, {"first": size}, key=store.secret_key)
        pages[size] = _nodes(result)
        counts[size] = counter.count
    # then: the API key (with the store's version on PostgreSQL), the page,
    # and the tiers: those kept for that version, or one read (SQLite)
    expected = 2 if sql.is_postgres() else 3
    assert counts == dict.fromkeys((1, 10, 50, 100), expected)
    assert [len(p) for p in pages.values()] == [1, 10, 50, 50]
    # newest first: c-49 (kind 4) leads
    assert pages[1] == [
        {"pointsBalance": 50, "stage": "PURCHASER", "tier": {"name": "Bronze"}}
    ]
    assert Counter(
        (n["stage"], n["tier"]["name"], n["pointsBalance"]) for n in pages[50]
    ) == Counter(dict.fromkeys(PROFILES.values(), 10))


@pytest.mark.usefixtures("seeded")
async def test_filters_keep_the_query_count_constant(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    counts = []
    for size in (1, 10):
        with count_queries() as counter:
            result = await gql(
                FILTERED,
                {"first": size, "stage": "PURCHASER", "lapsed": False},
                key=store.secret_key,
            )
        assert len(_nodes(result)) == size
        counts.append(counter.count)
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("stage", "kinds"),
    [
        ("PROSPECT", []),
        ("CANDIDATE", [0]),
        ("PURCHASER", [1, 3, 4]),
        ("CLIENT", [2]),
        ("ADVOCATE", []),
    ],
)
@pytest.mark.usefixtures("seeded")
async def test_filter_by_stage(
    gql: GraphQLClient, store: IssuedKeys, stage: str, kinds: list[int]
) -> None:
    result = await gql(FILTERED, {"stage": stage}, key=store.secret_key)
    nodes = _nodes(result)
    assert [n["email"] for n in nodes] == [
        f"c{i:02}@example.com" for i in range(50) if i % 5 in kinds
    ]
    assert {n["stage"] for n in nodes} <= {stage}


async def test_filter_by_tier(
    gql: GraphQLClient, store: IssuedKeys, seeded: dict[str, Tier]
) -> None:
    for name, kinds in (("Bronze", [0, 1, 4]), ("Silver", [2]), ("Gold", [3])):
        result = await gql(
            FILTERED,
            {"tierId": global_id("Tier", seeded[name].id)},
            key=store.secret_key,
        )
        nodes = _nodes(result)
        assert [n["email"] for n in nodes] == [
            f"c{i:02}@example.com" for i in range(50) if i % 5 in kinds
        ]
        assert {n["tier"]["name"] for n in nodes} == {name}


@pytest.mark.usefixtures("seeded")
async def test_filter_by_an_unknown_tier_is_empty(
    gql: GraphQLClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    theirs = await make_tier(other_store.store, "Theirs", 0, 0)
    for tier_id in (
        global_id("Tier", theirs.id),
        global_id("Tier", "00000000-0000-0000-0000-000000000000"),
        global_id("Customer", "00000000-0000-0000-0000-000000000000"),
        "garbage",
    ):
        result = await gql(FILTERED, {"tierId": tier_id}, key=store.secret_key)
        assert _nodes(result) == []


@pytest.mark.usefixtures("seeded")
async def test_filter_by_lapse(gql: GraphQLClient, store: IssuedKeys) -> None:
    lapsed = _nodes(await gql(FILTERED, {"lapsed": True}, key=store.secret_key))
    active = _nodes(await gql(FILTERED, {"lapsed": False}, key=store.secret_key))
    assert [n["email"] for n in lapsed] == [
        f"c{i:02}@example.com" for i in range(50) if i % 5 == 4
    ]
    assert {n["isLapsed"] for n in lapsed} == {True}
    # not lapsed: recent buyers and those who never bought
    assert [n["email"] for n in active] == [
        f"c{i:02}@example.com" for i in range(50) if i % 5 != 4
    ]
    assert {n["isLapsed"] for n in active} == {False}


async def test_lapse_follows_the_store_setting(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given one buyer from 40 days ago, and a 30-day quiet period
    await make_spend_rule(store.store)
    await make_customer(store.store, external_id="old", email="old@example.com")
    await ingest(
        store.store,
        order_event(customer="old", at=utc_now() - timedelta(days=40)),
    )
    before = _nodes(await gql(FILTERED, {"lapsed": True}, key=store.secret_key))
    await gql(
        "mutation { programSettingsUpdate(input: {lapseDays: 30}) "
        "{ userErrors { code } } }",
        key=store.secret_key,
    )
    after = _nodes(await gql(FILTERED, {"lapsed": True}, key=store.secret_key))
    assert before == []
    assert [(n["email"], n["isLapsed"]) for n in after] == [("old@example.com", True)]


@pytest.mark.usefixtures("seeded")
async def test_filters_combine(gql: GraphQLClient, store: IssuedKeys) -> None:
    result = await gql(
        FILTERED, {"stage": "PURCHASER", "lapsed": False}, key=store.secret_key
    )
    assert [n["email"] for n in _nodes(result)] == [
        f"c{i:02}@example.com" for i in range(50) if i % 5 in (1, 3)
    ]
    assert await Customer.filter(store_id=store.store.id).count() == 50


@pytest.mark.parametrize(
    "field", ["tierProgress { metric }", "nudges { type }", "pointsLots { remaining }"]
)
async def test_per_customer_fields_are_refused_in_lists_and_served_one_at_a_time(
    gql: GraphQLClient, store: IssuedKeys, field: str
) -> None:
    # Each of these runs several queries per customer: in a page of 100 under
    # 15 aliases that would be thousands, so lists refuse them up front.
    customers = [
        await make_customer(
            store.store, external_id=f"c-{n}", email=f"c{n}@example.com"
        )
        for n in range(5)
    ]
    with count_queries() as counter:
        listed = await gql(
            f"{{ customers(first: 5) {{ edges {{ node {{ id {field} }} }} }} }}",
            key=store.secret_key,
        )
    assert listed.error_codes and set(listed.error_codes) == {"BAD_USER_INPUT"}
    assert "one customer at a time" in listed.errors[0]["message"]
    # only the key and the page were read: nothing per customer
    assert counter.count == 2
    single = await gql(
        f"query($id: ID!) {{ customer(id: $id) {{ {field} }} }}",
        {"id": global_id("Customer", customers[0].id)},
        key=store.secret_key,
    )
    assert single.errors == []


RENAME_THEN_SHOW = """
mutation($tier: TierUpdateInput!, $customer: CustomerUpdateInput!) {
  tierUpdate(input: $tier) { tier { name } }
  customerUpdate(input: $customer) { customer { tier { name } } }
}
"""


async def test_a_mutation_shows_the_tiers_it_changed(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # On PostgreSQL, where programmes are kept per version; SQLite reads the
    # tiers every time.
    gold = await make_tier(store.store, "Gold", 1, 0)
    customer = await make_customer(store.store, external_id="c-1")
    await Customer.filter(id=customer.id).update(tier_id=gold.id)
    # a query keeps the programme at the store's current version
    listed = await gql(
        "{ customers(first: 1) { edges { node { tier { name } } } } }",
        key=store.secret_key,
    )
    assert _nodes(listed) == [{"tier": {"name": "Gold"}}]
    # when one document renames the tier, then shows the customer's tier
    result = await gql(
        RENAME_THEN_SHOW,
        {
            "tier": {
                "id": global_id("Tier", gold.id),
                "name": "Platinum",
                "rank": 1,
                "threshold": 0,
            },
            "customer": {
                "id": global_id("Customer", customer.id),
                "firstName": "Ada",
            },
        },
        key=store.secret_key,
    )
    # then the payload shows the new name: the version read with the key is
    # no longer the programme's (only queries keep it)
    assert result.errors == []
    assert result.data["customerUpdate"]["customer"]["tier"] == {"name": "Platinum"}
    again = await gql(
        "{ customers(first: 1) { edges { node { tier { name } } } } }",
        key=store.secret_key,
    )
    assert _nodes(again) == [{"tier": {"name": "Platinum"}}]


def _selection(field: GraphQLField) -> str | None:
    """A selection of the field that needs no argument; None if it needs one."""
    if any(is_required_argument(arg) for arg in field.args.values()):
        return None
    named = get_named_type(field.type)
    if is_leaf_type(named):
        return ""
    return " { __typename }"


@pytest.mark.usefixtures("seeded")
async def test_every_field_a_list_allows_resolves_on_its_rows(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # Listed rows are read with only LISTED_COLUMNS, into objects that read
    # their fields from the row (ListedCustomer): a field that reads another
    # column must be refused in lists, never fail on a missing one, and each
    # answers as `customer(id:)` answers it (both read the row through
    # _FROM_ROW: this compares the listed objects, not that table).
    customer_type = build_schema()._schema.get_type("Customer")
    assert isinstance(customer_type, GraphQLObjectType)
    answered, refused = [], []
    for name, field in customer_type.fields.items():
        selection = _selection(field)
        if selection is None:
            continue
        result = await gql(
            f"{{ customers(first: 5) {{ edges {{ node {{ id {name}{selection} }} }} }} }}",
            key=store.secret_key,
        )
        if result.errors:
            assert result.error_codes == ["BAD_USER_INPUT"] * len(result.errors), (
                name,
                result.errors,
            )
            assert "one customer at a time" in result.errors[0]["message"]
            refused.append(name)
        else:
            assert len(_nodes(result)) == 5
            for node in _nodes(result):
                alone = await gql(
                    f"query($id: ID!) {{ customer(id: $id) {{ id {name}{selection} }} }}",
                    {"id": node["id"]},
                    key=store.secret_key,
                )
                assert alone.data == {"customer": node}, name
            answered.append(name)
    assert {"id", "email", "tier", "isLapsed", "createdAt"} <= set(answered)
    assert {"tierProgress", "nudges", "pointsLots"} <= set(refused)


@pytest.mark.usefixtures("seeded")
async def test_a_page_reads_the_columns_its_fields_show(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    """Through fragments and aliases, and with a field skipped by a directive
    still read: the answers are those of a page that reads every column."""
    everything = """{ customers(first: 20) { edges { node {
        id mail: email pointsBalance stage tier { name } } } } }"""
    fragments = """
    query($skip: Boolean!) { customers(first: 20) { edges { node {
        ...Balance ... on Customer { mail: email tier { name } }
        stage @skip(if: $skip) } } } }
    fragment Balance on Customer { id pointsBalance }
    """
    full = await gql(everything, key=store.secret_key)
    assert not full.errors
    with count_queries() as counter:
        partial = await gql(fragments, {"skip": False}, key=store.secret_key)
    assert partial.data == full.data
    (page,) = [s for s in counter.statements if "FROM customers" in s]
    listed = page.split("FROM customers")[0]
    for column in ("id", "email", "points_balance", "stage", "tier_id"):
        assert f"t.{column} AS" in listed
    for column in ("first_name", "points_lifetime", "created_at", "last_order_at"):
        assert f"t.{column} AS" not in listed
    skipped = await gql(fragments, {"skip": True}, key=store.secret_key)
    assert not skipped.errors
    assert [
        {k: v for k, v in node.items() if k != "stage"} for node in _nodes(full)
    ] == _nodes(skipped)


async def test_a_field_without_known_columns_reads_them_all(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # `pointsLots` names no columns (lists refuse it): like a field added
    # later without them, its page reads every listed column, so nothing can
    # fail on a column left out.
    await make_customer(store.store)
    with count_queries() as counter:
        with_unknown = await gql(
            "{ customers(first: 5) { edges { node { id isLapsed pointsLots { points } } } } }",
            key=store.secret_key,
        )
    assert with_unknown.error_codes == ["BAD_USER_INPUT"]  # refused, not failed
    (page,) = [s for s in counter.statements if "FROM customers" in s]
    listed = page.split("FROM customers")[0]
    assert all(f"t.{column} AS" in listed for column in LISTED_COLUMNS)

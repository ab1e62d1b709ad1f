"""A key of store A can neither read nor change anything of store B."""

import json
import uuid
from typing import Any

import pytest
from tortoise import Tortoise

from api.stores.models import Store
from api.stores.service import IssuedKeys
from schema import build_schema
from tests.factories.program import seed_everything
from tests.graphql import GraphQLClient, global_id
from tests.schema.operations import ALL, MUTATIONS, QUERIES, Target

NODE_TYPES = (
    "Store",
    "Customer",
    "Tier",
    "Reward",
    "Redemption",
    "EarningRule",
    "Campaign",
    "Order",
    "PointsTransaction",
    "PointsLot",
)


def _root_fields(kind: str) -> set[str]:
    graphql_schema = build_schema()._schema
    root = (
        graphql_schema.query_type if kind == "query" else graphql_schema.mutation_type
    )
    assert root is not None
    return set(root.fields)


def test_every_root_field_is_covered() -> None:
    assert set(QUERIES) == _root_fields("query")
    assert set(MUTATIONS) == _root_fields("mutation")


async def _snapshot_of(store: Store) -> dict[str, Any]:
    """Every row of every table that belongs to the store."""
    assert Tortoise.apps is not None
    found: dict[str, Any] = {"stores": await Store.filter(id=store.id).values()}
    for model in Tortoise.apps.get_models_iterable():
        if "store_id" in model._meta.fields_db_projection.values():
            rows = await model.filter(store_id=store.id).order_by("id").values()
            found[model._meta.db_table] = rows
    return found


def _missing() -> Target:
    return Target(
        customer_gid=global_id("Customer", uuid.uuid4()),
        external_id="missing",
        email="missing@example.com",
        tier_gid=global_id("Tier", uuid.uuid4()),
        reward_gid=global_id("Reward", uuid.uuid4()),
        redemption_gid=global_id("Redemption", uuid.uuid4()),
        rule_gid=global_id("EarningRule", uuid.uuid4()),
        campaign_gid=global_id("Campaign", uuid.uuid4()),
        order_ref="missing",
    )


@pytest.fixture
async def target(other_store: IssuedKeys) -> Target:
    """Store B with one of everything, all known to the attacker by id."""
    data = await seed_everything(other_store, email="b-only@example.com")
    return Target(
        customer_gid=global_id("Customer", data.customer.id),
        external_id=data.external_id,
        email="b-only@example.com",
        tier_gid=global_id("Tier", data.tier.id),
        reward_gid=global_id("Reward", data.reward.id),
        redemption_gid=global_id("Redemption", data.redemption.id),
        rule_gid=global_id("EarningRule", data.rule.id),
        campaign_gid=global_id("Campaign", data.campaign.id),
        order_ref=data.order_ref,
    )


@pytest.mark.parametrize("name", sorted(ALL))
async def test_store_a_cannot_touch_store_b(
    name: str,
    gql: GraphQLClient,
    store: IssuedKeys,
    other_store: IssuedKeys,
    target: Target,
) -> None:
    # given
    operation = ALL[name]
    before = await _snapshot_of(other_store.store)
    b_ids = {str(row["id"]) for rows in before.values() for row in rows}
    b_ids |= {global_id(kind, i) for kind in NODE_TYPES for i in list(b_ids)}
    # when store A's keys are used with everything known about B
    for key in (store.secret_key, store.publishable_key):
        result = await gql(operation.document, operation.variables(target), key=key)
        # then nothing of B comes back
        text = json.dumps(result.body)
        assert not [i for i in b_ids if i in text]
        assert target.email not in text
        assert "Store B" not in text
        assert result.status == 200
    # and nothing of B changed
    assert await _snapshot_of(other_store.store) == before


@pytest.mark.parametrize("name", sorted(n for n, op in ALL.items() if op.takes_id))
async def test_not_yours_looks_like_not_found(
    name: str, gql: GraphQLClient, store: IssuedKeys, target: Target
) -> None:
    operation = ALL[name]
    theirs_vars = operation.variables(target)
    absent_vars = operation.variables(_missing())
    theirs = await gql(operation.document, theirs_vars, key=store.secret_key)
    absent = await gql(operation.document, absent_vars, key=store.secret_key)
    assert theirs.body == absent.body

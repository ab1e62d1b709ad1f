"""A key of store A can neither read nor change anything of store B."""

import json
import uuid
from typing import Any

import pytest

from api.customers.models import Customer, CustomerIdentity
from api.stores.models import ApiKey, Store
from api.stores.service import IssuedKeys
from schema import build_schema
from tests.factories.customers import make_customer
from tests.graphql import GraphQLClient, global_id
from tests.schema.operations import ALL, MUTATIONS, QUERIES, Target


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


async def _snapshot_of(store: Store) -> list[Any]:
    customers = await Customer.filter(store_id=store.id).order_by("id").values()
    identities = (
        await CustomerIdentity.filter(store_id=store.id).order_by("id").values()
    )
    keys = await ApiKey.filter(store_id=store.id).order_by("id").values()
    row = await Store.filter(id=store.id).values()
    return [customers, identities, keys, row]


@pytest.fixture
async def target(other_store: IssuedKeys) -> Target:
    theirs = await make_customer(
        other_store.store, external_id="b-secret-id", email="b-only@example.com"
    )
    return Target(
        customer_gid=global_id("Customer", theirs.id),
        external_id="b-secret-id",
        email="b-only@example.com",
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
    # when store A's keys are used with everything known about B
    for key in (store.secret_key, store.publishable_key):
        result = await gql(operation.document, operation.variables(target), key=key)
        # then nothing of B comes back
        text = json.dumps(result.body)
        assert str(other_store.store.id) not in text
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
    missing = Target(
        customer_gid=global_id("Customer", uuid.uuid4()),
        external_id="missing",
        email="missing@example.com",
    )
    theirs = await gql(
        operation.document, operation.variables(target), key=store.secret_key
    )
    absent = await gql(
        operation.document, operation.variables(missing), key=store.secret_key
    )
    assert theirs.body == absent.body

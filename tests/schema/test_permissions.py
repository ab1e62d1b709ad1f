"""Who may call what: anonymous, publishable, secret, revoked and malformed keys."""

import pytest

from api.stores import service as stores
from api.stores.models import KeyKind
from api.stores.service import IssuedKeys
from tests.graphql import GraphQLClient
from tests.schema.operations import ALL, Access, Target

TARGET = Target(
    customer_gid="Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw",
    external_id="x",
    email="x@example.com",
)


@pytest.mark.parametrize("name", sorted(ALL))
async def test_anonymous_is_unauthenticated(
    name: str, gql: GraphQLClient, store: IssuedKeys
) -> None:
    operation = ALL[name]
    result = await gql(operation.document, operation.variables(TARGET))
    assert result.error_codes == ["UNAUTHENTICATED"]
    assert result.data in ({name: None}, None)  # connections are non-null


@pytest.mark.parametrize(
    "name", sorted(n for n, op in ALL.items() if op.access is Access.SECRET)
)
async def test_publishable_key_is_forbidden(
    name: str, gql: GraphQLClient, store: IssuedKeys
) -> None:
    operation = ALL[name]
    result = await gql(
        operation.document, operation.variables(TARGET), key=store.publishable_key
    )
    assert result.error_codes == ["FORBIDDEN"]
    assert result.data in ({name: None}, None)  # connections are non-null


@pytest.mark.parametrize("name", sorted(ALL))
async def test_secret_key_is_allowed(
    name: str, gql: GraphQLClient, store: IssuedKeys
) -> None:
    operation = ALL[name]
    result = await gql(
        operation.document, operation.variables(TARGET), key=store.secret_key
    )
    assert result.errors == []
    assert name in result.data


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sk_not_a_real_key",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "sk_only",
    ],
)
async def test_bad_credentials_see_nothing(
    header: str, gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql("{ store { name } }", headers={"authorization": header})
    assert result.data == {"store": None}
    assert result.error_codes == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("kind", [KeyKind.SECRET, KeyKind.PUBLISHABLE])
async def test_rotated_key_stops_working(
    kind: KeyKind, gql: GraphQLClient, store: IssuedKeys
) -> None:
    old = store.secret_key if kind is KeyKind.SECRET else store.publishable_key
    new = await stores.rotate_key(store.store, kind)
    revoked = await gql("{ store { name } }", key=old)
    fresh = await gql("{ store { name } }", key=new)
    assert revoked.error_codes == ["UNAUTHENTICATED"]
    assert fresh.data == {"store": {"name": "Store A"}}

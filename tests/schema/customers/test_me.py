from datetime import timedelta

import time_machine

from api.core.clock import utc_now
from api.customers.models import Customer
from api.stores import service as stores
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.graphql import GraphQLClient, global_id

ME = "{ me { email isEnrolled } }"
TOKEN = """
mutation Token($input: CustomerTokenCreateInput!) {
  customerTokenCreate(input: $input) { token expiresAt userErrors { field code } }
}
"""
ENROLL = """
mutation Enroll($input: CustomerEnrollInput) {
  customerEnroll(input: $input) { customer { email isEnrolled } userErrors { field code } }
}
"""


def _gid(customer: Customer) -> str:
    return global_id("Customer", customer.id)


async def test_storefront_flow(gql: GraphQLClient, store: IssuedKeys) -> None:
    # given a server-minted token for a shopper
    customer = await make_customer(store.store)
    minted = await gql(TOKEN, {"input": {"id": _gid(customer)}}, key=store.secret_key)
    token = minted.data["customerTokenCreate"]["token"]
    # when the storefront asks with the publishable key
    me = await gql(ME, key=store.publishable_key, token=token)
    enrolled = await gql(ENROLL, {}, key=store.publishable_key, token=token)
    # then
    assert me.data == {"me": {"email": "ada@example.com", "isEnrolled": False}}
    assert enrolled.data["customerEnroll"] == {
        "customer": {"email": "ada@example.com", "isEnrolled": True},
        "userErrors": [],
    }


async def test_me_is_null_without_a_token(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(ME, key=store.publishable_key)
    assert result.data == {"me": None}
    assert result.errors == []


async def test_expired_token_is_unauthenticated(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    customer = await make_customer(store.store)
    token, _ = stores.mint_customer_token(
        store.store, customer.id, ttl=timedelta(minutes=5)
    )
    with time_machine.travel(utc_now() + timedelta(minutes=6)):
        result = await gql(ME, key=store.publishable_key, token=token)
    assert result.data == {"me": None}
    assert result.error_codes == ["UNAUTHENTICATED"]


async def test_token_of_another_store_is_unauthenticated(
    gql: GraphQLClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    theirs = await make_customer(other_store.store)
    token, _ = stores.mint_customer_token(
        other_store.store, theirs.id, ttl=timedelta(hours=1)
    )
    result = await gql(ME, key=store.publishable_key, token=token)
    assert result.data == {"me": None}
    assert result.error_codes == ["UNAUTHENTICATED"]


async def test_revoking_customer_tokens(gql: GraphQLClient, store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    token, _ = stores.mint_customer_token(
        store.store, customer.id, ttl=timedelta(hours=1)
    )
    await stores.revoke_customer_tokens(store.store)
    result = await gql(ME, key=store.publishable_key, token=token)
    assert result.error_codes == ["UNAUTHENTICATED"]


async def test_erased_customer_token_sees_nothing(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    from api.customers import service

    customer = await make_customer(store.store)
    token, _ = stores.mint_customer_token(
        store.store, customer.id, ttl=timedelta(hours=1)
    )
    await service.erase(store.store, customer.id)
    result = await gql(ME, key=store.publishable_key, token=token)
    assert result.data == {"me": None}


async def test_shopper_cannot_enroll_someone_else(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    me = await make_customer(store.store, external_id="me")
    other = await make_customer(store.store, external_id="other", email="o@example.com")
    token, _ = stores.mint_customer_token(store.store, me.id, ttl=timedelta(hours=1))
    result = await gql(
        ENROLL, {"input": {"id": _gid(other)}}, key=store.publishable_key, token=token
    )
    assert result.data["customerEnroll"]["userErrors"] == [
        {"field": "id", "code": "NOT_FOUND"}
    ]
    assert (await Customer.get(id=other.id)).enrolled is False


async def test_publishable_key_without_token_cannot_enroll(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(ENROLL, {}, key=store.publishable_key)
    assert result.error_codes == ["FORBIDDEN"]


async def test_token_lifetime_bounds(gql: GraphQLClient, store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    for ttl in (59, 30 * 24 * 3600 + 1):
        result = await gql(
            TOKEN,
            {"input": {"id": _gid(customer), "ttlSeconds": ttl}},
            key=store.secret_key,
        )
        assert result.data["customerTokenCreate"] == {
            "token": None,
            "expiresAt": None,
            "userErrors": [{"field": "ttlSeconds", "code": "INVALID"}],
        }


async def test_a_token_seen_before_still_expires_and_is_revoked(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # Verified tokens are remembered (api/stores/credentials.py): expiry and
    # revocation must still apply to them.
    customer = await make_customer(store.store)
    token, _ = stores.mint_customer_token(
        store.store, customer.id, ttl=timedelta(minutes=5)
    )
    fresh = await gql(ME, key=store.publishable_key, token=token)
    with time_machine.travel(utc_now() + timedelta(minutes=6)):
        expired = await gql(ME, key=store.publishable_key, token=token)
    await stores.revoke_customer_tokens(store.store)
    revoked = await gql(ME, key=store.publishable_key, token=token)
    assert fresh.data == {"me": {"email": "ada@example.com", "isEnrolled": False}}
    assert expired.error_codes == revoked.error_codes == ["UNAUTHENTICATED"]

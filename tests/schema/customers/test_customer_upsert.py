from api.customers.models import Customer, CustomerIdentity
from api.stores.service import IssuedKeys
from tests.graphql import GraphQLClient

UPSERT = """
mutation Upsert($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) {
    created
    customer { id email firstName birthday marketingConsent isEnrolled enrolledAt
               externalIds { platform id } }
    userErrors { field message code }
  }
}
"""


async def test_creates_then_updates_the_same_customer(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given
    first = await gql(
        UPSERT,
        {
            "input": {
                "externalId": "c-1",
                "email": "Ada@Example.com",
                "birthday": "1990-02-03",
            }
        },
        key=store.secret_key,
    )
    # when
    again = await gql(
        UPSERT,
        {"input": {"externalId": "c-1", "firstName": "Ada", "enroll": True}},
        key=store.secret_key,
    )
    # then
    created = first.data["customerUpsert"]
    updated = again.data["customerUpsert"]
    assert created["userErrors"] == [] and updated["userErrors"] == []
    assert (created["created"], updated["created"]) == (True, False)
    assert updated["customer"]["id"] == created["customer"]["id"]
    assert updated["customer"] | {"enrolledAt": None} == {
        "id": created["customer"]["id"],
        "email": "ada@example.com",
        "firstName": "Ada",
        "birthday": "1990-02-03",
        "marketingConsent": False,
        "isEnrolled": True,
        "enrolledAt": None,
        "externalIds": [{"platform": "CUSTOM", "id": "c-1"}],
    }
    assert updated["customer"]["enrolledAt"] is not None
    assert await Customer.all().count() == 1


async def test_explicit_null_clears_a_field(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await gql(
        UPSERT,
        {"input": {"externalId": "c-1", "email": "a@example.com"}},
        key=store.secret_key,
    )
    result = await gql(
        UPSERT, {"input": {"externalId": "c-1", "email": None}}, key=store.secret_key
    )
    assert result.data["customerUpsert"]["customer"]["email"] is None


async def test_bad_input_reports_every_field_and_writes_nothing(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(
        UPSERT,
        {"input": {"externalId": "c-1", "email": "nope", "birthday": "2999-01-01"}},
        key=store.secret_key,
    )
    payload = result.data["customerUpsert"]
    assert payload["customer"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("email", "INVALID_EMAIL"),
        ("birthday", "INVALID_BIRTHDAY"),
    ]
    assert await Customer.all().count() == 0
    assert await CustomerIdentity.all().count() == 0


async def test_blank_external_id_is_a_user_error(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(UPSERT, {"input": {"externalId": "  "}}, key=store.secret_key)
    errors = result.data["customerUpsert"]["userErrors"]
    assert len(errors) == 1
    assert (errors[0]["field"], errors[0]["code"]) == ("externalId", "INVALID")


async def test_publishable_key_cannot_upsert(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(
        UPSERT, {"input": {"externalId": "c-1"}}, key=store.publishable_key
    )
    assert result.data == {"customerUpsert": None}
    assert result.error_codes == ["FORBIDDEN"]
    assert await Customer.all().count() == 0


DELETE = """
mutation Delete($input: CustomerDeleteInput!) {
  customerDelete(input: $input) { deletedCustomerId userErrors { field code } }
}
"""


async def test_delete_twice_succeeds_both_times(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    created = await gql(
        UPSERT,
        {"input": {"externalId": "c-1", "email": "a@example.com"}},
        key=store.secret_key,
    )
    gid = created.data["customerUpsert"]["customer"]["id"]
    first = await gql(DELETE, {"input": {"id": gid}}, key=store.secret_key)
    again = await gql(DELETE, {"input": {"id": gid}}, key=store.secret_key)
    assert (
        first.data
        == again.data
        == {"customerDelete": {"deletedCustomerId": gid, "userErrors": []}}
    )
    row = await Customer.get()
    assert (row.email, row.erased_at is not None) == (None, True)

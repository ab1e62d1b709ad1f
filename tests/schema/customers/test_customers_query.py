from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.graphql import GraphQLClient, count_queries

CUSTOMERS = """
query List($first: Int, $after: String, $query: String, $enrolled: Boolean,
           $sortKey: CustomerSortKey, $reverse: Boolean) {
  customers(first: $first, after: $after, query: $query, enrolled: $enrolled,
            sortKey: $sortKey, reverse: $reverse) {
    edges { cursor node { id email lastName isEnrolled externalIds { platform id } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def _seed(store: IssuedKeys, count: int) -> None:
    for i in range(count):
        await make_customer(
            store.store,
            external_id=f"c-{i:03}",
            email=f"user{i:03}@example.com",
            last_name=f"Name{i:03}",
            enrolled=i % 2 == 0,
        )


async def test_pages_through_every_customer_once(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await _seed(store, 7)
    seen: list[str] = []
    after = None
    while True:
        result = await gql(
            CUSTOMERS,
            {"first": 3, "after": after, "sortKey": "EMAIL", "reverse": False},
            key=store.secret_key,
        )
        page = result.data["customers"]
        seen += [edge["node"]["email"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"user{i:03}@example.com" for i in range(7)]


async def test_filters(gql: GraphQLClient, store: IssuedKeys) -> None:
    await _seed(store, 4)
    enrolled = await gql(
        CUSTOMERS,
        {"enrolled": True, "sortKey": "EMAIL", "reverse": False},
        key=store.secret_key,
    )
    assert [e["node"]["email"] for e in enrolled.data["customers"]["edges"]] == [
        "user000@example.com",
        "user002@example.com",
    ]
    by_text = await gql(CUSTOMERS, {"query": "name003"}, key=store.secret_key)
    assert [e["node"]["lastName"] for e in by_text.data["customers"]["edges"]] == [
        "Name003"
    ]
    by_external = await gql(CUSTOMERS, {"query": "c-001"}, key=store.secret_key)
    assert [
        e["node"]["externalIds"] for e in by_external.data["customers"]["edges"]
    ] == [[{"platform": "CUSTOM", "id": "c-001"}]]


async def test_page_size_is_capped_at_100(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    result = await gql(CUSTOMERS, {"first": 101}, key=store.secret_key)
    assert result.data is None
    assert result.errors[0]["message"] == "`first` must be between 0 and 100."
    assert result.error_codes == ["BAD_USER_INPUT"]


async def test_query_count_does_not_grow_with_page_size(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await _seed(store, 30)
    counts = []
    for size in (1, 10, 30):
        with count_queries() as counter:
            result = await gql(CUSTOMERS, {"first": size}, key=store.secret_key)
        assert len(result.data["customers"]["edges"]) == size
        counts.append(counter.count)
    # key lookup + page + external ids, whatever the page size
    assert counts == [3, 3, 3]


async def test_only_the_callers_customers(
    gql: GraphQLClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    await make_customer(store.store, external_id="mine", email="mine@example.com")
    await make_customer(
        other_store.store, external_id="theirs", email="theirs@example.com"
    )
    result = await gql(CUSTOMERS, {}, key=store.secret_key)
    assert [e["node"]["email"] for e in result.data["customers"]["edges"]] == [
        "mine@example.com"
    ]


async def test_malformed_ids_and_cursors_are_clear(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    lookup = await gql(
        "query($id: ID!) { customer(id: $id) { id } }",
        {"id": "garbage"},
        key=store.secret_key,
    )
    cursor = await gql(CUSTOMERS, {"after": "zz"}, key=store.secret_key)
    anonymous = await gql(
        "query($id: ID!) { customer(id: $id) { id } }", {"id": "garbage"}
    )
    assert lookup.data == {"customer": None} and lookup.errors == []  # just not found
    assert cursor.error_codes == ["BAD_USER_INPUT"]
    assert anonymous.error_codes == ["UNAUTHENTICATED"]

from tests.graphql import GraphQLClient


async def test_typename_needs_no_key(gql: GraphQLClient) -> None:
    result = await gql("{ __typename }")
    assert result.status == 200
    assert result.data == {"__typename": "Query"}

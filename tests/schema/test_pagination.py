"""Relay pagination over a list read from the database: forward with
`first`/`after`, backward with `last`/`before`, and the page info, as the Relay
connection specification describes them."""

from typing import Any

import pytest

from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.graphql import GraphQLClient, count_queries

EMAILS = [f"c{i}@example.com" for i in range(7)]
PAGE = """
query($first: Int, $after: String, $last: Int, $before: String) {
  customers(sortKey: EMAIL, reverse: false, first: $first, after: $after,
            last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { email } }
  }
}
"""


@pytest.fixture
async def seven(store: IssuedKeys) -> None:
    for n, email in enumerate(EMAILS):
        await make_customer(store.store, external_id=f"p-{n}", email=email)


async def _page(gql: GraphQLClient, key: str, **variables: Any) -> dict[str, Any]:
    result = await gql(PAGE, variables, key=key)
    assert result.errors == []
    page: dict[str, Any] = result.data["customers"]
    return page


def _emails(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["email"] for edge in page["edges"]]


def _flags(page: dict[str, Any]) -> tuple[bool, bool]:
    info = page["pageInfo"]
    return info["hasPreviousPage"], info["hasNextPage"]


@pytest.mark.usefixtures("seven")
async def test_forward_pages_walk_every_row_once(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    seen: list[str] = []
    after = None
    flags = []
    while True:
        page = await _page(gql, store.secret_key, first=3, after=after)
        seen += _emails(page)
        flags.append(_flags(page))
        info = page["pageInfo"]
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == EMAILS
    assert flags == [(False, True), (True, True), (True, False)]


@pytest.mark.usefixtures("seven")
async def test_last_without_a_cursor_is_the_end_of_the_list(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    with count_queries() as counter:
        page = await _page(gql, store.secret_key, last=3)
    assert _emails(page) == EMAILS[-3:]
    assert _flags(page) == (True, False)
    # The key, a count and the three rows: never the whole list.
    assert counter.count == 3
    everything = await _page(gql, store.secret_key, last=10)
    assert _emails(everything) == EMAILS
    assert _flags(everything) == (False, False)
    nothing = await _page(gql, store.secret_key, last=0)
    assert _emails(nothing) == []


@pytest.mark.usefixtures("seven")
async def test_backward_pages_and_cursors_agree_with_forward_ones(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    forward = await _page(gql, store.secret_key, first=7)
    cursors = {e["node"]["email"]: e["cursor"] for e in forward["edges"]}
    end = await _page(gql, store.secret_key, last=2)
    assert [e["cursor"] for e in end["edges"]] == [cursors[m] for m in EMAILS[-2:]]
    before = await _page(
        gql, store.secret_key, last=2, before=end["pageInfo"]["startCursor"]
    )
    assert _emails(before) == EMAILS[3:5]
    after_then_last = await _page(
        gql, store.secret_key, after=cursors[EMAILS[1]], last=2
    )
    assert _emails(after_then_last) == EMAILS[-2:]
    assert _flags(after_then_last) == (True, False)
    few_after = await _page(gql, store.secret_key, after=cursors[EMAILS[4]], last=5)
    assert _emails(few_after) == EMAILS[5:]
    first_before = await _page(
        gql, store.secret_key, first=2, before=cursors[EMAILS[5]]
    )
    assert _emails(first_before) == EMAILS[:2]

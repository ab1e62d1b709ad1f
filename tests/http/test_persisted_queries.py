"""Automatic persisted queries: a hash alone runs a document this server has
seen; a wrong hash never plants a document."""

import hashlib
from typing import Any
from uuid import uuid4

import httpx
from strawberry.http import GraphQLRequestData

from api.http.persisted import PersistedQueries
from api.stores.service import IssuedKeys

QUERY = "{ store { name currency } }"


def _apq(query: str) -> dict[str, Any]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def _post(
    client: httpx.AsyncClient, store: IssuedKeys, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json=body,
        headers={"authorization": f"Bearer {store.secret_key}"},
    )


async def test_hash_alone_is_not_found_until_the_document_was_sent(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    # when a client sends only the hash of a document the server never saw
    first = await _post(client, store, {"extensions": _apq(QUERY)})
    # then it is told so with Apollo's code, and nothing ran
    assert first.status_code == 200
    assert first.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    # when it sends the document with the hash, it runs
    second = await _post(client, store, {"query": QUERY, "extensions": _apq(QUERY)})
    assert second.json()["data"]["store"]["currency"] == "EUR"
    # and from then on the hash alone runs it
    third = await _post(client, store, {"extensions": _apq(QUERY)})
    assert third.json() == second.json()


async def test_a_hash_that_does_not_match_is_refused_and_not_kept(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    other = "{ store { id } }"
    planted = await _post(client, store, {"query": other, "extensions": _apq(QUERY)})
    assert planted.status_code == 400
    assert planted.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_HASH_MISMATCH"
    )
    # the hash still names nothing
    lookup = await _post(client, store, {"extensions": _apq(QUERY)})
    assert lookup.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


async def test_malformed_extension_is_a_bad_request(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    response = await _post(
        client, store, {"extensions": {"persistedQuery": {"version": 2}}}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_INVALID"
    )


async def test_documents_are_kept_per_store(
    client: httpx.AsyncClient, store: IssuedKeys, other_store: IssuedKeys
) -> None:
    # a document one store sent (it may carry literals) is not found for another
    sent = await _post(client, store, {"query": QUERY, "extensions": _apq(QUERY)})
    assert sent.json()["data"]["store"]["currency"] == "EUR"
    probe = await _post(client, other_store, {"extensions": _apq(QUERY)})
    assert probe.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


async def test_callers_without_a_key_neither_store_nor_find(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    anonymous = await client.post(
        "/graphql", json={"query": QUERY, "extensions": _apq(QUERY)}
    )
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # nothing was kept for anyone by that call
    lookup = await _post(client, store, {"extensions": _apq(QUERY)})
    assert lookup.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
    # and a known hash is not found without a key either
    await _post(client, store, {"query": QUERY, "extensions": _apq(QUERY)})
    anonymous_lookup = await client.post("/graphql", json={"extensions": _apq(QUERY)})
    assert anonymous_lookup.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


async def test_a_lone_surrogate_is_the_clients_mistake_not_a_crash(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    # JSON may carry a lone surrogate, which UTF-8 cannot encode
    body = b'{"query":"\\ud800","extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}'
    response = await client.post(
        "/graphql",
        content=body,
        headers={
            "authorization": f"Bearer {store.secret_key}",
            "content-type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_HASH_MISMATCH"
    )


def test_the_cache_is_bounded() -> None:
    cache = PersistedQueries(max_entries=2, max_document_chars=40)
    store_id = uuid4()

    def send(query: str | None, digest_of: str) -> GraphQLRequestData:
        return cache.resolve(
            GraphQLRequestData(
                query=query,
                variables=None,
                operation_name=None,
                extensions=_apq(digest_of),
            ),
            store_id,
        )

    for query in ("{ a }", "{ b }", "{ c }", "{ " + "d " * 40 + "}"):
        send(query, query)
    kept = []
    for query in ("{ a }", "{ b }", "{ c }", "{ " + "d " * 40 + "}"):
        try:
            kept.append(send(None, query).query)
        except Exception:
            kept.append(None)
    # the oldest entry fell out, and the over-long document was never kept
    assert kept == [None, "{ b }", "{ c }", None]

"""Browsers may use a publishable key only from the store's allowed origins."""

import httpx

from api.stores.service import IssuedKeys

QUERY = {"query": "{ store { name } }"}


def _headers(key: str, origin: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {key}",
        "origin": origin,
        "content-type": "application/json",
    }


async def test_preflight_allows_the_headers_storefronts_send(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/graphql",
        headers={
            "origin": "https://shop.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, x-ladder-customer-token",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "x-ladder-customer-token" in response.headers["access-control-allow-headers"]
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_allowed_origin_gets_the_data(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    response = await client.post(
        "/graphql",
        json=QUERY,
        headers=_headers(store.publishable_key, "https://shop.example.com"),
    )
    assert response.json() == {"data": {"store": {"name": "Store A"}}}
    assert response.headers["access-control-allow-origin"] == "https://shop.example.com"


async def test_other_origin_is_forbidden(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    response = await client.post(
        "/graphql",
        json=QUERY,
        headers=_headers(store.publishable_key, "https://evil.example.com"),
    )
    body = response.json()
    assert body["data"] == {"store": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "access-control-allow-origin" not in response.headers


async def test_secret_key_from_a_browser_is_forbidden(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    response = await client.post(
        "/graphql",
        json=QUERY,
        headers=_headers(store.secret_key, "https://shop.example.com"),
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_same_origin_needs_no_allow_list(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    # GraphiQL served by Ladder itself posts with its own origin.
    response = await client.post(
        "/graphql", json=QUERY, headers=_headers(store.secret_key, "http://testserver")
    )
    assert response.json() == {"data": {"store": {"name": "Store A"}}}

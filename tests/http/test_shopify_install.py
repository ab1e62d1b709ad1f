"""Installing on Shopify: install link -> authorize -> callback -> connected,
webhooks registered, past orders imported; and every forged step refused."""

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.connections.models import Connection
from api.http.shopify_install import STATE_COOKIE, install_link
from api.orders.models import Order
from api.settings import Settings
from api.stores.service import IssuedKeys
from plugins.shopify.signature import sign_query
from tests.plugins.shopify.fake_admin import (
    API_KEY,
    API_SECRET,
    AUTH_CODE,
    SHOP,
    FakeShopifyAdmin,
)


@pytest.fixture
def fake() -> FakeShopifyAdmin:
    # The app sleeps on the real clock, so give the fake a bucket that never runs dry.
    return FakeShopifyAdmin(12, maximum_available=1_000_000, restore_rate=1_000_000)


@pytest.fixture
def shopify_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "shopify_api_key": API_KEY,
            "shopify_api_secret": SecretStr(API_SECRET),
            "public_url": "https://loyalty.example.com",
        }
    )


@pytest.fixture
async def web(
    shopify_settings: Settings, fake: FakeShopifyAdmin, db_clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        shopify_settings,
        manage_orm=False,
        http_transport=httpx.MockTransport(fake.handle),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://loyalty.example.com"
        ) as c:
            yield c


async def _start(web: httpx.AsyncClient, settings: Settings, store: IssuedKeys) -> str:
    link = install_link(settings, store_id=store.store.id, shop=SHOP)
    response = await web.get(link.removeprefix("https://loyalty.example.com"))
    assert response.status_code == 302
    authorize = urlsplit(response.headers["location"])
    assert (authorize.netloc, authorize.path) == (SHOP, "/admin/oauth/authorize")
    query = parse_qs(authorize.query)
    assert query["client_id"] == [API_KEY]
    assert query["redirect_uri"] == ["https://loyalty.example.com/shopify/callback"]
    return query["state"][0]


def _callback_params(
    state: str, *, code: str = AUTH_CODE, shop: str = SHOP
) -> dict[str, str]:
    params = {"code": code, "shop": shop, "state": state, "timestamp": "1763900000"}
    return {**params, "hmac": sign_query(params, API_SECRET)}


async def test_install_connects_registers_webhooks_and_imports(
    web: httpx.AsyncClient,
    shopify_settings: Settings,
    store: IssuedKeys,
    fake: FakeShopifyAdmin,
) -> None:
    store.store.currency = "USD"
    await store.store.save()
    # given the merchant opened the install link and approved the app
    state = await _start(web, shopify_settings, store)
    # when Shopify redirects back
    response = await web.get("/shopify/callback", params=_callback_params(state))
    # then the shop is connected, with its token encrypted
    assert response.status_code == 200
    assert "Ladder is connected" in response.text
    connection = await Connection.get()
    assert (connection.shop_ref, connection.active) == (SHOP, True)
    assert connection.access_token and "shpat" not in connection.access_token
    # and the webhooks Ladder needs are registered at its public address
    assert {w.uri for w in fake.webhooks} == {
        "https://loyalty.example.com/webhooks/shopify"
    }
    assert len(fake.webhooks) == 7
    # and past orders are imported in the background
    for _ in range(200):
        if (
            await Connection.get()
        ).synced_until is not None and await Order.all().count():
            break
        await asyncio.sleep(0.05)
    assert await Order.all().count() == len([o for o in fake.orders if not o.test])


@pytest.mark.parametrize(
    "_case",
    ["bad hmac", "other shop", "no cookie", "tampered state"],
)
async def test_forged_callbacks_are_refused(
    _case: str,
    web: httpx.AsyncClient,
    shopify_settings: Settings,
    store: IssuedKeys,
) -> None:
    state = await _start(web, shopify_settings, store)
    params = _callback_params(state)
    if _case == "bad hmac":
        params["hmac"] = "0" * 64
    elif _case == "other shop":
        params = _callback_params(state, shop="evil.myshopify.com")
    elif _case == "no cookie":
        web.cookies.delete(STATE_COOKIE)
    elif _case == "tampered state":
        params = _callback_params(state[:-2] + "xx")
    response = await web.get("/shopify/callback", params=params)
    assert response.status_code in (400, 401)
    assert await Connection.all().count() == 0


async def test_install_link_is_required(web: httpx.AsyncClient) -> None:
    response = await web.get("/shopify/install", params={"shop": SHOP})
    assert response.status_code == 400
    invalid = await web.get("/shopify/install", params={"shop": "evil.com"})
    assert invalid.status_code == 400

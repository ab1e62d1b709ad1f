"""Connecting WooCommerce: install link -> wc-auth -> keys posted back -> verified,
stored, webhooks created, history imported; and the reconciler catches up on
orders whose webhooks were lost."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.app import create_app, platform_connectors
from api.connections.models import Connection
from api.core.crypto import Vault
from api.http.woocommerce_install import install_link
from api.maintenance import service as maintenance
from api.orders.models import Order
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories.program import make_spend_rule
from tests.plugins.woocommerce.fake_rest import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    SITE_URL,
    FakeWooCommerce,
)

PUBLIC = "https://loyalty.example.com"


@pytest.fixture
def fake() -> FakeWooCommerce:
    return FakeWooCommerce(30)


@pytest.fixture
def woo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": PUBLIC})


@pytest.fixture
async def web(
    woo_settings: Settings, fake: FakeWooCommerce, db_clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        woo_settings, manage_orm=False, http_transport=httpx.MockTransport(fake.handle)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as c:
            yield c


async def _connect_by_install(
    web: httpx.AsyncClient, settings: Settings, store: IssuedKeys
) -> None:
    link = install_link(settings, store_id=store.store.id, site_url=SITE_URL)
    response = await web.get(link.removeprefix(PUBLIC))
    assert response.status_code == 302
    authorize = urlsplit(response.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == (
        f"{SITE_URL}/wc-auth/v1/authorize"
    )
    query = parse_qs(authorize.query)
    assert query["scope"] == ["read_write"]
    assert query["callback_url"] == [f"{PUBLIC}/woocommerce/callback"]
    # WooCommerce posts the new keys to the callback
    posted = await web.post(
        "/woocommerce/callback",
        json={
            "key_id": 1,
            "user_id": query["user_id"][0],
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "key_permissions": "read_write",
        },
    )
    assert posted.status_code == 200


async def _wait_for_import(expected: int) -> None:
    for _ in range(300):
        if (
            await Order.all().count() >= expected
            and (await Connection.get()).synced_until
        ):
            return
        await asyncio.sleep(0.05)


async def test_install_verifies_keys_creates_webhooks_and_imports(
    web: httpx.AsyncClient,
    woo_settings: Settings,
    store: IssuedKeys,
    fake: FakeWooCommerce,
) -> None:
    store.store.currency = "USD"  # the fake store sells in USD
    await store.store.save()
    await make_spend_rule(store.store)
    await _connect_by_install(web, woo_settings, store)
    connection = await Connection.get()
    assert connection.access_token and CONSUMER_SECRET not in connection.access_token
    paid_or_later = [
        o for o in fake.orders.values() if o["status"] not in ("checkout-draft",)
    ]
    await _wait_for_import(1)
    assert await Order.all().count() > 0
    assert await Order.all().count() <= len(paid_or_later)
    assert {w.delivery_url for w in fake.webhooks} == {f"{PUBLIC}/webhooks/woocommerce"}


async def test_keys_that_do_not_open_the_store_are_refused(
    web: httpx.AsyncClient, woo_settings: Settings, store: IssuedKeys
) -> None:
    link = install_link(woo_settings, store_id=store.store.id, site_url=SITE_URL)
    response = await web.get(link.removeprefix(PUBLIC))
    token = parse_qs(urlsplit(response.headers["location"]).query)["user_id"][0]
    posted = await web.post(
        "/woocommerce/callback",
        json={
            "user_id": token,
            "consumer_key": "ck_wrong",
            "consumer_secret": "cs_wrong",
        },
    )
    assert posted.status_code == 400
    assert await Connection.all().count() == 0


async def test_forged_install_token_is_refused(web: httpx.AsyncClient) -> None:
    posted = await web.post(
        "/woocommerce/callback",
        json={
            "user_id": "forged",
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": "x",
        },
    )
    assert posted.status_code == 400
    assert await Connection.all().count() == 0


async def test_reconciler_catches_up_lost_webhooks(
    web: httpx.AsyncClient,
    woo_settings: Settings,
    store: IssuedKeys,
    fake: FakeWooCommerce,
) -> None:
    store.store.currency = "USD"  # the fake store sells in USD
    await store.store.save()
    await make_spend_rule(store.store)
    await _connect_by_install(web, woo_settings, store)
    await _wait_for_import(1)
    before = await Order.all().count()
    # given an order completes on the store and its webhook never arrives
    pending = next(o for o in fake.orders.values() if o["status"] == "pending")
    fake.touch(
        int(pending["id"]),
        status="completed",
        date_paid_gmt=pending["date_modified_gmt"],
    )
    # when the reconciler runs
    async with fake.http() as http:
        platforms = maintenance.Platforms(
            connectors=platform_connectors(woo_settings),
            http=http,
            vault=Vault(woo_settings.vault_key()),
            reconcile_every=timedelta(0),
        )
        report = await maintenance.run(platforms=platforms)
    # then the order is in, and paid
    assert report.reconciled == 1
    caught = await Order.get(order_ref=str(pending["id"]))
    assert caught.paid_at is not None
    assert await Order.all().count() >= before

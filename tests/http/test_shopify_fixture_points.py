"""The real Shopify order payloads (read from ../shared at test time) sent
through the signed webhook endpoint: the points, ladder and customers that follow.

Expected figures by hand, at 1 point per currency unit of eligible spend
(amounts from the fixtures' own lines, see tests/plugins/shopify/test_fixtures.py).
"""

import json

import httpx
import pytest

from api.connections import service as connections
from api.core.crypto import Vault
from api.customers.models import Customer
from api.inbox.models import WebhookDelivery
from api.ladder.models import Stage
from api.ledger.models import PointsTransaction
from api.platforms import PlatformName
from api.program import service as program
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories import shopify
from tests.factories.program import make_spend_rule
from tests.plugins.shopify.test_fixtures import fixture


@pytest.mark.parametrize(
    ("name", "currency", "points", "stage"),
    [
        # 199.00 - 17.91 (FAKE30) = 181.09 -> 181 points; a first paid order.
        ("rest-order-1073459981-paid-discount-code.json", "USD", 181, Stage.PURCHASER),
        # 3 x 199.00 less allocations = 587.00 -> 587; 391.33 refunded takes back
        # round(587 x 391.33 / 587.00) = 391: 196 left, still a purchaser.
        ("rest-order-450789469-partially-refunded.json", "USD", 196, Stage.PURCHASER),
        # all refunded, then cancelled: nothing left, and no longer a purchaser.
        ("rest-order-450789469-cancelled-refunded.json", "USD", 0, Stage.PROSPECT),
    ],
)
async def test_fixture_orders_earn_the_right_points(
    name: str,
    currency: str,
    points: int,
    stage: Stage,
    client: httpx.AsyncClient,
    store: IssuedKeys,
    settings: Settings,
) -> None:
    raw = fixture(name)
    payload = json.loads(raw)
    payload = payload.get("order", payload)
    store.store.currency = currency
    await store.store.save()
    # The fixtures date from 2008: keep their points from expiring.
    await program.update_settings(store.store, {"expiry_days": None})
    await make_spend_rule(store.store)
    await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=shopify.SHOP,
        vault=Vault(settings.vault_key()),
        webhook_secret=shopify.SECRET,
    )
    body = json.dumps(payload).encode()
    response = await client.post(
        "/webhooks/shopify",
        content=body,
        headers=shopify.headers("orders/updated", body),
    )
    assert response.status_code == 200
    total = sum(
        int(str(p))
        for p in await PointsTransaction.all().values_list("points", flat=True)
    )
    customer = await Customer.get()
    assert (total, customer.points_balance + customer.points_pending) == (
        points,
        points,
    )
    assert customer.stage is stage
    assert customer.email == payload["email"]


async def test_guest_fixture_without_email_is_skipped_with_a_reason(
    client: httpx.AsyncClient, store: IssuedKeys, settings: Settings
) -> None:
    # A POS-style order with no customer and an empty email: nobody to credit.
    raw = fixture("rest-order-1073459976-paid-eur-with-tax.json")
    await make_spend_rule(store.store)
    await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=shopify.SHOP,
        vault=Vault(settings.vault_key()),
        webhook_secret=shopify.SECRET,
    )
    response = await client.post(
        "/webhooks/shopify", content=raw, headers=shopify.headers("orders/paid", raw)
    )
    assert response.status_code == 200
    delivery = await WebhookDelivery.get()
    assert delivery.processed_at is not None
    assert (
        delivery.last_error is not None and "customer_required" in delivery.last_error
    )
    assert await PointsTransaction.all().count() == 0

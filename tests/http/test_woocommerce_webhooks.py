"""WooCommerce webhooks end to end: the ping, signed orders, stale snapshots and
every way a delivery can be refused."""

import json
from typing import Any

import httpx
import pytest

from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.inbox.models import WebhookDelivery
from api.ledger.models import PointsTransaction
from api.orders.models import Order
from api.platforms import PlatformName
from api.settings import Settings
from api.stores.service import IssuedKeys
from plugins.woocommerce.signature import sign
from tests.factories.program import make_spend_rule

URL = "/webhooks/woocommerce"
SITE = "https://shop.example.com"
SECRET = "wc-webhook-secret-0123456789"


@pytest.fixture
async def site(store: IssuedKeys, settings: Settings) -> Connection:
    await make_spend_rule(store.store)
    return await connections.connect(
        store.store,
        platform=PlatformName.WOOCOMMERCE,
        shop_ref=SITE,
        vault=Vault(settings.vault_key()),
        access_token="ck_test:cs_test",
        webhook_secret=SECRET,
    )


def order(
    *,
    status: str = "processing",
    modified: str = "2026-11-20T10:00:00",
    total: str = "60.00",
) -> dict[str, Any]:
    """A WooCommerce REST order: 2 x 25.00 merchandise, 10.00 shipping, no tax."""
    return {
        "id": 727,
        "number": "727",
        "status": status,
        "currency": "EUR",
        "prices_include_tax": False,
        "date_created_gmt": "2026-11-20T09:00:00",
        "date_modified_gmt": modified,
        "date_paid_gmt": "2026-11-20T09:05:00"
        if status in ("processing", "completed")
        else None,
        "customer_id": 12,
        "billing": {"email": "wc-buyer@example.com", "first_name": "Wanda"},
        "total": total,
        "total_tax": "0.00",
        "shipping_total": "10.00",
        "discount_total": "0.00",
        "line_items": [
            {
                "id": 1,
                "product_id": 93,
                "quantity": 2,
                "subtotal": "50.00",
                "subtotal_tax": "0.00",
                "total": "50.00",
                "total_tax": "0.00",
                "price": 25,
            }
        ],
        "shipping_lines": [{"id": 2, "total": "10.00", "total_tax": "0.00"}],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }


def _headers(
    topic: str, raw: bytes, secret: str = SECRET, source: str = SITE + "/"
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-wc-webhook-source": source,
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": topic.split(".")[0],
        "x-wc-webhook-event": topic.split(".")[1],
        "x-wc-webhook-signature": sign(raw, secret),
        "x-wc-webhook-id": "31",
        "x-wc-webhook-delivery-id": "abc",
    }


async def _send(
    client: httpx.AsyncClient, topic: str, payload: dict[str, Any]
) -> httpx.Response:
    raw = json.dumps(payload).encode()
    return await client.post(URL, content=raw, headers=_headers(topic, raw))


async def _points() -> int:
    return sum(
        int(str(p))
        for p in await PointsTransaction.all().values_list("points", flat=True)
    )


async def test_creation_ping_gets_200_and_stores_nothing(
    client: httpx.AsyncClient, site: Connection
) -> None:
    response = await client.post(
        URL,
        content=b"webhook_id=31",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert await WebhookDelivery.all().count() == 0


async def test_paid_order_earns_on_merchandise_only(
    client: httpx.AsyncClient, site: Connection
) -> None:
    response = await _send(client, "order.updated", order())
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    stored = await Order.get()
    assert (stored.eligible_minor, stored.points_earned) == (5_000, 50)
    assert await _points() == 50


async def test_repeated_and_stale_snapshots_change_nothing(
    client: httpx.AsyncClient, site: Connection
) -> None:
    await _send(client, "order.updated", order(modified="2026-11-20T10:00:00"))
    await _send(client, "order.updated", order(modified="2026-11-20T10:00:00"))
    # an older snapshot saying "pending" arrives late
    await _send(
        client, "order.updated", order(status="pending", modified="2026-11-20T08:00:00")
    )
    assert await _points() == 50
    assert await WebhookDelivery.all().count() == 3  # delivery ids are no dedupe key


async def test_cancelled_then_points_back(
    client: httpx.AsyncClient, site: Connection
) -> None:
    await _send(client, "order.updated", order())
    await _send(
        client,
        "order.updated",
        order(status="cancelled", modified="2026-11-21T10:00:00"),
    )
    assert await _points() == 0


@pytest.mark.parametrize(
    "_case", ["wrong secret", "tampered", "unknown site", "no signature", "no topic"]
)
async def test_forged_deliveries_get_401_and_write_nothing(
    _case: str, client: httpx.AsyncClient, site: Connection
) -> None:
    raw = json.dumps(order()).encode()
    headers = _headers("order.updated", raw)
    if _case == "wrong secret":
        headers = _headers("order.updated", raw, secret="nope")
    elif _case == "tampered":
        raw = raw.replace(b"50.00", b"5000.00")
    elif _case == "unknown site":
        headers = _headers("order.updated", raw, source="https://other.example.com/")
    elif _case == "no signature":
        del headers["x-wc-webhook-signature"]
    elif _case == "no topic":
        del headers["x-wc-webhook-topic"]
    response = await client.post(URL, content=raw, headers=headers)
    assert response.status_code == 401
    assert await WebhookDelivery.all().count() == 0
    assert await Order.all().count() == 0


async def test_deleted_order_takes_the_points_back(
    client: httpx.AsyncClient, site: Connection
) -> None:
    await _send(client, "order.updated", order())
    response = await _send(client, "order.deleted", {"id": 727})
    assert response.status_code == 200
    assert await _points() == 0


async def test_refund_arriving_as_order_updated_reverses_pro_rata(
    client: httpx.AsyncClient, site: Connection
) -> None:
    # given a paid order: 50.00 merchandise + 10.00 shipping = 60.00, 50 points
    await _send(client, "order.updated", order())
    # when a 30.00 amount-only refund shows up in a later order.updated
    refunded = order(modified="2026-11-21T10:00:00")
    refunded["refunds"] = [{"id": 801, "reason": "", "total": "-30.00"}]
    await _send(client, "order.updated", refunded)
    # then half the money came back: 50.00 x 30/60 = 25.00 eligible, 25 points
    assert await _points() == 25
    # and the same refund seen again changes nothing
    again = order(modified="2026-11-22T10:00:00")
    again["refunds"] = [{"id": 801, "reason": "", "total": "-30.00"}]
    await _send(client, "order.updated", again)
    assert await _points() == 25

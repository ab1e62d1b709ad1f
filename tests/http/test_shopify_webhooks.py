"""Shopify webhooks end to end: signed delivery -> inbox -> points, and every
way a delivery can be refused."""

import asyncio
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from api.app import platform_connectors
from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.customers.models import Customer
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from api.ledger.models import PointsTransaction, TransactionKind
from api.orders.models import Order
from api.platforms import PlatformName
from api.privacy.models import PrivacyRequestRecord
from api.program.models import EarningRule
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories import shopify
from tests.factories.program import make_spend_rule

URL = "/webhooks/shopify"


@pytest.fixture
async def shop(store: IssuedKeys, settings: Settings) -> Connection:
    await make_spend_rule(store.store)
    return await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=shopify.SHOP,
        vault=Vault(settings.vault_key()),
        access_token="shpat_test",
        webhook_secret=shopify.SECRET,
    )


async def _send(
    client: httpx.AsyncClient, topic: str, payload: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    raw = shopify.body(payload)
    return await client.post(
        URL, content=raw, headers=shopify.headers(topic, raw, **kwargs)
    )


async def _earned() -> int:
    rows = await PointsTransaction.all().values_list("points", flat=True)
    return sum(int(str(points)) for points in rows)


async def test_paid_order_earns_points(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    # when a signed orders/paid arrives (2 x 50.00 EUR merchandise, 5.00 shipping)
    response = await _send(client, "orders/paid", shopify.order())
    # then it is accepted and the merchandise earns 1 point per euro
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    order = await Order.get()
    assert (order.eligible_minor, order.total_minor, order.points_earned) == (
        10_000,
        10_500,
        100,
    )
    customer = await Customer.get()
    assert (customer.email, customer.points_balance) == ("buyer@example.com", 100)
    delivery = await WebhookDelivery.get()
    assert delivery.processed_at is not None


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode(),
        lambda text: text.encode("utf-8-sig"),
        lambda text: text.encode("utf-16"),
    ],
    ids=["utf-8", "utf-8 with a byte order mark", "utf-16"],
)
async def test_the_stored_payload_is_the_one_signed_in_any_json_encoding(
    client: httpx.AsyncClient, shop: Connection, encode: Any
) -> None:
    payload = shopify.order()
    payload["note"] = "Grüße, ☃"
    raw = encode(json.dumps(payload, ensure_ascii=False))
    response = await client.post(
        URL, content=raw, headers=shopify.headers("orders/paid", raw)
    )
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    delivery = await WebhookDelivery.get()
    assert delivery.payload == payload
    assert delivery.processed_at is not None
    assert await _earned() == 100


async def test_same_event_twice_is_one_delivery(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    first = await _send(client, "orders/paid", shopify.order(), event_id="evt-9")
    again = await _send(client, "orders/paid", shopify.order(), event_id="evt-9")
    assert first.json() == {"status": "accepted"}
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert await WebhookDelivery.all().count() == 1
    assert await _earned() == 100


async def test_updated_noise_never_double_credits(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(), event_id="evt-1")
    for n in range(2, 6):
        newer = shopify.order(updated_at=f"2026-11-20T1{n}:00:00+01:00")
        response = await _send(client, "orders/updated", newer, event_id=f"evt-{n}")
        assert response.status_code == 200
    assert await _earned() == 100
    assert await PointsTransaction.filter(kind=TransactionKind.EARN).count() == 1


async def test_partial_then_full_refund_nets_zero(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(), event_id="evt-1")
    await _send(client, "refunds/create", shopify.refund(801), event_id="evt-2")
    assert await _earned() == 50
    await _send(client, "refunds/create", shopify.refund(802), event_id="evt-3")
    assert await _earned() == 0
    order = await Order.get()
    assert (order.status.value, order.points_reversed) == ("refunded", 100)


async def test_cancelled_order_takes_the_points_back(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(), event_id="evt-1")
    cancelled = shopify.order(
        cancelled_at="2026-11-20T12:00:00+01:00", updated_at="2026-11-20T12:00:00+01:00"
    )
    await _send(client, "orders/cancelled", cancelled, event_id="evt-2")
    assert await _earned() == 0


async def test_test_orders_earn_nothing_unless_opted_in(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(5001, test=True), event_id="evt-1")
    assert await _earned() == 0
    shop.include_test_orders = True
    await shop.save()
    await _send(client, "orders/paid", shopify.order(5002, test=True), event_id="evt-2")
    assert await _earned() == 100


async def test_customers_update_syncs_the_profile(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    payload = {
        "id": 7001,
        "admin_graphql_api_id": "gid://shopify/Customer/7001",
        "email": "Bea@Example.com",
        "first_name": "Bea",
        "last_name": "Buyer",
        "email_marketing_consent": {"state": "subscribed"},
        "updated_at": "2026-11-20T10:00:00+01:00",
    }
    await _send(client, "customers/update", payload)
    customer = await Customer.get()
    assert (customer.email, customer.first_name, customer.marketing_consent) == (
        "bea@example.com",
        "Bea",
        True,
    )


async def test_customers_redact_erases_personal_data(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(), event_id="evt-1")
    payload = {
        "shop_id": 1,
        "shop_domain": shopify.SHOP,
        "customer": {"id": 7001, "email": "buyer@example.com", "phone": None},
        "orders_to_redact": [5001],
    }
    response = await _send(client, "customers/redact", payload, event_id="evt-2")
    assert response.status_code == 200
    customer = await Customer.get()
    assert (customer.email, customer.first_name, customer.erased_at is not None) == (
        None,
        None,
        True,
    )
    assert await _earned() == 100  # the anonymised ledger still balances
    record = await PrivacyRequestRecord.get()
    assert (record.kind, record.outcome) == ("customer_redact", "erased")


async def test_data_request_exports_the_customer(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(), event_id="evt-1")
    payload = {
        "shop_id": 1,
        "shop_domain": shopify.SHOP,
        "customer": {"id": 7001, "email": "buyer@example.com", "phone": None},
        "orders_requested": [5001],
        "data_request": {"id": 9999},
    }
    await _send(client, "customers/data_request", payload, event_id="evt-2")
    record = await PrivacyRequestRecord.get()
    export: Any = record.export
    assert export["customer"]["email"] == "buyer@example.com"
    assert [o["order_ref"] for o in export["orders"]] == ["5001"]


async def test_app_uninstalled_deactivates_the_connection(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    payload = {"id": 1, "domain": shopify.SHOP, "myshopify_domain": shopify.SHOP}
    await _send(client, "app/uninstalled", payload)
    row = await Connection.get(id=shop.id)
    assert row.active is False
    assert row.access_token is None


def _forgeries() -> list[tuple[str, dict[str, str], bytes]]:
    raw = shopify.body(shopify.order())
    good = shopify.headers("orders/paid", raw)
    return [
        (
            "wrong secret",
            shopify.headers("orders/paid", raw, secret="not-the-secret"),
            raw,
        ),
        ("tampered body", good, raw.replace(b"50.00", b"99.00")),
        ("re-serialised body", good, raw.replace(b", ", b",")),
        (
            "no signature",
            {k: v for k, v in good.items() if k != "x-shopify-hmac-sha256"},
            raw,
        ),
        ("empty signature", {**good, "x-shopify-hmac-sha256": ""}, raw),
        ("not base64", {**good, "x-shopify-hmac-sha256": "%%%"}, raw),
        (
            "hex instead of base64",
            {**good, "x-shopify-hmac-sha256": shopify.sign(raw).encode().hex()},
            raw,
        ),
        (
            "unknown shop",
            shopify.headers("orders/paid", raw, shop="other.myshopify.com"),
            raw,
        ),
        (
            "no shop",
            {k: v for k, v in good.items() if k != "x-shopify-shop-domain"},
            raw,
        ),
        ("no topic", {k: v for k, v in good.items() if k != "x-shopify-topic"}, raw),
    ]


@pytest.mark.parametrize(("_case", "sent_headers", "raw"), _forgeries())
async def test_forged_deliveries_get_401_and_write_nothing(
    _case: str,
    sent_headers: dict[str, str],
    raw: bytes,
    client: httpx.AsyncClient,
    shop: Connection,
) -> None:
    response = await client.post(URL, content=raw, headers=sent_headers)
    assert response.status_code == 401
    assert await WebhookDelivery.all().count() == 0
    assert await Order.all().count() == 0
    assert await PointsTransaction.all().count() == 0


async def test_oversized_delivery_is_413(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    payload = shopify.order()
    payload["note"] = "x" * 2_100_000
    response = await _send(client, "orders/paid", payload)
    assert response.status_code == 413
    assert await WebhookDelivery.all().count() == 0


async def test_another_shops_secret_does_not_verify(
    client: httpx.AsyncClient,
    shop: Connection,
    other_store: IssuedKeys,
    settings: Settings,
) -> None:
    await connections.connect(
        other_store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref="other.myshopify.com",
        vault=Vault(settings.vault_key()),
        webhook_secret="the-other-shops-secret",
    )
    raw = shopify.body(shopify.order())
    forged = shopify.headers("orders/paid", raw, secret="the-other-shops-secret")
    response = await client.post(URL, content=raw, headers=forged)
    assert response.status_code == 401
    assert await WebhookDelivery.all().count() == 0


@pytest.mark.postgres
async def test_25_concurrent_identical_deliveries_credit_once(
    client: httpx.AsyncClient, shop: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    raw = shopify.body(shopify.order())
    sent = shopify.headers("orders/paid", raw, event_id="evt-storm")
    barrier = asyncio.Barrier(25)

    async def deliver() -> tuple[int, str]:
        await barrier.wait()
        response = await client.post(URL, content=raw, headers=sent)
        return response.status_code, response.json()["status"]

    with caplog.at_level(logging.WARNING, logger="ladder.inbox"):
        answers = await asyncio.gather(*(deliver() for _ in range(25)))
    assert sorted(answers) == [(200, "accepted")] + [(200, "duplicate")] * 24
    assert await WebhookDelivery.all().count() == 1
    assert await PointsTransaction.filter(kind=TransactionKind.EARN).count() == 1
    assert await _earned() == 100
    assert not caplog.records  # each duplicate waited on the key: none failed


@pytest.mark.postgres
async def test_25_concurrent_deliveries_with_distinct_ids_credit_once(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    raw = shopify.body(shopify.order())
    barrier = asyncio.Barrier(25)

    async def deliver(n: int) -> int:
        await barrier.wait()
        sent = shopify.headers("orders/paid", raw, event_id=f"evt-{n}")
        return (await client.post(URL, content=raw, headers=sent)).status_code

    statuses = await asyncio.gather(*(deliver(n) for n in range(25)))
    assert statuses == [200] * 25
    assert await PointsTransaction.filter(kind=TransactionKind.EARN).count() == 1
    assert await _earned() == 100


async def test_a_refund_before_its_order_waits_for_it(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    # given a refund delivered before the order it belongs to
    await _send(client, "refunds/create", shopify.refund(801), event_id="evt-1")
    early = await WebhookDelivery.get()
    assert early.processed_at is None
    assert early.last_error is not None and "Unknown order" in early.last_error
    assert early.attempts == 1  # counted, to give up after MAX_ATTEMPTS
    # when the order arrives, and the inbox is re-driven
    await _send(client, "orders/paid", shopify.order(), event_id="evt-2")
    await WebhookDelivery.filter(id=early.id).update(
        received_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    redriven = await inbox.redrive(platform_connectors())
    # then the refund applies exactly once
    assert redriven == 1
    assert await _earned() == 50
    assert (await WebhookDelivery.get(id=early.id)).processed_at is not None


async def test_guest_order_without_any_identity_is_skipped_not_retried(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    await _send(client, "orders/paid", shopify.order(customer_id=None, email=None))
    delivery = await WebhookDelivery.get()
    assert (delivery.processed_at is not None, delivery.attempts) == (True, 1)
    assert (
        delivery.last_error is not None and "customer_required" in delivery.last_error
    )
    assert await Order.all().count() == 0


async def test_a_rule_changed_between_deliveries_pays_the_next_order(
    client: httpx.AsyncClient, shop: Connection
) -> None:
    # the connection is read with the store's programme version: a change
    # between two deliveries is seen by the second (on PostgreSQL through the
    # version; SQLite keeps none and reads the programme every time)
    await _send(client, "orders/paid", shopify.order(), event_id="evt-1")
    assert await _earned() == 100
    await EarningRule.filter(store_id=shop.store_id).update(points_per_unit=Decimal(3))
    second = shopify.order(order_id=5002)
    await _send(client, "orders/paid", second, event_id="evt-2")
    assert await _earned() == 100 + 300

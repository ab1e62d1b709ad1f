"""Shopify webhook payloads and signatures for tests, written from the documented
REST shapes (platforms.md §5) with amounts that add up."""

import base64
import hashlib
import hmac
import json
from typing import Any

SHOP = "ladder-test.myshopify.com"
SECRET = "shpss_test_secret_0123456789abcdef"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()
    ).decode()


def headers(
    topic: str,
    body: bytes,
    *,
    event_id: str = "evt-1",
    shop: str = SHOP,
    secret: str = SECRET,
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": shop,
        "x-shopify-hmac-sha256": sign(body, secret),
        "x-shopify-event-id": event_id,
        "x-shopify-webhook-id": f"wh-{event_id}",
        "x-shopify-api-version": "2026-04",
    }


def money(amount: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def order(
    order_id: int = 5001,
    *,
    lines: tuple[tuple[str, int], ...] = (("50.00", 2),),
    shipping: str = "5.00",
    financial_status: str = "paid",
    updated_at: str = "2026-11-20T10:00:00+01:00",
    customer_id: int | None = 7001,
    email: str | None = "buyer@example.com",
    codes: tuple[str, ...] = (),
    test: bool = False,
    cancelled_at: str | None = None,
    refunds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A paid order: lines of (unit price, quantity), no tax, EUR."""
    subtotal = sum(float(p) * q for p, q in lines)
    total = f"{subtotal + float(shipping):.2f}"
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id}",
        "email": email,
        "currency": "EUR",
        "presentment_currency": "EUR",
        "created_at": "2026-11-20T09:59:00+01:00",
        "processed_at": "2026-11-20T09:59:30+01:00",
        "updated_at": updated_at,
        "cancelled_at": cancelled_at,
        "financial_status": financial_status,
        "test": test,
        "taxes_included": False,
        "total_price": total,
        "total_price_set": money(total),
        "subtotal_price": f"{subtotal:.2f}",
        "total_tax": "0.00",
        "total_shipping_price_set": money(shipping),
        "discount_codes": [
            {"code": c, "amount": "0.00", "type": "fixed_amount"} for c in codes
        ],
        "line_items": [
            {
                "id": order_id * 10 + i,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{order_id * 10 + i}",
                "price": price,
                "price_set": money(price),
                "quantity": quantity,
                "current_quantity": quantity,
                "gift_card": False,
                "total_discount": "0.00",
                "discount_allocations": [],
                "tax_lines": [],
            }
            for i, (price, quantity) in enumerate(lines)
        ],
        "shipping_lines": [{"price": shipping, "price_set": money(shipping)}],
        "customer": None
        if customer_id is None
        else {
            "id": customer_id,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "email": email,
            "first_name": "Bea",
            "last_name": "Buyer",
            "email_marketing_consent": {"state": "subscribed"},
        },
        "refunds": refunds or [],
    }


def refund(
    refund_id: int,
    order_id: int = 5001,
    *,
    line_subtotals: tuple[str, ...] = ("50.00",),
) -> dict[str, Any]:
    """A refund of some lines (each subtotal after discounts, before tax)."""
    return {
        "id": refund_id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order_id,
        "created_at": "2026-11-21T10:00:00+01:00",
        "processed_at": "2026-11-21T10:00:00+01:00",
        "refund_line_items": [
            {
                "id": refund_id * 10 + i,
                "line_item_id": order_id * 10,
                "quantity": 1,
                "subtotal": amount,
                "subtotal_set": money(amount),
                "total_tax": "0.00",
                "line_item": {"id": order_id * 10, "gift_card": False},
            }
            for i, amount in enumerate(line_subtotals)
        ],
        "transactions": [
            {
                "kind": "refund",
                "status": "success",
                "amount": f"{sum(float(a) for a in line_subtotals):.2f}",
            }
        ],
        "order_adjustments": [],
    }


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()

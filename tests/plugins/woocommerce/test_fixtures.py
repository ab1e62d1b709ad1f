"""Every real WooCommerce payload in ../shared/fixtures/platforms/woocommerce/ maps exactly.

The files are read where they are, never copied into the repository. They are
the REST API docs' examples (SOURCES.md): an `order.*` webhook body is the same
JSON as `GET /orders/<id>`, so each order file is mapped as a webhook body too.
The expected amounts below are worked out by hand from each file. All `*_gmt`
times are UTC; the site-local twins (three hours behind) are never read.

In CI a missing folder fails the run; elsewhere the tests skip and say why.
"""

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.platforms import PlatformCustomer
from plugins.woocommerce import mapping
from plugins.woocommerce.payloads import WooCommercePayloadError

FIXTURES = (
    Path(__file__).resolve().parents[3].parent / "shared/fixtures/platforms/woocommerce"
)


def fixture(name: str) -> bytes:
    if not FIXTURES.is_dir():
        reason = f"../shared/fixtures not present: {FIXTURES} is missing"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return (FIXTURES / name).read_bytes()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def who(external_id: str | None = None, email: str | None = None) -> CustomerRef:
    return CustomerRef(platform="woocommerce", external_id=external_id, email=email)


def event(kind: OrderEventKind, **fields: Any) -> OrderEvent:
    return OrderEvent(kind=kind, platform="woocommerce", **fields)


# Topics whose body is the order; order.deleted sends only the id.
ORDER_TOPICS = ["order.created", "order.updated", "order.restored"]

# rest-order-727-retrieve.json: processing, a guest (customer_id 0) known by
# billing email. Lines 6.00 (2 x 3.00) + 12.00 = 18.00 after (no) discounts;
# tax 0.45 + 0.90 = 1.35 and flat-rate shipping 10.00 stay out: total 29.35.
ORDER_727 = event(
    OrderEventKind.PAID,
    order_ref="727",
    customer=who(email="john.doe@example.com"),
    currency="USD",
    eligible_minor=1800,
    occurred_at=utc(2017, 3, 22, 19, 28, 8),  # date_paid_gmt
    updated_at=utc(2017, 3, 22, 19, 28, 8),  # date_modified_gmt
    total_minor=2935,
    name="#727",
)
# rest-order-727-update-completed.json: the same order, completed at 19:30:35.
# Paid at the same time as before, so a webhook and a backfill agree on it; the
# newer snapshot time lets the domain order the two.
ORDER_727_COMPLETED = replace(ORDER_727, updated_at=utc(2017, 3, 22, 19, 30, 35))
# Order 723 in rest-orders-list.json: completed by hand, date_paid_gmt null,
# so paid at date_completed_gmt. Customer 26. Lines 9.00 + 20.00 = 29.00;
# shipping 10.00: total 39.00. refunds[] summarises 726 (-10.00) and 724
# (-9.00) with no lines: unallocated money the domain pro-rates (10.00 x
# 29.00 / 39.00 = 7.44, 9.00 x 29.00 / 39.00 = 6.69). The docs spell the
# reason key `refund`; it is not read.
ORDER_723 = event(
    OrderEventKind.PAID,
    order_ref="723",
    customer=who("26", "joao.silva@example.com"),
    currency="USD",
    eligible_minor=2900,
    occurred_at=utc(2017, 3, 21, 19, 54, 51),
    updated_at=utc(2017, 3, 21, 19, 54, 51),
    total_minor=3900,
    name="#723",
)
ORDER_723_REFUND_726 = replace(
    ORDER_723,
    kind=OrderEventKind.REFUNDED,
    refund_ref="726",
    unallocated_refund_minor=1000,
)
ORDER_723_REFUND_724 = replace(
    ORDER_723_REFUND_726, refund_ref="724", unallocated_refund_minor=900
)

# REST refunds of order 723 carry neither the customer nor the order's totals.
REFUND_BASE = {"order_ref": "723", "customer": who(), "currency": "USD"}
# Refund 726: amount-only (line_items []): 10.00 unallocated.
REFUND_726 = event(
    OrderEventKind.REFUNDED,
    eligible_minor=0,
    occurred_at=utc(2017, 3, 21, 20, 7, 11),
    updated_at=utc(2017, 3, 21, 20, 7, 11),
    refund_ref="726",
    unallocated_refund_minor=1000,
    **REFUND_BASE,
)
# Refund 724: one line, Woo Album #2 (order line 311), quantity -1, total
# -9.00, tax 0.00: 9.00 of merchandise back exactly. The same refund in the
# order's refunds[] is only "-9.00" and converts pro rata; the domain keeps
# whichever arrives first (one refund_ref).
REFUND_724 = event(
    OrderEventKind.REFUNDED,
    eligible_minor=0,
    occurred_at=utc(2017, 3, 21, 19, 55, 37),
    updated_at=utc(2017, 3, 21, 19, 55, 37),
    refund_ref="724",
    refunded_minor=900,
    **REFUND_BASE,
)

Check = Callable[[bytes], None]


def orders(*expected: list[OrderEvent]) -> Check:
    """An order (or a list of orders, one expectation each) under every topic."""

    def check(body: bytes) -> None:
        data = json.loads(body)
        items = data if isinstance(data, list) else [data]
        assert len(items) == len(expected)
        for item, events in zip(items, expected, strict=True):
            for topic in ORDER_TOPICS:
                assert (topic, mapping.to_events(topic, item)) == (topic, events)
        if not isinstance(data, list):
            for topic in ORDER_TOPICS:
                assert mapping.to_events(topic, body) == expected[0]

    return check


def refunds(order_ref: str, *expected: OrderEvent) -> Check:
    """A REST refund (or a list of them) of order `order_ref`."""

    def check(body: bytes) -> None:
        data = json.loads(body)
        items = data if isinstance(data, list) else [data]
        mapped = [
            mapping.refund_event(item, order_ref=order_ref, currency="USD")
            for item in items
        ]
        assert mapped == list(expected)

    return check


def customer(expected: PlatformCustomer) -> Check:
    def check(body: bytes) -> None:
        assert mapping.customer_profile(body) == expected
        for topic in sorted(mapping.CUSTOMER_TOPICS):
            assert mapping.to_events(topic, body) == []

    return check


def not_mapped(pinned: dict[str, Any], topic: str | None = None) -> Check:
    """Not an order, refund or customer: no facts; pin what other code reads.

    `topic` is the webhook topic whose body this is, if any.
    """

    def check(body: bytes) -> None:
        if topic is not None:
            assert mapping.to_events(topic, body) == []
        with pytest.raises(WooCommercePayloadError):
            mapping.order_events("order.updated", body)
        data = json.loads(body)
        assert {key: data[key] for key in pinned} == pinned

    return check


EXPECTED: dict[str, Check] = {
    "rest-order-727-retrieve.json": orders([ORDER_727]),
    "rest-order-727-update-completed.json": orders([ORDER_727_COMPLETED]),
    "rest-orders-list.json": orders(
        [ORDER_727], [ORDER_723, ORDER_723_REFUND_726, ORDER_723_REFUND_724]
    ),
    "rest-order-723-refunds-list.json": refunds("723", REFUND_726, REFUND_724),
    # The response to POST /orders/723/refunds: refund 726 again.
    "rest-refund-create-response.json": refunds("723", REFUND_726),
    "rest-customer-retrieve.json": customer(
        PlatformCustomer(
            platform="woocommerce",
            external_id="25",
            email="john.doe@example.com",
            first_name="John",
            last_name="Doe",
        )
    ),
    # Not mapped: responses the install flow and the coupon pusher read.
    "rest-coupon-create-response.json": not_mapped(
        {"id": 719, "code": "10off", "discount_type": "percent"}, "coupon.created"
    ),
    "rest-webhook-create-response.json": not_mapped(
        {"id": 142, "status": "active", "topic": "order.updated"}
    ),
    "wc-auth-callback-keys.json": not_mapped(
        {"key_id": 1, "user_id": 123, "key_permissions": "read_write"}
    ),
}


def test_every_fixture_file_has_an_expectation() -> None:
    fixture("rest-order-727-retrieve.json")  # fails in CI, skips elsewhere
    present = {path.name for path in FIXTURES.iterdir() if path.is_file()}
    assert present == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_maps_exactly(name: str) -> None:
    EXPECTED[name](fixture(name))


def test_trashing_a_fixture_order_cancels_it() -> None:
    # order.deleted sends {"id": 727}; the full body (from a plugin) works too.
    at = utc(2017, 3, 23, 9, 0)
    assert mapping.to_events(
        "order.deleted", b'{"id": 727}', currency="USD", deleted_at=at
    ) == [
        event(
            OrderEventKind.CANCELLED,
            order_ref="727",
            customer=who(),
            currency="USD",
            eligible_minor=0,
            occurred_at=at,
            updated_at=at,
        )
    ]
    body = fixture("rest-order-727-retrieve.json")
    assert mapping.to_events("order.deleted", body) == [
        replace(ORDER_727, kind=OrderEventKind.CANCELLED)
    ]


def test_a_missing_folder_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(f"{__name__}.FIXTURES", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"\.\./shared/fixtures not present"
    ):
        fixture("rest-order-727-retrieve.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match=r"\.\./shared/fixtures not present"
    ):
        fixture("rest-order-727-retrieve.json")

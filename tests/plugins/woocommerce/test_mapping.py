"""WooCommerce mapping on our own golden payloads (tests/plugins/woocommerce/payloads/).

The payloads follow the documented REST v3 shapes (platforms.md §8) with
arithmetic that adds up; each expected amount is worked out by hand in the
comments. All `*_gmt` times are UTC.
"""

import json
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.platforms import PlatformCustomer, UnsupportedPayloadError
from plugins.woocommerce import mapping
from plugins.woocommerce.payloads import (
    OrderDeleted,
    WooCommercePayloadError,
    parse_order,
    parse_refund,
)

PAYLOADS = Path(__file__).parent / "payloads"

PAID = OrderEventKind.PAID
PLACED = OrderEventKind.PLACED
UPDATED = OrderEventKind.UPDATED
REFUNDED = OrderEventKind.REFUNDED
CANCELLED = OrderEventKind.CANCELLED

ORDER_TOPICS = ["order.created", "order.updated", "order.restored"]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def raw(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def who(external_id: str | None = None, email: str | None = None) -> CustomerRef:
    return CustomerRef(platform="woocommerce", external_id=external_id, email=email)


def event(kind: OrderEventKind, **fields: Any) -> OrderEvent:
    return OrderEvent(kind=kind, platform="woocommerce", **fields)


ADA = who("41", "ada@example.org")

# order-processing-coupons.json: 2 mugs 50.00 + a teapot 40.00 = 90.00; summer10
# (10 %) takes 5.00 + 4.00, then ladder-7k2p (5.00 fixed cart) 2.78 + 2.22:
# line totals 42.22 + 33.78 = 76.00. Not in the basis: 10 % tax 7.60 on the
# lines + 0.20 on the fee, shipping 7.50 + 0.75 tax, gift wrap fee 2.00.
# total = 76.00 + 7.80 + 7.50 + 0.75 + 2.00 = 94.05.
G1 = event(
    PAID,
    order_ref="1101",
    customer=ADA,
    currency="USD",
    eligible_minor=7600,
    occurred_at=utc(2026, 3, 2, 15, 12, 3),  # date_paid_gmt
    updated_at=utc(2026, 3, 2, 15, 12, 4),  # date_modified_gmt
    discount_codes=("summer10", "ladder-7k2p"),
    total_minor=9405,
    name="#1101",
)
# A guest (customer_id 0), pending: 3 x 12.50 = 37.50; + 5.00 shipping = 42.50.
G2 = event(
    PLACED,
    order_ref="1102",
    customer=who(email="kim@example.net"),
    currency="USD",
    eligible_minor=3750,
    occurred_at=utc(2026, 3, 3, 9, 0),  # date_created_gmt
    updated_at=utc(2026, 3, 3, 9, 0),
    total_minor=4250,
    name="#1102",
)
# Jacket 120.00 + scarf 30.00 = 150.00; 10 % tax 15.00 + shipping 10.00 with
# 1.00 tax: total 176.00. The scarf came back with its tax: refunds[] says
# -33.00 and nothing more, so it is unallocated money (the domain's pro rata:
# 33.00 x 150.00 / 176.00 = 28.125 -> 28.13).
G3_ORDER = event(
    PAID,
    order_ref="1103",
    customer=who("42", "bo@example.org"),
    currency="USD",
    eligible_minor=15000,
    occurred_at=utc(2026, 3, 4, 10, 1),
    updated_at=utc(2026, 3, 6, 11, 0, 2),
    total_minor=17600,
    name="#1103",
)
G3_REFUND = replace(
    G3_ORDER,
    kind=REFUNDED,
    occurred_at=utc(2026, 3, 6, 11, 0, 2),  # the summary has no date of its own
    refund_ref="1301",
    unallocated_refund_minor=3300,
)
# Refunded in two steps: 2 candles 39.98 + 4.99 shipping = 44.97, refunds
# 24.98 + 19.99 = 44.97 (newest first). The status then states the full refund.
G4_ORDER = event(
    PAID,
    order_ref="1104",
    customer=who("43", "cy@example.org"),
    currency="USD",
    eligible_minor=3998,
    occurred_at=utc(2026, 3, 5, 12, 0, 30),
    updated_at=utc(2026, 3, 8, 16, 30),
    total_minor=4497,
    name="#1104",
)
G4_REFUND_1402 = replace(
    G4_ORDER,
    kind=REFUNDED,
    occurred_at=utc(2026, 3, 8, 16, 30),
    refund_ref="1402",
    unallocated_refund_minor=2498,
)
G4_REFUND_1401 = replace(
    G4_REFUND_1402, refund_ref="1401", unallocated_refund_minor=1999
)
G4_STATUS = replace(
    G4_REFUND_1402,
    refund_ref="status-refunded",
    unallocated_refund_minor=0,
    refunded_minor=3998,
)
# Prices include 20 % VAT, yet line totals exclude it: lamp 45.00 + bulbs 9.00
# = 54.00 after lamp10 (10 %). total = 54.00 + 10.80 VAT + 4.90 shipping +
# 0.98 VAT = 70.68. Completed by hand: no date_paid_gmt, date_completed_gmt is
# the payment date. Site-local times are an hour ahead and never read.
G5 = event(
    PAID,
    order_ref="1105",
    customer=who("44", "dora@example.de"),
    currency="EUR",
    eligible_minor=5400,
    occurred_at=utc(2026, 3, 4, 10, 30),
    updated_at=utc(2026, 3, 4, 10, 30),
    discount_codes=("lamp10",),
    total_minor=7068,
    name="#1105",
)
# JPY has no minor unit: 2 x 3300 - 600 (welcome600) = 6000 yen; + 800 shipping.
G6 = event(
    PAID,
    order_ref="1106",
    customer=who("45", "eiji@example.jp"),
    currency="JPY",
    eligible_minor=6000,
    occurred_at=utc(2026, 3, 6, 2, 0, 2),
    updated_at=utc(2026, 3, 6, 2, 0, 3),
    discount_codes=("welcome600",),
    total_minor=6800,
    name="#1106",
)
# Cancelled after a 10.00 goodwill refund: 80.00 lamp + 6.00 shipping = 86.00.
G7_REFUND = event(
    REFUNDED,
    order_ref="1107",
    customer=who("46", "gus@example.org"),
    currency="USD",
    eligible_minor=8000,
    occurred_at=utc(2026, 3, 9, 13, 45),
    updated_at=utc(2026, 3, 9, 13, 45),
    total_minor=8600,
    refund_ref="1701",
    unallocated_refund_minor=1000,
    name="#1107",
)
G7_CANCEL = replace(
    G7_REFUND, kind=CANCELLED, refund_ref=None, unallocated_refund_minor=0
)

GOLDEN_EVENTS = [
    *(("order-processing-coupons.json", topic, [G1]) for topic in ORDER_TOPICS),
    ("order-pending-guest.json", "order.created", [G2]),
    ("order-pending-guest.json", "order.updated", [replace(G2, kind=UPDATED)]),
    ("order-pending-guest.json", "order.restored", [replace(G2, kind=UPDATED)]),
    ("order-completed-partial-refund.json", "order.updated", [G3_ORDER, G3_REFUND]),
    (
        "order-refunded.json",
        "order.updated",
        [G4_ORDER, G4_REFUND_1402, G4_REFUND_1401, G4_STATUS],
    ),
    ("order-prices-include-tax-eur.json", "order.updated", [G5]),
    ("order-jpy.json", "order.created", [G6]),
    ("order-cancelled-refunded.json", "order.updated", [G7_REFUND, G7_CANCEL]),
    ("order-cancelled-refunded.json", "order.restored", [G7_REFUND, G7_CANCEL]),
]


@pytest.mark.parametrize(
    ("name", "topic", "expected"),
    GOLDEN_EVENTS,
    ids=[f"{name}:{topic}" for name, topic, _ in GOLDEN_EVENTS],
)
def test_golden_payload_events(
    name: str, topic: str, expected: list[OrderEvent]
) -> None:
    assert mapping.to_events(topic, raw(name)) == expected
    assert mapping.to_events(topic, load(name)) == expected  # a decoded body too
    assert mapping.order_events(topic, parse_order(raw(name))) == expected


# REST refunds (`/orders/<id>/refunds`): no customer, no order totals.
REFUND_BASE = {"customer": who(), "currency": "USD", "eligible_minor": 0}
# The scarf: its line total -30.00 (before tax); the 3.00 tax stays out.
R1301 = event(
    REFUNDED,
    order_ref="1103",
    occurred_at=utc(2026, 3, 6, 11, 0),
    updated_at=utc(2026, 3, 6, 11, 0),
    refund_ref="1301",
    refunded_minor=3000,
    **REFUND_BASE,
)
# amount 143.00 = jacket 120.00 + 12.00 tax + 10.00 shipping + 1.00 tax: only
# the jacket's line total counts.
R1302 = event(
    REFUNDED,
    order_ref="1103",
    occurred_at=utc(2026, 3, 7, 9, 15),
    updated_at=utc(2026, 3, 7, 9, 15),
    refund_ref="1302",
    refunded_minor=12000,
    **REFUND_BASE,
)
# No lines: 20.00 unallocated (the domain's pro rata on order 1101:
# 20.00 x 76.00 / 94.05 = 16.16). Listed by GET /refunds, so parent_id names
# the order.
R1111 = event(
    REFUNDED,
    order_ref="1101",
    occurred_at=utc(2026, 3, 10, 14, 20),
    updated_at=utc(2026, 3, 10, 14, 20),
    refund_ref="1111",
    unallocated_refund_minor=2000,
    **REFUND_BASE,
)
# A restock line of 0.00 with 12.00 paid back: the money has no line, so it is
# unallocated like an amount-only refund.
R1112 = event(
    REFUNDED,
    order_ref="1101",
    occurred_at=utc(2026, 3, 11, 10, 5),
    updated_at=utc(2026, 3, 11, 10, 5),
    refund_ref="1112",
    unallocated_refund_minor=1200,
    **REFUND_BASE,
)

GOLDEN_REFUNDS: dict[str, tuple[str | None, OrderEvent]] = {
    "refund-1301-lines.json": ("1103", R1301),
    "refund-1302-lines-and-shipping.json": ("1103", R1302),
    "refund-1111-amount-only.json": (None, R1111),
    "refund-1112-restock-only.json": ("1101", R1112),
}


@pytest.mark.parametrize(("name", "case"), GOLDEN_REFUNDS.items())
def test_golden_refunds(name: str, case: tuple[str | None, OrderEvent]) -> None:
    order_ref, expected = case
    assert mapping.refund_event(raw(name), order_ref=order_ref, currency="USD") == (
        expected
    )
    assert mapping.refund_event(load(name), order_ref=order_ref, currency="usd") == (
        expected
    )


GOLDEN_PROFILES = {
    "customer-registered.json": PlatformCustomer(
        platform="woocommerce",
        external_id="41",
        email="ada@example.org",
        first_name="Ada",
        last_name="Lovelace",
    ),
    # No account email or names: the billing details fill them in.
    "customer-names-from-billing.json": PlatformCustomer(
        platform="woocommerce",
        external_id="47",
        email="finn@example.org",
        first_name="Finn",
        last_name="Berg",
    ),
}


@pytest.mark.parametrize(("name", "expected"), GOLDEN_PROFILES.items())
def test_golden_customer_profiles(name: str, expected: PlatformCustomer) -> None:
    assert mapping.customer_profile(raw(name)) == expected
    for topic in sorted(mapping.CUSTOMER_TOPICS):
        assert mapping.to_events(topic, raw(name)) == []


DELETED_AT = utc(2026, 3, 10, 8, 0, 1)


def test_golden_order_deleted_is_a_cancellation_by_id() -> None:
    # The trash body is only {"id": 1107}: the store's currency and the time
    # the delivery arrived come from the caller; the domain finds the rest.
    expected = [
        event(
            CANCELLED,
            order_ref="1107",
            customer=who(),
            currency="USD",
            eligible_minor=0,
            occurred_at=DELETED_AT,
            updated_at=DELETED_AT,
        )
    ]
    for body in (raw("order-deleted.json"), load("order-deleted.json")):
        assert (
            mapping.to_events(
                "order.deleted", body, currency="usd", deleted_at=DELETED_AT
            )
            == expected
        )
    assert (
        mapping.order_events(
            "order.deleted",
            OrderDeleted(id="1107"),
            currency="USD",
            deleted_at=DELETED_AT,
        )
        == expected
    )


def test_every_golden_payload_is_asserted() -> None:
    covered = {name for name, _, _ in GOLDEN_EVENTS}
    covered |= set(GOLDEN_REFUNDS) | set(GOLDEN_PROFILES) | {"order-deleted.json"}
    assert covered == {path.name for path in PAYLOADS.glob("*.json")}


def test_events_are_accepted_by_the_domain_rules() -> None:
    # Only the pure checks: orders/rules imports no service.
    from api.orders import rules

    events = [e for _, _, expected in GOLDEN_EVENTS for e in expected]
    events += [expected for _, expected in GOLDEN_REFUNDS.values()]
    for item in events:
        rules.check_event(item, store_currency=item.currency)


def test_a_refund_seen_in_both_places_has_one_ref() -> None:
    # refunds[] of the order and /orders/<id>/refunds name the same refund:
    # the domain counts whichever comes first, once.
    assert G3_REFUND.refund_ref == R1301.refund_ref == "1301"


# --- statuses and topics -------------------------------------------------------


def _with_status(status: str, **changes: Any) -> dict[str, Any]:
    return {**load("order-processing-coupons.json"), "status": status, **changes}


UNPAID = {"date_paid_gmt": None}
G1_CREATED_AT = utc(2026, 3, 2, 15, 10)
G1_MODIFIED_AT = utc(2026, 3, 2, 15, 12, 4)


@pytest.mark.parametrize(
    ("status", "changes", "on_create", "otherwise"),
    [
        ("processing", {}, PAID, PAID),
        ("completed", {}, PAID, PAID),
        ("COMPLETED", {}, PAID, PAID),
        ("wc-processing", {}, PAID, PAID),  # the post status, should it leak
        ("pending", UNPAID, PLACED, UPDATED),
        ("on-hold", UNPAID, PLACED, UPDATED),
        # Declined, and payable again (valid statuses for payment: pending, failed).
        ("failed", UNPAID, PLACED, UPDATED),
        # A custom status earns nothing until the order reaches a paid one.
        ("awaiting-shipment", {}, PLACED, UPDATED),
        ("ready-for-pickup", {}, PLACED, UPDATED),
    ],
)
def test_status_decides_the_order_event(
    status: str,
    changes: dict[str, Any],
    on_create: OrderEventKind,
    otherwise: OrderEventKind,
) -> None:
    body = _with_status(status, **changes)
    for topic in ORDER_TOPICS:
        kind = on_create if topic == "order.created" else otherwise
        (item,) = mapping.order_events(topic, body)
        occurred = G1.occurred_at if kind is PAID else G1_CREATED_AT
        assert item == replace(G1, kind=kind, occurred_at=occurred), topic


@pytest.mark.parametrize(
    ("status", "changes"),
    [
        ("cancelled", {}),
        ("cancelled", UNPAID),
        ("trash", {}),
        # Paid, then failed: the captured payment was lost.
        ("failed", {}),
    ],
)
def test_void_statuses_cancel_whatever_the_topic(
    status: str, changes: dict[str, Any]
) -> None:
    body = _with_status(status, **changes)
    expected = [replace(G1, kind=CANCELLED, occurred_at=G1_MODIFIED_AT)]
    for topic in [*ORDER_TOPICS, "order.deleted"]:
        assert mapping.order_events(topic, body) == expected, topic


def test_a_full_body_on_order_deleted_is_still_the_trash() -> None:
    expected = [replace(G1, kind=CANCELLED, occurred_at=G1_MODIFIED_AT)]
    assert mapping.to_events("order.deleted", raw("order-processing-coupons.json")) == (
        expected
    )


@pytest.mark.parametrize("status", ["checkout-draft", "draft", "auto-draft", "new"])
def test_drafts_are_carts_not_orders(status: str) -> None:
    body = _with_status(status, **UNPAID)
    body["billing"]["email"] = ""  # a block-checkout draft may not have one yet
    for topic in ORDER_TOPICS:
        assert mapping.order_events(topic, body) == []


def test_a_store_can_add_its_own_paid_statuses() -> None:
    body = _with_status("awaiting-shipment")
    paid = {"processing", "completed", "Awaiting-Shipment"}
    assert mapping.to_events("order.updated", body, paid_statuses=paid) == [G1]
    # Refunded is paid whatever the list says.
    refunded = load("order-refunded.json")
    events = mapping.order_events("order.updated", refunded, paid_statuses=["x"])
    assert [e.kind for e in events] == [PAID, REFUNDED, REFUNDED, REFUNDED]


def test_refunded_status_without_refund_entries_is_still_a_full_refund() -> None:
    # Status set by hand, or a plugin that left no refund record.
    body = {**load("order-refunded.json"), "refunds": []}
    assert mapping.order_events("order.updated", body) == [G4_ORDER, G4_STATUS]


def test_paid_date_falls_back_to_completion_then_modification() -> None:
    body = _with_status("completed", date_paid_gmt=None)
    body["date_completed_gmt"] = "2026-03-02T18:00:00"
    (item,) = mapping.order_events("order.updated", body)
    assert item.occurred_at == utc(2026, 3, 2, 18, 0)
    body["date_completed_gmt"] = None
    (item,) = mapping.order_events("order.updated", body)
    assert item.occurred_at == G1_MODIFIED_AT


def test_placed_date_falls_back_to_modification() -> None:
    body = _with_status("pending", date_paid_gmt=None, date_created_gmt=None)
    (item,) = mapping.order_events("order.created", body)
    assert item.occurred_at == G1_MODIFIED_AT


def test_each_snapshot_is_dated_by_its_modification() -> None:
    # The staleness key: a later snapshot of the same order carries a later
    # updated_at, whatever the topic; the delivery id plays no part.
    first = mapping.order_events("order.updated", _with_status("processing"))[0]
    later = _with_status("completed", date_modified_gmt="2026-03-03T08:00:00")
    second = mapping.order_events("order.updated", later)[0]
    assert (first.updated_at, second.updated_at) == (
        G1_MODIFIED_AT,
        utc(2026, 3, 3, 8, 0),
    )
    assert first.occurred_at == second.occurred_at == G1.occurred_at


def test_unknown_topics() -> None:
    with pytest.raises(WooCommercePayloadError):
        mapping.order_events("order.paid", load("order-processing-coupons.json"))
    with pytest.raises(WooCommercePayloadError):
        mapping.order_events("order.updated", OrderDeleted(id="1"))
    for topic in (
        "customer.created",
        "customer.deleted",
        "coupon.updated",
        "product.updated",
        "action.woocommerce_payment_complete",
    ):
        assert mapping.to_events(topic, {"id": 1}) == []


def test_order_deleted_by_id_needs_currency_and_time() -> None:
    body = load("order-deleted.json")
    with pytest.raises(WooCommercePayloadError, match="currency and deleted_at"):
        mapping.to_events("order.deleted", body)
    with pytest.raises(WooCommercePayloadError, match="currency and deleted_at"):
        mapping.to_events("order.deleted", body, currency="USD")
    with pytest.raises(WooCommercePayloadError, match="currency and deleted_at"):
        mapping.to_events("order.deleted", body, currency=" ", deleted_at=DELETED_AT)
    with pytest.raises(WooCommercePayloadError, match="timezone"):
        mapping.to_events(
            "order.deleted",
            body,
            currency="USD",
            deleted_at=DELETED_AT.replace(tzinfo=None),
        )
    with pytest.raises(WooCommercePayloadError):
        mapping.to_events(
            "order.deleted", {"id": 0}, currency="USD", deleted_at=DELETED_AT
        )


# --- amounts ------------------------------------------------------------------


def test_basis_ignores_shipping_fees_and_tax() -> None:
    body = load("order-processing-coupons.json")
    body["shipping_lines"][0]["total"] = "99.00"
    body["shipping_total"] = "99.00"
    body["fee_lines"].append({"id": 9, "name": "Discount", "total": "-10.00"})
    body["total_tax"] = "50.00"
    for line in body["line_items"]:
        line["total_tax"] = "20.00"
    assert mapping.eligible_minor(body) == 7600


def test_basis_is_after_discounts_not_the_subtotal() -> None:
    body = load("order-processing-coupons.json")
    for line in body["line_items"]:
        line["subtotal"] = "999.00"
    assert mapping.eligible_minor(body) == 7600


def test_prices_include_tax_changes_nothing_line_totals_exclude_it() -> None:
    # WC_Cart_Totals::calculate_item_totals takes the tax out of inclusive
    # prices before the line is stored.
    for name in ("order-prices-include-tax-eur.json", "order-processing-coupons.json"):
        body = load(name)
        basis = mapping.eligible_minor(body)
        body["prices_include_tax"] = not body["prices_include_tax"]
        assert mapping.eligible_minor(body) == basis


def test_basis_rounds_half_up_to_minor_units_and_is_never_negative() -> None:
    body = load("order-pending-guest.json")
    body["line_items"][0]["total"] = "10.004"
    body["line_items"].append({"id": 2, "quantity": 1, "total": "0.001"})
    assert mapping.eligible_minor(body) == 1001  # 10.005 -> 10.01
    body["line_items"] = [{"id": 1, "quantity": 1, "total": "-5.00"}]
    assert mapping.eligible_minor(body) == 0


def test_three_decimal_currency() -> None:
    body = load("order-pending-guest.json")
    body["currency"] = "kwd"
    body["line_items"][0]["total"] = "3.7035"
    body["total"] = "4.7035"
    (item,) = mapping.order_events("order.created", body)
    # 3.7035 -> 3.704 (half up) -> 3704 fils.
    assert (item.currency, item.eligible_minor, item.total_minor) == ("KWD", 3704, 4704)


def test_refund_amounts_are_positive_whatever_the_sign() -> None:
    body = load("order-completed-partial-refund.json")
    body["refunds"][0]["total"] = "33.00"  # a plugin that forgot the sign
    assert mapping.order_events("order.updated", body) == [G3_ORDER, G3_REFUND]
    refund = load("refund-1301-lines.json")
    refund["line_items"][0]["total"] = "30.00"
    assert mapping.refund_event(refund, order_ref="1103", currency="USD") == R1301


def test_refund_lines_exclude_tax_and_add_up() -> None:
    refund = load("refund-1301-lines.json")
    scarf = refund["line_items"][0]
    refund["line_items"].append({**scarf, "id": 1399, "total": "-12.50"})
    event_ = mapping.refund_event(refund, order_ref="1103", currency="USD")
    assert (event_.refunded_minor, event_.unallocated_refund_minor) == (4250, 0)


def test_refund_without_its_order_is_refused() -> None:
    with pytest.raises(WooCommercePayloadError, match="order_ref"):
        mapping.refund_event(load("refund-1301-lines.json"), currency="USD")
    with pytest.raises(WooCommercePayloadError, match="currency"):
        mapping.refund_event(
            load("refund-1301-lines.json"), order_ref="1", currency=" "
        )
    # An explicit order_ref wins over parent_id.
    event_ = mapping.refund_event(
        load("refund-1111-amount-only.json"), order_ref="9", currency="USD"
    )
    assert event_.order_ref == "9"


# --- customers, ids, parsing --------------------------------------------------


def test_guests_are_known_by_billing_email_only() -> None:
    body = load("order-pending-guest.json")
    for guest_id in (0, "0", None, ""):
        body["customer_id"] = guest_id
        assert mapping.customer_ref(body) == who(email="kim@example.net")


def test_guest_without_any_email_names_nobody() -> None:
    # The domain refuses a PAID or PLACED event naming nobody; the plugin does
    # not invent one.
    body = load("order-pending-guest.json")
    body["billing"]["email"] = "  "
    assert mapping.customer_ref(body) == who()
    del body["billing"]
    assert mapping.customer_ref(body) == who()


def test_registered_customer_keeps_the_billing_email() -> None:
    body = load("order-processing-coupons.json")
    body["customer_id"] = "41"
    assert mapping.customer_ref(body) == ADA
    body["billing"]["email"] = ""
    assert mapping.customer_ref(body) == who("41")


def test_customer_profile_needs_an_id() -> None:
    with pytest.raises(WooCommercePayloadError):
        mapping.customer_profile({"email": "x@example.org"})
    with pytest.raises(WooCommercePayloadError):
        mapping.customer_profile({"id": 0, "email": "x@example.org"})


def test_discount_codes_are_trimmed_and_deduplicated() -> None:
    body = load("order-processing-coupons.json")
    body["coupon_lines"] = [
        {"code": " summer10 "},
        {"code": "summer10"},
        {"code": ""},
        {"code": None},
        {"code": "ladder-7k2p"},
    ]
    assert mapping.order_events("order.updated", body)[0].discount_codes == (
        "summer10",
        "ladder-7k2p",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1101, "1101"), ("1101", "1101"), (" 1101 ", "1101"), (1101.0, "1101")],
)
def test_ids_are_text_whatever_their_json_type(value: Any, expected: str) -> None:
    body = {**load("order-processing-coupons.json"), "id": value}
    assert parse_order(body).ref == expected


def test_times_with_an_offset_keep_it() -> None:
    body = _with_status("processing", date_modified_gmt="2026-03-02T15:12:04Z")
    body["date_paid_gmt"] = "2026-03-02T16:12:03+01:00"
    (item,) = mapping.order_events("order.updated", body)
    assert item.updated_at == G1_MODIFIED_AT
    assert item.occurred_at == datetime(
        2026, 3, 2, 16, 12, 3, tzinfo=timezone(timedelta(hours=1))
    )
    assert item.occurred_at == G1.occurred_at


def test_money_is_decimal_from_strings_numbers_and_blanks() -> None:
    body = load("order-pending-guest.json")
    body["line_items"][0]["total"] = 37.5  # a number, not a string
    body["total"] = ""
    order = parse_order(body)
    assert order.line_items[0].total == Decimal("37.5")
    assert order.total == Decimal(0)
    refund = parse_refund(raw("refund-1301-lines.json"))
    assert (refund.amount, refund.line_items[0].total) == (
        Decimal("33.00"),
        Decimal("-30.00"),
    )


VALID = {
    "id": 1,
    "status": "processing",
    "currency": "USD",
    "date_modified_gmt": "2026-03-02T15:12:04",
}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        b"webhook_id=142",  # the ping is not an order
        {k: v for k, v in VALID.items() if k != "id"},
        {k: v for k, v in VALID.items() if k != "status"},
        {k: v for k, v in VALID.items() if k != "currency"},
        {k: v for k, v in VALID.items() if k != "date_modified_gmt"},
        {**VALID, "id": 0},
        {**VALID, "id": -4},
        {**VALID, "id": True},
        {**VALID, "id": "abc"},
        {**VALID, "id": 1.5},
        {**VALID, "currency": " "},
        {**VALID, "date_modified_gmt": None},
        {**VALID, "date_modified_gmt": ""},
        {**VALID, "date_modified_gmt": "yesterday"},
        {**VALID, "total": "x"},
        {**VALID, "total": "NaN"},
        {**VALID, "total": True},
        {**VALID, "refunds": [{"total": "-1.00"}]},  # a refund without its id
        {**VALID, "line_items": [{"total": "1.00", "quantity": "many"}]},
    ],
)
def test_malformed_orders_are_one_error(body: Any) -> None:
    with pytest.raises(WooCommercePayloadError):
        mapping.order_events("order.updated", body)
    assert issubclass(WooCommercePayloadError, UnsupportedPayloadError)


@pytest.mark.parametrize(
    "body",
    [
        {"date_created_gmt": "2026-03-06T11:00:00", "amount": "1.00"},
        {"id": 1301, "amount": "1.00"},
        {"id": 1301, "date_created_gmt": "2026-03-06T11:00:00", "amount": "x"},
    ],
)
def test_malformed_refunds_are_one_error(body: Any) -> None:
    with pytest.raises(WooCommercePayloadError):
        mapping.refund_event(body, order_ref="1103", currency="USD")


def test_a_minimal_order_maps() -> None:
    (item,) = mapping.order_events("order.updated", VALID)
    assert item == event(
        PAID,
        order_ref="1",
        customer=who(),
        currency="USD",
        eligible_minor=0,
        occurred_at=utc(2026, 3, 2, 15, 12, 4),
        updated_at=utc(2026, 3, 2, 15, 12, 4),
    )


def test_mapping_does_not_mutate_its_input() -> None:
    body = load("order-refunded.json")
    before = deepcopy(body)
    mapping.order_events("order.updated", body)
    assert body == before

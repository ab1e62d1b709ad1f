"""Shopify mapping on our own golden payloads (tests/plugins/shopify/payloads/).

The payloads follow the documented REST shapes (platforms.md §5) with arithmetic
that adds up; each expected amount is worked out by hand in the comments.
"""

import json
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.platforms import AppUninstalled, PlatformCustomer, PrivacyRequest
from plugins.shopify import mapping
from plugins.shopify.payloads import (
    ShopifyPayloadError,
    gid_tail,
    parse_order,
    parse_refund,
)

PAYLOADS = Path(__file__).parent / "payloads"
EST = timezone(timedelta(hours=-5))
CET = timezone(timedelta(hours=1))
JST = timezone(timedelta(hours=9))

PAID = OrderEventKind.PAID
PLACED = OrderEventKind.PLACED
UPDATED = OrderEventKind.UPDATED
REFUNDED = OrderEventKind.REFUNDED
CANCELLED = OrderEventKind.CANCELLED


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def raw(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def who(external_id: str | None = None, email: str | None = None) -> CustomerRef:
    return CustomerRef(platform="shopify", external_id=external_id, email=email)


def event(kind: OrderEventKind, **fields: Any) -> OrderEvent:
    return OrderEvent(kind=kind, platform="shopify", **fields)


ADA = who("7701000000000000001", "ada@example.org")

# 2 x 25.00 - 5.00 + 1 x 40.00 - 5.00 = 80.00 merchandise; + 7.50 shipping
# + 6.40 tax = 93.90 total.
G1 = event(
    PAID,
    order_ref="5501000000000000101",
    customer=ADA,
    currency="USD",
    eligible_minor=8000,
    occurred_at=datetime(2026, 3, 2, 10, 15, tzinfo=EST),
    updated_at=datetime(2026, 3, 2, 10, 15, 4, tzinfo=EST),
    discount_codes=("SPRING10",),
    total_minor=9390,
    name="#1001",
)
# Prices include 20 % VAT: (60.00 - 10.00 tax) + (2 x 24.00 - 12.00 - 6.00 tax)
# = 50.00 + 30.00 = 80.00; total 60.00 + 36.00 + 4.90 shipping = 100.90.
G2 = event(
    PAID,
    order_ref="5501000000000000102",
    customer=who("7701000000000000002", "bea@example.org"),
    currency="EUR",
    eligible_minor=8000,
    occurred_at=datetime(2026, 3, 3, 9, 0, tzinfo=CET),
    updated_at=datetime(2026, 3, 3, 9, 0, 2, tzinfo=CET),
    discount_codes=("TOTE25",),
    total_minor=10090,
    name="#1002",
)
# The 50.00 gift card is not spending: 30.00; total 30 + 50 + 5.00 + 2.40 = 87.40.
G3 = event(
    PAID,
    order_ref="5501000000000000103",
    customer=who("7701000000000000003", "cy@example.org"),
    currency="USD",
    eligible_minor=3000,
    occurred_at=datetime(2026, 3, 4, 14, 30, tzinfo=EST),
    updated_at=datetime(2026, 3, 4, 14, 30, 1, tzinfo=EST),
    total_minor=8740,
    name="#1003",
)
# Shop CAD, buyer EUR at 1.5 CAD/EUR: 2 x 135.00 - 15.00 = 255.00 CAD (not the
# 170.00 EUR presentment); total 270.00 CAD. The amount-only refund moved
# 30.00 EUR = 45.00 CAD, for the domain to convert pro rata.
G4_ORDER = event(
    PAID,
    order_ref="5501000000000000104",
    customer=who("7701000000000000004", "dora@example.org"),
    currency="CAD",
    eligible_minor=25500,
    occurred_at=datetime(2026, 3, 5, 8, 0, tzinfo=EST),
    updated_at=datetime(2026, 3, 9, 16, 20, tzinfo=EST),
    discount_codes=("RAIN10",),
    total_minor=27000,
    name="#1004",
)
G4_REFUND = replace(
    G4_ORDER,
    kind=REFUNDED,
    occurred_at=datetime(2026, 3, 9, 16, 19, 58, tzinfo=EST),
    discount_codes=(),
    refund_ref="9301000000000000104",
    unallocated_refund_minor=4500,
)
# JPY has no minor unit: 2 x 3300 - 600 - 545 included tax = 5455 yen;
# total 6000 + 800 shipping = 6800 yen.
G5 = event(
    PAID,
    order_ref="5501000000000000105",
    customer=who("7701000000000000005", "eiji@example.jp"),
    currency="JPY",
    eligible_minor=5455,
    occurred_at=datetime(2026, 3, 6, 11, 0, tzinfo=JST),
    updated_at=datetime(2026, 3, 6, 11, 0, 3, tzinfo=JST),
    discount_codes=("WELCOME600",),
    total_minor=6800,
    name="#1005",
)
# (2 x 20.00 - 4.00) + (60.00 - 6.00) = 90.00 before the refund (one cup is
# back: current_quantity 1 + 1 refunded); total 90 + 9.00 tax + 5.00 = 104.00.
# The refund line: 20.00 - 2.00 (its half of the allocation) = 18.00, pre-tax.
G6_ORDER = event(
    PAID,
    order_ref="5501000000000000106",
    customer=who("7701000000000000006", "finn@example.org"),
    currency="USD",
    eligible_minor=9000,
    occurred_at=datetime(2026, 3, 7, 12, 0, tzinfo=EST),
    updated_at=datetime(2026, 3, 12, 10, 5, 2, tzinfo=EST),
    discount_codes=("COFFEE10",),
    total_minor=10400,
    name="#1006",
)
G6_REFUND = replace(
    G6_ORDER,
    kind=REFUNDED,
    occurred_at=datetime(2026, 3, 12, 10, 5, tzinfo=EST),
    discount_codes=(),
    refund_ref="9301000000000000106",
    refunded_minor=1800,
)
# refunds/create carries no customer, order total or name.
G6_REFUND_ALONE = replace(
    G6_REFUND,
    customer=who(),
    eligible_minor=0,
    total_minor=0,
    updated_at=datetime(2026, 3, 12, 10, 5, tzinfo=EST),
    name=None,
)
REFUND_ON_G1 = event(
    REFUNDED,
    order_ref="5501000000000000101",
    customer=who(),
    currency="USD",
    eligible_minor=0,
    occurred_at=datetime(2026, 3, 10, 9, 30, tzinfo=EST),
    updated_at=datetime(2026, 3, 10, 9, 30, tzinfo=EST),
    refund_ref="9301000000000000107",
    unallocated_refund_minor=1500,  # the failed 15.00 attempt is not money back
)
SHIPPING_REFUND_ON_G1 = replace(
    REFUND_ON_G1,
    occurred_at=datetime(2026, 3, 11, 13, 0, tzinfo=EST),
    updated_at=datetime(2026, 3, 11, 13, 0, tzinfo=EST),
    refund_ref="9301000000000000108",
    unallocated_refund_minor=0,  # 7.50 paid back - 7.50 shipping
)
# Guest, unpaid: 4 x 12.50 = 50.00.
G9 = event(
    PLACED,
    order_ref="5501000000000000109",
    customer=who(email="guest@example.net"),
    currency="USD",
    eligible_minor=5000,
    occurred_at=datetime(2026, 3, 8, 18, 45, tzinfo=EST),
    updated_at=datetime(2026, 3, 8, 18, 45, tzinfo=EST),
    total_minor=5000,
    name="#1009",
)
# Email redacted (no protected-data approval): the customer id still keys it.
G10 = event(
    PAID,
    order_ref="5501000000000000110",
    customer=who("7701000000000000010"),
    currency="USD",
    eligible_minor=4500,
    occurred_at=datetime(2026, 3, 9, 7, 10, tzinfo=EST),
    updated_at=datetime(2026, 3, 9, 7, 10, 5, tzinfo=EST),
    total_minor=4995,
    name="#1010",
)
# Cancelled and refunded in full: the lamp (80.00) is back, shipping 6.00 too.
G11_CANCEL = event(
    CANCELLED,
    order_ref="5501000000000000111",
    customer=who("7701000000000000011", "gus@example.org"),
    currency="USD",
    eligible_minor=8000,
    occurred_at=datetime(2026, 3, 10, 15, 0, tzinfo=EST),
    updated_at=datetime(2026, 3, 10, 15, 0, 2, tzinfo=EST),
    total_minor=8600,
    name="#1011",
)
G11_REFUND = replace(
    G11_CANCEL, kind=REFUNDED, refund_ref="9301000000000000111", refunded_minor=8000
)
# Edited before payment, no refund: 3 bowls became 2; the 6.00 allocation
# keeps 2/3: 2 x 30.00 - 4.00 = 56.00.
G12 = event(
    UPDATED,
    order_ref="5501000000000000112",
    customer=who("7701000000000000012", "hana@example.org"),
    currency="USD",
    eligible_minor=5600,
    occurred_at=datetime(2026, 3, 11, 9, 0, tzinfo=EST),
    updated_at=datetime(2026, 3, 11, 9, 40, tzinfo=EST),
    discount_codes=("BOWLS10",),
    total_minor=5600,
    name="#1012",
)

GOLDEN_EVENTS = [
    ("order-paid-taxes-excluded.json", "orders/paid", [G1]),
    ("order-paid-taxes-excluded.json", "orders/create", [G1]),
    ("order-paid-taxes-excluded.json", "orders/updated", [G1]),
    ("order-paid-taxes-included-eur.json", "orders/paid", [G2]),
    ("order-create-gift-card.json", "orders/create", [G3]),
    (
        "order-updated-multicurrency-amount-refund.json",
        "orders/updated",
        [G4_ORDER, G4_REFUND],
    ),
    ("order-paid-jpy.json", "orders/paid", [G5]),
    ("order-updated-partial-refund.json", "orders/updated", [G6_ORDER, G6_REFUND]),
    ("refund-create-lines.json", "refunds/create", [G6_REFUND_ALONE]),
    ("refund-create-amount-only.json", "refunds/create", [REFUND_ON_G1]),
    ("refund-create-shipping-only.json", "refunds/create", [SHIPPING_REFUND_ON_G1]),
    ("order-create-guest-pending.json", "orders/create", [G9]),
    ("order-create-guest-pending.json", "orders/updated", [replace(G9, kind=UPDATED)]),
    ("order-create-guest-pending.json", "orders/paid", [replace(G9, kind=PAID)]),
    ("order-paid-redacted-email.json", "orders/paid", [G10]),
    ("order-cancelled-refunded.json", "orders/cancelled", [G11_REFUND, G11_CANCEL]),
    ("order-cancelled-refunded.json", "orders/updated", [G11_REFUND, G11_CANCEL]),
    ("order-updated-edited-unpaid.json", "orders/updated", [G12]),
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


def test_every_golden_payload_is_asserted() -> None:
    covered = {name for name, _, _ in GOLDEN_EVENTS} | set(GOLDEN_PROFILES)
    covered |= {name for name, _, _ in GOLDEN_PRIVACY}
    assert covered == {path.name for path in PAYLOADS.glob("*.json")}


def test_events_are_accepted_by_the_domain_rules() -> None:
    # Only the pure checks: orders/rules imports no service.
    from api.orders import rules

    for _, _, events in GOLDEN_EVENTS:
        for item in events:
            rules.check_event(item, store_currency=item.currency)


GOLDEN_PROFILES = {
    "customer-update-subscribed.json": PlatformCustomer(
        platform="shopify",
        external_id="7701000000000000001",
        email="ada@example.org",
        first_name="Ada",
        last_name="Lovelace",
        marketing_consent=True,
    ),
    "customer-create-legacy-accepts-marketing.json": PlatformCustomer(
        platform="shopify",
        external_id="7701000000000000013",
        email="ivo@example.org",
        first_name="Ivo",
        last_name="Andric",
        marketing_consent=True,
    ),
    "customer-update-redacted.json": PlatformCustomer(
        platform="shopify", external_id="7701000000000000010"
    ),
}


@pytest.mark.parametrize(("name", "expected"), GOLDEN_PROFILES.items())
def test_golden_customer_profiles(name: str, expected: PlatformCustomer) -> None:
    assert mapping.customer_profile(raw(name)) == expected
    assert mapping.to_events("customers/update", raw(name)) == []


GOLDEN_PRIVACY = [
    (
        "customers-data_request.json",
        "customers/data_request",
        PrivacyRequest(
            kind="customer_data_request",
            shop_ref="ladder-demo.myshopify.com",
            customer_external_id="7701000000000000001",
            customer_email="ada@example.org",
            request_ref="48213",
        ),
    ),
    (
        "customers-redact.json",
        "customers/redact",
        PrivacyRequest(
            kind="customer_redact",
            shop_ref="ladder-demo.myshopify.com",
            customer_external_id="7701000000000000011",
            customer_email="gus@example.org",
        ),
    ),
    (
        "shop-redact.json",
        "shop/redact",
        PrivacyRequest(kind="shop_redact", shop_ref="ladder-demo.myshopify.com"),
    ),
]


@pytest.mark.parametrize(("name", "topic", "expected"), GOLDEN_PRIVACY)
def test_golden_privacy_requests(
    name: str, topic: str, expected: PrivacyRequest
) -> None:
    assert mapping.privacy_request(topic, raw(name)) == expected


# --- financial status and topics ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "on_create", "on_updated"),
    [
        ("paid", PAID, PAID),
        ("partially_refunded", PAID, PAID),
        ("refunded", PAID, PAID),
        ("partially_paid", PLACED, UPDATED),  # a balance is still owed
        ("authorized", PLACED, UPDATED),  # not captured
        ("pending", PLACED, UPDATED),
        ("voided", PLACED, UPDATED),
        ("expired", PLACED, UPDATED),
        ("PAID", PAID, PAID),
        (None, PLACED, UPDATED),
    ],
)
def test_financial_status_decides_paid(
    status: str | None, on_create: OrderEventKind, on_updated: OrderEventKind
) -> None:
    body = {**load("order-paid-taxes-excluded.json"), "financial_status": status}
    assert [e.kind for e in mapping.order_events("orders/create", body)] == [on_create]
    assert [e.kind for e in mapping.order_events("orders/updated", body)] == [
        on_updated
    ]
    # The topic itself says paid.
    assert [e.kind for e in mapping.order_events("orders/paid", body)] == [PAID]


@pytest.mark.parametrize("topic", sorted(mapping.ORDER_TOPICS))
def test_a_cancelled_snapshot_cancels_whatever_the_topic(topic: str) -> None:
    body = {
        **load("order-paid-taxes-excluded.json"),
        "cancelled_at": "2026-03-02T11:00:00-05:00",
        "financial_status": "voided",
    }
    assert mapping.order_events(topic, body) == [
        replace(G1, kind=CANCELLED, occurred_at=datetime(2026, 3, 2, 11, 0, tzinfo=EST))
    ]


def test_orders_cancelled_without_cancelled_at_is_a_snapshot() -> None:
    events = mapping.order_events(
        "orders/cancelled", load("order-create-guest-pending.json")
    )
    assert events == [replace(G9, kind=UPDATED)]


def test_unknown_topics() -> None:
    with pytest.raises(ShopifyPayloadError):
        mapping.order_events("orders/delete", load("order-paid-taxes-excluded.json"))
    for topic in (
        "orders/delete",
        "customers/create",
        "app/uninstalled",
        "shop/redact",
    ):
        assert mapping.to_events(topic, {"id": 1}) == []


def test_test_orders_are_marked_not_dropped() -> None:
    body = {**load("order-updated-partial-refund.json"), "test": True}
    events = mapping.order_events("orders/updated", body)
    assert events == [
        replace(G6_ORDER, extra={"test": "true"}),
        replace(G6_REFUND, extra={"test": "true"}),
    ]
    assert mapping.is_test_order(body)
    assert not mapping.is_test_order(load("order-updated-partial-refund.json"))


# --- amounts ------------------------------------------------------------------


def test_refunded_orders_keep_the_pre_refund_basis_so_refunds_net_it() -> None:
    # Seen for the first time fully refunded: 80.00 in, 80.00 refunded = 0 net,
    # where current_quantity alone (0) would have netted -80.00.
    cancelled = load("order-cancelled-refunded.json")
    assert mapping.eligible_minor(cancelled) == 8000
    assert (
        sum(e.refunded_minor for e in mapping.order_events("orders/updated", cancelled))
        == 8000
    )


def test_basis_ignores_shipping_tax_and_tips() -> None:
    body = load("order-paid-taxes-excluded.json")
    body["total_tip_received"] = "5.00"
    body["total_shipping_price_set"]["shop_money"]["amount"] = "99.00"
    body["total_tax"] = "50.00"
    assert mapping.eligible_minor(body) == 8000


def test_basis_reads_shop_money_not_the_bare_or_presentment_fields() -> None:
    body = load("order-updated-multicurrency-amount-refund.json")
    body["line_items"][0]["price"] = "90.00"  # even if a bare field disagreed
    assert mapping.eligible_minor(body) == 25500


def test_basis_falls_back_to_bare_fields_without_sets() -> None:
    body = load("order-paid-taxes-excluded.json")
    for line in body["line_items"]:
        del line["price_set"]
        for allocation in line["discount_allocations"]:
            del allocation["amount_set"]
    del body["total_price_set"]
    assert (
        mapping.eligible_minor(body),
        mapping.order_events("orders/paid", body),
    ) == (
        8000,
        [G1],
    )


def test_basis_rounds_half_up_to_minor_units_and_is_never_negative() -> None:
    body = load("order-updated-edited-unpaid.json")
    line = body["line_items"][0]
    line["discount_allocations"][0]["amount_set"]["shop_money"]["amount"] = "1.00"
    # 2 x 30.00 - 1.00 x 2/3 = 59.3333... -> 59.33
    assert mapping.eligible_minor(body) == 5933
    line["discount_allocations"][0]["amount_set"]["shop_money"]["amount"] = "500.00"
    assert mapping.eligible_minor(body) == 0


def test_basis_without_current_quantity_uses_quantity() -> None:
    body = load("order-paid-taxes-excluded.json")
    for line in body["line_items"]:
        del line["current_quantity"]
    assert mapping.eligible_minor(body) == 8000


def test_three_decimal_currency() -> None:
    body = load("order-paid-taxes-excluded.json")
    body["currency"] = "KWD"
    for line in body["line_items"]:
        line["price_set"]["shop_money"]["amount"] = "1.2345"
        line["discount_allocations"] = []
    del body["total_price_set"]
    body["total_price"] = "3.7035"
    # 2 x 1.2345 + 1.2345 = 3.7035 -> 3.704 (half up) -> 3704 fils.
    (item,) = mapping.order_events("orders/paid", body)
    assert (item.currency, item.eligible_minor, item.total_minor) == ("KWD", 3704, 3704)


# --- refunds ------------------------------------------------------------------


def test_refund_lines_are_pre_tax_unless_taxes_are_included() -> None:
    refund = load("refund-create-lines.json")
    assert mapping.refund_event(refund).refunded_minor == 1800
    # In a tax-inclusive shop the subtotal contains the tax: 18.00 - 1.80.
    assert mapping.refund_event(refund, taxes_included=True).refunded_minor == 1620


def test_refunded_gift_cards_are_not_merchandise() -> None:
    refund = load("refund-create-lines.json")
    refund["refund_line_items"][0]["line_item"]["gift_card"] = True
    assert mapping.refund_event(refund).refunded_minor == 0


def test_refund_line_without_line_item_is_looked_up_on_the_order() -> None:
    body = load("order-create-gift-card.json")
    body["refunds"] = [
        {
            "id": 1,
            "order_id": body["id"],
            "created_at": "2026-03-05T10:00:00-05:00",
            "refund_line_items": [
                {
                    "line_item_id": 5501000000000003002,
                    "quantity": 1,
                    "subtotal": "50.00",
                },
                {
                    "line_item_id": 5501000000000003001,
                    "quantity": 1,
                    "subtotal": "30.00",
                },
            ],
        }
    ]
    refund = mapping.order_events("orders/updated", body)[1]
    assert (refund.refund_ref, refund.refunded_minor) == ("1", 3000)


def test_shipping_refund_tax_is_shipping_too() -> None:
    refund = load("refund-create-shipping-only.json")
    refund["transactions"][0]["amount"] = "8.10"
    adjustment = refund["order_adjustments"][0]
    adjustment["tax_amount"] = "-0.60"
    adjustment["tax_amount_set"]["shop_money"]["amount"] = "-0.60"
    assert mapping.refund_event(refund).unallocated_refund_minor == 0


def test_shipping_refund_lines_count_when_there_is_no_adjustment() -> None:
    refund = load("refund-create-shipping-only.json")
    refund["order_adjustments"] = []
    # No shop money left in the body: the caller names the shop currency.
    event_ = mapping.refund_event(refund, currency="usd")
    assert (event_.currency, event_.unallocated_refund_minor) == ("USD", 0)


def test_amount_only_refund_needs_a_currency_from_somewhere() -> None:
    refund = load("refund-create-amount-only.json")
    refund["order_adjustments"] = []
    with pytest.raises(ShopifyPayloadError):
        mapping.refund_event(refund)
    assert mapping.refund_event(refund, currency="USD") == REFUND_ON_G1
    assert mapping.to_events("refunds/create", refund, currency="USD") == [REFUND_ON_G1]


def test_money_in_another_currency_without_a_rate_is_reported_not_guessed() -> None:
    refund = load("refund-create-amount-only.json")
    refund["transactions"][1]["currency"] = "EUR"
    assert mapping.refund_event(refund) == replace(
        REFUND_ON_G1,
        unallocated_refund_minor=0,
        extra={"unconverted_refund": "15.00 EUR"},
    )


def test_refunds_create_with_known_order_context() -> None:
    ref = mapping.refund_event(
        load("refund-create-lines.json"), customer=ADA, order_ref="override"
    )
    assert (ref.customer, ref.order_ref) == (ADA, "override")


# --- customers, ids, parsing --------------------------------------------------


def test_customer_falls_back_to_the_order_email() -> None:
    body = load("order-paid-taxes-excluded.json")
    body["customer"]["email"] = None
    assert mapping.customer_ref(body) == ADA
    body["customer"]["email"] = ""
    body["email"] = "  "
    assert mapping.customer_ref(body) == who("7701000000000000001")


def test_guest_without_any_email_names_nobody() -> None:
    # The domain refuses a PAID event naming nobody; the plugin does not invent one.
    body = {**load("order-create-guest-pending.json"), "email": ""}
    assert mapping.customer_ref(body) == who()


@pytest.mark.parametrize(
    ("consent", "accepts", "expected"),
    [
        ({"state": "subscribed"}, False, True),
        ({"state": "SUBSCRIBED"}, None, True),
        ({"state": "not_subscribed"}, True, False),
        ({"state": "pending"}, None, False),
        ({"state": "unsubscribed"}, None, False),
        ({"state": "redacted"}, None, False),
        ({"state": None}, True, True),
        (None, False, False),
        (None, None, None),
    ],
)
def test_marketing_consent(
    consent: dict[str, Any] | None, accepts: bool | None, expected: bool | None
) -> None:
    body = {
        "id": 1,
        "email": "x@example.org",
        "email_marketing_consent": consent,
        "accepts_marketing": accepts,
    }
    assert mapping.customer_profile(body).marketing_consent is expected


def test_customer_profile_needs_an_id() -> None:
    with pytest.raises(ShopifyPayloadError):
        mapping.customer_profile({"email": "x@example.org"})


def test_gid_tail_wins_over_a_rounded_id() -> None:
    # SOURCES.md warning 1: JSON.parse rounded 820982911946154508.
    body = load("order-paid-taxes-excluded.json")
    body["id"] = 820982911946154500
    body["admin_graphql_api_id"] = "gid://shopify/Order/820982911946154508"
    body["customer"]["id"] = 7701000000000000000
    assert (
        mapping.order_events("orders/paid", body)[0].order_ref == "820982911946154508"
    )
    assert mapping.customer_ref(body).external_id == "7701000000000000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5501000000000000101, "5501000000000000101"),
        ("5501000000000000101", "5501000000000000101"),
        (" 42 ", "42"),
        ("gid://shopify/Order/42", "42"),
        (42.0, "42"),
    ],
)
def test_ids_are_text_whatever_their_json_type(value: Any, expected: str) -> None:
    body = load("order-paid-taxes-excluded.json")
    body["id"] = value
    del body["admin_graphql_api_id"]
    assert parse_order(body).ref == expected


def test_big_ids_survive_raw_json() -> None:
    body = b'{"id": 9223372036854775807, "currency": "USD", "updated_at": "2026-03-02T10:15:00Z"}'
    assert parse_order(body).ref == "9223372036854775807"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        {"currency": "USD", "updated_at": "2026-03-02T10:15:00Z"},  # no id at all
        {"id": 1, "updated_at": "2026-03-02T10:15:00Z"},  # no currency
        {"id": 1, "currency": "USD"},  # no updated_at
        {"id": True, "currency": "USD", "updated_at": "2026-03-02T10:15:00Z"},
        {"id": "abc", "currency": "USD", "updated_at": "2026-03-02T10:15:00Z"},
        {"id": 1.5, "currency": "USD", "updated_at": "2026-03-02T10:15:00Z"},
        {
            "id": 1,
            "currency": "USD",
            "updated_at": "2026-03-02T10:15:00Z",
            "total_price": "x",
        },
        {
            "id": 1,
            "currency": "USD",
            "updated_at": "2026-03-02T10:15:00Z",
            "total_price": "NaN",
        },
        {
            "id": 1,
            "currency": "USD",
            "updated_at": "2026-03-02T10:15:00Z",
            "total_price": True,
        },
        {"id": 1, "currency": "USD", "updated_at": "yesterday"},
    ],
)
def test_malformed_orders_are_one_error(body: Any) -> None:
    with pytest.raises(ShopifyPayloadError):
        mapping.order_events("orders/paid", body)


def test_rest_wrapper_is_unwrapped() -> None:
    assert mapping.order_events(
        "orders/paid", {"order": load("order-paid-taxes-excluded.json")}
    ) == [G1]
    refund = parse_refund({"refund": load("refund-create-lines.json")})
    assert refund.ref == "9301000000000000106"


def test_float_money_and_naive_times() -> None:
    refund = load("refund-create-lines.json")
    del refund["refund_line_items"][0]["subtotal_set"]  # only "subtotal": 18.0
    refund["created_at"] = "2026-03-12T15:05:00"  # naive: taken as UTC
    refund["processed_at"] = None
    event_ = mapping.refund_event(refund, currency="USD")
    assert (event_.refunded_minor, event_.occurred_at) == (
        1800,
        datetime(2026, 3, 12, 15, 5, tzinfo=UTC),
    )


def test_discount_codes_are_trimmed_and_deduplicated() -> None:
    body = load("order-paid-taxes-excluded.json")
    body["discount_codes"] = [
        {"code": " SPRING10 "},
        {"code": "SPRING10"},
        {"code": ""},
        {"code": "LDR-7"},
    ]
    assert mapping.order_events("orders/paid", body)[0].discount_codes == (
        "SPRING10",
        "LDR-7",
    )


def test_gid_tail() -> None:
    assert gid_tail("gid://shopify/Customer/12?foo=bar") == "12"
    assert gid_tail("gid://other/Customer/12") is None
    assert gid_tail("") is None


# --- privacy and uninstall ----------------------------------------------------


def test_privacy_topics_that_are_not() -> None:
    with pytest.raises(ShopifyPayloadError):
        mapping.privacy_request("customers/delete", load("customers-redact.json"))
    with pytest.raises(ShopifyPayloadError):
        mapping.privacy_request("customers/redact", {"shop_domain": "a.myshopify.com"})
    with pytest.raises(ShopifyPayloadError):
        mapping.privacy_request("shop/redact", {})


def test_shop_redact_falls_back_to_the_shop_id() -> None:
    assert mapping.privacy_request(
        "shop/redact", {"shop_id": 61234567890}
    ) == PrivacyRequest(kind="shop_redact", shop_ref="61234567890")


def test_app_uninstalled() -> None:
    shop = {
        "id": 61234567890,
        "myshopify_domain": "ladder-demo.myshopify.com",
        "domain": None,
    }
    assert mapping.app_uninstalled(shop) == AppUninstalled("ladder-demo.myshopify.com")
    header = "ladder-demo.myshopify.com"
    assert mapping.app_uninstalled({"id": 1}, shop_ref=header) == AppUninstalled(header)
    with pytest.raises(ShopifyPayloadError):
        mapping.app_uninstalled({"name": "No ids"})


def test_mapping_does_not_mutate_its_input() -> None:
    body = load("order-updated-partial-refund.json")
    before = deepcopy(body)
    mapping.order_events("orders/updated", body)
    assert body == before

"""Every real Shopify payload in ../shared/fixtures/platforms/shopify/ maps exactly.

The files are read where they are, never copied into the repository. They are
documentation samples whose numbers do not add up (SOURCES.md warning 2), so
the expected amounts below are worked out by hand from each file, and their
ids above 2^53 were rounded by a JavaScript JSON.parse (warning 1): the
`admin_graphql_api_id` tail is the id wherever the file has one.

In CI a missing folder fails the run; elsewhere the tests skip and say why.
"""

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.platforms import AppUninstalled, PlatformCustomer, PrivacyRequest
from plugins.shopify import mapping
from plugins.shopify.payloads import parse_order_deleted

FIXTURES = (
    Path(__file__).resolve().parents[3].parent / "shared/fixtures/platforms/shopify"
)
EST = timezone(timedelta(hours=-5))


def fixture(name: str) -> bytes:
    if not FIXTURES.is_dir():
        reason = f"../shared/fixtures not present: {FIXTURES} is missing"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return (FIXTURES / name).read_bytes()


def who(external_id: str | None = None, email: str | None = None) -> CustomerRef:
    return CustomerRef(platform="shopify", external_id=external_id, email=email)


def event(kind: OrderEventKind, **fields: Any) -> OrderEvent:
    return OrderEvent(kind=kind, platform="shopify", **fields)


ORDER_TOPICS = sorted(mapping.ORDER_TOPICS)

# webhook-orders-sample.json, the sample of every orders/* topic: cancelled
# (cancelled_at set, financial_status voided) and test: true. Its 5 lines:
# 89.99 + 19.99 + 24.99 + 159.99 + 119.99 = 414.95, no allocations, no gift
# card; total_price 404.95 (the sample does not add up). id ...500 is rounded,
# the gid says ...508; customer gid ...954 (id ...950 rounded).
ORDERS_SAMPLE = event(
    OrderEventKind.CANCELLED,
    order_ref="820982911946154508",
    customer=who("115310627314723954", "john@example.com"),
    currency="USD",
    eligible_minor=41495,
    occurred_at=datetime(2021, 12, 31, 19, 0, tzinfo=EST),
    updated_at=datetime(2021, 12, 31, 19, 0, tzinfo=EST),
    total_minor=40495,
    name="#9999",
    extra={"test": "true"},
)

# rest-order-450789469-partially-refunded.json: 3 lines of 199.00 with
# allocations 3.34 + 3.33 + 3.33 (TENOFF, 10.00). current_quantity 0, 1, 0, and
# its refund 509562969 gave back one unit of 703073504 and one of 466157049,
# so all 3 units stay in the basis: 597.00 - 10.00 = 587.00; its REFUNDED event
# takes back 195.66 + 195.67 = 391.33. total_price 598.94.
BOB = who("207119551", "bob.norman@mail.example.com")
PARTIALLY_REFUNDED = event(
    OrderEventKind.PAID,
    order_ref="450789469",
    customer=BOB,
    currency="USD",
    eligible_minor=58700,
    occurred_at=datetime(2008, 1, 10, 11, 0, tzinfo=EST),
    updated_at=datetime(2008, 1, 10, 11, 0, tzinfo=EST),
    discount_codes=("TENOFF",),
    total_minor=59894,
    name="#1001",
)
PARTIAL_REFUND = replace(
    PARTIALLY_REFUNDED,
    kind=OrderEventKind.REFUNDED,
    occurred_at=datetime(2025, 4, 2, 11, 29, 59, tzinfo=EST),
    discount_codes=(),
    refund_ref="509562969",
    refunded_minor=39133,
)
# rest-order-450789469-cancelled-refunded.json: the same 3 lines, all
# current_quantity 0, all 3 given back by refund 929361465 (195.66 + 195.67 +
# 195.67 = 587.00; its transaction says 10.00, ignored since lines exist).
CANCEL_TIME = datetime(2025, 4, 2, 11, 31, 21, tzinfo=EST)
FULL_REFUND = replace(
    PARTIALLY_REFUNDED,
    kind=OrderEventKind.REFUNDED,
    occurred_at=CANCEL_TIME,
    updated_at=CANCEL_TIME,
    discount_codes=(),
    refund_ref="929361465",
    refunded_minor=58700,
)
CANCELLED = replace(
    PARTIALLY_REFUNDED,
    kind=OrderEventKind.CANCELLED,
    occurred_at=CANCEL_TIME,
    updated_at=CANCEL_TIME,
)
# rest-order-1073459976-paid-eur-with-tax.json: 3 x 74.99 = 224.97 EUR, tax
# 13.50 on top (taxes_included false); total 238.47. No customer and email ""
# : the event names nobody, and the domain refuses such a PAID event.
PAID_EUR = event(
    OrderEventKind.PAID,
    order_ref="1073459976",
    customer=who(),
    currency="EUR",
    eligible_minor=22497,
    occurred_at=datetime(2025, 4, 2, 11, 31, 26, tzinfo=EST),
    updated_at=datetime(2025, 4, 2, 11, 31, 26, tzinfo=EST),
    total_minor=23847,
    name="#1002",
)
# rest-order-1073459981-paid-discount-code.json: 199.00 - 17.91 (FAKE30) = 181.09.
PAID_CODE = event(
    OrderEventKind.PAID,
    order_ref="1073459981",
    customer=who("1073339475", "jane@example.com"),
    currency="USD",
    eligible_minor=18109,
    occurred_at=datetime(2025, 4, 2, 11, 31, 38, tzinfo=EST),
    updated_at=datetime(2025, 4, 2, 11, 31, 38, tzinfo=EST),
    discount_codes=("FAKE30",),
    total_minor=18109,
    name="#1002",
)
# refunds/create bodies carry no customer, currency or totals of the order.
REFUND_BASE = {"customer": who(), "currency": "USD", "eligible_minor": 0}
# rest-refund-509562969-line-items.json: 195.66 + 195.67 = 391.33.
REFUND_LINES = event(
    OrderEventKind.REFUNDED,
    order_ref="450789469",
    occurred_at=datetime(2025, 4, 2, 11, 38, 15, tzinfo=EST),
    updated_at=datetime(2025, 4, 2, 11, 38, 15, tzinfo=EST),
    refund_ref="509562969",
    refunded_minor=39133,
    **REFUND_BASE,
)
# rest-refund-929361471-shipping-only.json: no lines; 5.00 paid back minus the
# shipping_refund adjustment of -5.00 = 0 (refund_shipping_lines repeat it).
REFUND_SHIPPING = event(
    OrderEventKind.REFUNDED,
    order_ref="450789469",
    occurred_at=datetime(2025, 4, 2, 11, 38, 32, tzinfo=EST),
    updated_at=datetime(2025, 4, 2, 11, 38, 32, tzinfo=EST),
    refund_ref="929361471",
    **REFUND_BASE,
)
# webhook-refunds-create.json: 5 lines, 89.99 + 19.99 + 24.99 + 159.99 +
# 119.99 = 414.95 (transactions 75.00 + 10.00 ignored). The refund id is the
# gid's ...319; order_id was rounded to ...500 in this copy and the body has
# no order gid, so the ref is what the file says (a real delivery is exact).
REFUND_WEBHOOK = event(
    OrderEventKind.REFUNDED,
    order_ref="820982911946154500",
    occurred_at=datetime(2021, 12, 31, 19, 0, tzinfo=EST),
    updated_at=datetime(2021, 12, 31, 19, 0, tzinfo=EST),
    refund_ref="890088186047892319",
    refunded_minor=41495,
    **REFUND_BASE,
)
SAMPLE_SHOP = "{shop}.myshopify.com"  # the docs' placeholder, verbatim

Check = Callable[[bytes], None]


def orders(expected: list[OrderEvent], topics: list[str]) -> Check:
    def check(body: bytes) -> None:
        for topic in topics:
            assert (topic, mapping.to_events(topic, body)) == (topic, expected)

    return check


def equals(produce: Callable[[bytes], object], expected: object) -> Check:
    def check(body: bytes) -> None:
        assert produce(body) == expected

    return check


def graphql_cost(requested: int, available: int, actual: int | None) -> Check:
    # Admin API responses, not webhooks: the Shopify client reads them. Here we
    # only pin the numbers its throttling works from.
    def check(body: bytes) -> None:
        cost = json.loads(body)["extensions"]["cost"]
        status = cost["throttleStatus"]
        assert (
            cost["requestedQueryCost"],
            cost["actualQueryCost"],
            status["currentlyAvailable"],
            status["maximumAvailable"],
            status["restoreRate"],
        ) == (requested, actual, available, 1000.0, 50.0)
        assert mapping.to_events("graphql", body) == []

    return check


def uninstalled(body: bytes) -> None:
    # myshopify_domain and domain are null in Shopify's own sample: the header wins.
    assert mapping.app_uninstalled(body) == AppUninstalled("548380009")
    header = "super-toys.myshopify.com"
    assert mapping.app_uninstalled(body, shop_ref=header) == AppUninstalled(header)
    assert mapping.to_events("app/uninstalled", body) == []


def order_deleted(body: bytes) -> None:
    assert parse_order_deleted(body).id == "820982911946154500"
    assert mapping.to_events("orders/delete", body) == []  # no order facts


EXPECTED: dict[str, Check] = {
    "graphql-response-with-cost.json": graphql_cost(1, 999, 1),
    "graphql-throttled-response.json": graphql_cost(752, 666, None),
    "rest-order-1073459976-paid-eur-with-tax.json": orders(
        [PAID_EUR], ["orders/paid", "orders/updated"]
    ),
    "rest-order-1073459981-paid-discount-code.json": orders(
        [PAID_CODE], ["orders/paid", "orders/updated", "orders/create"]
    ),
    "rest-order-450789469-cancelled-refunded.json": orders(
        [FULL_REFUND, CANCELLED], ["orders/cancelled", "orders/updated"]
    ),
    "rest-order-450789469-partially-refunded.json": orders(
        [PARTIALLY_REFUNDED, PARTIAL_REFUND], ["orders/updated", "orders/paid"]
    ),
    "rest-refund-509562969-line-items.json": orders([REFUND_LINES], ["refunds/create"]),
    "rest-refund-929361471-shipping-only.json": orders(
        [REFUND_SHIPPING], ["refunds/create"]
    ),
    "webhook-app-uninstalled.json": uninstalled,
    "webhook-customers-data_request.json": equals(
        lambda body: mapping.privacy_request("customers/data_request", body),
        PrivacyRequest(
            kind="customer_data_request",
            shop_ref=SAMPLE_SHOP,
            customer_external_id="191167",
            customer_email="john@example.com",
            request_ref="9999",
        ),
    ),
    "webhook-customers-redact.json": equals(
        lambda body: mapping.privacy_request("customers/redact", body),
        PrivacyRequest(
            kind="customer_redact",
            shop_ref=SAMPLE_SHOP,
            customer_external_id="191167",
            customer_email="john@example.com",
        ),
    ),
    # id 706405506930370000 is rounded; the gid says ...084. No consent fields.
    "webhook-customers-sample.json": equals(
        mapping.customer_profile,
        PlatformCustomer(
            platform="shopify",
            external_id="706405506930370084",
            email="bob@biller.com",
            first_name="Bob",
            last_name="Biller",
        ),
    ),
    "webhook-orders-delete.json": order_deleted,
    "webhook-orders-sample.json": orders([ORDERS_SAMPLE], ORDER_TOPICS),
    "webhook-refunds-create.json": orders([REFUND_WEBHOOK], ["refunds/create"]),
    "webhook-shop-redact.json": equals(
        lambda body: mapping.privacy_request("shop/redact", body),
        PrivacyRequest(kind="shop_redact", shop_ref=SAMPLE_SHOP),
    ),
}


def test_every_fixture_file_has_an_expectation() -> None:
    fixture("webhook-orders-sample.json")  # fails in CI, skips elsewhere
    present = {path.name for path in FIXTURES.iterdir() if path.is_file()}
    assert present == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_maps_exactly(name: str) -> None:
    EXPECTED[name](fixture(name))


def test_sample_test_order_is_recognised() -> None:
    assert mapping.is_test_order(fixture("webhook-orders-sample.json"))
    assert not mapping.is_test_order(
        fixture("rest-order-1073459981-paid-discount-code.json")
    )


def test_a_missing_folder_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(f"{__name__}.FIXTURES", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"\.\./shared/fixtures not present"
    ):
        fixture("webhook-orders-sample.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match=r"\.\./shared/fixtures not present"
    ):
        fixture("webhook-orders-sample.json")

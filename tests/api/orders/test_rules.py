"""Order events: what is accepted, what is stale, what counts as paid."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.orders import rules
from api.orders.errors import OrderError, OrderErrorCode
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.orders.models import OrderStatus

AT = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
NAIVE = AT.replace(tzinfo=None)
SECOND = timedelta(seconds=1)

PAID = OrderEvent(
    kind=OrderEventKind.PAID,
    platform="shopify",
    order_ref="5500000001",
    customer=CustomerRef("shopify", external_id="7700000042"),
    currency="EUR",
    eligible_minor=5_000,
    occurred_at=AT,
    updated_at=AT,
    name="#1001",
)
REFUND = replace(
    PAID, kind=OrderEventKind.REFUNDED, refund_ref="r-1", refunded_minor=1_000
)
GUEST = CustomerRef("woocommerce", email="ada@example.com")
NOBODY = CustomerRef("shopify")


def _event(base: OrderEvent = PAID, **changes: Any) -> OrderEvent:
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("_case", "event"),
    [
        ("paid order", PAID),
        ("lower-case currency", _event(currency="eur")),
        ("guest with email only", _event(customer=GUEST)),
        ("nothing eligible", _event(eligible_minor=0)),
        ("longest order ref", _event(order_ref="x" * 128)),
        (
            "fifty discount codes",
            _event(discount_codes=tuple(f"C{i}" for i in range(50))),
        ),
        ("refund with its ref", REFUND),
        ("placed, not paid", _event(kind=OrderEventKind.PLACED)),
        ("cancelled", _event(kind=OrderEventKind.CANCELLED)),
        (
            "store-local times",
            _event(
                occurred_at=AT.astimezone(ZoneInfo("Europe/Paris")),
                updated_at=AT.astimezone(ZoneInfo("Europe/Paris")),
            ),
        ),
    ],
)
def test_check_event_accepts(_case: str, event: OrderEvent) -> None:
    rules.check_event(event, store_currency="EUR")


@pytest.mark.parametrize(
    ("_case", "event", "code", "field"),
    [
        ("empty order ref", _event(order_ref=""), OrderErrorCode.INVALID, "orderRef"),
        (
            "blank order ref",
            _event(order_ref="   "),
            OrderErrorCode.INVALID,
            "orderRef",
        ),
        (
            "order ref too long",
            _event(order_ref="x" * 129),
            OrderErrorCode.INVALID,
            "orderRef",
        ),
        (
            "negative eligible amount",
            _event(eligible_minor=-1),
            OrderErrorCode.INVALID,
            "eligibleMinor",
        ),
        (
            "negative refund",
            _event(REFUND, refunded_minor=-1),
            OrderErrorCode.INVALID,
            "refundedMinor",
        ),
        (
            "refund without its ref",
            _event(REFUND, refund_ref=None),
            OrderErrorCode.INVALID,
            "refundRef",
        ),
        (
            "refund with an empty ref",
            _event(REFUND, refund_ref=""),
            OrderErrorCode.INVALID,
            "refundRef",
        ),
        (
            "too many discount codes",
            _event(discount_codes=tuple(f"C{i}" for i in range(51))),
            OrderErrorCode.INVALID,
            "discountCodes",
        ),
        (
            "naive occurredAt",
            _event(occurred_at=NAIVE),
            OrderErrorCode.INVALID,
            "occurredAt",
        ),
        pytest.param(
            "naive updatedAt",
            _event(updated_at=NAIVE),
            OrderErrorCode.INVALID,
            "updatedAt",
        ),
        (
            "no customer ref",
            _event(customer=NOBODY),
            OrderErrorCode.CUSTOMER_REQUIRED,
            "customer",
        ),
        (
            "empty customer ref",
            _event(customer=CustomerRef("shopify", external_id="", email="")),
            OrderErrorCode.CUSTOMER_REQUIRED,
            "customer",
        ),
        (
            "other currency",
            _event(currency="USD"),
            OrderErrorCode.CURRENCY_MISMATCH,
            "currency",
        ),
        (
            "bad fields are told before the customer",
            _event(eligible_minor=-1, customer=NOBODY),
            OrderErrorCode.INVALID,
            "eligibleMinor",
        ),
        (
            "customer is told before the currency",
            _event(customer=NOBODY, currency="USD"),
            OrderErrorCode.CUSTOMER_REQUIRED,
            "customer",
        ),
    ],
)
def test_check_event_rejects(
    _case: str, event: OrderEvent, code: OrderErrorCode, field: str
) -> None:
    with pytest.raises(OrderError) as raised:
        rules.check_event(event, store_currency="EUR")
    assert raised.value.code is code
    assert raised.value.field == field


def test_currency_mismatch_names_the_store_currency() -> None:
    with pytest.raises(OrderError) as raised:
        rules.check_event(_event(currency="USD"), store_currency="EUR")
    assert "EUR" in raised.value.message


@pytest.mark.parametrize(
    ("_case", "kind", "updated_at", "expected"),
    [
        ("older paid snapshot", OrderEventKind.PAID, AT - SECOND, True),
        ("same snapshot again", OrderEventKind.PAID, AT, False),
        ("newer snapshot", OrderEventKind.PAID, AT + SECOND, False),
        ("older update", OrderEventKind.UPDATED, AT - SECOND, True),
        ("newer update", OrderEventKind.UPDATED, AT + SECOND, False),
        ("older placed", OrderEventKind.PLACED, AT - SECOND, True),
        ("older cancel", OrderEventKind.CANCELLED, AT - SECOND, True),
        (
            "refunds are never stale",
            OrderEventKind.REFUNDED,
            AT - timedelta(days=30),
            False,
        ),
        ("newer refund", OrderEventKind.REFUNDED, AT + SECOND, False),
    ],
)
def test_is_stale(
    _case: str, kind: OrderEventKind, updated_at: datetime, expected: bool
) -> None:
    event = _event(REFUND, kind=kind, updated_at=updated_at)
    assert rules.is_stale(event, snapshot_at=AT) is expected


def test_is_stale_compares_instants_across_timezones() -> None:
    # 13:59:59 in Paris (summer) is 11:59:59 UTC: older than a 12:00 UTC snapshot.
    paris = datetime(2026, 5, 10, 13, 59, 59, tzinfo=ZoneInfo("Europe/Paris"))
    assert rules.is_stale(_event(updated_at=paris), snapshot_at=AT) is True


@pytest.mark.parametrize(
    ("_case", "status", "expected"),
    [
        ("placed", OrderStatus.PLACED, False),
        ("paid", OrderStatus.PAID, True),
        ("partially refunded", OrderStatus.PARTIALLY_REFUNDED, True),
        ("fully refunded: it was paid", OrderStatus.REFUNDED, True),
        ("cancelled", OrderStatus.CANCELLED, False),
    ],
)
def test_counts_as_paid(_case: str, status: OrderStatus, expected: bool) -> None:
    assert rules.counts_as_paid(status) is expected


@pytest.mark.parametrize(
    ("_case", "status", "expected"),
    [
        ("placed", OrderStatus.PLACED, False),
        ("paid", OrderStatus.PAID, True),
        ("partially refunded", OrderStatus.PARTIALLY_REFUNDED, True),
        ("fully refunded: taken off already", OrderStatus.REFUNDED, False),
        ("cancelled", OrderStatus.CANCELLED, False),
    ],
)
def test_in_paid_orders(_case: str, status: OrderStatus, expected: bool) -> None:
    assert rules.in_paid_orders(status) is expected

"""GraphQL order nodes -> REST shape -> the same events as the webhook payload.

Each node below is written by hand in the GraphQL Admin shape (`ORDER_FIELDS`,
refunds completed as `REFUND_FIELDS`, times in UTC as GraphQL returns them) for
the same order as one of our REST golden payloads in `payloads/`. The events
of the two must be equal, and the key amounts are asserted by hand as well.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import graphql
import pytest

from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from plugins.shopify import graphql_orders, mapping
from plugins.shopify.graphql_orders import rest_order
from plugins.shopify.payloads import ShopifyPayloadError, parse_order
from tests.plugins.shopify.fake_admin import SCHEMA

PAYLOADS = Path(__file__).parent / "payloads"
TOPIC = "orders/updated"


def rest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def events(node: dict[str, Any]) -> list[OrderEvent]:
    return mapping.order_events(TOPIC, rest_order(node))


def bag(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def line(
    number: int,
    quantity: int,
    price: str,
    *,
    current: int | None = None,
    currency: str = "USD",
    discounts: tuple[str, ...] = (),
    taxes: tuple[str, ...] = (),
    gift_card: bool = False,
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/LineItem/{number}",
        "quantity": quantity,
        "currentQuantity": quantity if current is None else current,
        "isGiftCard": gift_card,
        "originalUnitPriceSet": bag(price, currency),
        "discountAllocations": [
            {"allocatedAmountSet": bag(amount, currency)} for amount in discounts
        ],
        "taxLines": [{"priceSet": bag(amount, currency)} for amount in taxes],
    }


def connection(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}


def refund(
    number: int,
    created: str,
    *,
    lines: Sequence[dict[str, Any]] = (),
    transactions: Sequence[dict[str, Any]] = (),
    adjustments: Sequence[dict[str, Any]] = (),
    shipping_lines: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Refund/{number}",
        "createdAt": created,
        "refundLineItems": connection(list(lines)),
        "transactions": connection(list(transactions)),
        "orderAdjustments": connection(list(adjustments)),
        "refundShippingLines": connection(list(shipping_lines)),
    }


def refund_line(
    line_number: int, quantity: int, subtotal: str, tax: str, currency: str = "USD"
) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "lineItem": {
            "id": f"gid://shopify/LineItem/{line_number}",
            "isGiftCard": False,
        },
        "subtotalSet": bag(subtotal, currency),
        "totalTaxSet": bag(tax, currency),
    }


def transaction(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"kind": "REFUND", "status": "SUCCESS", "amountSet": bag(amount, currency)}


def order(
    number: int,
    *,
    name: str,
    created: str,
    updated: str,
    total: str,
    lines: list[dict[str, Any]],
    customer: dict[str, Any] | None,
    email: str | None,
    status: str = "PAID",
    currency: str = "USD",
    presentment: str | None = None,
    taxes_included: bool = False,
    codes: tuple[str, ...] = (),
    refunds: Sequence[dict[str, Any]] = (),
    cancelled: str | None = None,
    test: bool = False,
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Order/{number}",
        "name": name,
        "createdAt": created,
        "processedAt": created,
        "updatedAt": updated,
        "cancelledAt": cancelled,
        "displayFinancialStatus": status,
        "test": test,
        "taxesIncluded": taxes_included,
        "currencyCode": currency,
        "presentmentCurrencyCode": presentment or currency,
        "email": email,
        "totalPriceSet": bag(total, currency),
        "customer": customer,
        "discountCodes": list(codes),
        "lineItems": connection(lines),
        "refunds": list(refunds),
    }


def customer(number: int, email: str | None, first: str, last: str) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Customer/{number}",
        "email": email,
        "firstName": first,
        "lastName": last,
    }


# --- golden nodes (the same orders as payloads/*.json) ------------------------

# order-paid-taxes-excluded.json: 2 x 25.00 - 5.00 + 40.00 - 5.00 = 80.00.
TAXES_EXCLUDED = order(
    5501000000000000101,
    name="#1001",
    created="2026-03-02T15:15:00Z",
    updated="2026-03-02T15:15:04Z",
    total="93.90",
    customer=customer(7701000000000000001, "ada@example.org", "Ada", "Lovelace"),
    email="ada@example.org",
    codes=("SPRING10",),
    lines=[
        line(5501000000000001001, 2, "25.00", discounts=("5.00",), taxes=("3.60",)),
        line(5501000000000001002, 1, "40.00", discounts=("5.00",), taxes=("2.80",)),
    ],
)

# order-paid-taxes-included-eur.json: (60.00 - 10.00) + (48.00 - 12.00 - 6.00).
TAXES_INCLUDED_EUR = order(
    5501000000000000102,
    name="#1002",
    created="2026-03-03T08:00:00Z",
    updated="2026-03-03T08:00:02Z",
    total="100.90",
    currency="EUR",
    taxes_included=True,
    customer=customer(7701000000000000002, "bea@example.org", "Béatrice", "Martin"),
    email="bea@example.org",
    codes=("TOTE25",),
    lines=[
        line(5501000000000002001, 1, "60.00", currency="EUR", taxes=("10.00",)),
        line(
            5501000000000002002,
            2,
            "24.00",
            currency="EUR",
            discounts=("12.00",),
            taxes=("6.00",),
        ),
    ],
)

# order-create-gift-card.json: the 50.00 gift card is not spending: 30.00.
GIFT_CARD = order(
    5501000000000000103,
    name="#1003",
    created="2026-03-04T19:30:00Z",
    updated="2026-03-04T19:30:01Z",
    total="87.40",
    customer=customer(7701000000000000003, "cy@example.org", "Cy", "Twombly"),
    email="cy@example.org",
    lines=[
        line(5501000000000003001, 1, "30.00", taxes=("2.40",)),
        line(5501000000000003002, 1, "50.00", gift_card=True),
    ],
)

# order-updated-multicurrency-amount-refund.json: CAD shop, EUR buyer; an
# amount-only refund of EUR 30.00 = CAD 45.00 (GraphQL gives the shop money).
MULTICURRENCY = order(
    5501000000000000104,
    name="#1004",
    created="2026-03-05T13:00:00Z",
    updated="2026-03-09T21:20:00Z",
    total="270.00",
    currency="CAD",
    presentment="EUR",
    status="PARTIALLY_REFUNDED",
    customer=customer(7701000000000000004, "dora@example.org", "Dora", "Maar"),
    email="dora@example.org",
    codes=("RAIN10",),
    lines=[
        line(5501000000000004001, 2, "135.00", currency="CAD", discounts=("15.00",))
    ],
    refunds=[
        refund(
            9301000000000000104,
            "2026-03-09T21:19:58Z",
            transactions=[transaction("45.00", "CAD")],
            adjustments=[
                {
                    "reason": "REFUND_DISCREPANCY",
                    "amountSet": bag("-45.00", "CAD"),
                    "taxAmountSet": bag("0.00", "CAD"),
                }
            ],
        )
    ],
)

# order-paid-jpy.json: 2 x 3300 - 600 - 545 tax (included) = 5455 yen.
JPY = order(
    5501000000000000105,
    name="#1005",
    created="2026-03-06T02:00:00Z",
    updated="2026-03-06T02:00:03Z",
    total="6800",
    currency="JPY",
    taxes_included=True,
    customer=customer(7701000000000000005, "eiji@example.jp", "Eiji", "Tanaka"),
    email="eiji@example.jp",
    codes=("WELCOME600",),
    lines=[
        line(
            5501000000000005001,
            2,
            "3300",
            currency="JPY",
            discounts=("600",),
            taxes=("545",),
        )
    ],
)

# order-updated-partial-refund.json: one of two cups (18.00 after its share of
# the discount) went back; 36.00 + 54.00 = 90.00 stays the basis.
PARTIAL_REFUND = order(
    5501000000000000106,
    name="#1006",
    created="2026-03-07T17:00:00Z",
    updated="2026-03-12T15:05:02Z",
    total="104.00",
    status="PARTIALLY_REFUNDED",
    customer=customer(7701000000000000006, "finn@example.org", "Finn", "Hale"),
    email="finn@example.org",
    codes=("COFFEE10",),
    lines=[
        line(
            5501000000000006001,
            2,
            "20.00",
            current=1,
            discounts=("4.00",),
            taxes=("3.60",),
        ),
        line(5501000000000006002, 1, "60.00", discounts=("6.00",), taxes=("5.40",)),
    ],
    refunds=[
        refund(
            9301000000000000106,
            "2026-03-12T15:05:00Z",
            lines=[refund_line(5501000000000006001, 1, "18.00", "1.80")],
            transactions=[transaction("19.80")],
        )
    ],
)

# order-create-guest-pending.json: no customer, not paid: UPDATED.
GUEST_PENDING = order(
    5501000000000000109,
    name="#1009",
    created="2026-03-08T23:45:00Z",
    updated="2026-03-08T23:45:00Z",
    total="50.00",
    status="PENDING",
    customer=None,
    email="guest@example.net",
    lines=[line(5501000000000009001, 4, "12.50")],
)

# order-paid-redacted-email.json: the customer's email is redacted (null).
REDACTED_EMAIL = order(
    5501000000000000110,
    name="#1010",
    created="2026-03-09T12:10:00Z",
    updated="2026-03-09T12:10:05Z",
    total="49.95",
    customer=customer(7701000000000000010, None, None, None),  # type: ignore[arg-type]
    email=None,
    lines=[line(5501000000000010001, 1, "45.00")],
)

# order-cancelled-refunded.json: cancelled, 80.00 and 6.00 shipping refunded.
CANCELLED = order(
    5501000000000000111,
    name="#1011",
    created="2026-03-10T15:00:00Z",
    updated="2026-03-10T20:00:02Z",
    cancelled="2026-03-10T20:00:00Z",
    total="86.00",
    status="REFUNDED",
    customer=customer(7701000000000000011, "gus@example.org", "Gus", "Grey"),
    email="gus@example.org",
    lines=[line(5501000000000011001, 1, "80.00", current=0)],
    refunds=[
        refund(
            9301000000000000111,
            "2026-03-10T20:00:00Z",
            lines=[refund_line(5501000000000011001, 1, "80.00", "0.00")],
            transactions=[transaction("86.00")],
            adjustments=[
                {
                    "reason": "SHIPPING_REFUND",
                    "amountSet": bag("-6.00"),
                    "taxAmountSet": bag("0.00"),
                }
            ],
        )
    ],
)

# order-updated-edited-unpaid.json: 3 bowls, one removed by an edit (no
# refund), pending: UPDATED with 2 x 30.00 - 6.00 x 2/3 = 56.00.
EDITED_UNPAID = order(
    5501000000000000112,
    name="#1012",
    created="2026-03-11T14:00:00Z",
    updated="2026-03-11T14:40:00Z",
    total="56.00",
    status="PENDING",
    customer=customer(7701000000000000012, "hana@example.org", "Hana", "Sato"),
    email="hana@example.org",
    codes=("BOWLS10",),
    lines=[line(5501000000000012001, 3, "30.00", current=2, discounts=("6.00",))],
)

GOLDEN = [
    ("order-paid-taxes-excluded.json", TAXES_EXCLUDED),
    ("order-paid-taxes-included-eur.json", TAXES_INCLUDED_EUR),
    ("order-create-gift-card.json", GIFT_CARD),
    ("order-updated-multicurrency-amount-refund.json", MULTICURRENCY),
    ("order-paid-jpy.json", JPY),
    ("order-updated-partial-refund.json", PARTIAL_REFUND),
    ("order-create-guest-pending.json", GUEST_PENDING),
    ("order-paid-redacted-email.json", REDACTED_EMAIL),
    ("order-cancelled-refunded.json", CANCELLED),
    ("order-updated-edited-unpaid.json", EDITED_UNPAID),
]


@pytest.mark.parametrize(("payload", "node"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_graphql_node_maps_like_the_rest_payload(
    payload: str, node: dict[str, Any]
) -> None:
    assert events(node) == mapping.order_events(TOPIC, rest(payload))


def who(external_id: str | None, email: str | None) -> CustomerRef:
    return CustomerRef(platform="shopify", external_id=external_id, email=email)


def test_partial_refund_events_exactly() -> None:
    finn = who("7701000000000000006", "finn@example.org")
    common: dict[str, Any] = {
        "platform": "shopify",
        "order_ref": "5501000000000000106",
        "customer": finn,
        "currency": "USD",
        "eligible_minor": 9000,
        "updated_at": datetime(2026, 3, 12, 15, 5, 2, tzinfo=UTC),
        "total_minor": 10400,
        "name": "#1006",
    }
    assert events(PARTIAL_REFUND) == [
        OrderEvent(
            kind=OrderEventKind.PAID,
            occurred_at=datetime(2026, 3, 7, 17, 0, tzinfo=UTC),
            discount_codes=("COFFEE10",),
            **common,
        ),
        OrderEvent(
            kind=OrderEventKind.REFUNDED,
            occurred_at=datetime(2026, 3, 12, 15, 5, tzinfo=UTC),
            refund_ref="9301000000000000106",
            refunded_minor=1800,
            **common,
        ),
    ]


def test_cancelled_order_refunds_then_cancels() -> None:
    refunded, cancelled = events(CANCELLED)
    assert refunded.kind is OrderEventKind.REFUNDED
    assert (refunded.refunded_minor, refunded.unallocated_refund_minor) == (8000, 0)
    assert cancelled.kind is OrderEventKind.CANCELLED
    assert cancelled.occurred_at == datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    assert cancelled.eligible_minor == 8000


def test_amount_only_refund_in_shop_money() -> None:
    paid, refunded = events(MULTICURRENCY)
    assert (paid.kind, paid.currency, paid.eligible_minor) == (
        OrderEventKind.PAID,
        "CAD",
        25500,
    )
    # 45.00 CAD of money, no lines, no shipping: unallocated, converted later.
    assert (refunded.refunded_minor, refunded.unallocated_refund_minor) == (0, 4500)
    assert "unconverted_refund" not in refunded.extra


def test_amounts_of_the_other_goldens() -> None:
    assert [e.eligible_minor for e in events(TAXES_EXCLUDED)] == [8000]
    assert [e.eligible_minor for e in events(TAXES_INCLUDED_EUR)] == [8000]
    assert [e.eligible_minor for e in events(GIFT_CARD)] == [3000]
    assert [e.eligible_minor for e in events(JPY)] == [5455]
    (guest,) = events(GUEST_PENDING)
    assert (guest.kind, guest.customer) == (
        OrderEventKind.UPDATED,
        who(None, "guest@example.net"),
    )
    (redacted,) = events(REDACTED_EMAIL)
    assert redacted.customer == who("7701000000000000010", None)
    (edited,) = events(EDITED_UNPAID)
    assert (edited.kind, edited.eligible_minor) == (OrderEventKind.UPDATED, 5600)


def test_shipping_returned_by_refund_shipping_lines_is_not_merchandise() -> None:
    node = order(
        42,
        name="#42",
        created="2026-03-01T10:00:00Z",
        updated="2026-03-02T10:00:00Z",
        total="55.00",
        status="PARTIALLY_REFUNDED",
        customer=customer(43, "x@example.org", "X", "Y"),
        email="x@example.org",
        lines=[line(44, 1, "50.00")],
        refunds=[
            refund(
                45,
                "2026-03-02T09:59:00Z",
                transactions=[transaction("12.00")],
                shipping_lines=[
                    {
                        "subtotalAmountSet": bag("4.00"),
                        "taxAmountSet": bag("1.00"),
                    }
                ],
            )
        ],
    )
    _, refunded = events(node)
    assert refunded.unallocated_refund_minor == 700  # 12.00 - 5.00 shipping


def test_test_orders_are_marked_not_dropped() -> None:
    node = {**TAXES_EXCLUDED, "test": True}
    (paid,) = events(node)
    assert paid.extra == {"test": "true"}
    assert mapping.is_test_order(rest_order(node))


def test_ids_stay_exact_and_status_is_lower_case() -> None:
    body = rest_order(PARTIAL_REFUND)
    assert body["id"] == "5501000000000000106"
    assert body["admin_graphql_api_id"] == "gid://shopify/Order/5501000000000000106"
    assert body["financial_status"] == "partially_refunded"
    assert body["customer"]["id"] == "7701000000000000006"
    assert body["refunds"][0]["order_id"] == "5501000000000000106"
    assert body["refunds"][0]["transactions"] == [
        {"kind": "refund", "status": "success", "amount": "19.80", "currency": "USD"}
    ]
    order_model = parse_order(body)
    assert order_model.line_items[0].shop_price == order_model.line_items[0].price


def test_edges_are_read_like_nodes() -> None:
    node = dict(TAXES_EXCLUDED)
    nodes = TAXES_EXCLUDED["lineItems"]["nodes"]
    node["lineItems"] = {"edges": [{"cursor": "c", "node": n} for n in nodes]}
    assert events(node) == events(TAXES_EXCLUDED)


def test_a_node_without_its_gid_is_refused() -> None:
    with pytest.raises(ShopifyPayloadError):
        rest_order({**TAXES_EXCLUDED, "id": "5501000000000000101"})
    with pytest.raises(ShopifyPayloadError):
        rest_order([])  # type: ignore[arg-type]


def test_fragments_are_valid_against_the_fake_schema() -> None:
    """The fragments parse and validate in a query (as the client sends them)."""
    queries = [
        "query { orders(first: 1) { nodes { ...LadderOrder } } }"
        + graphql_orders.ORDER_FIELDS,
        'query { nodes(ids: ["x"]) { ...LadderRefund } }'
        + graphql_orders.REFUND_FIELDS,
    ]
    for query in queries:
        assert graphql.validate(SCHEMA, graphql.parse(query)) == []

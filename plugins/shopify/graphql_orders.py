"""GraphQL Admin `Order` nodes -> the REST-shaped dicts `mapping` reads.

The backfill reads orders over GraphQL (REST Admin is legacy, platforms.md §4)
while webhooks carry the REST resource (§5). Rather than a second mapping, a
GraphQL node is rewritten into the REST shape `payloads.Order` parses, and the
one mapping (`mapping.order_events`) decides what it means: a webhook and a
backfill of the same order give the same events.

The fragments below are the fields read, and all of them. They are split so
that the page query stays under Shopify's single-query cost limit (1000 points;
a connection costs about `first` times its node, platforms.md §4):

- `ORDER_FIELDS` (one order of a page) selects only the first
  `PAGE_LINE_ITEMS` line items and the ids of the refunds;
- `LINE_ITEM_FIELDS` and `REFUND_FIELDS` are fetched separately for the orders
  that need more (client.py completes each node before calling `rest_order`).

Correspondence (GraphQL -> REST):
- ids: the gid is kept as `admin_graphql_api_id`, its numeric tail (text, so
  64-bit ids stay exact) as `id`;
- `displayFinancialStatus` PARTIALLY_REFUNDED -> `financial_status`
  "partially_refunded"; enums are lower-cased the same way elsewhere;
- money: `fooSet { shopMoney { amount currencyCode } }` -> `foo_set` with
  `shop_money`, and the bare `foo` as the shop amount;
- `discountCodes: [String]` -> `discount_codes: [{code}]`;
- `isGiftCard` -> `gift_card`, `originalUnitPriceSet` -> `price_set`,
  `currentQuantity` -> `current_quantity`;
- refunds: GraphQL has no `processedAt` on a Refund, so `created_at` dates the
  REFUNDED event (REST gives both, equal in every sample);
- refund transactions: `amountSet.shopMoney`, i.e. shop money with the shop
  currency (REST gives the presentment money, which the mapping converts at the
  order's own rate: shop money is the same number, or more exact);
- `orderAdjustments[].reason` SHIPPING_REFUND -> `order_adjustments[].kind`
  "shipping_refund"; `refundShippingLines` -> `refund_shipping_lines`.
"""

from collections.abc import Mapping
from typing import Any

from plugins.shopify.payloads import ShopifyPayloadError, gid_tail

# Line items selected with each order of a page; orders with more are completed
# with LINE_ITEMS_QUERY-style follow-ups (client.py).
PAGE_LINE_ITEMS = 10

_SHOP_MONEY = "shopMoney { amount currencyCode }"

LINE_ITEM_FIELDS = f"""
fragment LadderLineItem on LineItem {{
  id
  quantity
  currentQuantity
  isGiftCard
  originalUnitPriceSet {{ {_SHOP_MONEY} }}
  discountAllocations {{ allocatedAmountSet {{ {_SHOP_MONEY} }} }}
  taxLines {{ priceSet {{ {_SHOP_MONEY} }} }}
}}
"""

# Nested connections of a refund, with the page size each is read by; any that
# has more is completed by the client.
REFUND_CONNECTIONS = {
    "refundLineItems": 20,
    "transactions": 5,
    "orderAdjustments": 5,
    "refundShippingLines": 5,
}

REFUND_LINE_ITEM_FIELDS = f"""
fragment LadderRefundLineItem on RefundLineItem {{
  quantity
  lineItem {{ id isGiftCard }}
  subtotalSet {{ {_SHOP_MONEY} }}
  totalTaxSet {{ {_SHOP_MONEY} }}
}}
"""

TRANSACTION_FIELDS = f"""
fragment LadderTransaction on OrderTransaction {{
  kind
  status
  amountSet {{ {_SHOP_MONEY} }}
}}
"""

ORDER_ADJUSTMENT_FIELDS = f"""
fragment LadderOrderAdjustment on OrderAdjustment {{
  reason
  amountSet {{ {_SHOP_MONEY} }}
  taxAmountSet {{ {_SHOP_MONEY} }}
}}
"""

REFUND_SHIPPING_LINE_FIELDS = f"""
fragment LadderRefundShippingLine on RefundShippingLine {{
  subtotalAmountSet {{ {_SHOP_MONEY} }}
  taxAmountSet {{ {_SHOP_MONEY} }}
}}
"""

# The fragment that reads each nested connection's nodes, by connection.
NODE_FRAGMENTS = {
    "lineItems": ("LadderLineItem", LINE_ITEM_FIELDS),
    "refundLineItems": ("LadderRefundLineItem", REFUND_LINE_ITEM_FIELDS),
    "transactions": ("LadderTransaction", TRANSACTION_FIELDS),
    "orderAdjustments": ("LadderOrderAdjustment", ORDER_ADJUSTMENT_FIELDS),
    "refundShippingLines": ("LadderRefundShippingLine", REFUND_SHIPPING_LINE_FIELDS),
}

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"


def _refund_connection(name: str) -> str:
    fragment = NODE_FRAGMENTS[name][0]
    first = REFUND_CONNECTIONS[name]
    return f"{name}(first: {first}) {{ {_PAGE_INFO} nodes {{ ...{fragment} }} }}"


REFUND_FIELDS = (
    """
fragment LadderRefund on Refund {
  id
  createdAt
"""
    + "\n".join(f"  {_refund_connection(name)}" for name in REFUND_CONNECTIONS)
    + "\n}\n"
    + REFUND_LINE_ITEM_FIELDS
    + TRANSACTION_FIELDS
    + ORDER_ADJUSTMENT_FIELDS
    + REFUND_SHIPPING_LINE_FIELDS
)

ORDER_FIELDS = (
    f"""
fragment LadderOrder on Order {{
  id
  name
  createdAt
  processedAt
  updatedAt
  cancelledAt
  displayFinancialStatus
  test
  taxesIncluded
  currencyCode
  presentmentCurrencyCode
  email
  totalPriceSet {{ {_SHOP_MONEY} }}
  customer {{ id email firstName lastName }}
  discountCodes
  lineItems(first: {PAGE_LINE_ITEMS}) {{ {_PAGE_INFO} nodes {{ ...LadderLineItem }} }}
  refunds {{ id }}
}}
"""
    + LINE_ITEM_FIELDS
)


# --- conversion ---------------------------------------------------------------


def _nodes(connection: Any) -> list[Mapping[str, Any]]:
    """The nodes of a connection (`nodes` or `edges[].node`) or of a plain list."""
    if connection is None:
        return []
    if isinstance(connection, list):
        return [item for item in connection if isinstance(item, Mapping)]
    if not isinstance(connection, Mapping):
        raise ShopifyPayloadError(f"not a GraphQL connection: {connection!r}")
    if connection.get("nodes") is not None:
        return [item for item in connection["nodes"] if isinstance(item, Mapping)]
    edges = connection.get("edges") or []
    return [edge["node"] for edge in edges if isinstance(edge, Mapping)]


def _money_set(bag: Any) -> dict[str, Any] | None:
    """`{shopMoney{amount currencyCode}}` -> `{shop_money{amount currency_code}}`."""
    if not isinstance(bag, Mapping):
        return None
    out: dict[str, Any] = {}
    for graphql_key, rest_key in (
        ("shopMoney", "shop_money"),
        ("presentmentMoney", "presentment_money"),
    ):
        money = bag.get(graphql_key)
        if isinstance(money, Mapping):
            out[rest_key] = {
                "amount": money.get("amount"),
                "currency_code": money.get("currencyCode"),
            }
    return out if "shop_money" in out else None


def _shop_amount(bag: Mapping[str, Any] | None) -> Any:
    return bag["shop_money"]["amount"] if bag is not None else None


def _ids(gid: Any) -> dict[str, Any]:
    """`gid://shopify/Order/123` -> {"id": "123", "admin_graphql_api_id": gid}."""
    if not isinstance(gid, str) or gid_tail(gid) is None:
        raise ShopifyPayloadError(f"not a Shopify gid: {gid!r}")
    return {"id": gid_tail(gid), "admin_graphql_api_id": gid}


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _line_item(node: Mapping[str, Any]) -> dict[str, Any]:
    price_set = _money_set(node.get("originalUnitPriceSet"))
    allocations = []
    for allocation in node.get("discountAllocations") or []:
        bag = _money_set(allocation.get("allocatedAmountSet"))
        allocations.append({"amount": _shop_amount(bag), "amount_set": bag})
    taxes = []
    for tax in _nodes(node.get("taxLines")):
        bag = _money_set(tax.get("priceSet"))
        taxes.append({"price": _shop_amount(bag), "price_set": bag})
    return {
        **_ids(node.get("id")),
        "quantity": node.get("quantity"),
        "current_quantity": node.get("currentQuantity"),
        "gift_card": bool(node.get("isGiftCard")),
        "price": _shop_amount(price_set),
        "price_set": price_set,
        "discount_allocations": allocations,
        "tax_lines": taxes,
    }


def _refund_line(node: Mapping[str, Any]) -> dict[str, Any]:
    subtotal = _money_set(node.get("subtotalSet"))
    tax = _money_set(node.get("totalTaxSet"))
    line = node.get("lineItem")
    out: dict[str, Any] = {
        "quantity": node.get("quantity") or 0,
        "subtotal": _shop_amount(subtotal),
        "subtotal_set": subtotal,
        "total_tax": _shop_amount(tax),
        "total_tax_set": tax,
    }
    if isinstance(line, Mapping):
        ids = _ids(line.get("id"))
        out["line_item_id"] = ids["id"]
        out["line_item"] = {**ids, "gift_card": bool(line.get("isGiftCard"))}
    return out


def _transaction(node: Mapping[str, Any]) -> dict[str, Any]:
    bag = _money_set(node.get("amountSet"))
    return {
        "kind": _lower(node.get("kind")),
        "status": _lower(node.get("status")),
        "amount": _shop_amount(bag),
        "currency": bag["shop_money"]["currency_code"] if bag else None,
    }


def _adjustment(node: Mapping[str, Any]) -> dict[str, Any]:
    amount = _money_set(node.get("amountSet"))
    tax = _money_set(node.get("taxAmountSet"))
    return {
        "kind": _lower(node.get("reason")),
        "amount": _shop_amount(amount),
        "amount_set": amount,
        "tax_amount": _shop_amount(tax),
        "tax_amount_set": tax,
    }


def _refund_shipping_line(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "subtotal_amount_set": _money_set(node.get("subtotalAmountSet")),
        "tax_amount_set": _money_set(node.get("taxAmountSet")),
    }


def rest_refund(node: Mapping[str, Any], *, order_id: str | None) -> dict[str, Any]:
    """A GraphQL `Refund` node -> the REST refund (an entry of `order.refunds`)."""
    return {
        **_ids(node.get("id")),
        "order_id": order_id,
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "refund_line_items": [
            _refund_line(line) for line in _nodes(node.get("refundLineItems"))
        ],
        "transactions": [_transaction(t) for t in _nodes(node.get("transactions"))],
        "order_adjustments": [
            _adjustment(a) for a in _nodes(node.get("orderAdjustments"))
        ],
        "refund_shipping_lines": [
            _refund_shipping_line(s) for s in _nodes(node.get("refundShippingLines"))
        ],
    }


def rest_order(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL Admin `Order` node (`ORDER_FIELDS`, refunds as `REFUND_FIELDS`)
    -> the REST Order dict `mapping.order_events` reads.

    Pure; raises ShopifyPayloadError when the node lacks its gid. Fields the
    node does not carry are left out, so `payloads` applies its defaults.
    """
    if not isinstance(node, Mapping):
        raise ShopifyPayloadError("a GraphQL order node must be an object")
    ids = _ids(node.get("id"))
    total = _money_set(node.get("totalPriceSet"))
    customer = node.get("customer")
    rest_customer = None
    if isinstance(customer, Mapping):
        rest_customer = {
            **_ids(customer.get("id")),
            "email": customer.get("email"),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
        }
    currency = node.get("currencyCode") or (
        total["shop_money"]["currency_code"] if total else None
    )
    return {
        **ids,
        "name": node.get("name"),
        "email": node.get("email"),
        "currency": currency,
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "test": bool(node.get("test")),
        "taxes_included": bool(node.get("taxesIncluded")),
        "total_price": _shop_amount(total),
        "total_price_set": total,
        "customer": rest_customer,
        "discount_codes": [
            {"code": code}
            for code in node.get("discountCodes") or []
            if isinstance(code, str)
        ],
        "line_items": [_line_item(line) for line in _nodes(node.get("lineItems"))],
        "refunds": [
            rest_refund(refund, order_id=ids["id"])
            for refund in _nodes(node.get("refunds"))
        ],
    }

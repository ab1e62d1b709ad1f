"""A fake Shopify Admin API: an `httpx.MockTransport` handler that behaves like
the real one where Ladder depends on it (platforms.md §3, §4, §6).

    fake = FakeShopifyAdmin(orders=5000)
    http = fake.http()                       # httpx.AsyncClient on the fake
    admin = fake.admin(http)                 # ShopifyAdmin on the fake clock

What it does:
- GraphQL at `/admin/api/{version}/graphql.json`: every query is parsed and
  validated against `SDL` (a subset of the Admin schema, written from the
  documentation) and executed with graphql-core, so a field or input the real
  schema lacks fails here too.
- Orders: `orders(first, after, sortKey, reverse, query)` with opaque base64
  cursors, sort keys UPDATED_AT / CREATED_AT / PROCESSED_AT / ID (ties by id),
  `first` at most 250, and search terms `updated_at:` / `created_at:` with
  `>=`, `>`, `<=`, `<` (anything else is an error, so a typo cannot silently
  return everything). `node`, `nodes(ids:)`, `refund(id:)`, `order(id:)`.
- Cost (leaky bucket): requested cost from the query (scalars 0, objects 1, a
  connection 2 + first x its node, a list with `first` first x its item,
  `nodes(ids:)` one per id, a mutation 10); MAX_COST_EXCEEDED above
  `max_query_cost`; THROTTLED when the bucket holds less than the requested
  cost; otherwise the requested cost is taken and the difference to the actual
  cost (objects returned) given back. The bucket refills at `restore_rate` on a
  fake clock that only moves when `sleep` is awaited (or `advance` is called).
- Failures on demand: `fail_next(status=503, times=2, retry_after="2")`,
  `fail_transport(times=1)`; `revoke()` makes every token 401.
- OAuth at `/admin/oauth/access_token`: code exchange (single-use codes from
  `issue_code`), expiring offline tokens (expire on the fake clock) with
  refresh; the previous refresh token works until the new one is used.
- Mutations: webhookSubscriptionCreate (duplicate address -> the "already been
  taken" userError), discountCodeBasicCreate / discountCodeFreeShippingCreate
  (codes unique case-insensitively: TAKEN), codeDiscountNodeByCode,
  webhookSubscriptions.
- Counters for assertions: `calls` (root fields), `statuses`, `throttled`,
  `max_cost_exceeded`, `sleeps`, `page_sizes`, `token_requests`.

The orders are generated deterministically from REST-like facts (amounts that
add up, customers, guests, discounts, taxes included or not, gift cards,
partial / amount-only / full refunds, cancellations, test orders, orders with
more line items than one page). Each order is served as a GraphQL node and can
also be rendered as the REST payload a webhook would carry (`rest_payload`).
"""

import base64
import binascii
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl

import graphql
import httpx
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

from plugins.shopify.client import ShopifyAdmin

SHOP = "ladder-test.myshopify.com"
API_VERSION = "2025-10"
TOKEN = "shpat_fake_offline_token"
API_KEY = "fake-api-key"
API_SECRET = "fake-api-secret"
SCOPES = "read_orders,read_all_orders,read_customers,write_discounts"
AUTH_CODE = "fake-authorization-code"
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMER_BASE = 7_700_000_000_000_000_000  # ids above 2**53, as real ones are
ORDER_BASE = 5_600_000_000_000_000_000
LINE_BASE = 5_700_000_000_000_000_000
REFUND_BASE = 9_300_000_000_000_000_000
CENT = Decimal("0.01")
MUTATION_COST = 10

SDL = """
schema { query: QueryRoot mutation: Mutation }

scalar DateTime
scalar Decimal
scalar URL

interface Node { id: ID! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

enum CurrencyCode { USD EUR CAD GBP JPY }
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

enum OrderDisplayFinancialStatus {
  PENDING AUTHORIZED PARTIALLY_PAID PARTIALLY_REFUNDED VOIDED PAID REFUNDED EXPIRED
}
enum OrderSortKeys {
  CREATED_AT CUSTOMER_NAME FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER
  PROCESSED_AT RELEVANCE TOTAL_PRICE UPDATED_AT
}
enum OrderTransactionKind {
  SALE CAPTURE AUTHORIZATION VOID REFUND CHANGE EMV_AUTHORIZATION SUGGESTED_REFUND
}
enum OrderTransactionStatus {
  SUCCESS FAILURE PENDING ERROR AWAITING_RESPONSE UNKNOWN
}
enum OrderAdjustmentKind {
  SHIPPING_REFUND REFUND_DISCREPANCY RESTOCKING_FEE RETURN_SHIPPING_FEE
}

type Customer implements Node {
  id: ID!
  email: String
  firstName: String
  lastName: String
}

type DiscountAllocation { allocatedAmountSet: MoneyBag! }
type TaxLine { priceSet: MoneyBag! rate: Float title: String! }

type LineItem implements Node {
  id: ID!
  name: String!
  quantity: Int!
  currentQuantity: Int!
  isGiftCard: Boolean!
  originalUnitPriceSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]!
  taxLines(first: Int): [TaxLine!]!
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection {
  edges: [LineItemEdge!]!
  nodes: [LineItem!]!
  pageInfo: PageInfo!
}

type RefundLineItem {
  id: ID!
  quantity: Int!
  lineItem: LineItem!
  subtotalSet: MoneyBag!
  totalTaxSet: MoneyBag!
}
type RefundLineItemEdge { cursor: String! node: RefundLineItem! }
type RefundLineItemConnection {
  edges: [RefundLineItemEdge!]!
  nodes: [RefundLineItem!]!
  pageInfo: PageInfo!
}

type OrderTransaction implements Node {
  id: ID!
  kind: OrderTransactionKind!
  status: OrderTransactionStatus!
  gateway: String
  amountSet: MoneyBag!
}
type OrderTransactionEdge { cursor: String! node: OrderTransaction! }
type OrderTransactionConnection {
  edges: [OrderTransactionEdge!]!
  nodes: [OrderTransaction!]!
  pageInfo: PageInfo!
}

type OrderAdjustment implements Node {
  id: ID!
  reason: OrderAdjustmentKind
  amountSet: MoneyBag!
  taxAmountSet: MoneyBag!
}
type OrderAdjustmentEdge { cursor: String! node: OrderAdjustment! }
type OrderAdjustmentConnection {
  edges: [OrderAdjustmentEdge!]!
  nodes: [OrderAdjustment!]!
  pageInfo: PageInfo!
}

type RefundShippingLine {
  id: ID!
  subtotalAmountSet: MoneyBag!
  taxAmountSet: MoneyBag!
}
type RefundShippingLineEdge { cursor: String! node: RefundShippingLine! }
type RefundShippingLineConnection {
  edges: [RefundShippingLineEdge!]!
  nodes: [RefundShippingLine!]!
  pageInfo: PageInfo!
}

type Refund implements Node {
  id: ID!
  createdAt: DateTime
  updatedAt: DateTime!
  note: String
  totalRefundedSet: MoneyBag!
  refundLineItems(first: Int, after: String): RefundLineItemConnection!
  transactions(first: Int, after: String): OrderTransactionConnection!
  orderAdjustments(first: Int, after: String): OrderAdjustmentConnection!
  refundShippingLines(first: Int, after: String): RefundShippingLineConnection!
}

type Order implements Node {
  id: ID!
  name: String!
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  displayFinancialStatus: OrderDisplayFinancialStatus
  test: Boolean!
  taxesIncluded: Boolean!
  currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode!
  email: String
  totalPriceSet: MoneyBag!
  customer: Customer
  discountCodes: [String!]!
  lineItems(first: Int, after: String): LineItemConnection!
  refunds(first: Int): [Refund!]!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection {
  edges: [OrderEdge!]!
  nodes: [Order!]!
  pageInfo: PageInfo!
}

enum DiscountBuyerSelection { ALL }
input DiscountCustomersInput { add: [ID!] remove: [ID!] }
input DiscountCustomerSegmentsInput { add: [ID!] remove: [ID!] }
input DiscountContextInput {
  all: DiscountBuyerSelection
  customers: DiscountCustomersInput
  customerSegments: DiscountCustomerSegmentsInput
}
input DiscountAmountInput { amount: Decimal appliesOnEachItem: Boolean }
input DiscountOnQuantityInput { quantity: String effect: DiscountEffectInput }
input DiscountEffectInput { percentage: Float amount: Decimal }
input DiscountCustomerGetsValueInput {
  discountOnQuantity: DiscountOnQuantityInput
  percentage: Float
  discountAmount: DiscountAmountInput
}
input DiscountProductsInput {
  productsToAdd: [ID!]
  productsToRemove: [ID!]
  productVariantsToAdd: [ID!]
  productVariantsToRemove: [ID!]
}
input DiscountCollectionsInput { add: [ID!] remove: [ID!] }
input DiscountItemsInput {
  all: Boolean
  products: DiscountProductsInput
  collections: DiscountCollectionsInput
}
input DiscountCustomerGetsInput {
  value: DiscountCustomerGetsValueInput
  items: DiscountItemsInput
  appliesOnOneTimePurchase: Boolean
  appliesOnSubscription: Boolean
}
input DiscountMinimumQuantityInput { greaterThanOrEqualToQuantity: String }
input DiscountMinimumSubtotalInput { greaterThanOrEqualToSubtotal: Decimal }
input DiscountMinimumRequirementInput {
  quantity: DiscountMinimumQuantityInput
  subtotal: DiscountMinimumSubtotalInput
}
input DiscountCombinesWithInput {
  productDiscounts: Boolean
  orderDiscounts: Boolean
  shippingDiscounts: Boolean
}
input DiscountCodeBasicInput {
  title: String
  code: String
  startsAt: DateTime
  endsAt: DateTime
  context: DiscountContextInput
  customerGets: DiscountCustomerGetsInput
  minimumRequirement: DiscountMinimumRequirementInput
  usageLimit: Int
  appliesOncePerCustomer: Boolean
  combinesWith: DiscountCombinesWithInput
  recurringCycleLimit: Int
}
input DiscountShippingDestinationSelectionInput { all: Boolean }
input DiscountCodeFreeShippingInput {
  title: String
  code: String
  startsAt: DateTime
  endsAt: DateTime
  context: DiscountContextInput
  destination: DiscountShippingDestinationSelectionInput
  maximumShippingPrice: Decimal
  minimumRequirement: DiscountMinimumRequirementInput
  usageLimit: Int
  appliesOncePerCustomer: Boolean
  appliesOnOneTimePurchase: Boolean
  appliesOnSubscription: Boolean
  combinesWith: DiscountCombinesWithInput
  recurringCycleLimit: Int
}

enum DiscountErrorCode {
  BLANK INVALID TAKEN VALUE_OUTSIDE_RANGE MISSING_ARGUMENT TOO_LONG
}
type DiscountUserError {
  code: DiscountErrorCode
  extraInfo: String
  field: [String!]
  message: String!
}
type DiscountCodeBasic {
  title: String!
  usageLimit: Int
  appliesOncePerCustomer: Boolean!
  startsAt: DateTime!
  endsAt: DateTime
}
type DiscountCodeFreeShipping {
  title: String!
  usageLimit: Int
  appliesOncePerCustomer: Boolean!
  startsAt: DateTime!
  endsAt: DateTime
}
union DiscountCode = DiscountCodeBasic | DiscountCodeFreeShipping
type DiscountCodeNode implements Node { id: ID! codeDiscount: DiscountCode! }
type DiscountCodeBasicCreatePayload {
  codeDiscountNode: DiscountCodeNode
  userErrors: [DiscountUserError!]!
}
type DiscountCodeFreeShippingCreatePayload {
  codeDiscountNode: DiscountCodeNode
  userErrors: [DiscountUserError!]!
}

enum WebhookSubscriptionTopic {
  APP_UNINSTALLED CUSTOMERS_CREATE CUSTOMERS_UPDATE CUSTOMERS_DELETE
  ORDERS_CREATE ORDERS_UPDATED ORDERS_PAID ORDERS_CANCELLED ORDERS_FULFILLED
  ORDERS_PARTIALLY_FULFILLED ORDERS_DELETE REFUNDS_CREATE SHOP_UPDATE
}
enum WebhookSubscriptionFormat { JSON XML }
input WebhookSubscriptionInput {
  uri: String
  callbackUrl: URL
  format: WebhookSubscriptionFormat
  includeFields: [String!]
  filter: String
  metafieldNamespaces: [String!]
}
type WebhookSubscription implements Node {
  id: ID!
  topic: WebhookSubscriptionTopic!
  uri: String!
  format: WebhookSubscriptionFormat!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  edges: [WebhookSubscriptionEdge!]!
  nodes: [WebhookSubscription!]!
  pageInfo: PageInfo!
}
type UserError { field: [String!] message: String! }
type WebhookSubscriptionCreatePayload {
  userErrors: [UserError!]!
  webhookSubscription: WebhookSubscription
}

type QueryRoot {
  orders(
    first: Int
    after: String
    last: Int
    before: String
    reverse: Boolean = false
    sortKey: OrderSortKeys = PROCESSED_AT
    query: String
  ): OrderConnection!
  order(id: ID!): Order
  refund(id: ID!): Refund
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  codeDiscountNodeByCode(code: String!): DiscountCodeNode
  webhookSubscriptions(
    first: Int
    after: String
    topics: [WebhookSubscriptionTopic!]
  ): WebhookSubscriptionConnection!
}

type Mutation {
  discountCodeBasicCreate(
    basicCodeDiscount: DiscountCodeBasicInput!
  ): DiscountCodeBasicCreatePayload
  discountCodeFreeShippingCreate(
    freeShippingCodeDiscount: DiscountCodeFreeShippingInput!
  ): DiscountCodeFreeShippingCreatePayload
  webhookSubscriptionCreate(
    topic: WebhookSubscriptionTopic!
    webhookSubscription: WebhookSubscriptionInput!
  ): WebhookSubscriptionCreatePayload
}
"""

SCHEMA = graphql.build_schema(SDL)


# --- facts ------------------------------------------------------------------------


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass
class FakeCustomer:
    id: int
    email: str | None
    first_name: str
    last_name: str


@dataclass
class FakeLine:
    id: int
    title: str
    quantity: int
    price: Decimal
    discount: Decimal = Decimal(0)  # allocations over the whole line
    tax: Decimal = Decimal(0)  # over the whole line
    tax_rate: Decimal = Decimal(0)
    gift_card: bool = False
    current_quantity: int = -1

    def __post_init__(self) -> None:
        if self.current_quantity < 0:
            self.current_quantity = self.quantity

    @property
    def net(self) -> Decimal:
        return self.price * self.quantity - self.discount


@dataclass
class FakeRefundLine:
    line: FakeLine
    quantity: int
    subtotal: Decimal  # after discount; with tax when the order's prices have it
    tax: Decimal


@dataclass
class FakeRefund:
    id: int
    created_at: datetime
    lines: list[FakeRefundLine] = field(default_factory=list)
    amount: Decimal = Decimal(0)  # the refund transaction
    shipping: Decimal = Decimal(0)  # shipping returned (an order adjustment)


@dataclass
class FakeOrder:
    number: int
    id: int
    created_at: datetime
    updated_at: datetime
    customer: FakeCustomer | None
    email: str | None
    lines: list[FakeLine]
    shipping: Decimal
    taxes_included: bool = False
    test: bool = False
    financial_status: str = "PAID"
    cancelled_at: datetime | None = None
    refunds: list[FakeRefund] = field(default_factory=list)
    discount_codes: list[str] = field(default_factory=list)
    currency: str = "USD"

    @property
    def gid(self) -> str:
        return gid("Order", self.id)

    @property
    def name(self) -> str:
        return f"#{1001 + self.number}"

    @property
    def processed_at(self) -> datetime:
        return self.created_at

    @property
    def total(self) -> Decimal:
        merchandise = sum((line.net for line in self.lines), Decimal(0))
        taxes = sum((line.tax for line in self.lines), Decimal(0))
        return (
            merchandise
            + (Decimal(0) if self.taxes_included else taxes)
            + (self.shipping)
        )


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low, high)) / 100


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def generate_orders(count: int, *, seed: int = 4) -> list[FakeOrder]:
    """`count` deterministic orders (see the module docs for the mix)."""
    rng = random.Random(seed)
    orders: list[FakeOrder] = []
    line_ids = iter(range(LINE_BASE, LINE_BASE + 10**9))
    refund_ids = iter(range(REFUND_BASE, REFUND_BASE + 10**9))
    for i in range(count):
        created = BASE_TIME + timedelta(minutes=10 * i)
        updated = created + timedelta(seconds=rng.randrange(0, 40 * 86400))
        if i % 97 == 1 and orders:
            updated = max(orders[-1].updated_at, created)  # ties on updated_at
        customer = None
        email: str | None = f"guest{i}@example.org"
        if i % 11 != 0:
            k = i % 400
            customer = FakeCustomer(
                id=CUSTOMER_BASE + k,
                email=None if k % 37 == 0 else f"member{k}@example.org",
                first_name=f"Member{k}",
                last_name="Tester",
            )
            email = customer.email
        taxes_included = i % 7 == 0
        rate = Decimal("0.20") if taxes_included else Decimal("0.08")
        line_count = 25 if i % 1000 == 9 else 12 if i % 13 == 0 else rng.randint(1, 3)
        discounted = i % 5 == 0
        lines = []
        for n in range(line_count):
            gift_card = i % 17 == 0 and n == 0
            price = _cents(rng, 500, 15000)
            quantity = rng.randint(1, 3)
            line = FakeLine(
                id=next(line_ids),
                title=f"Product {n}",
                quantity=quantity,
                price=price,
                gift_card=gift_card,
            )
            if discounted and not gift_card:
                line.discount = _q(price * quantity / 10)
            if not gift_card:
                line.tax_rate = rate
                line.tax = _q(
                    line.net * rate / (1 + rate) if taxes_included else line.net * rate
                )
            lines.append(line)
        order = FakeOrder(
            number=i,
            id=ORDER_BASE + i,
            created_at=created,
            updated_at=updated,
            customer=customer,
            email=email,
            lines=lines,
            shipping=Decimal("4.90") if i % 3 else Decimal(0),
            taxes_included=taxes_included,
            test=i % 50 == 3,
            discount_codes=["SAVE10"] if discounted else [],
        )
        if i % 40 == 9:
            _cancel(order, next(refund_ids))
        elif i % 10 == 4:
            _refund_unit(order, next(refund_ids), first=True)
            if i % 3 == 0:
                _refund_unit(order, next(refund_ids), first=False)
        elif i % 29 == 5:
            _refund_amount(order, next(refund_ids), Decimal("5.00"))
        elif i % 23 == 0:
            order.financial_status = "PENDING"
        orders.append(order)
    return orders


def _unit_refund(order: FakeOrder, line: FakeLine, quantity: int) -> FakeRefundLine:
    share = Decimal(quantity) / Decimal(line.quantity)
    subtotal = _q(line.net * share)
    tax = _q(line.tax * share)
    line.current_quantity -= quantity
    return FakeRefundLine(line=line, quantity=quantity, subtotal=subtotal, tax=tax)


def _money_back(order: FakeOrder, lines: list[FakeRefundLine]) -> Decimal:
    back = sum((r.subtotal for r in lines), Decimal(0))
    if not order.taxes_included:
        back += sum((r.tax for r in lines), Decimal(0))
    return back


def _refund_unit(order: FakeOrder, refund_id: int, *, first: bool) -> None:
    candidates = [line for line in order.lines if line.current_quantity > 0]
    if not candidates:
        return
    line = candidates[0] if first else candidates[-1]
    refunded = [_unit_refund(order, line, 1)]
    created = order.created_at + timedelta(days=2 + len(order.refunds))
    order.refunds.append(
        FakeRefund(
            id=refund_id,
            created_at=created,
            lines=refunded,
            amount=_money_back(order, refunded),
        )
    )
    order.updated_at = max(order.updated_at, created + timedelta(seconds=2))
    left = any(line.current_quantity > 0 for line in order.lines)
    order.financial_status = "PARTIALLY_REFUNDED" if left else "REFUNDED"


def _refund_amount(order: FakeOrder, refund_id: int, amount: Decimal) -> None:
    created = order.created_at + timedelta(days=3)
    order.refunds.append(FakeRefund(id=refund_id, created_at=created, amount=amount))
    order.updated_at = max(order.updated_at, created + timedelta(seconds=2))
    order.financial_status = "PARTIALLY_REFUNDED"


def _cancel(order: FakeOrder, refund_id: int) -> None:
    cancelled = order.created_at + timedelta(days=1)
    lines = [
        _unit_refund(order, line, line.current_quantity)
        for line in order.lines
        if line.current_quantity > 0
    ]
    order.refunds.append(
        FakeRefund(
            id=refund_id,
            created_at=cancelled,
            lines=lines,
            amount=_money_back(order, lines) + order.shipping,
            shipping=order.shipping,
        )
    )
    order.cancelled_at = cancelled
    order.financial_status = "REFUNDED"
    order.updated_at = max(order.updated_at, cancelled + timedelta(minutes=1))


# --- the REST payload of an order (what a webhook would carry) ------------------


def _rest_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currency_code": currency}
    return {"shop_money": one, "presentment_money": dict(one)}


def rest_payload(order: FakeOrder) -> dict[str, Any]:
    """The order as the REST resource / webhook body (platforms.md §5)."""
    cur = order.currency
    customer = None
    if order.customer is not None:
        customer = {
            "id": order.customer.id,
            "admin_graphql_api_id": gid("Customer", order.customer.id),
            "email": order.customer.email,
            "first_name": order.customer.first_name,
            "last_name": order.customer.last_name,
        }
    lines = []
    for line in order.lines:
        lines.append(
            {
                "id": line.id,
                "admin_graphql_api_id": gid("LineItem", line.id),
                "title": line.title,
                "quantity": line.quantity,
                "current_quantity": line.current_quantity,
                "price": money(line.price),
                "price_set": _rest_bag(line.price, cur),
                "gift_card": line.gift_card,
                "discount_allocations": (
                    [
                        {
                            "amount": money(line.discount),
                            "amount_set": _rest_bag(line.discount, cur),
                            "discount_application_index": 0,
                        }
                    ]
                    if line.discount
                    else []
                ),
                "tax_lines": (
                    [
                        {
                            "price": money(line.tax),
                            "price_set": _rest_bag(line.tax, cur),
                            "rate": float(line.tax_rate),
                            "title": "Tax",
                        }
                    ]
                    if line.tax
                    else []
                ),
            }
        )
    refunds = []
    for refund in order.refunds:
        refunds.append(
            {
                "id": refund.id,
                "admin_graphql_api_id": gid("Refund", refund.id),
                "order_id": order.id,
                "created_at": iso(refund.created_at),
                "processed_at": iso(refund.created_at),
                "refund_line_items": [
                    {
                        "line_item_id": r.line.id,
                        "quantity": r.quantity,
                        "subtotal": money(r.subtotal),
                        "subtotal_set": _rest_bag(r.subtotal, cur),
                        "total_tax": money(r.tax),
                        "total_tax_set": _rest_bag(r.tax, cur),
                        "line_item": {
                            "id": r.line.id,
                            "admin_graphql_api_id": gid("LineItem", r.line.id),
                            "gift_card": r.line.gift_card,
                        },
                    }
                    for r in refund.lines
                ],
                "transactions": [
                    {
                        "kind": "refund",
                        "status": "success",
                        "amount": money(refund.amount),
                        "currency": cur,
                    }
                ],
                "order_adjustments": (
                    [
                        {
                            "kind": "shipping_refund",
                            "amount": money(-refund.shipping),
                            "amount_set": _rest_bag(-refund.shipping, cur),
                            "tax_amount": "0.00",
                            "tax_amount_set": _rest_bag(Decimal(0), cur),
                        }
                    ]
                    if refund.shipping
                    else []
                ),
                "refund_shipping_lines": [],
            }
        )
    return {
        "id": order.id,
        "admin_graphql_api_id": order.gid,
        "name": order.name,
        "email": order.email,
        "currency": cur,
        "presentment_currency": cur,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "processed_at": iso(order.processed_at),
        "cancelled_at": iso(order.cancelled_at),
        "financial_status": order.financial_status.lower(),
        "test": order.test,
        "taxes_included": order.taxes_included,
        "total_price": money(order.total),
        "total_price_set": _rest_bag(order.total, cur),
        "discount_codes": [
            {"code": code, "amount": "10.00", "type": "percentage"}
            for code in order.discount_codes
        ],
        "customer": customer,
        "line_items": lines,
        "refunds": refunds,
    }


# --- GraphQL rendering ------------------------------------------------------------


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": one, "presentmentMoney": dict(one)}


def _encode(payload: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise GraphQLError("Invalid cursor for current pagination") from error
    if not isinstance(data, dict):
        raise GraphQLError("Invalid cursor for current pagination")
    return data


def _check_first(first: int | None, last: int | None) -> int:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if last is not None:
        raise GraphQLError("the fake only pages forwards (first/after)")
    assert first is not None
    if first < 0 or first > 250:
        raise GraphQLError(
            f"The maximum number of items that can be requested is 250, got {first}"
        )
    return first


def connection(items: list[Any]) -> Callable[..., dict[str, Any]]:
    """A resolver for a nested connection over `items` (index cursors)."""

    def resolve(
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        size = _check_first(first, last)
        start = int(_decode(after).get("i", -1)) + 1 if after else 0
        chunk = items[start : start + size]
        cursors = [_encode({"i": start + k}) for k in range(len(chunk))]
        return {
            "nodes": chunk,
            "edges": [
                {"cursor": c, "node": n} for c, n in zip(cursors, chunk, strict=True)
            ],
            "pageInfo": {
                "hasNextPage": start + size < len(items),
                "hasPreviousPage": start > 0,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }

    return resolve


def _line_node(line: FakeLine, currency: str) -> dict[str, Any]:
    return {
        "__typename": "LineItem",
        "id": gid("LineItem", line.id),
        "name": line.title,
        "quantity": line.quantity,
        "currentQuantity": line.current_quantity,
        "isGiftCard": line.gift_card,
        "originalUnitPriceSet": _bag(line.price, currency),
        "discountAllocations": (
            [{"allocatedAmountSet": _bag(line.discount, currency)}]
            if line.discount
            else []
        ),
        "taxLines": (
            [
                {
                    "priceSet": _bag(line.tax, currency),
                    "rate": float(line.tax_rate),
                    "title": "Tax",
                }
            ]
            if line.tax
            else []
        ),
    }


def refund_node(refund: FakeRefund, currency: str) -> dict[str, Any]:
    lines = [
        {
            "id": gid("RefundLineItem", r.line.id),
            "quantity": r.quantity,
            "lineItem": _line_node(r.line, currency),
            "subtotalSet": _bag(r.subtotal, currency),
            "totalTaxSet": _bag(r.tax, currency),
        }
        for r in refund.lines
    ]
    transactions = [
        {
            "__typename": "OrderTransaction",
            "id": gid("OrderTransaction", refund.id + 1),
            "kind": "REFUND",
            "status": "SUCCESS",
            "gateway": "shopify_payments",
            "amountSet": _bag(refund.amount, currency),
        }
    ]
    adjustments = (
        [
            {
                "__typename": "OrderAdjustment",
                "id": gid("OrderAdjustment", refund.id + 2),
                "reason": "SHIPPING_REFUND",
                "amountSet": _bag(-refund.shipping, currency),
                "taxAmountSet": _bag(Decimal(0), currency),
            }
        ]
        if refund.shipping
        else []
    )
    return {
        "__typename": "Refund",
        "id": gid("Refund", refund.id),
        "createdAt": iso(refund.created_at),
        "updatedAt": iso(refund.created_at),
        "note": None,
        "totalRefundedSet": _bag(refund.amount, currency),
        "refundLineItems": connection(lines),
        "transactions": connection(transactions),
        "orderAdjustments": connection(adjustments),
        "refundShippingLines": connection([]),
    }


def order_node(order: FakeOrder) -> dict[str, Any]:
    cur = order.currency
    customer = None
    if order.customer is not None:
        customer = {
            "__typename": "Customer",
            "id": gid("Customer", order.customer.id),
            "email": order.customer.email,
            "firstName": order.customer.first_name,
            "lastName": order.customer.last_name,
        }
    refunds = [refund_node(r, cur) for r in order.refunds]
    return {
        "__typename": "Order",
        "id": order.gid,
        "name": order.name,
        "createdAt": iso(order.created_at),
        "processedAt": iso(order.processed_at),
        "updatedAt": iso(order.updated_at),
        "cancelledAt": iso(order.cancelled_at),
        "displayFinancialStatus": order.financial_status,
        "test": order.test,
        "taxesIncluded": order.taxes_included,
        "currencyCode": cur,
        "presentmentCurrencyCode": cur,
        "email": order.email,
        "totalPriceSet": _bag(order.total, cur),
        "customer": customer,
        "discountCodes": list(order.discount_codes),
        "lineItems": connection([_line_node(line, cur) for line in order.lines]),
        "refunds": lambda _info, first=None: refunds[:first] if first else refunds,
    }


# --- search syntax ------------------------------------------------------------------

_TERM = re.compile(
    r"""(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?(?P<value>'[^']*'|"[^"]*"|\S+)"""
)
_SEARCH_FIELDS = {"updated_at": "updated_at", "created_at": "created_at"}


def _search(query: str | None) -> Callable[[FakeOrder], bool]:
    """Shopify search syntax, the part Ladder uses (platforms.md §4)."""
    if not query or not query.strip():
        return lambda _order: True
    tests: list[Callable[[FakeOrder], bool]] = []
    for token in _split_terms(query):
        if token.upper() == "AND":
            continue
        match = _TERM.fullmatch(token)
        if match is None or match["field"] not in _SEARCH_FIELDS:
            raise GraphQLError(f"fake Shopify: unsupported search term {token!r}")
        attribute = _SEARCH_FIELDS[match["field"]]
        text = match["value"].strip("'\"")
        try:
            bound = datetime.fromisoformat(text)
        except ValueError as error:
            raise GraphQLError(f"fake Shopify: not a date {text!r}") from error
        if bound.tzinfo is None:
            bound = bound.replace(tzinfo=UTC)
        op = match["op"] or "="
        tests.append(_comparison(attribute, op, bound))
    return lambda order: all(test(order) for test in tests)


def _split_terms(query: str) -> list[str]:
    return re.findall(r"""(?:[^\s'"]+|'[^']*'|"[^"]*")+""", query)


def _comparison(
    attribute: str, op: str, bound: datetime
) -> Callable[[FakeOrder], bool]:
    def test(order: FakeOrder) -> bool:
        value: datetime = getattr(order, attribute)
        return {
            ">=": value >= bound,
            ">": value > bound,
            "<=": value <= bound,
            "<": value < bound,
            "=": value == bound,
        }[op]

    return test


_SORT_KEYS: dict[str, Callable[[FakeOrder], Any]] = {
    "UPDATED_AT": lambda o: o.updated_at,
    "CREATED_AT": lambda o: o.created_at,
    "PROCESSED_AT": lambda o: o.processed_at,
    "ID": lambda o: o.id,
}


# --- cost ---------------------------------------------------------------------------


def _arguments(node: FieldNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {
        arg.name.value: graphql.value_from_ast_untyped(arg.value, dict(variables))
        for arg in node.arguments or ()
    }


def _fields(selection_set: SelectionSetNode | None) -> Iterable[FieldNode]:
    if selection_set is None:
        return []
    return [s for s in selection_set.selections if isinstance(s, FieldNode)]


class _CostModel:
    """Requested cost of an operation, after Shopify's published rules."""

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ):
        self.fragments = fragments
        self.variables = variables

    def selection(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        alternatives = [0]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                alternatives.append(self.selection(fragment.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                alternatives.append(self.selection(selection.selection_set))
        # An abstract type costs its most expensive possible selection.
        return total + max(alternatives)

    def field(self, node: FieldNode) -> int:
        if node.selection_set is None or node.name.value == "pageInfo":
            return 0
        args = _arguments(node, self.variables)
        children = {f.name.value: f for f in _fields(node.selection_set)}
        if node.name.value == "nodes" and "ids" in args:
            return len(args["ids"] or []) * (1 + self.selection(node.selection_set))
        size = args.get("first") or args.get("last")
        if "nodes" in children or "edges" in children:
            per_node = 0
            if "nodes" in children:
                per_node = 1 + self.selection(children["nodes"].selection_set)
            if "edges" in children:
                edge = {
                    f.name.value: f for f in _fields(children["edges"].selection_set)
                }
                if "node" in edge:
                    per_node = max(
                        per_node, 1 + self.selection(edge["node"].selection_set)
                    )
            return 2 + int(size or 0) * per_node
        if size is not None:
            return int(size) * (1 + self.selection(node.selection_set))
        return 1 + self.selection(node.selection_set)


def _actual_cost(value: Any) -> int:
    """Objects returned: 1 each, a connection 2 plus its nodes."""
    if isinstance(value, list):
        return sum(_actual_cost(item) for item in value)
    if not isinstance(value, dict):
        return 0
    if "pageInfo" in value or "nodes" in value or "edges" in value:
        nodes = value.get("nodes")
        if nodes is None:
            nodes = [edge.get("node") for edge in value.get("edges") or []]
        return 2 + sum(_actual_cost(node) for node in nodes)
    return 1 + sum(_actual_cost(v) for k, v in value.items() if k != "pageInfo")


# --- the fake -----------------------------------------------------------------------


@dataclass
class _Failure:
    status: int | None
    retry_after: str | None
    body: Any


_TRANSPORT = object()  # a queued transport failure


@dataclass
class FakeDiscount:
    id: str
    code: str
    mutation: str
    input: dict[str, Any]


@dataclass
class FakeWebhook:
    id: str
    topic: str
    uri: str


class FakeShopifyAdmin:
    """One shop's Admin API; see the module docs."""

    def __init__(
        self,
        orders: int | list[FakeOrder] = 0,
        *,
        shop: str = SHOP,
        api_version: str = API_VERSION,
        access_token: str = TOKEN,
        api_key: str = API_KEY,
        api_secret: str = API_SECRET,
        scopes: str = SCOPES,
        maximum_available: float = 1000.0,
        restore_rate: float = 50.0,
        max_query_cost: float = 1000.0,
        seed: int = 4,
    ) -> None:
        self.shop = shop
        self.api_version = api_version
        self.api_key = api_key
        self.api_secret = api_secret
        self.scopes = scopes
        self.orders: list[FakeOrder] = (
            generate_orders(orders, seed=seed) if isinstance(orders, int) else orders
        )
        self.maximum_available = maximum_available
        self.restore_rate = restore_rate
        self.max_query_cost = max_query_cost
        # Fake clock (seconds) and bucket.
        self.now = 0.0
        self.sleeps: list[float] = []
        self._available = maximum_available
        self._available_at = 0.0
        # Credentials: token -> expiry on the fake clock (None: never).
        self.tokens: dict[str, float | None] = {access_token: None}
        self.codes: set[str] = {AUTH_CODE}
        self.refresh_tokens: dict[str, str | None] = {}  # token -> its predecessor
        self._serial = 0
        # Failures to serve next, per endpoint ("graphql" / "oauth").
        self._failures: dict[str, list[_Failure | object]] = {
            "graphql": [],
            "oauth": [],
        }
        # Counters.
        self.calls: Counter[str] = Counter()
        self.statuses: list[int] = []
        self.throttled = 0
        self.max_cost_exceeded = 0
        self.graphql_requests = 0
        self.page_sizes: list[int] = []
        self.requested_costs: list[int] = []
        self.token_requests: list[dict[str, str]] = []
        self.discounts: dict[str, FakeDiscount] = {}
        self.webhooks: list[FakeWebhook] = []
        self._documents: dict[str, DocumentNode | list[GraphQLError]] = {}
        self._sorted: dict[
            tuple[str, bool], tuple[list[FakeOrder], list[tuple[Any, int]]]
        ] = {}
        self._by_gid: dict[str, FakeOrder] = {}
        self._refunds: dict[str, tuple[FakeOrder, FakeRefund]] = {}
        self._reindex()

    # --- wiring ---------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def admin(self, http: httpx.AsyncClient, **overrides: Any) -> ShopifyAdmin:
        """A ShopifyAdmin for this shop on the fake clock."""
        options: dict[str, Any] = {
            "shop": self.shop,
            "access_token": next(iter(self.tokens), TOKEN),
            "api_version": self.api_version,
            "sleep": self.sleep,
            "clock": self.clock,
        }
        options.update(overrides)
        return ShopifyAdmin(http, **options)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    # --- knobs ----------------------------------------------------------------

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: Any = None,
        endpoint: str = "graphql",
    ) -> None:
        for _ in range(times):
            self._failures[endpoint].append(_Failure(status, retry_after, body))

    def fail_transport(self, *, times: int = 1, endpoint: str = "graphql") -> None:
        for _ in range(times):
            self._failures[endpoint].append(_TRANSPORT)

    def revoke(self) -> None:
        """The shop uninstalled the app: every token is refused (401)."""
        self.tokens.clear()

    def set_available(self, points: float) -> None:
        """Empty (or fill) the bucket to `points` now."""
        self._available = min(points, self.maximum_available)
        self._available_at = self.now

    def available(self) -> float:
        elapsed = self.now - self._available_at
        return min(
            self.maximum_available, self._available + elapsed * self.restore_rate
        )

    def issue_code(self) -> str:
        self._serial += 1
        code = f"fake-code-{self._serial}"
        self.codes.add(code)
        return code

    def touch(self, order: FakeOrder, at: datetime) -> None:
        """The order changed at `at` (its updated_at moves)."""
        order.updated_at = at
        self._sorted.clear()

    def by_update(self) -> list[FakeOrder]:
        """The orders as Shopify returns them with sortKey UPDATED_AT."""
        return list(self._ordered("UPDATED_AT", False))

    def rest_payload(self, order: FakeOrder) -> dict[str, Any]:
        return rest_payload(order)

    # --- HTTP -----------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host != self.shop:
            return self._respond(404, {"errors": "Not Found"})
        if request.method == "POST" and path == "/admin/oauth/access_token":
            return self._with_failures("oauth", request, self._oauth)
        match = re.fullmatch(
            r"/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json", path
        )
        if request.method == "POST" and match:
            return self._with_failures("graphql", request, self._graphql)
        return self._respond(404, {"errors": "Not Found"})

    def _with_failures(
        self,
        endpoint: str,
        request: httpx.Request,
        serve: Callable[[httpx.Request], httpx.Response],
    ) -> httpx.Response:
        queue = self._failures[endpoint]
        if queue:
            failure = queue.pop(0)
            if failure is _TRANSPORT:
                self.statuses.append(0)
                raise httpx.ConnectError("fake: connection refused", request=request)
            assert isinstance(failure, _Failure)
            headers = (
                {"Retry-After": failure.retry_after} if failure.retry_after else {}
            )
            body = (
                failure.body if failure.body is not None else {"errors": "fake failure"}
            )
            return self._respond(failure.status or 500, body, headers)
        return serve(request)

    def _respond(
        self, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        self.statuses.append(status)
        return httpx.Response(status, json=body, headers=dict(headers or {}))

    # --- OAuth ------------------------------------------------------------------

    def _oauth(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(request.content)
        else:
            body = dict(parse_qsl(request.content.decode()))
        self.token_requests.append({k: str(v) for k, v in body.items()})
        if (
            body.get("client_id") != self.api_key
            or body.get("client_secret") != self.api_secret
        ):
            return self._respond(
                400,
                {
                    "error": "invalid_client",
                    "error_description": "Client credentials are invalid",
                },
            )
        if body.get("grant_type") == "refresh_token":
            token = body.get("refresh_token")
            if token not in self.refresh_tokens:
                return self._respond(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "refresh token is invalid",
                    },
                )
            predecessor = self.refresh_tokens[token]
            if predecessor is not None:  # the new one is used: the old one ends
                self.refresh_tokens.pop(predecessor, None)
            return self._respond(200, self._grant(expiring=True, predecessor=token))
        code = body.get("code")
        if code not in self.codes:
            return self._respond(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was already used",
                },
            )
        self.codes.discard(code)
        return self._respond(200, self._grant(expiring=body.get("expiring") == "1"))

    def _grant(
        self, *, expiring: bool, predecessor: str | None = None
    ) -> dict[str, Any]:
        self._serial += 1
        access = f"shpat_fake_{self._serial}"
        grant: dict[str, Any] = {"access_token": access, "scope": self.scopes}
        if expiring:
            refresh = f"shprt_fake_{self._serial}"
            self.refresh_tokens[refresh] = predecessor
            self.tokens[access] = self.now + 3600
            grant.update(
                expires_in=3600,
                refresh_token=refresh,
                refresh_token_expires_in=7_776_000,
            )
        else:
            self.tokens[access] = None
        return grant

    # --- GraphQL ----------------------------------------------------------------

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        self.graphql_requests += 1
        token = request.headers.get("X-Shopify-Access-Token") or ""
        expiry = self.tokens.get(token, 0.0)
        if token not in self.tokens or (expiry is not None and expiry <= self.now):
            return self._respond(
                401,
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
            )
        try:
            body = json.loads(request.content)
            query = body["query"]
            variables = body.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return self._respond(
                400, {"errors": {"query": "Required parameter missing"}}
            )
        document = self._document(query)
        if isinstance(document, list):
            return self._respond(200, {"errors": [e.formatted for e in document]})
        operation = next(
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        )
        fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        roots = [f.name.value for f in _fields(operation.selection_set)]
        if operation.operation is OperationType.MUTATION:
            requested = MUTATION_COST * len(roots)
        else:
            requested = _CostModel(fragments, variables).selection(
                operation.selection_set
            )
        self.requested_costs.append(requested)
        if requested > self.max_query_cost:
            self.max_cost_exceeded += 1
            return self._respond(
                200,
                {
                    "errors": [
                        {
                            "message": f"Query cost is {requested}, which exceeds the "
                            f"single query max cost limit ({self.max_query_cost:g}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": requested,
                                "maxCost": self.max_query_cost,
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ]
                },
            )
        available = self.available()
        if requested > available:
            self.throttled += 1
            self._available, self._available_at = available, self.now
            return self._respond(
                200,
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {"cost": self._cost(requested, None, available)},
                },
            )
        for root in roots:
            self.calls[root] += 1
        result = graphql.execute_sync(
            SCHEMA,
            document,
            root_value=self._root(),
            variable_values=variables,
        )
        data = result.data
        actual = (
            requested
            if operation.operation is OperationType.MUTATION
            else min(requested, _actual_cost(data))
        )
        left = available - actual
        self._available, self._available_at = left, self.now
        out: dict[str, Any] = {"data": data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        out["extensions"] = {"cost": self._cost(requested, actual, left)}
        return self._respond(200, out)

    def _cost(
        self, requested: int, actual: int | None, available: float
    ) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.maximum_available,
                "currentlyAvailable": available,
                "restoreRate": self.restore_rate,
            },
        }

    def _document(self, query: str) -> DocumentNode | list[GraphQLError]:
        if query not in self._documents:
            try:
                document = graphql.parse(query)
            except GraphQLError as error:
                self._documents[query] = [error]
            else:
                errors = graphql.validate(SCHEMA, document)
                self._documents[query] = list(errors) if errors else document
        return self._documents[query]

    # --- resolvers --------------------------------------------------------------

    def _root(self) -> dict[str, Any]:
        return {
            "orders": self._orders,
            "order": lambda _info, id: self._order_by_gid(id),
            "refund": lambda _info, id: self._refund_by_gid(id),
            "node": lambda _info, id: self._node(id),
            "nodes": lambda _info, ids: [self._node(i) for i in ids],
            "codeDiscountNodeByCode": lambda _info, code: self._discount_by_code(code),
            "webhookSubscriptions": self._webhook_subscriptions,
            "discountCodeBasicCreate": lambda _info, **args: self._create_discount(
                "discountCodeBasicCreate", "basicCodeDiscount", args
            ),
            "discountCodeFreeShippingCreate": lambda _info, **args: (
                self._create_discount(
                    "discountCodeFreeShippingCreate", "freeShippingCodeDiscount", args
                )
            ),
            "webhookSubscriptionCreate": self._create_webhook,
        }

    def _reindex(self) -> None:
        self._by_gid = {order.gid: order for order in self.orders}
        self._refunds = {
            gid("Refund", refund.id): (order, refund)
            for order in self.orders
            for refund in order.refunds
        }
        self._sorted.clear()

    def _ordered(self, sort_key: str, reverse: bool) -> list[FakeOrder]:
        return self._ordered_with_marks(sort_key, reverse)[0]

    def _ordered_with_marks(
        self, sort_key: str, reverse: bool
    ) -> tuple[list[FakeOrder], list[tuple[Any, int]]]:
        """The orders in this order, each with the (value, id) its cursor
        holds: computed once per ordering, not for every order on every page
        (a 5,000-order backfill asks for 500 pages)."""
        key = (sort_key, reverse)
        if key not in self._sorted:
            value = _SORT_KEYS.get(sort_key)
            if value is None:
                raise GraphQLError(f"fake Shopify: sortKey {sort_key} not supported")
            ordered = sorted(
                self.orders, key=lambda o: (value(o), o.id), reverse=reverse
            )
            marks = [(_sortable(value(o)), o.id) for o in ordered]
            self._sorted[key] = (ordered, marks)
        return self._sorted[key]

    def _orders(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
        sortKey: str = "PROCESSED_AT",  # noqa: N803 - the GraphQL argument
        query: str | None = None,
    ) -> dict[str, Any]:
        size = _check_first(first, last)
        self.page_sizes.append(size)
        matches = _search(query)
        value = _SORT_KEYS.get(sortKey)
        ordered, marks = self._ordered_with_marks(sortKey, reverse)
        if after:
            position = _decode(after)
            there = (position.get("last_value"), position.get("last_id"))
            if value is None or there[1] is None:
                raise GraphQLError("Invalid cursor for current pagination")
            candidates: Iterable[FakeOrder] = (
                order
                for order, here in zip(ordered, marks, strict=True)
                if (here < there if reverse else here > there)
            )
        else:
            candidates = ordered
        chunk: list[FakeOrder] = []
        has_next = False
        for order in candidates:
            if not matches(order):
                continue
            if len(chunk) == size:
                has_next = True
                break
            chunk.append(order)
        assert value is not None
        cursors = [
            _encode({"last_id": o.id, "last_value": _sortable(value(o))}) for o in chunk
        ]
        nodes = [order_node(o) for o in chunk]
        return {
            "nodes": nodes,
            "edges": [
                {"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)
            ],
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": bool(after),
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }

    def _order_by_gid(self, value: str) -> dict[str, Any] | None:
        order = self._by_gid.get(value)
        return order_node(order) if order is not None else None

    def _refund_by_gid(self, value: str) -> dict[str, Any] | None:
        found = self._refunds.get(value)
        return refund_node(found[1], found[0].currency) if found is not None else None

    def _node(self, value: str) -> dict[str, Any] | None:
        if value.startswith("gid://shopify/Order/"):
            return self._order_by_gid(value)
        if value.startswith("gid://shopify/Refund/"):
            return self._refund_by_gid(value)
        if value.startswith("gid://shopify/DiscountCodeNode/"):
            return next(
                (
                    self._discount_node(d)
                    for d in self.discounts.values()
                    if d.id == value
                ),
                None,
            )
        return None

    # --- discounts ----------------------------------------------------------------

    def _discount_node(self, discount: FakeDiscount) -> dict[str, Any]:
        typename = (
            "DiscountCodeBasic"
            if discount.mutation == "discountCodeBasicCreate"
            else "DiscountCodeFreeShipping"
        )
        spec = discount.input
        return {
            "__typename": "DiscountCodeNode",
            "id": discount.id,
            "codeDiscount": {
                "__typename": typename,
                "title": spec.get("title"),
                "usageLimit": spec.get("usageLimit"),
                "appliesOncePerCustomer": bool(spec.get("appliesOncePerCustomer")),
                "startsAt": spec.get("startsAt"),
                "endsAt": spec.get("endsAt"),
            },
        }

    def _discount_by_code(self, code: str) -> dict[str, Any] | None:
        found = self.discounts.get(code.strip().lower())
        return self._discount_node(found) if found is not None else None

    def _create_discount(
        self, mutation: str, argument: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        spec: dict[str, Any] = args[argument]
        errors = _discount_errors(
            argument, spec, free_shipping="FreeShipping" in mutation
        )
        code = str(spec.get("code") or "")
        if not errors and code.strip().lower() in self.discounts:
            errors.append(
                {
                    "code": "TAKEN",
                    "field": [argument, "code"],
                    "message": "Code must be unique. Please try a different code.",
                    "extraInfo": None,
                }
            )
        if errors:
            return {"codeDiscountNode": None, "userErrors": errors}
        self._serial += 1
        discount = FakeDiscount(
            id=gid("DiscountCodeNode", 1_000_000 + self._serial),
            code=code,
            mutation=mutation,
            input=spec,
        )
        self.discounts[code.strip().lower()] = discount
        return {"codeDiscountNode": self._discount_node(discount), "userErrors": []}

    # --- webhooks -------------------------------------------------------------------

    def _create_webhook(
        self,
        _info: Any,
        topic: str,
        webhookSubscription: dict[str, Any],  # noqa: N803
    ) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        field_path = ["webhookSubscription", "callbackUrl"]
        if not uri or not str(uri).startswith("https://"):
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": field_path,
                        "message": "Address protocol http:// is not supported",
                    }
                ],
            }
        if any(w.topic == topic and w.uri == uri for w in self.webhooks):
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": field_path,
                        "message": "Address for this topic has already been taken",
                    }
                ],
            }
        self._serial += 1
        webhook = FakeWebhook(
            id=gid("WebhookSubscription", 2_000_000 + self._serial),
            topic=topic,
            uri=uri,
        )
        self.webhooks.append(webhook)
        return {"webhookSubscription": self._webhook_node(webhook), "userErrors": []}

    @staticmethod
    def _webhook_node(webhook: FakeWebhook) -> dict[str, Any]:
        return {
            "__typename": "WebhookSubscription",
            "id": webhook.id,
            "topic": webhook.topic,
            "uri": webhook.uri,
            "format": "JSON",
        }

    def _webhook_subscriptions(
        self,
        info: Any,
        first: int | None = None,
        after: str | None = None,
        topics: list[str] | None = None,
    ) -> dict[str, Any]:
        chosen = [
            self._webhook_node(w)
            for w in self.webhooks
            if topics is None or w.topic in topics
        ]
        return connection(chosen)(info, first=first, after=after)


def _sortable(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def _discount_errors(
    argument: str, spec: Mapping[str, Any], *, free_shipping: bool
) -> list[dict[str, Any]]:
    """Checks Shopify documents for DiscountCodeBasicInput / FreeShippingInput."""
    errors: list[dict[str, Any]] = []

    def error(code: str, path: list[str], message: str) -> None:
        errors.append(
            {
                "code": code,
                "field": [argument, *path],
                "message": message,
                "extraInfo": None,
            }
        )

    for required in ("title", "code", "startsAt"):
        if not spec.get(required):
            error("BLANK", [required], f"{required} can't be blank")
    context = spec.get("context")
    if not context:
        error("MISSING_ARGUMENT", ["context"], "context is required")
    else:
        for customer in (context.get("customers") or {}).get("add") or []:
            if not re.fullmatch(r"gid://shopify/Customer/\d+", customer):
                error(
                    "INVALID",
                    ["context", "customers", "add"],
                    f"Invalid id: {customer}",
                )
    if spec.get("usageLimit") is not None and spec["usageLimit"] < 1:
        error("VALUE_OUTSIDE_RANGE", ["usageLimit"], "usage limit must be positive")
    if free_shipping:
        if not spec.get("destination"):
            error("MISSING_ARGUMENT", ["destination"], "destination is required")
        return errors
    gets = spec.get("customerGets") or {}
    value = gets.get("value") or {}
    if len([k for k in value if value[k] is not None]) != 1:
        error("INVALID", ["customerGets", "value"], "exactly one value is required")
    percentage = value.get("percentage")
    if percentage is not None and not 0.0 <= percentage <= 1.0:
        error(
            "VALUE_OUTSIDE_RANGE",
            ["customerGets", "value", "percentage"],
            "Value must be between 0.0 and 1.0",
        )
    amount = value.get("discountAmount")
    if amount is not None and Decimal(str(amount.get("amount"))) <= 0:
        error(
            "VALUE_OUTSIDE_RANGE",
            ["customerGets", "value", "discountAmount"],
            "amount must be positive",
        )
    if not gets.get("items"):
        error("MISSING_ARGUMENT", ["customerGets", "items"], "items are required")
    return errors

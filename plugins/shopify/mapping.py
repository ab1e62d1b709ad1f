"""Shopify payloads -> Ladder's neutral facts (`OrderEvent`, `PlatformCustomer`, ...).

Pure functions: no I/O, no clock, no points. Plugins translate, the domain
decides (conventions §7.6). Each Shopify quirk is commented with its source;
`platforms.md` is `../shared/research/platforms.md`.

Order topics map by state, so any snapshot can be replayed safely:
- a cancelled order (`cancelled_at` set), whatever the topic: one REFUNDED per
  entry of `refunds[]`, then CANCELLED (refunds first: the domain counts a fully
  refunded order out once, and the cancel then finds nothing left to take back);
- otherwise the topic's event (`orders/paid` PAID; `orders/create` and
  `orders/updated` PAID when `financial_status` says the money was captured,
  else PLACED / UPDATED), then one REFUNDED per entry of `refunds[]`, so a missed
  `refunds/create` is caught up (the domain dedupes on `refund_ref`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from api.core.money import exponent
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.platforms import AppUninstalled, PlatformCustomer, PrivacyRequest
from plugins.shopify.payloads import (
    Customer,
    LineItem,
    Order,
    PrivacyPayload,
    Raw,
    Refund,
    Shop,
    ShopifyPayloadError,
    parse_customer,
    parse_order,
    parse_privacy,
    parse_refund,
    parse_shop,
)

PLATFORM = "shopify"

# `financial_status` values that mean the money was captured at some point
# (OrderDisplayFinancialStatus, platforms.md §5). `partially_paid` is left out:
# the balance is still owed, and Shopify sends `orders/paid` once it is settled.
# `authorized` (not captured), `pending`, `voided` and `expired` never paid.
# A refunded order was paid first: PAID then its REFUNDED events net it out.
PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})

# Topics whose body is an Order. orders/fulfilled and orders/partially_fulfilled
# carry the same Order sample (SOURCES.md) and read as snapshots like updated.
ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
    }
)
REFUND_TOPICS = frozenset({"refunds/create"})
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update"})
PRIVACY_KINDS = {
    "customers/data_request": "customer_data_request",
    "customers/redact": "customer_redact",
    "shop/redact": "shop_redact",
}

_ONE = Decimal(1)


def to_minor(amount: Decimal, currency: str) -> int:
    """A decimal amount in minor units of `currency` (half up; Decimal only)."""
    scaled = amount.scaleb(exponent(currency))
    return int(scaled.quantize(_ONE, rounding=ROUND_HALF_UP))


def is_test_order(order: Order | Raw) -> bool:
    """`test: true` marks test-gateway orders (platforms.md §5)."""
    return parse_order(order).test


# --- amounts ------------------------------------------------------------------


def _refunded_quantities(order: Order) -> dict[int, int]:
    """Quantity each order line (by position) gave back in `order.refunds`.

    Refund lines name their order line by `line_item_id` (and `line_item`); a
    copy that went through JavaScript may have rounded one spelling, so any
    shared key matches (SOURCES.md warning 1).
    """
    given_back: dict[int, int] = {}
    for refund in order.refunds:
        for refund_line in refund.refund_line_items:
            for index, line in enumerate(order.line_items):
                if line.keys & refund_line.line_keys:
                    given_back[index] = given_back.get(index, 0) + refund_line.quantity
                    break
    return given_back


def _line_basis(line: LineItem, quantity: int, *, taxes_included: bool) -> Decimal:
    """Discounted merchandise of `quantity` units of a line, in shop money."""
    if line.quantity <= 0 or quantity <= 0:
        return Decimal(0)
    # Allocations and tax lines cover the line's whole original `quantity`; the
    # units kept get their share (platforms.md §5: current_subtotal_price 195.67
    # = 199.00 - 3.33 keeps only the remaining unit's allocation).
    share = Decimal(quantity) / Decimal(line.quantity)
    discounts = sum((a.shop_amount for a in line.discount_allocations), Decimal(0))
    amount = line.shop_price * quantity - discounts * share
    if taxes_included:
        # With taxes_included the line price contains its tax (platforms.md §5).
        taxes = sum((t.shop_amount for t in line.tax_lines), Decimal(0))
        amount -= taxes * share
    return amount


def eligible_minor(order: Order | Raw) -> int:
    """Discounted merchandise in shop money, in minor units: the points basis.

    Sum over lines with `gift_card: false` of price * quantity - discount
    allocations (- line taxes when `taxes_included`), in `shop_money`
    (platforms.md §5 "The points basis"). Shipping, tax, duties and tips live
    outside `line_items[].price`, so they never enter.

    The quantity is `current_quantity` plus what the order's own `refunds[]`
    gave back: units removed by a refund stay in the basis because their
    REFUNDED events (emitted alongside) take them out, while units removed by an
    edit without a refund leave it. Using `current_quantity` alone would count a
    refund twice whenever the domain first sees an already refunded order.
    """
    order = parse_order(order)
    given_back = _refunded_quantities(order)
    total = Decimal(0)
    for index, line in enumerate(order.line_items):
        if line.gift_card:  # buying a gift card is not spending (platforms.md §5)
            continue
        current = (
            line.quantity if line.current_quantity is None else line.current_quantity
        )
        kept = min(line.quantity, max(current, 0) + given_back.get(index, 0))
        total += _line_basis(line, kept, taxes_included=order.taxes_included)
    return max(to_minor(total, order.currency), 0)


def _presentment_rate(order: Order) -> tuple[str, Decimal] | None:
    """Shop money per unit of presentment money, from the order's own total."""
    bag = order.total_price_set
    if bag is None or bag.presentment_money is None:
        return None
    currency = bag.presentment_money.currency_code or order.presentment_currency
    presentment = bag.presentment_money.amount
    if not currency or presentment <= 0:
        return None
    return currency.upper(), bag.shop_money.amount / presentment


# --- customers ----------------------------------------------------------------


def customer_ref(order: Order | Raw) -> CustomerRef:
    """The buyer: Shopify customer id (canonical), plus any email we were given.

    `customer` is null for guest and some POS orders, and its email may be
    redacted to null without protected-data approval, so members are keyed on
    the id, never the email (platforms.md §2, §5).
    """
    order = parse_order(order)
    customer = order.customer
    external_id = customer.ref if customer is not None else None
    email = (customer.email if customer is not None else None) or order.email
    return CustomerRef(platform=PLATFORM, external_id=external_id, email=email)


def customer_profile(payload: Customer | Raw) -> PlatformCustomer:
    """`customers/create` and `customers/update` -> the customer's profile."""
    customer = parse_customer(payload)
    if not customer.ref:
        raise ShopifyPayloadError("a Shopify customer needs its id")
    return PlatformCustomer(
        platform=PLATFORM,
        external_id=customer.ref,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        marketing_consent=_marketing_consent(customer),
    )


def _marketing_consent(customer: Customer) -> bool | None:
    # email_marketing_consent.state: subscribed / not_subscribed / pending /
    # unsubscribed / redacted / invalid; only "subscribed" is consent (pending
    # awaits a double opt-in). Older payloads carry the deprecated
    # accepts_marketing boolean instead. [doc] Customer resource.
    consent = customer.email_marketing_consent
    if consent is not None and consent.state:
        return consent.state.strip().lower() == "subscribed"
    return customer.accepts_marketing


def privacy_request(topic: str, payload: PrivacyPayload | Raw) -> PrivacyRequest:
    """A mandatory compliance webhook -> the privacy obligation it states.

    [doc] shopify.dev/docs/apps/build/compliance/privacy-law-compliance:
    `customers/data_request` {shop_domain, customer{id,email}, data_request{id}},
    `customers/redact` {shop_domain, customer, orders_to_redact},
    `shop/redact` {shop_id, shop_domain} (48 h after uninstall).
    """
    kind = PRIVACY_KINDS.get(topic)
    if kind is None:
        raise ShopifyPayloadError(f"not a Shopify privacy topic: {topic!r}")
    body = parse_privacy(payload)
    shop_ref = body.shop_domain or body.shop_id
    if not shop_ref:
        raise ShopifyPayloadError(f"{topic} names no shop")
    customer = body.customer if kind != "shop_redact" else None
    if kind != "shop_redact" and (
        customer is None or not (customer.id or customer.email)
    ):
        raise ShopifyPayloadError(f"{topic} names no customer")
    return PrivacyRequest(
        kind=kind,
        shop_ref=shop_ref,
        customer_external_id=customer.id if customer else None,
        customer_email=customer.email if customer else None,
        request_ref=body.data_request.id if body.data_request else None,
    )


def app_uninstalled(
    payload: Shop | Raw, *, shop_ref: str | None = None
) -> AppUninstalled:
    """`app/uninstalled` -> the shop that removed the app.

    The body is the Shop resource, whose `myshopify_domain` and `domain` may be
    null (they are in Shopify's own sample), so the `X-Shopify-Shop-Domain`
    header, passed as `shop_ref`, wins when the caller has it.
    """
    shop = parse_shop(payload)
    ref = shop_ref or shop.myshopify_domain or shop.domain or shop.id
    if not ref:
        raise ShopifyPayloadError("app/uninstalled names no shop")
    return AppUninstalled(shop_ref=ref)


# --- order events -------------------------------------------------------------


@dataclass(frozen=True)
class _OrderFacts:
    """What a refund event borrows from its order (or safe blanks without one)."""

    order_ref: str
    currency: str
    customer: CustomerRef
    updated_at: datetime | None = None
    name: str | None = None
    eligible_minor: int = 0
    total_minor: int = 0
    taxes_included: bool = False
    gift_card_lines: frozenset[str] = field(default_factory=frozenset)
    presentment_rate: tuple[str, Decimal] | None = None
    test: bool = False

    def extra(self) -> dict[str, str]:
        # Test-gateway orders are marked, not dropped: whether they count is the
        # store's choice (issue 4), made by the domain.
        return {"test": "true"} if self.test else {}


def order_events(topic: str, order: Order | Raw) -> list[OrderEvent]:
    """An `orders/*` webhook body -> its events (see the module docstring)."""
    if topic not in ORDER_TOPICS:
        raise ShopifyPayloadError(f"not a Shopify order topic: {topic!r}")
    order = parse_order(order)
    facts = _OrderFacts(
        order_ref=order.ref,
        currency=order.currency.upper(),
        customer=customer_ref(order),
        updated_at=order.updated_at,
        name=order.name,
        eligible_minor=eligible_minor(order),
        total_minor=max(to_minor(order.shop_total, order.currency), 0),
        taxes_included=order.taxes_included,
        gift_card_lines=frozenset(
            key for line in order.line_items if line.gift_card for key in line.keys
        ),
        presentment_rate=_presentment_rate(order),
        test=order.test,
    )
    refunds = [_refund_event(refund, facts) for refund in order.refunds]
    if order.cancelled_at is not None:
        # A cancelled order earns nothing, whatever the topic that carried it.
        return [*refunds, _order_event(OrderEventKind.CANCELLED, order, facts)]
    paid = (order.financial_status or "").lower() in PAID_STATUSES
    if topic == "orders/paid" or paid:
        kind = OrderEventKind.PAID
    elif topic == "orders/create":
        kind = OrderEventKind.PLACED
    else:  # orders/updated, orders/fulfilled, and a cancel without cancelled_at
        kind = OrderEventKind.UPDATED
    return [_order_event(kind, order, facts), *refunds]


def _order_event(kind: OrderEventKind, order: Order, facts: _OrderFacts) -> OrderEvent:
    # Placed and paid facts are dated by processed_at, "when the order was
    # processed" (the original date for imported orders), so a webhook and a
    # backfill of the same order agree; orders/paid does not say when the money
    # was captured. A cancellation is dated by cancelled_at.
    occurred = order.processed_at or order.created_at or order.updated_at
    if kind is OrderEventKind.CANCELLED and order.cancelled_at is not None:
        occurred = order.cancelled_at
    return OrderEvent(
        kind=kind,
        platform=PLATFORM,
        order_ref=facts.order_ref,
        customer=facts.customer,
        currency=facts.currency,
        eligible_minor=facts.eligible_minor,
        occurred_at=occurred,
        updated_at=order.updated_at,
        discount_codes=_codes(c.code for c in order.discount_codes),
        total_minor=facts.total_minor,
        name=facts.name,
        extra=facts.extra(),
    )


def _codes(codes: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for code in codes:
        if code and code.strip():
            seen.setdefault(code.strip(), None)
    return tuple(seen)


# --- refunds ------------------------------------------------------------------


def refund_event(
    refund: Refund | Raw,
    *,
    currency: str | None = None,
    customer: CustomerRef | None = None,
    order_ref: str | None = None,
    taxes_included: bool = False,
) -> OrderEvent:
    """A `refunds/create` body -> one REFUNDED event.

    The body carries `order_id` but neither the customer nor the order's
    currency or totals: `customer` defaults to `CustomerRef("shopify")` with no
    id or email, so the domain must find the order by `order_ref` (and its
    customer there); eligible_minor and total_minor are 0 (unknown).
    `currency` is the shop currency, used when the refund holds no shop money
    (amount-only refunds); shop money in the body wins. Shopify does not say
    whether the shop shows prices with taxes, so pass `taxes_included` from the
    shop or order when known.
    """
    refund = parse_refund(refund)
    shop_currency = _refund_shop_currency(refund) or currency
    if not shop_currency:
        raise ShopifyPayloadError("refund without shop money: pass the shop currency")
    ref = order_ref or refund.order_id
    if not ref:
        raise ShopifyPayloadError("refund without its order_id")
    facts = _OrderFacts(
        order_ref=ref,
        currency=shop_currency.upper(),
        customer=customer or CustomerRef(platform=PLATFORM),
        taxes_included=taxes_included,
    )
    return _refund_event(refund, facts)


def _refund_shop_currency(refund: Refund) -> str | None:
    for line in refund.refund_line_items:
        if line.shop_currency:
            return line.shop_currency
    for adjustment in refund.order_adjustments:
        if adjustment.shop_currency:
            return adjustment.shop_currency
    return None


def _refund_event(refund: Refund, facts: _OrderFacts) -> OrderEvent:
    extra = facts.extra()
    returned = Decimal(0)
    for line in refund.refund_line_items:
        gift_card = (
            line.line_item.gift_card
            if line.line_item is not None
            else bool(line.line_keys & facts.gift_card_lines)
        )
        if gift_card:  # a returned gift card was never in the basis
            continue
        # `subtotal` is after the line's discount allocation and before tax:
        # 199.00 - 3.33 = 195.67 in rest-refund-509562969 (platforms.md §5).
        # With taxes_included the price, hence the subtotal, contains the tax.
        returned += line.shop_subtotal
        if facts.taxes_included:
            returned -= line.shop_tax
    unallocated = Decimal(0)
    if not refund.refund_line_items:
        # An amount-only refund: only the money tells what went back. Shipping
        # is not in the basis, so its refund is taken out; the domain converts
        # the rest pro rata (eligible / total).
        unallocated = max(
            _money_returned(refund, facts, extra) - _shipping_returned(refund),
            Decimal(0),
        )
    occurred = refund.processed_at or refund.created_at
    return OrderEvent(
        kind=OrderEventKind.REFUNDED,
        platform=PLATFORM,
        order_ref=facts.order_ref,
        customer=facts.customer,
        currency=facts.currency,
        eligible_minor=facts.eligible_minor,
        occurred_at=occurred,
        # Not a snapshot of the order: the order's updated_at when we have the
        # order, else the refund's creation (the order changed no earlier).
        updated_at=facts.updated_at or refund.created_at,
        total_minor=facts.total_minor,
        refund_ref=refund.ref,
        refunded_minor=max(to_minor(returned, facts.currency), 0),
        unallocated_refund_minor=to_minor(unallocated, facts.currency),
        name=facts.name,
        extra=extra,
    )


def _money_returned(
    refund: Refund, facts: _OrderFacts, extra: dict[str, str]
) -> Decimal:
    """Σ successful `refund` transactions, in shop money.

    A transaction moves money in the buyer's (presentment) currency; converted
    at the order's own shop/presentment ratio when we have the order. Money we
    cannot convert is left out and reported in `extra["unconverted_refund"]`.
    """
    total = Decimal(0)
    unconverted = []
    for transaction in refund.transactions:
        kind = (transaction.kind or "").lower()
        status = (transaction.status or "").lower()
        if kind != "refund" or status != "success" or transaction.amount is None:
            continue
        moved = (transaction.currency or facts.currency).upper()
        if moved == facts.currency:
            total += transaction.amount
        elif facts.presentment_rate and facts.presentment_rate[0] == moved:
            total += transaction.amount * facts.presentment_rate[1]
        else:
            unconverted.append(f"{transaction.amount} {moved}")
    if unconverted:
        extra["unconverted_refund"] = ", ".join(unconverted)
    return total


def _shipping_returned(refund: Refund) -> Decimal:
    """Shipping (and its tax) a refund returned, in shop money, as a positive sum.

    Shopify records it as `order_adjustments[]` of kind `shipping_refund` with a
    negative amount (-5.00 in rest-refund-929361471-shipping-only); newer
    versions also list `refund_shipping_lines` for the same money, so those
    count only when there is no such adjustment.
    """
    adjustments = [
        a
        for a in refund.order_adjustments
        if (a.kind or "").lower() == "shipping_refund"
    ]
    if adjustments:
        return sum(
            (abs(a.shop_amount) + abs(a.shop_tax) for a in adjustments), Decimal(0)
        )
    return sum((abs(s.shop_amount) for s in refund.refund_shipping_lines), Decimal(0))


# --- dispatch -----------------------------------------------------------------


def to_events(
    topic: str, body: Raw, *, currency: str | None = None
) -> list[OrderEvent]:
    """Order events of a webhook body; [] for topics that carry no order facts.

    `currency` (the shop's) is only needed by amount-only `refunds/create`.
    """
    if topic in ORDER_TOPICS:
        return order_events(topic, body)
    if topic in REFUND_TOPICS:
        return [refund_event(body, currency=currency)]
    return []

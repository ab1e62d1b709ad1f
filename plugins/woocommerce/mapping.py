"""WooCommerce payloads -> Ladder's neutral facts (`OrderEvent`, `PlatformCustomer`).

Pure functions: no I/O, no clock, no points. Plugins translate, the domain
decides. Each WooCommerce quirk is commented with its source; `platforms.md` is
`../shared/research/platforms.md`.

WooCommerce builds a webhook body at delivery time and collapses rapid changes
into one delivery of the latest state, so intermediate statuses can be skipped
(platforms.md §7 "Async delivery and coalescing"). An order body is therefore
read as "the current state", never as a transition, and maps by its `status`:

- processing, completed (or the store's `paid_statuses`): PAID, then one
  REFUNDED per `refunds[]` entry;
- refunded: PAID, one REFUNDED per `refunds[]` entry, then REFUNDED
  `status-refunded` (the full refund the status states);
- cancelled, trash, and any body on `order.deleted`: one REFUNDED per
  `refunds[]` entry, then CANCELLED;
- failed with `date_paid_gmt` set: as cancelled (the captured money was lost);
- failed never paid, pending, on-hold, and unknown custom statuses: PLACED on
  `order.created`, else UPDATED (then REFUNDED per `refunds[]` entry);
- checkout-draft, draft, auto-draft, new: nothing.

Why:
- Paid is `wc_get_is_paid_statuses()`: processing and completed, filterable per
  store by `woocommerce_order_is_paid_statuses` (platforms.md §8 "Order
  statuses"); a store that adds its own paid statuses passes them as
  `paid_statuses`. Unknown custom statuses earn nothing until the order reaches
  a paid status: a status we cannot read must not credit points, and
  extensions add statuses for unpaid states too (deposits, quotes).
- `failed` is not terminal: WooCommerce lets the customer pay a failed order
  again (`woocommerce_valid_order_statuses_for_payment` is pending and failed,
  [code] `WC_Order::needs_payment`), and the domain never pays a
  cancelled order, so a declined attempt is only a snapshot. A failed order
  that had been paid (`date_paid_gmt` set) lost its money: cancelled.
- Drafts are carts, not orders: `checkout-draft` (block checkout) still arrives
  through `order.updated`, and core skips `draft`/`auto-draft`/`new`
  (platforms.md §7 "Topics": "ignore draft statuses in the handler").
- `order.deleted` is the trash; `order.restored` carries the order again and
  maps by its status (platforms.md §7 "Topics").
- `updated_at` is `date_modified_gmt` for every event of a snapshot: the
  domain's staleness key, since the delivery id changes on every send
  (platforms.md §7 "Headers").
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from api.core.money import exponent
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.platforms import PlatformCustomer
from plugins.woocommerce.payloads import (
    Customer,
    Order,
    OrderDeleted,
    Raw,
    Refund,
    RefundSummary,
    WooCommercePayloadError,
    parse_customer,
    parse_order,
    parse_order_deleted,
    parse_refund,
)

PLATFORM = "woocommerce"

# wc_get_is_paid_statuses() (platforms.md §8 "Order statuses").
PAID_STATUSES = frozenset({"processing", "completed"})
# "refunded: fully refunded" (OrderStatus enum): it was paid first.
REFUNDED_STATUS = "refunded"
# Void whatever happened before: cancelled by the admin or the customer, or in
# the trash (status `trash`, or the `order.deleted` topic).
VOID_STATUSES = frozenset({"cancelled", "trash"})
FAILED_STATUS = "failed"
DRAFT_STATUSES = frozenset({"checkout-draft", "draft", "auto-draft", "new"})

ORDER_TOPICS = frozenset(
    {"order.created", "order.updated", "order.deleted", "order.restored"}
)
CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})

# The refund_ref of the full refund that the `refunded` status states.
STATUS_REFUND_REF = "status-refunded"

_ONE = Decimal(1)


def to_minor(amount: Decimal, currency: str) -> int:
    """A decimal amount in minor units of `currency` (half up; Decimal only)."""
    scaled = amount.scaleb(exponent(currency))
    return int(scaled.quantize(_ONE, rounding=ROUND_HALF_UP))


# --- amounts ------------------------------------------------------------------


def eligible_minor(order: Order | Raw) -> int:
    """Merchandise after discounts, in minor units: the points basis.

    Σ `line_items[].total`: the line total is after coupon discounts ("Line
    total (after discounts)", [doc] `_orders.md`) and always excludes tax, also
    when `prices_include_tax` is true: WooCommerce takes the tax out of
    tax-inclusive prices before storing the line (`$item->total = $item->total
    - array_sum( $item->taxes )` in [code] `WC_Cart_Totals::calculate_item_totals`,
    woocommerce/includes/class-wc-cart-totals.php), so the flag changes nothing
    here. Shipping (`shipping_lines`), fees (`fee_lines`, which may be negative)
    and taxes live outside `line_items`, so they never enter.

    WooCommerce never rewrites the order's lines when it refunds (a refund is
    its own record), so this is the basis before refunds; the REFUNDED events
    take refunds out.
    """
    order = parse_order(order)
    total = sum((line.total for line in order.line_items), Decimal(0))
    return max(to_minor(total, order.currency), 0)


# --- customers ----------------------------------------------------------------


def customer_ref(order: Order | Raw) -> CustomerRef:
    """The buyer: the WooCommerce customer id, plus the billing email.

    `customer_id` is 0 for guests (platforms.md §8 "Order JSON"; read as no id),
    and a guest is known by `billing.email` only; the domain keys guests by that
    email (platforms.md "What a correct connector must handle" 10).
    """
    order = parse_order(order)
    return CustomerRef(
        platform=PLATFORM, external_id=order.customer_id, email=order.email
    )


def customer_profile(payload: Customer | Raw) -> PlatformCustomer:
    """`customer.created` / `customer.updated` (the REST customer) -> a profile.

    The account email wins over the billing email; WooCommerce core records no
    marketing consent or birthday, so both stay unknown.
    """
    customer = parse_customer(payload)
    if not customer.id:
        raise WooCommercePayloadError("a WooCommerce customer needs its id")
    billing = customer.billing
    return PlatformCustomer(
        platform=PLATFORM,
        external_id=customer.id,
        email=customer.email or (billing.email if billing else None),
        first_name=customer.first_name or (billing.first_name if billing else None),
        last_name=customer.last_name or (billing.last_name if billing else None),
    )


# --- order events -------------------------------------------------------------


@dataclass(frozen=True)
class _OrderFacts:
    order_ref: str
    currency: str
    customer: CustomerRef
    updated_at: datetime
    eligible_minor: int = 0
    total_minor: int = 0
    name: str | None = None


def _kind(
    topic: str, order: Order, paid_statuses: frozenset[str]
) -> OrderEventKind | None:
    """The order-level event of a snapshot (see the table in the module docstring)."""
    status = order.status
    if topic == "order.deleted" or status in VOID_STATUSES:
        return OrderEventKind.CANCELLED
    if status in DRAFT_STATUSES:
        return None
    if status == REFUNDED_STATUS or status in paid_statuses:
        return OrderEventKind.PAID
    if status == FAILED_STATUS and order.date_paid_gmt is not None:
        return OrderEventKind.CANCELLED
    # pending (received, not paid), on-hold (awaiting payment confirmation),
    # failed before payment, and unknown custom statuses.
    if topic == "order.created":
        return OrderEventKind.PLACED
    return OrderEventKind.UPDATED


def order_events(
    topic: str,
    order: Order | OrderDeleted | Raw,
    *,
    paid_statuses: Iterable[str] = PAID_STATUSES,
    currency: str | None = None,
    deleted_at: datetime | None = None,
) -> list[OrderEvent]:
    """An `order.*` webhook body (or one REST order) -> its events.

    `paid_statuses` are the store's paid statuses (processing and completed
    unless the store filters them). `order.deleted` carries only the order id:
    pass the store's `currency` and `deleted_at` (when the delivery was
    received) for it; the domain finds the order and its customer by
    `order_ref`.
    """
    if topic not in ORDER_TOPICS:
        raise WooCommercePayloadError(f"not a WooCommerce order topic: {topic!r}")
    if isinstance(order, Order):
        return _snapshot_events(topic, order, paid_statuses)
    if topic != "order.deleted":
        if isinstance(order, OrderDeleted):
            raise WooCommercePayloadError(f"{topic} carries the whole order")
        return _snapshot_events(topic, parse_order(order), paid_statuses)
    if isinstance(order, OrderDeleted):
        return [_deletion(order, currency=currency, deleted_at=deleted_at)]
    try:
        # A full order body (a plugin, a later version) is mapped like any
        # snapshot; WooCommerce itself sends only the id for the trash
        # (platforms.md §7 "Topics").
        snapshot = parse_order(order)
    except WooCommercePayloadError:
        deleted = parse_order_deleted(order)
        return [_deletion(deleted, currency=currency, deleted_at=deleted_at)]
    return _snapshot_events(topic, snapshot, paid_statuses)


def _snapshot_events(
    topic: str, order: Order, paid_statuses: Iterable[str]
) -> list[OrderEvent]:
    paid = frozenset(_status(s) for s in paid_statuses)
    kind = _kind(topic, order, paid)
    if kind is None:
        return []
    facts = _OrderFacts(
        order_ref=order.ref,
        currency=order.currency.strip().upper(),
        customer=customer_ref(order),
        updated_at=order.modified_at,
        eligible_minor=eligible_minor(order),
        total_minor=max(to_minor(order.total, order.currency), 0),
        # WooCommerce shows an order as "#<number>"; `number` is display text that
        # sequential-number plugins may change, so `id` stays the key.
        name=f"#{order.number}" if order.number else None,
    )
    refunds = [_summary_refund(refund, order, facts) for refund in order.refunds]
    main = _order_event(kind, order, facts)
    if kind is OrderEventKind.CANCELLED:
        # Refunds first, as for Shopify: what was given back is recorded, then
        # the cancel takes back whatever is left.
        return [*refunds, main]
    events = [main, *refunds]
    if kind is OrderEventKind.PAID and order.status == REFUNDED_STATUS:
        events.append(_status_refund(order, facts))
    return events


def _status(status: str) -> str:
    return status.strip().lower().removeprefix("wc-")


def _deletion(
    deleted: OrderDeleted, *, currency: str | None, deleted_at: datetime | None
) -> OrderEvent:
    # The trash body is only the id (platforms.md §7 "Topics"): the currency is
    # the store's, the time is when the delivery arrived, and the domain finds
    # the customer and amounts on the order it already has.
    if not currency or not currency.strip() or deleted_at is None:
        raise WooCommercePayloadError(
            "order.deleted carries only the order id: pass currency and deleted_at"
        )
    if deleted_at.tzinfo is None:
        raise WooCommercePayloadError("deleted_at must carry a timezone")
    return OrderEvent(
        kind=OrderEventKind.CANCELLED,
        platform=PLATFORM,
        order_ref=deleted.id or "",
        customer=CustomerRef(platform=PLATFORM),
        currency=currency.strip().upper(),
        eligible_minor=0,
        occurred_at=deleted_at,
        updated_at=deleted_at,
    )


def _order_event(kind: OrderEventKind, order: Order, facts: _OrderFacts) -> OrderEvent:
    return OrderEvent(
        kind=kind,
        platform=PLATFORM,
        order_ref=facts.order_ref,
        customer=facts.customer,
        currency=facts.currency,
        eligible_minor=facts.eligible_minor,
        occurred_at=_occurred_at(kind, order),
        updated_at=facts.updated_at,
        discount_codes=_codes(line.code for line in order.coupon_lines),
        total_minor=facts.total_minor,
        name=facts.name,
    )


def _occurred_at(kind: OrderEventKind, order: Order) -> datetime:
    """When the fact happened, from the order's own stable dates.

    PAID: `date_paid_gmt`, set by `payment_complete()`; it can be null on a
    completed manual order (order 723 in rest-orders-list.json, platforms.md §8
    "Order statuses"), then `date_completed_gmt`, then the snapshot time. A
    webhook and a later backfill then agree on the payment date.
    PLACED / UPDATED: `date_created_gmt`, when the order was placed.
    CANCELLED: WooCommerce keeps no cancellation date: the snapshot time.
    """
    if kind is OrderEventKind.PAID:
        return order.date_paid_gmt or order.date_completed_gmt or order.modified_at
    if kind in (OrderEventKind.PLACED, OrderEventKind.UPDATED):
        return order.date_created_gmt or order.modified_at
    return order.modified_at


def _codes(codes: Iterable[str | None]) -> tuple[str, ...]:
    # `coupon_lines[].code` are the codes used on the order (platforms.md §8
    # "Webhooks and coupons over REST"); WooCommerce stores them lower-cased and
    # the domain compares codes case-insensitively.
    seen: dict[str, None] = {}
    for code in codes:
        if code and code.strip():
            seen.setdefault(code.strip(), None)
    return tuple(seen)


def _summary_refund(
    refund: RefundSummary, order: Order, facts: _OrderFacts
) -> OrderEvent:
    """One `refunds[]` entry -> REFUNDED.

    The order body summarises each refund as `{id, reason, total}` with a
    negative total (platforms.md §8 "Order JSON"): no lines, so the money is
    unallocated and the domain converts it pro rata (eligible / total). The
    refund id is the same one `/orders/<id>/refunds` returns, so a refund seen
    both ways counts once (the domain dedupes on refund_ref). The summary has no
    date: the order's modification time is the latest it can have happened.
    """
    return OrderEvent(
        kind=OrderEventKind.REFUNDED,
        platform=PLATFORM,
        order_ref=facts.order_ref,
        customer=facts.customer,
        currency=facts.currency,
        eligible_minor=facts.eligible_minor,
        occurred_at=order.modified_at,
        updated_at=facts.updated_at,
        total_minor=facts.total_minor,
        refund_ref=refund.id,
        unallocated_refund_minor=to_minor(abs(refund.total), facts.currency),
        name=facts.name,
    )


def _status_refund(order: Order, facts: _OrderFacts) -> OrderEvent:
    """The full refund that the `refunded` status states.

    `refunded` means "fully refunded" (platforms.md §8 "Order statuses"; "the
    full refunded status claws back the rest", "What a correct connector must
    handle" 6). The `refunds[]` entries are converted pro rata and rounded by
    the domain, and may be missing (a status set by hand, a plugin), so they
    cannot be trusted to add up to the whole basis. This event returns the
    whole eligible amount; the domain caps an order's refunds at its eligible
    amount, so it takes back exactly what the entries left.
    """
    return OrderEvent(
        kind=OrderEventKind.REFUNDED,
        platform=PLATFORM,
        order_ref=facts.order_ref,
        customer=facts.customer,
        currency=facts.currency,
        eligible_minor=facts.eligible_minor,
        occurred_at=order.modified_at,
        updated_at=facts.updated_at,
        total_minor=facts.total_minor,
        refund_ref=STATUS_REFUND_REF,
        refunded_minor=facts.eligible_minor,
        name=facts.name,
    )


# --- refunds ------------------------------------------------------------------


def refund_event(
    refund: Refund | Raw, *, currency: str, order_ref: str | None = None
) -> OrderEvent:
    """A REST refund (`/orders/<id>/refunds`) -> one REFUNDED event.

    Line refunds: Σ of the lines' `total`, which are negative and before tax
    (platforms.md §8 "Refund JSON"; "subtract the refund's line-item totals",
    "What a correct connector must handle" 6), made positive. The refund's
    `line_items` hold products only, so shipping, fees and tax refunded with
    them stay out.
    Amount-only refunds (no line money: empty `line_items`, as refund 726 in
    rest-order-723-refunds-list.json, or restock-only lines with 0.00 totals):
    the positive `amount` is unallocated, and the domain converts it pro rata.

    The body names neither the customer nor the order's totals: the domain
    finds them on the order (`order_ref`, else the refund's `parent_id`).
    """
    refund = parse_refund(refund)
    ref = order_ref or refund.parent_id
    if not ref:
        raise WooCommercePayloadError("a refund without its order: pass order_ref")
    if not currency.strip():
        raise WooCommercePayloadError("a refund needs the order's currency")
    currency = currency.strip().upper()
    returned = sum((abs(line.total) for line in refund.line_items), Decimal(0))
    unallocated = abs(refund.amount) if returned == 0 else Decimal(0)
    return OrderEvent(
        kind=OrderEventKind.REFUNDED,
        platform=PLATFORM,
        order_ref=ref,
        customer=CustomerRef(platform=PLATFORM),
        currency=currency,
        eligible_minor=0,
        occurred_at=refund.created_at,
        updated_at=refund.created_at,
        refund_ref=refund.id,
        refunded_minor=to_minor(returned, currency),
        unallocated_refund_minor=to_minor(unallocated, currency),
    )


# --- dispatch -----------------------------------------------------------------


def to_events(
    topic: str,
    body: Raw,
    *,
    paid_statuses: Iterable[str] = PAID_STATUSES,
    currency: str | None = None,
    deleted_at: datetime | None = None,
) -> list[OrderEvent]:
    """Order events of a webhook body; [] for topics that carry no order facts.

    `currency` and `deleted_at` are only needed by `order.deleted` (see
    `order_events`); customer topics are read with `customer_profile`.
    """
    if topic in ORDER_TOPICS:
        return order_events(
            topic,
            body,
            paid_statuses=paid_statuses,
            currency=currency,
            deleted_at=deleted_at,
        )
    return []

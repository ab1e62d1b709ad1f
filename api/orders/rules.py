"""What an order event means for the order Ladder keeps (pure)."""

from datetime import datetime

from api.orders.errors import OrderError, OrderErrorCode
from api.orders.events import OrderEvent, OrderEventKind
from api.orders.models import OrderStatus

MAX_REF = 128


def check_event(event: OrderEvent, *, store_currency: str) -> None:
    problems = [
        (
            1 <= len(event.order_ref.strip()) <= MAX_REF,
            "orderRef",
            "orderRef must be 1 to 128 characters.",
        ),
        (
            event.eligible_minor >= 0,
            "eligibleMinor",
            "eligibleMinor cannot be negative.",
        ),
        (
            event.refunded_minor >= 0,
            "refundedMinor",
            "refundedMinor cannot be negative.",
        ),
        (event.total_minor >= 0, "totalMinor", "totalMinor cannot be negative."),
        (
            event.unallocated_refund_minor >= 0,
            "unallocatedRefundMinor",
            "unallocatedRefundMinor cannot be negative.",
        ),
        (
            event.kind is not OrderEventKind.REFUNDED or bool(event.refund_ref),
            "refundRef",
            "A refund needs its refundRef.",
        ),
        (
            len(event.discount_codes) <= 50,
            "discountCodes",
            "At most 50 discount codes.",
        ),
        (
            event.occurred_at.tzinfo is not None,
            "occurredAt",
            "Times must carry a timezone.",
        ),
        (
            event.updated_at.tzinfo is not None,
            "updatedAt",
            "Times must carry a timezone.",
        ),
    ]
    for ok, field, message in problems:
        if not ok:
            raise OrderError(OrderErrorCode.INVALID, message, field=field)
    # Follow-up facts (a refund, a cancellation) may name only the order: some
    # platforms send refunds without the customer (Shopify refunds/create).
    follow_up = event.kind in (OrderEventKind.REFUNDED, OrderEventKind.CANCELLED)
    if not (event.customer.external_id or event.customer.email or follow_up):
        raise OrderError(
            OrderErrorCode.CUSTOMER_REQUIRED,
            "An order needs the customer's external id or email.",
            field="customer",
        )
    if event.currency.upper() != store_currency:
        raise OrderError(
            OrderErrorCode.CURRENCY_MISMATCH,
            f"The store's programme runs in {store_currency}; convert before sending.",
            field="currency",
        )


def is_stale(event: OrderEvent, snapshot_at: datetime) -> bool:
    """An older snapshot of the order than the one applied changes nothing.

    Refunds are facts of their own (deduplicated by refund_ref), not snapshots.
    """
    return event.kind is not OrderEventKind.REFUNDED and event.updated_at < snapshot_at


def eligible_refund(
    *,
    line_refund_minor: int,
    unallocated_minor: int,
    eligible_minor: int,
    total_minor: int,
) -> int:
    """Eligible money a refund returned: its lines, plus the eligible share of
    any amount refunded without lines (pro rata of eligible in the order total)."""
    share = 0
    if unallocated_minor > 0 and total_minor > 0:
        share = (unallocated_minor * eligible_minor + total_minor // 2) // total_minor
    return line_refund_minor + share


def counts_as_paid(status: OrderStatus) -> bool:
    """The order was paid (and earned its points), whatever came after."""
    return status in (
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    )


def in_paid_orders(status: OrderStatus) -> bool:
    """The order counts in the customer's paid orders: paid, and not yet
    taken off by a full refund or a cancellation (each takes it off once)."""
    return status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)

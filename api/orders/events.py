"""The platform-neutral order contract: what plugins (and orderRecord) produce.

These are facts about an order, never points: the domain decides what they earn.
Importing this module pulls in no service and no model.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class OrderEventKind(StrEnum):
    PLACED = "placed"  # created, not paid yet
    PAID = "paid"  # paid: earns points
    UPDATED = "updated"  # a newer snapshot (amounts, codes) of the order
    REFUNDED = "refunded"  # money returned (full or partial), once per refund_ref
    CANCELLED = "cancelled"  # the whole order is void


@dataclass(frozen=True)
class CustomerRef:
    """Who ordered: the platform's customer id and/or an email (guest orders)."""

    platform: str
    external_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class OrderEvent:
    kind: OrderEventKind
    platform: str  # "custom", "shopify", "woocommerce"
    order_ref: str  # the platform's order id, as text
    customer: CustomerRef
    currency: str  # ISO 4217
    # Merchandise after discounts, in minor units: no shipping, tax, tips or gift cards.
    eligible_minor: int
    # When the fact happened, and the platform's version of the order (for staleness).
    occurred_at: datetime
    updated_at: datetime
    discount_codes: tuple[str, ...] = ()
    # Everything the customer paid (shipping and tax included), in minor units.
    total_minor: int = 0
    # For REFUNDED: which refund, and the eligible money its lines returned.
    refund_ref: str | None = None
    refunded_minor: int = 0
    # For REFUNDED: money returned without lines or shipping (an amount-only
    # refund); the domain converts it pro rata (eligible / total).
    unallocated_refund_minor: int = 0
    name: str | None = None  # human order number, e.g. "#1001"
    extra: dict[str, str] = field(default_factory=dict)

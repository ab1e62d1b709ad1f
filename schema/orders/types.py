from datetime import datetime
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from api.orders import models
from schema.core.errors import UserError
from schema.core.money import Money
from schema.core.relay import PageSizeGuard


@strawberry.enum(description="Where an order stands, as far as loyalty is concerned.")
class OrderStatus(Enum):
    PLACED = strawberry.enum_value("placed", description="Created, not paid yet.")
    PAID = strawberry.enum_value("paid", description="Paid: points earned.")
    PARTIALLY_REFUNDED = strawberry.enum_value(
        "partially_refunded",
        description="Some money returned; points taken back pro rata.",
    )
    REFUNDED = strawberry.enum_value("refunded", description="All money returned.")
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Void; points taken back."
    )


@strawberry.type(description="An order, and the points it gave and took back.")
class Order(relay.Node):
    id: relay.NodeID[str]
    platform: str = strawberry.field(description="custom, shopify or woocommerce.")
    order_ref: str = strawberry.field(description="The platform's order id.")
    name: str | None = strawberry.field(description="Human order number, e.g. #1001.")
    status: OrderStatus = strawberry.field(
        description="Placed, paid, refunded, cancelled."
    )
    eligible: Money = strawberry.field(
        description="Merchandise after discounts: what earns points."
    )
    refunded: Money = strawberry.field(description="Eligible money refunded so far.")
    points_earned: int = strawberry.field(description="Points the order gave.")
    points_reversed: int = strawberry.field(description="Points taken back since.")
    points_unrecovered: int = strawberry.field(
        description="Points a refund should have taken back but were already spent."
    )
    discount_codes: list[str] = strawberry.field(description="Codes used on the order.")
    placed_at: datetime = strawberry.field(description="When placed (UTC).")
    paid_at: datetime | None = strawberry.field(description="When paid (UTC).")

    @classmethod
    def from_row(cls, row: models.Order) -> Self:
        return cls(
            id=str(row.id),
            platform=row.platform,
            order_ref=row.order_ref,
            name=row.name,
            status=OrderStatus[row.status.name],
            eligible=Money(amount_minor=row.eligible_minor, currency=row.currency),
            refunded=Money(amount_minor=row.refunded_minor, currency=row.currency),
            points_earned=row.points_earned,
            points_reversed=row.points_reversed,
            points_unrecovered=row.points_unrecovered,
            discount_codes=list(row.discount_codes),
            placed_at=row.placed_at,
            paid_at=row.paid_at,
        )


@strawberry.type(description="Orders, newest first, a page at a time.")
class OrderConnection(PageSizeGuard, relay.ListConnection[Order]):
    @classmethod
    def resolve_node(
        cls, node: models.Order, *, info: object, **kwargs: object
    ) -> Order:
        return Order.from_row(node)


@strawberry.enum(description="Why an order mutation failed.")
class OrderErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is malformed.")
    CURRENCY_MISMATCH = strawberry.enum_value(
        "currency_mismatch", description="Not the store's currency."
    )
    CUSTOMER_REQUIRED = strawberry.enum_value(
        "customer_required", description="Needs the customer's external id or email."
    )
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="No such order or customer."
    )
    INVALID_EMAIL = strawberry.enum_value(
        "invalid_email", description="Malformed email."
    )
    INVALID_KEY = strawberry.enum_value(
        "invalid_key", description="The idempotency key is empty or too long."
    )
    KEY_REUSED = strawberry.enum_value(
        "key_reused",
        description="The idempotency key was used for a different request.",
    )


@strawberry.type(description="A problem with the input of an order mutation.")
class OrderError(UserError):
    code: OrderErrorCode = strawberry.field(description="Stable code to branch on.")

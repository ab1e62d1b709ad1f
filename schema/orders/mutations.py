from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.customers.models import Platform as PlatformValue
from api.idempotency import service as idempotency
from api.orders import service
from api.orders.events import CustomerRef, OrderEvent
from api.orders.events import OrderEventKind as DomainKind
from api.orders.models import Order as OrderRow
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import ApiError, graphql_code, user_errors
from schema.core.permissions import IsSecretKey, caller
from schema.customers.types import Platform
from schema.orders.types import Order, OrderError, OrderErrorCode

MAX_CODES = 50


@strawberry.enum(description="What happened to the order.")
class OrderEventKind(Enum):
    PLACED = strawberry.enum_value("placed", description="Created, not paid yet.")
    PAID = strawberry.enum_value("paid", description="Paid: earns points.")
    UPDATED = strawberry.enum_value(
        "updated", description="A newer version of the order."
    )
    REFUNDED = strawberry.enum_value(
        "refunded", description="Money returned: send refundRef and refundedMinor."
    )
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Void: points taken back."
    )


def _error(error: DomainError) -> OrderError:
    return OrderError(
        code=graphql_code(OrderErrorCode, error),
        field=error.field,
        message=error.message,
    )


@strawberry.input(description="Who ordered: an external id, an email, or both.")
class OrderCustomerInput:
    external_id: str | None = strawberry.field(
        default=None, description="The customer's id on the platform."
    )
    email: str | None = strawberry.field(default=None, description="For guest orders.")
    platform: Platform = strawberry.field(
        default=Platform.CUSTOM, description="Which platform the id is from."
    )


@strawberry.input(description="A fact about an order, from a custom storefront.")
class OrderRecordInput:
    kind: OrderEventKind = strawberry.field(description="What happened.")
    order_ref: str = strawberry.field(description="Your order id (1-128 characters).")
    customer: OrderCustomerInput = strawberry.field(description="Who ordered.")
    currency: str = strawberry.field(
        description="ISO 4217; must be the store's currency."
    )
    eligible_minor: int = strawberry.field(
        description="Merchandise after discounts, in minor units: no shipping, tax, "
        "tips or gift cards. This is what earns points."
    )
    occurred_at: datetime = strawberry.field(description="When it happened.")
    updated_at: datetime | None = strawberry.field(
        default=None,
        description="Version of the order (default occurredAt): an older version than "
        "one already recorded changes nothing.",
    )
    name: str | None = strawberry.field(
        default=None, description="Order number, e.g. #1001."
    )
    discount_codes: list[str] = strawberry.field(
        default_factory=list, description="Codes used: Ladder reward codes become used."
    )
    refund_ref: str | None = strawberry.field(
        default=None, description="For REFUNDED: the refund's id (repeats are ignored)."
    )
    refunded_minor: int = strawberry.field(
        default=0, description="For REFUNDED: eligible money this refund returned."
    )
    idempotency_key: str = strawberry.field(
        description="Unique per call: a retry with it returns the first result."
    )

    def to_event(self) -> OrderEvent:
        if len(self.discount_codes) > MAX_CODES:
            raise ApiError("BAD_USER_INPUT", f"At most {MAX_CODES} discount codes.")
        return OrderEvent(
            kind=DomainKind[self.kind.name],
            platform=PlatformValue[self.customer.platform.name].value,
            order_ref=self.order_ref,
            customer=CustomerRef(
                platform=PlatformValue[self.customer.platform.name].value,
                external_id=self.customer.external_id,
                email=self.customer.email,
            ),
            currency=self.currency,
            eligible_minor=self.eligible_minor,
            occurred_at=self.occurred_at,
            updated_at=self.updated_at or self.occurred_at,
            discount_codes=tuple(self.discount_codes),
            refund_ref=self.refund_ref,
            refunded_minor=self.refunded_minor,
            name=self.name,
        )


@strawberry.type(description="Result of orderRecord.")
class OrderRecordPayload:
    order: Order | None = strawberry.field(description="The order as Ladder keeps it.")
    applied: bool = strawberry.field(
        default=False,
        description="False when the event changed nothing (a repeat or an older version).",
    )
    points_earned: int = strawberry.field(
        default=0, description="Points this event gave."
    )
    points_reversed: int = strawberry.field(
        default=0, description="Points this event took back."
    )
    user_errors: list[OrderError] = strawberry.field(description="Empty on success.")


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Send an order event from a custom storefront. Idempotent: the same "
        "event twice has one effect, and an older version after a newer one none.",
    )
    async def order_record(
        self, info: Info, input: Annotated[OrderRecordInput, INPUT]
    ) -> OrderRecordPayload | None:
        store = caller(info).store
        event = input.to_event()

        async def work() -> dict[str, object]:
            result = await service.ingest(store, event)
            return {
                "order_id": str(result.order.id),
                "applied": result.applied,
                "points_earned": result.points_earned,
                "points_reversed": result.points_reversed,
            }

        payload = {
            k: str(v) for k, v in vars(event).items() if k not in ("customer", "extra")
        } | {"customer": str(event.customer)}
        try:
            async with in_transaction():
                result = await idempotency.run_once(
                    store,
                    key=input.idempotency_key,
                    operation="orderRecord",
                    payload=payload,
                    work=work,
                )
        except DomainError as error:
            return OrderRecordPayload(
                order=None, user_errors=user_errors(error, _error)
            )
        row = await OrderRow.get(store_id=store.id, id=result["order_id"])
        return OrderRecordPayload(
            order=Order.from_row(row),
            applied=bool(result["applied"]),
            points_earned=int(result["points_earned"]),
            points_reversed=int(result["points_reversed"]),
            user_errors=[],
        )

from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.customers.errors import CustomerNotFoundError
from api.customers.models import Customer
from api.idempotency import service as idempotency
from api.ledger import service as ledger
from api.ledger.models import PointsTransaction as TransactionRow
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import graphql_code, user_errors
from schema.core.permissions import IsSecretKey, caller
from schema.core.relay import decode_id
from schema.ledger.types import LedgerError, LedgerErrorCode, PointsTransaction


def _error(error: DomainError) -> LedgerError:
    return LedgerError(
        code=graphql_code(LedgerErrorCode, error),
        field=error.field,
        message=error.message,
    )


@strawberry.input(description="A manual points change: goodwill or a correction.")
class PointsAdjustInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    points: int = strawberry.field(
        description="Points to add (positive) or take away (negative, never below zero)."
    )
    reason: str = strawberry.field(
        description="Why, shown to the customer in their history (1-255 characters)."
    )
    idempotency_key: str = strawberry.field(
        description="Unique per change: repeating the call with it returns the first result."
    )


@strawberry.type(description="Result of pointsAdjust.")
class PointsAdjustPayload:
    transaction: PointsTransaction | None = strawberry.field(
        description="The ledger entry written."
    )
    points_balance: int | None = strawberry.field(
        description="The customer's spendable points after the change."
    )
    user_errors: list[LedgerError] = strawberry.field(
        description="Problems with the input; empty on success."
    )


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Add or take away points by hand, with a reason (idempotent).",
    )
    async def points_adjust(
        self, info: Info, input: Annotated[PointsAdjustInput, INPUT]
    ) -> PointsAdjustPayload | None:
        store = caller(info).store
        customer_id = decode_id(input.customer_id, "Customer")

        async def work() -> dict[str, object]:
            if customer_id is None:
                raise CustomerNotFoundError(field="customerId")
            entry = await ledger.adjust(
                store, customer_id, points=input.points, reason=input.reason
            )
            return {"transaction_id": str(entry.id)}

        try:
            async with in_transaction():
                result = await idempotency.run_once(
                    store,
                    key=input.idempotency_key,
                    operation="pointsAdjust",
                    payload={
                        "customer": input.customer_id,
                        "points": input.points,
                        "reason": input.reason,
                    },
                    work=work,
                )
        except DomainError as error:
            return PointsAdjustPayload(
                transaction=None,
                points_balance=None,
                user_errors=user_errors(error, _error),
            )
        entry = await TransactionRow.get(store_id=store.id, id=result["transaction_id"])
        customer = await Customer.get(id=entry.customer_id)
        return PointsAdjustPayload(
            transaction=PointsTransaction.from_row(entry),
            points_balance=customer.points_balance,
            user_errors=[],
        )

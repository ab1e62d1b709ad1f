from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.customers import service
from api.customers.errors import CustomerNotFoundError
from api.customers.models import Platform as PlatformValue
from api.membership import service as membership
from api.stores import service as stores
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import forbidden, graphql_code, user_errors
from schema.core.permissions import IsAuthenticated, IsSecretKey, caller
from schema.core.relay import decode_id
from schema.customers.inputs import (
    CustomerDeleteInput,
    CustomerEnrollInput,
    CustomerTokenCreateInput,
    CustomerUpdateInput,
    CustomerUpsertInput,
)
from schema.customers.types import Customer, CustomerError, CustomerErrorCode


def _error(error: DomainError) -> CustomerError:
    return CustomerError(
        code=graphql_code(CustomerErrorCode, error),
        field=error.field,
        message=error.message,
    )


def _not_found() -> list[CustomerError]:
    return user_errors(CustomerNotFoundError(), _error)


@strawberry.type(description="Result of customerUpsert.")
class CustomerUpsertPayload:
    customer: Customer | None = strawberry.field(
        description="The customer, when saved."
    )
    created: bool = strawberry.field(
        default=False, description="True when this call created the customer."
    )
    user_errors: list[CustomerError] = strawberry.field(
        description="Problems with the input; empty on success."
    )


@strawberry.type(description="Result of a mutation on one customer.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(
        description="The customer, when saved."
    )
    user_errors: list[CustomerError] = strawberry.field(
        description="Problems with the input; empty on success."
    )


@strawberry.type(description="Result of customerDelete.")
class CustomerDeletePayload:
    deleted_customer_id: strawberry.ID | None = strawberry.field(
        description="Global id of the erased customer."
    )
    user_errors: list[CustomerError] = strawberry.field(
        description="Problems with the input; empty on success."
    )


@strawberry.type(description="Result of customerTokenCreate.")
class CustomerTokenCreatePayload:
    token: str | None = strawberry.field(
        description="Send it as the `X-Ladder-Customer-Token` header with a publishable key."
    )
    expires_at: datetime | None = strawberry.field(
        description="When it stops working (UTC)."
    )
    user_errors: list[CustomerError] = strawberry.field(
        description="Problems with the input; empty on success."
    )


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Create or update the customer with this external id (idempotent).",
    )
    async def customer_upsert(
        self, info: Info, input: Annotated[CustomerUpsertInput, INPUT]
    ) -> CustomerUpsertPayload | None:
        store = caller(info).store
        try:
            async with in_transaction():
                result = await membership.upsert(
                    store,
                    platform=PlatformValue[input.platform.name],
                    external_id=input.external_id,
                    changes=input.to_changes(),
                    enroll=input.enroll,
                )
                row = result.customer
        except DomainError as error:
            return CustomerUpsertPayload(
                customer=None, user_errors=user_errors(error, _error)
            )
        return CustomerUpsertPayload(
            customer=Customer.from_row(row, info),
            created=result.created,
            user_errors=[],
        )

    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Change a customer's personal fields; fields left out keep their value.",
    )
    async def customer_update(
        self, info: Info, input: Annotated[CustomerUpdateInput, INPUT]
    ) -> CustomerPayload | None:
        customer_id = decode_id(input.id, "Customer")
        if customer_id is None:
            return CustomerPayload(customer=None, user_errors=_not_found())
        try:
            async with in_transaction():
                row = await membership.update(
                    caller(info).store, customer_id, changes=input.to_changes()
                )
        except DomainError as error:
            return CustomerPayload(
                customer=None, user_errors=user_errors(error, _error)
            )
        return CustomerPayload(customer=Customer.from_row(row, info), user_errors=[])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Enrol a customer in the programme. Enrolling twice changes nothing.",
    )
    async def customer_enroll(
        self, info: Info, input: Annotated[CustomerEnrollInput | None, INPUT] = None
    ) -> CustomerPayload | None:
        principal = caller(info)
        requested = decode_id(input.id, "Customer") if input and input.id else None
        if principal.is_secret:
            customer_id = requested
        else:
            # A storefront may only enrol its own signed-in shopper.
            if principal.customer_id is None:
                raise forbidden("Publishable keys need a customer token to enrol.")
            if input and input.id and requested != principal.customer_id:
                return CustomerPayload(customer=None, user_errors=_not_found())
            customer_id = principal.customer_id
        if customer_id is None:
            return CustomerPayload(customer=None, user_errors=_not_found())
        try:
            async with in_transaction():
                row = await membership.enroll(principal.store, customer_id)
        except DomainError as error:
            return CustomerPayload(
                customer=None, user_errors=user_errors(error, _error)
            )
        return CustomerPayload(customer=Customer.from_row(row, info), user_errors=[])

    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Erase a customer's personal data (right to erasure). Their points "
        "history stays, anonymised, so the store's books still balance.",
    )
    async def customer_delete(
        self, info: Info, input: Annotated[CustomerDeleteInput, INPUT]
    ) -> CustomerDeletePayload | None:
        customer_id = decode_id(input.id, "Customer")
        if customer_id is None:
            return CustomerDeletePayload(
                deleted_customer_id=None, user_errors=_not_found()
            )
        try:
            async with in_transaction():
                await service.erase(caller(info).store, customer_id)
        except DomainError as error:
            return CustomerDeletePayload(
                deleted_customer_id=None, user_errors=user_errors(error, _error)
            )
        return CustomerDeletePayload(
            deleted_customer_id=strawberry.ID(str(input.id)), user_errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Mint a customer token on your server, then hand it to the "
        "storefront so it can query `me` with the publishable key.",
    )
    async def customer_token_create(
        self, info: Info, input: Annotated[CustomerTokenCreateInput, INPUT]
    ) -> CustomerTokenCreatePayload | None:
        principal = caller(info)
        settings = info.context.settings
        ttl = input.ttl_seconds or settings.customer_token_ttl_seconds
        if not 60 <= ttl <= settings.customer_token_max_ttl_seconds:
            return CustomerTokenCreatePayload(
                token=None,
                expires_at=None,
                user_errors=[
                    CustomerError(
                        code=CustomerErrorCode.INVALID,
                        field="ttlSeconds",
                        message="ttlSeconds must be between 60 and "
                        f"{settings.customer_token_max_ttl_seconds}.",
                    )
                ],
            )
        customer_id = decode_id(input.id, "Customer")
        try:
            if customer_id is None:
                raise CustomerNotFoundError()
            row = await service.get(principal.store, customer_id)
        except DomainError as error:
            return CustomerTokenCreatePayload(
                token=None, expires_at=None, user_errors=user_errors(error, _error)
            )
        token, expires_at = stores.mint_customer_token(
            principal.store, row.id, ttl=timedelta(seconds=ttl)
        )
        return CustomerTokenCreatePayload(
            token=token, expires_at=expires_at, user_errors=[]
        )

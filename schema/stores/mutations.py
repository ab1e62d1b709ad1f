from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.stores import service
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import graphql_code, user_errors
from schema.core.permissions import IsSecretKey, caller
from schema.stores.types import Store, StoreError, StoreErrorCode


def _error(error: DomainError) -> StoreError:
    return StoreError(
        code=graphql_code(StoreErrorCode, error),
        field=error.field,
        message=error.message,
    )


@strawberry.input(description="Settings to change; fields left out keep their value.")
class StoreUpdateInput:
    name: str | None = strawberry.field(default=None, description="Display name.")
    timezone: str | None = strawberry.field(default=None, description="IANA zone name.")
    allowed_origins: list[str] | None = strawberry.field(
        default=None,
        description="Browser origins the publishable key may be used from "
        "(at most 20), e.g. https://shop.example.com. Replaces the list.",
    )


@strawberry.type(description="Result of storeUpdate.")
class StoreUpdatePayload:
    store: Store | None = strawberry.field(description="The store, when saved.")
    allowed_origins: list[str] | None = strawberry.field(
        description="The publishable key's allowed origins after the change."
    )
    user_errors: list[StoreError] = strawberry.field(
        description="Problems with the input; empty on success."
    )


@strawberry.type
class StoreMutation:
    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Change the store's name, timezone or allowed browser origins.",
    )
    async def store_update(
        self, info: Info, input: Annotated[StoreUpdateInput, INPUT]
    ) -> StoreUpdatePayload | None:
        principal = caller(info)
        origins: list[str] | None = None
        try:
            async with in_transaction():
                store = await service.update_store(
                    principal.store, name=input.name, timezone=input.timezone
                )
                if input.allowed_origins is not None:
                    origins = await service.set_allowed_origins(
                        store, input.allowed_origins
                    )
        except DomainError as error:
            return StoreUpdatePayload(
                store=None, allowed_origins=None, user_errors=user_errors(error, _error)
            )
        return StoreUpdatePayload(
            store=Store.from_row(store), allowed_origins=origins, user_errors=[]
        )

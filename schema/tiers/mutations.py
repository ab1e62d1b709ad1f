from decimal import Decimal
from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.ledger import service as ledger
from api.tiers import service
from api.tiers.errors import TierError as DomainTierError
from api.tiers.errors import TierErrorCode as DomainCode
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import graphql_code, user_errors
from schema.core.permissions import IsSecretKey, caller
from schema.core.relay import decode_id
from schema.tiers.types import Tier, TierError, TierErrorCode


def _error(error: DomainError) -> TierError:
    return TierError(
        code=graphql_code(TierErrorCode, error),
        field=error.field,
        message=error.message,
    )


def _not_found(field: str = "id") -> DomainTierError:
    return DomainTierError(DomainCode.NOT_FOUND, "No such tier.", field=field)


@strawberry.input(description="A tier's settings.")
class TierInput:
    name: str = strawberry.field(description="Display name (1-100 characters).")
    rank: int = strawberry.field(
        description="Order of tiers, 0-1000: higher is better."
    )
    threshold: int = strawberry.field(
        description="Qualifying spend (minor units) or points, per the tier basis."
    )
    multiplier: Decimal = strawberry.field(
        default=Decimal(1), description="Points multiplier, 1 to 10."
    )
    perks: list[str] = strawberry.field(default_factory=list, description="At most 20.")
    description: str = strawberry.field(default="", description="Text for members.")

    def to_fields(self) -> service.TierFields:
        return service.TierFields(
            name=self.name,
            rank=self.rank,
            threshold=self.threshold,
            multiplier=self.multiplier,
            perks=tuple(self.perks),
            description=self.description,
        )


@strawberry.input(description="Change a tier.")
class TierUpdateInput(TierInput):
    id: strawberry.ID = strawberry.field(description="The tier.")


@strawberry.input(description="Delete a tier.")
class TierDeleteInput:
    id: strawberry.ID = strawberry.field(description="The tier.")


@strawberry.input(description="Fix a customer's tier by hand, or clear the override.")
class CustomerTierSetInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    tier_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The tier to hold until cleared; null clears the override and "
        "puts the customer back in the tier they qualify for.",
    )
    note: str = strawberry.field(default="", description="Why, for the tier history.")


@strawberry.type(description="Result of a tier mutation.")
class TierPayload:
    tier: Tier | None = strawberry.field(description="The tier, when saved.")
    user_errors: list[TierError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Result of tierDelete.")
class TierDeletePayload:
    deleted_tier_id: strawberry.ID | None = strawberry.field(
        description="Its global id."
    )
    user_errors: list[TierError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Result of customerTierSet.")
class CustomerTierSetPayload:
    tier: Tier | None = strawberry.field(description="The customer's tier afterwards.")
    is_override: bool = strawberry.field(
        description="True while the merchant's tier holds."
    )
    user_errors: list[TierError] = strawberry.field(description="Empty on success.")


@strawberry.type
class TierMutation:
    @strawberry.mutation(permission_classes=[IsSecretKey], description="Add a tier.")
    async def tier_create(
        self, info: Info, input: Annotated[TierInput, INPUT]
    ) -> TierPayload | None:
        try:
            async with in_transaction():
                tier = await service.save_tier(caller(info).store, input.to_fields())
        except DomainError as error:
            return TierPayload(tier=None, user_errors=user_errors(error, _error))
        return TierPayload(tier=Tier.from_row(tier), user_errors=[])

    @strawberry.mutation(permission_classes=[IsSecretKey], description="Change a tier.")
    async def tier_update(
        self, info: Info, input: Annotated[TierUpdateInput, INPUT]
    ) -> TierPayload | None:
        try:
            tier_id = decode_id(input.id, "Tier")
            if tier_id is None:
                raise _not_found()
            async with in_transaction():
                tier = await service.save_tier(
                    caller(info).store, input.to_fields(), tier_id=tier_id
                )
        except DomainError as error:
            return TierPayload(tier=None, user_errors=user_errors(error, _error))
        return TierPayload(tier=Tier.from_row(tier), user_errors=[])

    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Delete a tier; its members have no tier until re-evaluated.",
    )
    async def tier_delete(
        self, info: Info, input: Annotated[TierDeleteInput, INPUT]
    ) -> TierDeletePayload | None:
        try:
            tier_id = decode_id(input.id, "Tier")
            if tier_id is None:
                raise _not_found()
            async with in_transaction():
                await service.delete_tier(caller(info).store, tier_id)
        except DomainError as error:
            return TierDeletePayload(
                deleted_tier_id=None, user_errors=user_errors(error, _error)
            )
        return TierDeletePayload(deleted_tier_id=input.id, user_errors=[])

    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Set a customer's tier by hand (held until cleared), or clear it.",
    )
    async def customer_tier_set(
        self, info: Info, input: Annotated[CustomerTierSetInput, INPUT]
    ) -> CustomerTierSetPayload | None:
        store = caller(info).store
        try:
            customer_id = decode_id(input.customer_id, "Customer")
            if customer_id is None:
                raise DomainTierError(
                    DomainCode.NOT_FOUND, "No such customer.", field="customerId"
                )
            async with in_transaction():
                tier = None
                if input.tier_id is not None:
                    tier_id = decode_id(input.tier_id, "Tier")
                    if tier_id is None:
                        raise _not_found("tierId")
                    try:
                        tier = await service.get_tier(store, tier_id)
                    except DomainTierError as error:
                        raise _not_found("tierId") from error
                customer = await ledger.lock_customer(store, customer_id)
                await service.override(
                    store, customer, tier, note=input.note or "set by merchant"
                )
                held = (
                    await service.get_tier(store, customer.tier_id)
                    if customer.tier_id
                    else None
                )
        except DomainError as error:
            return CustomerTierSetPayload(
                tier=None, is_override=False, user_errors=user_errors(error, _error)
            )
        return CustomerTierSetPayload(
            tier=Tier.from_row(held) if held else None,
            is_override=customer.tier_locked,
            user_errors=[],
        )

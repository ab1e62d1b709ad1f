from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.idempotency import service as idempotency
from api.rewards import service
from api.rewards.errors import RewardError as DomainRewardError
from api.rewards.errors import RewardErrorCode as DomainCode
from api.rewards.models import Redemption as RedemptionRow
from api.rewards.models import RewardKind as DomainKind
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import forbidden, graphql_code, user_errors
from schema.core.permissions import IsAuthenticated, IsSecretKey, caller
from schema.core.relay import decode_id
from schema.rewards.types import (
    Redemption,
    Reward,
    RewardError,
    RewardErrorCode,
    RewardKind,
)


def _error(error: DomainError) -> RewardError:
    return RewardError(
        code=graphql_code(RewardErrorCode, error),
        field=error.field,
        message=error.message,
    )


def _not_found(field: str, what: str = "reward") -> DomainRewardError:
    return DomainRewardError(DomainCode.NOT_FOUND, f"No such {what}.", field=field)


@strawberry.input(description="A catalogue entry.")
class RewardInput:
    name: str = strawberry.field(description="Display name (1-100 characters).")
    kind: RewardKind = strawberry.field(description="What the reward gives.")
    cost_points: int = strawberry.field(description="Points it costs.")
    description: str = strawberry.field(default="", description="Text for customers.")
    value_minor: int | None = strawberry.field(
        default=None,
        description="Amount in minor units, for FIXED_AMOUNT and STORE_CREDIT.",
    )
    percent: int | None = strawberry.field(
        default=None, description="1-100, for PERCENTAGE."
    )
    product_ref: str | None = strawberry.field(
        default=None, description="The product, for FREE_PRODUCT."
    )
    min_order_minor: int | None = strawberry.field(
        default=None, description="Smallest order the code applies to."
    )
    min_tier_rank: int | None = strawberry.field(
        default=None, description="Lowest tier rank allowed to redeem."
    )
    stock: int | None = strawberry.field(
        default=None, description="How many; null: unlimited."
    )
    per_customer_limit: int | None = strawberry.field(
        default=None, description="Times one customer may redeem it."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="On offer from."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="On offer until."
    )
    is_active: bool = strawberry.field(default=True, description="Switched on.")

    def to_fields(self) -> service.RewardFields:
        return service.RewardFields(
            name=self.name,
            kind=DomainKind[self.kind.name],
            cost_points=self.cost_points,
            description=self.description,
            value_minor=self.value_minor,
            percent=self.percent,
            product_ref=self.product_ref,
            min_order_minor=self.min_order_minor,
            min_tier_rank=self.min_tier_rank,
            stock=self.stock,
            per_customer_limit=self.per_customer_limit,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            active=self.is_active,
        )


@strawberry.input(description="Change a catalogue entry (all fields are replaced).")
class RewardUpdateInput(RewardInput):
    id: strawberry.ID = strawberry.field(description="The reward.")


@strawberry.input(description="Spend points on a reward.")
class RewardRedeemInput:
    reward_id: strawberry.ID = strawberry.field(description="The reward.")
    idempotency_key: str = strawberry.field(
        description="Unique per redemption attempt: a retry with it returns the first "
        "redemption instead of spending twice."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required with a secret key. With a publishable key and a customer "
        "token, leave it out: the shopper redeems for themselves.",
    )


@strawberry.input(description="Cancel an unused redemption.")
class RedemptionCancelInput:
    id: strawberry.ID = strawberry.field(description="The redemption.")


@strawberry.type(description="Result of a reward mutation.")
class RewardPayload:
    reward: Reward | None = strawberry.field(description="The reward, when saved.")
    user_errors: list[RewardError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Result of rewardRedeem or redemptionCancel.")
class RedemptionPayload:
    redemption: Redemption | None = strawberry.field(
        description="The redemption, with its code."
    )
    points_balance: int | None = strawberry.field(
        description="The customer's spendable points afterwards."
    )
    user_errors: list[RewardError] = strawberry.field(description="Empty on success.")


async def _redemption_payload(store_id: UUID, redemption_id: UUID) -> RedemptionPayload:
    # Read after the transaction, so a replayed key answers exactly like the
    # first call; one joined read for the redemption, its reward and balance.
    row = await RedemptionRow.get(store_id=store_id, id=redemption_id).select_related(
        "reward", "customer"
    )
    return RedemptionPayload(
        redemption=Redemption.from_row(row, row.reward.name),
        points_balance=row.customer.points_balance,
        user_errors=[],
    )


@strawberry.type
class RewardMutation:
    @strawberry.mutation(permission_classes=[IsSecretKey], description="Add a reward.")
    async def reward_create(
        self, info: Info, input: Annotated[RewardInput, INPUT]
    ) -> RewardPayload | None:
        store = caller(info).store
        try:
            async with in_transaction():
                row = await service.save_reward(store, input.to_fields())
        except DomainError as error:
            return RewardPayload(reward=None, user_errors=user_errors(error, _error))
        return RewardPayload(
            reward=Reward.from_row(row, store.currency), user_errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsSecretKey], description="Change a reward."
    )
    async def reward_update(
        self, info: Info, input: Annotated[RewardUpdateInput, INPUT]
    ) -> RewardPayload | None:
        store = caller(info).store
        try:
            reward_id = decode_id(input.id, "Reward")
            if reward_id is None:
                raise _not_found("id")
            async with in_transaction():
                row = await service.save_reward(
                    store, input.to_fields(), reward_id=reward_id
                )
        except DomainError as error:
            return RewardPayload(reward=None, user_errors=user_errors(error, _error))
        return RewardPayload(
            reward=Reward.from_row(row, store.currency), user_errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Spend points on a reward and get its code, all or nothing. "
        "Idempotent: a retry with the same key returns the first redemption.",
    )
    async def reward_redeem(
        self, info: Info, input: Annotated[RewardRedeemInput, INPUT]
    ) -> RedemptionPayload | None:
        principal = caller(info)
        store = principal.store
        if principal.is_secret:
            customer_id = (
                decode_id(input.customer_id, "Customer") if input.customer_id else None
            )
        else:
            if principal.customer_id is None:
                raise forbidden("Publishable keys need a customer token to redeem.")
            requested = (
                decode_id(input.customer_id, "Customer") if input.customer_id else None
            )
            customer_id = (
                principal.customer_id
                if input.customer_id is None or requested == principal.customer_id
                else None
            )
        reward_id = decode_id(input.reward_id, "Reward")

        async def work() -> dict[str, object]:
            if customer_id is None:
                raise _not_found("customerId", "customer")
            if reward_id is None:
                raise _not_found("rewardId")
            redemption = await service.redeem(store, customer_id, reward_id)
            return {"redemption_id": str(redemption.id)}

        try:
            async with in_transaction():
                result = await idempotency.run_once(
                    store,
                    key=input.idempotency_key,
                    operation="rewardRedeem",
                    payload={"reward": input.reward_id, "customer": str(customer_id)},
                    work=work,
                )
        except DomainError as error:
            return RedemptionPayload(
                redemption=None,
                points_balance=None,
                user_errors=user_errors(error, _error),
            )
        return await _redemption_payload(store.id, UUID(str(result["redemption_id"])))

    @strawberry.mutation(
        permission_classes=[IsSecretKey],
        description="Cancel an unused redemption: its points come back, its code dies.",
    )
    async def redemption_cancel(
        self, info: Info, input: Annotated[RedemptionCancelInput, INPUT]
    ) -> RedemptionPayload | None:
        store = caller(info).store
        try:
            redemption_id = decode_id(input.id, "Redemption")
            if redemption_id is None:
                raise _not_found("id", "redemption")
            async with in_transaction():
                row = await service.cancel(store, redemption_id)
        except DomainError as error:
            return RedemptionPayload(
                redemption=None,
                points_balance=None,
                user_errors=user_errors(error, _error),
            )
        return await _redemption_payload(store.id, row.id)

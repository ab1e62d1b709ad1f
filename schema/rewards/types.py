from datetime import datetime
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from api.rewards import models
from schema.core.errors import UserError
from schema.core.money import Money
from schema.core.relay import PageSizeGuard


@strawberry.enum(description="What a reward gives.")
class RewardKind(Enum):
    FIXED_AMOUNT = strawberry.enum_value(
        "fixed_amount", description="An amount off the order."
    )
    PERCENTAGE = strawberry.enum_value(
        "percentage", description="A percentage off the order."
    )
    FREE_SHIPPING = strawberry.enum_value("free_shipping", description="Free shipping.")
    FREE_PRODUCT = strawberry.enum_value("free_product", description="A product, free.")
    STORE_CREDIT = strawberry.enum_value(
        "store_credit", description="Credit to spend later."
    )
    CUSTOM = strawberry.enum_value("custom", description="A gift the merchant fulfils.")


@strawberry.type(description="An entry of the rewards catalogue, bought with points.")
class Reward(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Longer text for customers.")
    kind: RewardKind = strawberry.field(description="What the reward gives.")
    cost_points: int = strawberry.field(description="Points it costs.")
    value: Money | None = strawberry.field(
        description="Amount off or credit, for FIXED_AMOUNT and STORE_CREDIT."
    )
    percent: int | None = strawberry.field(description="Percent off, for PERCENTAGE.")
    product_ref: str | None = strawberry.field(
        description="The product, for FREE_PRODUCT."
    )
    min_order: Money | None = strawberry.field(
        description="Smallest order the code applies to, if any."
    )
    min_tier_rank: int | None = strawberry.field(
        description="Lowest tier rank that may redeem it; null: everyone."
    )
    stock: int | None = strawberry.field(description="Left to give; null: unlimited.")
    per_customer_limit: int | None = strawberry.field(
        description="Times one customer may redeem it; null: no limit."
    )
    starts_at: datetime | None = strawberry.field(description="On offer from (UTC).")
    ends_at: datetime | None = strawberry.field(
        description="On offer until (UTC, exclusive)."
    )
    is_active: bool = strawberry.field(description="Switched on by the merchant.")

    @classmethod
    def from_row(cls, row: models.Reward, currency: str) -> Self:
        return cls(
            id=str(row.id),
            name=row.name,
            description=row.description,
            kind=RewardKind[row.kind.name],
            cost_points=row.cost_points,
            value=Money(amount_minor=row.value_minor, currency=currency)
            if row.value_minor is not None
            else None,
            percent=row.percent,
            product_ref=row.product_ref,
            min_order=Money(amount_minor=row.min_order_minor, currency=currency)
            if row.min_order_minor is not None
            else None,
            min_tier_rank=row.min_tier_rank,
            stock=row.stock,
            per_customer_limit=row.per_customer_limit,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            is_active=row.active,
        )


@strawberry.enum(description="Where a redemption stands.")
class RedemptionStatus(Enum):
    ISSUED = strawberry.enum_value(
        "issued", description="Code handed out, not used yet."
    )
    USED = strawberry.enum_value("used", description="Seen in a later order.")
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Cancelled; points returned."
    )


@strawberry.enum(
    description="The reward code on the store's platform (Shopify, WooCommerce)."
)
class PlatformCodeStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Being created (retried).")
    CREATED = strawberry.enum_value("created", description="Usable at the checkout.")
    FAILED = strawberry.enum_value(
        "failed", description="Could not be created: see platformCodeError."
    )


@strawberry.type(description="Points spent on a reward, and the code that claims it.")
class Redemption(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(
        description="The code to enter at checkout: unique and hard to guess."
    )
    reward_id: strawberry.ID = strawberry.field(description="The reward (global id).")
    reward_name: str = strawberry.field(description="The reward's name when redeemed.")
    points_spent: int = strawberry.field(description="Points it cost.")
    status: RedemptionStatus = strawberry.field(
        description="Issued, used or cancelled."
    )
    used_order_ref: str | None = strawberry.field(
        description="The order that used the code."
    )
    created_at: datetime = strawberry.field(description="When redeemed (UTC).")
    used_at: datetime | None = strawberry.field(description="When used (UTC).")
    cancelled_at: datetime | None = strawberry.field(
        description="When cancelled (UTC)."
    )
    platform_code_status: PlatformCodeStatus | None = strawberry.field(
        description="The code on the connected platform; null without one."
    )
    platform_code_error: str | None = strawberry.field(
        description="Why the platform refused the code, when it failed or is retried."
    )

    @classmethod
    def from_row(cls, row: models.Redemption, reward_name: str) -> Self:
        return cls(
            id=str(row.id),
            code=row.code,
            reward_id=strawberry.ID(relay.to_base64("Reward", row.reward_id)),
            reward_name=reward_name,
            points_spent=row.points_spent,
            status=RedemptionStatus[row.status.name],
            used_order_ref=row.used_order_ref,
            created_at=row.created_at,
            used_at=row.used_at,
            cancelled_at=row.cancelled_at,
            platform_code_status=PlatformCodeStatus[row.platform_code_status.upper()]
            if row.platform_code_status
            else None,
            platform_code_error=row.platform_error,
        )


@strawberry.type(description="Redemptions, newest first, a page at a time.")
class RedemptionConnection(PageSizeGuard, relay.ListConnection[Redemption]):
    @classmethod
    def resolve_node(
        cls, node: models.Redemption, *, info: object, **kwargs: object
    ) -> Redemption:
        return Redemption.from_row(node, node.reward.name)


@strawberry.enum(description="Why a reward mutation failed.")
class RewardErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is malformed.")
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="No such reward or customer."
    )
    INACTIVE = strawberry.enum_value("inactive", description="Not on offer now.")
    OUT_OF_STOCK = strawberry.enum_value("out_of_stock", description="None left.")
    LIMIT_REACHED = strawberry.enum_value(
        "limit_reached", description="Redeemed as often as allowed."
    )
    TIER_REQUIRED = strawberry.enum_value(
        "tier_required", description="Needs a higher tier."
    )
    INSUFFICIENT_POINTS = strawberry.enum_value(
        "insufficient_points", description="Not enough spendable points."
    )
    ALREADY_USED = strawberry.enum_value(
        "already_used", description="The code was used."
    )
    ALREADY_CANCELLED = strawberry.enum_value(
        "already_cancelled", description="Already cancelled."
    )
    INVALID_KEY = strawberry.enum_value(
        "invalid_key", description="The idempotency key is empty or too long."
    )
    KEY_REUSED = strawberry.enum_value(
        "key_reused",
        description="The idempotency key was used for a different request.",
    )


@strawberry.type(description="A problem with the input of a reward mutation.")
class RewardError(UserError):
    code: RewardErrorCode = strawberry.field(description="Stable code to branch on.")

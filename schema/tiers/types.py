from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from api.core.money import plain
from api.tiers import models
from schema.core.errors import UserError


@strawberry.type(
    description="A tier of the programme: reach its threshold to get its perks."
)
class Tier(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Display name, e.g. Gold.")
    rank: int = strawberry.field(description="Order of tiers: higher is better.")
    threshold: int = strawberry.field(
        description="What qualifies: spend in minor units or points earned, per "
        "`programSettings.tierBasis`, within the tier window."
    )
    multiplier: Decimal = strawberry.field(
        description="Points multiplier on earning rules while in this tier (1 = none)."
    )
    perks: list[str] = strawberry.field(description="Perks to show to members.")
    description: str = strawberry.field(description="Longer text for members.")

    @classmethod
    def from_row(cls, row: models.Tier) -> Self:
        return cls(
            id=str(row.id),
            name=row.name,
            rank=row.rank,
            threshold=row.threshold,
            multiplier=plain(row.multiplier),
            perks=list(row.perks),
            description=row.description,
        )


@strawberry.enum(description="Why a customer moved between tiers.")
class TierChangeReason(Enum):
    QUALIFIED = strawberry.enum_value(
        "qualified", description="Reached a higher threshold."
    )
    DOWNGRADED = strawberry.enum_value(
        "downgraded", description="Fell short of the tier at the end of the period."
    )
    MANUAL = strawberry.enum_value("manual", description="Set by the merchant.")
    OVERRIDE_CLEARED = strawberry.enum_value(
        "override_cleared", description="The merchant's override was removed."
    )


@strawberry.type(description="One move between tiers.")
class TierChange:
    from_tier_id: strawberry.ID | None = strawberry.field(
        description="Tier before (global id)."
    )
    to_tier_id: strawberry.ID | None = strawberry.field(
        description="Tier after (global id)."
    )
    reason: TierChangeReason = strawberry.field(description="Why it happened.")
    note: str = strawberry.field(description="What triggered it, e.g. an order.")
    created_at: datetime = strawberry.field(description="When (UTC).")


@strawberry.type(description="Where a customer stands on the tier ladder.")
class TierProgress:
    current_tier: Tier | None = strawberry.field(description="The tier held now.")
    next_tier: Tier | None = strawberry.field(description="The next tier up, if any.")
    metric: int = strawberry.field(
        description="Qualifying spend (minor units) or points in the current window."
    )
    amount_to_next: int | None = strawberry.field(
        description="What is still missing to reach the next tier."
    )
    review_at: datetime | None = strawberry.field(
        description="When the current tier is reviewed (downgrades happen only then)."
    )
    amount_to_keep: int = strawberry.field(
        description="What is still missing, by the review, to keep the current tier."
    )


@strawberry.enum(description="Why a tier mutation failed.")
class TierErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is out of range.")
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="No such tier or customer."
    )
    DUPLICATE_RANK = strawberry.enum_value(
        "duplicate_rank", description="Another tier has this rank."
    )
    THRESHOLD_ORDER = strawberry.enum_value(
        "threshold_order", description="Thresholds must grow with rank."
    )


@strawberry.type(description="A problem with the input of a tier mutation.")
class TierError(UserError):
    code: TierErrorCode = strawberry.field(description="Stable code to branch on.")

from enum import Enum

import strawberry
from strawberry.scalars import JSON


@strawberry.enum(description="Kinds of nudge; each has a fixed set of data keys.")
class NudgeType(Enum):
    REWARD_AVAILABLE = strawberry.enum_value(
        "reward_available",
        description="Can afford a reward now. data: rewardId, rewardName, costPoints.",
    )
    NEXT_REWARD = strawberry.enum_value(
        "next_reward",
        description="Points to the next reward. data: rewardId, rewardName, pointsNeeded.",
    )
    TIER_PROGRESS = strawberry.enum_value(
        "tier_progress",
        description="To the next tier. data: nextTier, amountToNext, basis.",
    )
    TIER_AT_RISK = strawberry.enum_value(
        "tier_at_risk",
        description="Tier review soon, not requalified yet. "
        "data: tier, reviewAt, amountToKeep, basis.",
    )
    POINTS_EXPIRING = strawberry.enum_value(
        "points_expiring", description="Points expire soon. data: points, expiresAt."
    )
    BIRTHDAY = strawberry.enum_value(
        "birthday", description="Happy birthday. data: {}."
    )
    THANK_YOU = strawberry.enum_value(
        "thank_you", description="After a recent order. data: orderName, pointsEarned."
    )


@strawberry.type(
    description="Something to tell the shopper now; render your own words."
)
class Nudge:
    type: NudgeType = strawberry.field(description="Which nudge.")
    data: JSON = strawberry.field(
        description="Its numbers, keys per type (see NudgeType)."
    )

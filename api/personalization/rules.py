"""Nudges: what to tell a shopper now, as stable types with data (pure).

Frontends render their own words from `type` and `data`; Ladder only decides
which nudges apply and with what numbers.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class NudgeType(StrEnum):
    REWARD_AVAILABLE = "reward_available"  # can afford a reward now
    NEXT_REWARD = "next_reward"  # N points to the next reward
    TIER_PROGRESS = "tier_progress"  # amount to the next tier
    TIER_AT_RISK = "tier_at_risk"  # tier review soon, not yet requalified
    POINTS_EXPIRING = "points_expiring"  # points expire soon
    BIRTHDAY = "birthday"  # happy birthday
    THANK_YOU = "thank_you"  # after a recent order


@dataclass(frozen=True)
class Nudge:
    type: NudgeType
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RewardOffer:
    id: str
    name: str
    cost_points: int


@dataclass(frozen=True)
class TierOutlook:
    current: str | None
    next: str | None
    amount_to_next: int | None
    basis: str
    review_at: datetime | None
    amount_to_keep: int


@dataclass(frozen=True)
class RecentOrder:
    name: str
    paid_at: datetime
    points_earned: int


THANK_YOU_DAYS = 7


def nudges(
    *,
    now: datetime,
    balance: int,
    rewards: list[RewardOffer],
    tier: TierOutlook | None,
    expiring_points: int,
    expiring_at: datetime | None,
    birthday_today: bool,
    latest_order: RecentOrder | None,
    tier_warning_days: int,
) -> list[Nudge]:
    found: list[Nudge] = []
    if birthday_today:
        found.append(Nudge(NudgeType.BIRTHDAY))
    if latest_order and latest_order.paid_at >= now - timedelta(days=THANK_YOU_DAYS):
        found.append(
            Nudge(
                NudgeType.THANK_YOU,
                {
                    "orderName": latest_order.name,
                    "pointsEarned": latest_order.points_earned,
                },
            )
        )
    if expiring_points > 0 and expiring_at is not None:
        found.append(
            Nudge(
                NudgeType.POINTS_EXPIRING,
                {"points": expiring_points, "expiresAt": expiring_at.isoformat()},
            )
        )
    affordable = [r for r in rewards if r.cost_points <= balance]
    if affordable:
        best = max(affordable, key=lambda r: r.cost_points)
        found.append(
            Nudge(
                NudgeType.REWARD_AVAILABLE,
                {
                    "rewardId": best.id,
                    "rewardName": best.name,
                    "costPoints": best.cost_points,
                },
            )
        )
    beyond = [r for r in rewards if r.cost_points > balance]
    if beyond:
        nearest = min(beyond, key=lambda r: r.cost_points)
        found.append(
            Nudge(
                NudgeType.NEXT_REWARD,
                {
                    "rewardId": nearest.id,
                    "rewardName": nearest.name,
                    "pointsNeeded": nearest.cost_points - balance,
                },
            )
        )
    if tier is not None:
        at_risk = (
            tier.current is not None
            and tier.review_at is not None
            and tier.review_at <= now + timedelta(days=tier_warning_days)
            and tier.amount_to_keep > 0
        )
        if at_risk:
            found.append(
                Nudge(
                    NudgeType.TIER_AT_RISK,
                    {
                        "tier": tier.current,
                        "reviewAt": tier.review_at.isoformat()
                        if tier.review_at
                        else None,
                        "amountToKeep": tier.amount_to_keep,
                        "basis": tier.basis,
                    },
                )
            )
        if tier.next is not None and tier.amount_to_next is not None:
            found.append(
                Nudge(
                    NudgeType.TIER_PROGRESS,
                    {
                        "nextTier": tier.next,
                        "amountToNext": tier.amount_to_next,
                        "basis": tier.basis,
                    },
                )
            )
    return found

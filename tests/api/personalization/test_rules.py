"""Nudges: which messages a shopper gets now, with which numbers."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.personalization import rules
from api.personalization.rules import (
    Nudge,
    NudgeType,
    RecentOrder,
    RewardOffer,
    TierOutlook,
)

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)

COFFEE = RewardOffer("r-100", "Free coffee", 100)
FIVE_OFF = RewardOffer("r-250", "5 EUR off", 250)
TOTE = RewardOffer("r-500", "Tote bag", 500)
HOODIE = RewardOffer("r-1000", "Hoodie", 1000)
CATALOGUE = [TOTE, COFFEE, HOODIE, FIVE_OFF]  # unsorted on purpose


def _order(days_ago: timedelta) -> RecentOrder:
    return RecentOrder(name="#1001", paid_at=NOW - days_ago, points_earned=42)


def _tier(
    *,
    current: str | None = "Gold",
    next_tier: str | None = "Platinum",
    amount_to_next: int | None = 25_000,
    review_in: timedelta | None = 20 * DAY,
    amount_to_keep: int = 5_000,
) -> TierOutlook:
    return TierOutlook(
        current=current,
        next=next_tier,
        amount_to_next=amount_to_next,
        basis="spend",
        review_at=None if review_in is None else NOW + review_in,
        amount_to_keep=amount_to_keep,
    )


def _nudges(**given: Any) -> list[Nudge]:
    inputs: dict[str, Any] = {
        "now": NOW,
        "balance": 0,
        "rewards": [],
        "tier": None,
        "expiring_points": 0,
        "expiring_at": None,
        "birthday_today": False,
        "latest_order": None,
        "tier_warning_days": 30,
    } | given
    return rules.nudges(**inputs)


def _reward(offer: RewardOffer) -> Nudge:
    return Nudge(
        NudgeType.REWARD_AVAILABLE,
        {
            "rewardId": offer.id,
            "rewardName": offer.name,
            "costPoints": offer.cost_points,
        },
    )


def _next(offer: RewardOffer, needed: int) -> Nudge:
    return Nudge(
        NudgeType.NEXT_REWARD,
        {"rewardId": offer.id, "rewardName": offer.name, "pointsNeeded": needed},
    )


THANKS = Nudge(NudgeType.THANK_YOU, {"orderName": "#1001", "pointsEarned": 42})
PROGRESS = Nudge(
    NudgeType.TIER_PROGRESS,
    {"nextTier": "Platinum", "amountToNext": 25_000, "basis": "spend"},
)


def _at_risk(review_in: timedelta) -> Nudge:
    return Nudge(
        NudgeType.TIER_AT_RISK,
        {
            "tier": "Gold",
            "reviewAt": (NOW + review_in).isoformat(),
            "amountToKeep": 5_000,
            "basis": "spend",
        },
    )


@pytest.mark.parametrize(
    ("_case", "given", "expected"),
    [
        ("nothing to say", {}, []),
        ("birthday", {"birthday_today": True}, [Nudge(NudgeType.BIRTHDAY)]),
        # thank-you
        ("order two days ago", {"latest_order": _order(2 * DAY)}, [THANKS]),
        ("order just now", {"latest_order": _order(timedelta(0))}, [THANKS]),
        ("order exactly a week ago", {"latest_order": _order(7 * DAY)}, [THANKS]),
        ("order just over a week ago", {"latest_order": _order(7 * DAY + TICK)}, []),
        # expiring points
        (
            "points expiring",
            {"expiring_points": 120, "expiring_at": NOW + 10 * DAY},
            [
                Nudge(
                    NudgeType.POINTS_EXPIRING,
                    {"points": 120, "expiresAt": "2026-05-20T12:00:00+00:00"},
                )
            ],
        ),
        ("nothing expiring", {"expiring_points": 0, "expiring_at": NOW + DAY}, []),
        ("expiring without a date", {"expiring_points": 120, "expiring_at": None}, []),
        # rewards
        ("no catalogue", {"balance": 9_999}, []),
        (
            "nothing affordable yet",
            {"balance": 0, "rewards": CATALOGUE},
            [_next(COFFEE, 100)],
        ),
        (
            "dearest affordable and cheapest beyond",
            {"balance": 300, "rewards": CATALOGUE},
            [_reward(FIVE_OFF), _next(TOTE, 200)],
        ),
        (
            "exactly affordable",
            {"balance": 500, "rewards": CATALOGUE},
            [_reward(TOTE), _next(HOODIE, 500)],
        ),
        (
            "one point short",
            {"balance": 99, "rewards": CATALOGUE},
            [_next(COFFEE, 1)],
        ),
        (
            "everything affordable",
            {"balance": 5_000, "rewards": CATALOGUE},
            [_reward(HOODIE)],
        ),
        # tiers
        (
            "review soon, not requalified",
            {"tier": _tier()},
            [_at_risk(20 * DAY), PROGRESS],
        ),
        (
            "review exactly at the warning horizon",
            {"tier": _tier(review_in=30 * DAY)},
            [_at_risk(30 * DAY), PROGRESS],
        ),
        (
            "review beyond the warning horizon",
            {"tier": _tier(review_in=30 * DAY + TICK)},
            [PROGRESS],
        ),
        (
            "store warns earlier",
            {"tier": _tier(review_in=45 * DAY), "tier_warning_days": 60},
            [_at_risk(45 * DAY), PROGRESS],
        ),
        ("already requalified", {"tier": _tier(amount_to_keep=0)}, [PROGRESS]),
        ("no review date", {"tier": _tier(review_in=None)}, [PROGRESS]),
        (
            "no tier yet: progress only",
            {
                "tier": _tier(
                    current=None, next_tier="Platinum", review_in=None, amount_to_keep=0
                )
            },
            [PROGRESS],
        ),
        (
            "no tier, stray review data: not at risk",
            {"tier": _tier(current=None)},
            [PROGRESS],
        ),
        (
            "top tier at risk: no progress",
            {"tier": _tier(next_tier=None, amount_to_next=None)},
            [_at_risk(20 * DAY)],
        ),
        (
            "top tier, safe",
            {"tier": _tier(next_tier=None, amount_to_next=None, amount_to_keep=0)},
            [],
        ),
        # everything at once, in a stable order
        (
            "all nudges",
            {
                "birthday_today": True,
                "latest_order": _order(DAY),
                "expiring_points": 120,
                "expiring_at": NOW + 10 * DAY,
                "balance": 300,
                "rewards": CATALOGUE,
                "tier": _tier(),
            },
            [
                Nudge(NudgeType.BIRTHDAY),
                THANKS,
                Nudge(
                    NudgeType.POINTS_EXPIRING,
                    {"points": 120, "expiresAt": "2026-05-20T12:00:00+00:00"},
                ),
                _reward(FIVE_OFF),
                _next(TOTE, 200),
                _at_risk(20 * DAY),
                PROGRESS,
            ],
        ),
    ],
)
def test_nudges(_case: str, given: dict[str, Any], expected: list[Nudge]) -> None:
    assert _nudges(**given) == expected

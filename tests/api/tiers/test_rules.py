"""Tier maths: qualifying tier, upgrade/downgrade decisions, windows and reviews."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from api.program.rules import ProgramSettings, TierWindow
from api.tiers import rules
from api.tiers.rules import TierDecision, TierLevel

BRONZE = TierLevel(UUID(int=1), "Bronze", rank=0, threshold=0)
SILVER = TierLevel(
    UUID(int=2), "Silver", rank=1, threshold=10_000, multiplier=Decimal("1.25")
)
GOLD = TierLevel(
    UUID(int=3), "Gold", rank=2, threshold=50_000, multiplier=Decimal("1.5")
)
PLATINUM = TierLevel(
    UUID(int=4), "Platinum", rank=3, threshold=100_000, multiplier=Decimal(2)
)
# Deliberately out of order: nothing may rely on the list being sorted.
PAID_TIERS = [GOLD, PLATINUM, SILVER]

ROLLING = ProgramSettings()  # 365 days
ROLLING_90 = ProgramSettings(tier_window_days=90)
CALENDAR = ProgramSettings(tier_window=TierWindow.CALENDAR_YEAR)
PARIS = "Europe/Paris"


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("_case", "levels", "metric", "expected"),
    [
        ("nothing yet", PAID_TIERS, 0, None),
        ("just under the first tier", PAID_TIERS, 9_999, None),
        ("exactly the first threshold", PAID_TIERS, 10_000, SILVER),
        ("between tiers", PAID_TIERS, 49_999, SILVER),
        ("exactly gold", PAID_TIERS, 50_000, GOLD),
        ("far above the top", PAID_TIERS, 1_000_000, PLATINUM),
        ("a free entry tier", [*PAID_TIERS, BRONZE], 0, BRONZE),
        ("no tiers configured", [], 1_000_000, None),
    ],
)
def test_qualifying(
    _case: str, levels: list[TierLevel], metric: int, expected: TierLevel | None
) -> None:
    assert rules.qualifying(levels, metric) == expected


def test_qualifying_goes_by_rank_not_threshold() -> None:
    # A merchant may set a higher rank with a lower bar; the best rank reached wins.
    odd = TierLevel(UUID(int=9), "VIP", rank=5, threshold=20_000)
    assert rules.qualifying([GOLD, odd], 60_000) == odd


@pytest.mark.parametrize(
    ("_case", "current", "expected"),
    [
        ("no tier: the lowest one", None, SILVER),
        ("silver: gold next", SILVER, GOLD),
        ("gold: platinum next", GOLD, PLATINUM),
        ("top tier: nothing next", PLATINUM, None),
    ],
)
def test_next_above(
    _case: str, current: TierLevel | None, expected: TierLevel | None
) -> None:
    assert rules.next_above(PAID_TIERS, current) == expected


@pytest.mark.parametrize(
    ("_case", "current", "qualified", "review_due", "expected"),
    [
        (
            "first tier at once",
            None,
            SILVER,
            False,
            TierDecision(SILVER, downgrade=False),
        ),
        ("upgrade at once", SILVER, GOLD, False, TierDecision(GOLD, downgrade=False)),
        (
            "upgrade on review day",
            SILVER,
            PLATINUM,
            True,
            TierDecision(PLATINUM, downgrade=False),
        ),
        ("kept until the review", GOLD, SILVER, False, None),
        (
            "down one at the review",
            GOLD,
            SILVER,
            True,
            TierDecision(SILVER, downgrade=True),
        ),
        (
            "out of tiers at the review",
            GOLD,
            None,
            True,
            TierDecision(None, downgrade=True),
        ),
        ("no change without review", GOLD, None, False, None),
        ("requalified at the review", GOLD, GOLD, True, None),
        ("still no tier", None, None, True, None),
    ],
)
def test_decide(
    _case: str,
    current: TierLevel | None,
    qualified: TierLevel | None,
    review_due: bool,
    expected: TierDecision | None,
) -> None:
    assert rules.decide(current, qualified, review_due=review_due) == expected


@pytest.mark.parametrize(
    ("_case", "now", "settings", "timezone", "expected"),
    [
        ("rolling year", _utc(2026, 5, 10, 12), ROLLING, PARIS, _utc(2025, 5, 10, 12)),
        (
            "rolling 90 days",
            _utc(2026, 5, 10, 12),
            ROLLING_90,
            PARIS,
            _utc(2026, 2, 9, 12),
        ),
        (
            "calendar year in Paris",
            _utc(2026, 5, 10, 12),
            CALENDAR,
            PARIS,
            _utc(2025, 12, 31, 23),
        ),
        (
            "calendar: already new year in Paris",
            _utc(2025, 12, 31, 23, 30),
            CALENDAR,
            PARIS,
            _utc(2025, 12, 31, 23),
        ),
        (
            "calendar: still old year in Paris",
            _utc(2025, 12, 31, 22, 30),
            CALENDAR,
            PARIS,
            _utc(2024, 12, 31, 23),
        ),
        (
            "calendar: still old year in Los Angeles",
            _utc(2026, 1, 1, 5),
            CALENDAR,
            "America/Los_Angeles",
            _utc(2025, 1, 1, 8),
        ),
    ],
)
def test_qualification_start(
    _case: str,
    now: datetime,
    settings: ProgramSettings,
    timezone: str,
    expected: datetime,
) -> None:
    assert rules.qualification_start(now, settings, timezone) == expected


@pytest.mark.parametrize(
    ("_case", "review_at", "settings", "expected"),
    [
        (
            "rolling: the year before",
            _utc(2027, 5, 10, 12),
            ROLLING,
            _utc(2026, 5, 10, 12),
        ),
        ("rolling 90", _utc(2027, 5, 10, 12), ROLLING_90, _utc(2027, 2, 9, 12)),
        (
            "calendar: at Paris new year, the year just ended",
            _utc(2027, 12, 31, 23),
            CALENDAR,
            _utc(2026, 12, 31, 23),
        ),
        (
            "calendar: mid-year, the current year",
            _utc(2027, 6, 15),
            CALENDAR,
            _utc(2026, 12, 31, 23),
        ),
    ],
)
def test_review_window_start(
    _case: str, review_at: datetime, settings: ProgramSettings, expected: datetime
) -> None:
    assert rules.review_window_start(review_at, settings, PARIS) == expected


@pytest.mark.parametrize(
    ("_case", "now", "settings", "expected"),
    [
        (
            "rolling: a full window later",
            _utc(2026, 5, 10, 12),
            ROLLING,
            _utc(2027, 5, 10, 12),
        ),
        ("rolling 90", _utc(2026, 5, 10, 12), ROLLING_90, _utc(2026, 8, 8, 12)),
        (
            "calendar: kept through next year",
            _utc(2026, 5, 10, 12),
            CALENDAR,
            _utc(2027, 12, 31, 23),  # 2028-01-01 00:00 in Paris
        ),
        (
            "calendar: reached in the first hour of 2026 in Paris",
            _utc(2025, 12, 31, 23, 30),
            CALENDAR,
            _utc(2027, 12, 31, 23),
        ),
        (
            "calendar: reached in the last hour of 2025 in Paris",
            _utc(2025, 12, 31, 22, 30),
            CALENDAR,
            _utc(2026, 12, 31, 23),  # 2027-01-01 00:00 in Paris
        ),
    ],
)
def test_next_review(
    _case: str, now: datetime, settings: ProgramSettings, expected: datetime
) -> None:
    assert rules.next_review(now, settings, PARIS) == expected


def test_calendar_review_judges_the_year_after_the_tier_was_reached() -> None:
    reached = _utc(2026, 5, 10, 12)
    review_at = rules.next_review(reached, CALENDAR, PARIS)
    start = rules.review_window_start(review_at, CALENDAR, PARIS)
    assert start == _utc(2026, 12, 31, 23)  # 2027-01-01 00:00 in Paris
    assert review_at - start == timedelta(days=365)

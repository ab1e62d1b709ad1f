"""Tier maths: which tier a metric earns, windows, reviews and progress (pure)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from api.program.rules import ProgramSettings, TierWindow


@dataclass(frozen=True)
class TierLevel:
    id: UUID
    name: str
    rank: int
    threshold: int
    multiplier: Decimal = Decimal(1)


def qualifying(levels: list[TierLevel], metric: int) -> TierLevel | None:
    """The best tier whose threshold the metric reaches."""
    reached = [level for level in levels if level.threshold <= metric]
    return max(reached, key=lambda level: level.rank, default=None)


def next_above(levels: list[TierLevel], current: TierLevel | None) -> TierLevel | None:
    floor = current.rank if current else None
    above = [level for level in levels if floor is None or level.rank > floor]
    return min(above, key=lambda level: level.rank, default=None)


def _year_start(at: datetime, timezone: str, years_ahead: int = 0) -> datetime:
    """1 January 00:00 in the store's timezone, as UTC (stored and compared in UTC)."""
    zone = ZoneInfo(timezone)
    year = at.astimezone(zone).year + years_ahead
    return datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)


def qualification_start(
    now: datetime, settings: ProgramSettings, timezone: str
) -> datetime:
    """Start of the window that counts towards an upgrade right now."""
    if settings.tier_window is TierWindow.CALENDAR_YEAR:
        return _year_start(now, timezone)
    return now - timedelta(days=settings.tier_window_days)


def review_window_start(
    review_at: datetime, settings: ProgramSettings, timezone: str
) -> datetime:
    """Start of the period judged at a review: the year that just ended, or the
    rolling window ending at the review."""
    if settings.tier_window is TierWindow.CALENDAR_YEAR:
        return _year_start(review_at - timedelta(seconds=1), timezone)
    return review_at - timedelta(days=settings.tier_window_days)


def next_review(now: datetime, settings: ProgramSettings, timezone: str) -> datetime:
    """When a tier reached now is reviewed: after a full rolling window, or at the
    end of the next calendar year (a tier earned this year is kept through next)."""
    if settings.tier_window is TierWindow.CALENDAR_YEAR:
        return _year_start(now, timezone, years_ahead=2)
    return now + timedelta(days=settings.tier_window_days)


def renewal_review(now: datetime, settings: ProgramSettings, timezone: str) -> datetime:
    """After a review that kept the tier: the next period is judged next."""
    if settings.tier_window is TierWindow.CALENDAR_YEAR:
        return _year_start(now, timezone, years_ahead=1)
    return now + timedelta(days=settings.tier_window_days)


@dataclass(frozen=True)
class TierDecision:
    to: TierLevel | None
    downgrade: bool


def decide(
    current: TierLevel | None,
    qualified: TierLevel | None,
    *,
    review_due: bool,
) -> TierDecision | None:
    """Upgrades happen at once; downgrades only when the review is due."""
    current_rank = current.rank if current else -1
    qualified_rank = qualified.rank if qualified else -1
    if qualified_rank > current_rank:
        return TierDecision(to=qualified, downgrade=False)
    if review_due and qualified_rank < current_rank:
        return TierDecision(to=qualified, downgrade=True)
    return None

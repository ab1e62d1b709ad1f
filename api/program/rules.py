"""The loyalty maths of earning: settings, spend and action rules, campaigns, caps.

Pure functions; services gather the inputs and write the results.
"""

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from api.core.money import Rounding, round_points, to_major
from api.program.errors import ProgramError, ProgramErrorCode


class TierBasis(StrEnum):
    """What qualifies a customer for a tier."""

    SPEND = "spend"  # eligible spend, in minor units
    POINTS = "points"  # points earned


class TierWindow(StrEnum):
    ROLLING = "rolling"  # the last `tier_window_days` days
    CALENDAR_YEAR = "calendar_year"  # the current calendar year, store timezone


@dataclass(frozen=True)
class ProgramSettings:
    """Store-wide programme settings (kept as JSON on the store)."""

    # Earned points wait this long (e.g. the return window) before they can be spent.
    pending_days: int = 0
    # Points expire this many days after they were earned; None: never.
    expiry_days: int | None = 365
    expiry_warning_days: int = 30
    tier_basis: TierBasis = TierBasis.SPEND
    tier_window: TierWindow = TierWindow.ROLLING
    tier_window_days: int = 365
    tier_warning_days: int = 30
    # Loyalty ladder thresholds.
    client_min_orders: int = 2
    advocate_min_orders: int = 2
    lapse_days: int = 180

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "ProgramSettings":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        if "tier_basis" in values:
            values["tier_basis"] = TierBasis(values["tier_basis"])
        if "tier_window" in values:
            values["tier_window"] = TierWindow(values["tier_window"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tier_basis"] = self.tier_basis.value
        data["tier_window"] = self.tier_window.value
        return data

    def validate(self) -> "ProgramSettings":
        checks = [
            (0 <= self.pending_days <= 365, "pendingDays", "0 to 365 days"),
            (
                self.expiry_days is None
                or self.pending_days < self.expiry_days <= 3650,
                "expiryDays",
                "longer than pendingDays and at most 3650 days, or null",
            ),
            (
                0 <= self.expiry_warning_days <= 365,
                "expiryWarningDays",
                "0 to 365 days",
            ),
            (30 <= self.tier_window_days <= 1095, "tierWindowDays", "30 to 1095 days"),
            (0 <= self.tier_warning_days <= 365, "tierWarningDays", "0 to 365 days"),
            (2 <= self.client_min_orders <= 100, "clientMinOrders", "2 to 100 orders"),
            (
                self.client_min_orders <= self.advocate_min_orders <= 100,
                "advocateMinOrders",
                "at least clientMinOrders, at most 100",
            ),
            (30 <= self.lapse_days <= 3650, "lapseDays", "30 to 3650 days"),
        ]
        for ok, name, expected in checks:
            if not ok:
                raise ProgramError(
                    ProgramErrorCode.INVALID, f"{name} must be {expected}.", field=name
                )
        return self


class RuleKind(StrEnum):
    """What earns points. Action kinds are hooks the other features call."""

    ORDER_SPEND = "order_spend"
    ENROLLMENT = "enrollment"
    BIRTHDAY = "birthday"
    REFERRAL = "referral"
    REVIEW = "review"
    SURVEY = "survey"
    COMMUNITY_POST = "community_post"


class CapPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"


@dataclass(frozen=True)
class EarnRule:
    id: UUID
    kind: RuleKind
    name: str
    points: int = 0  # fixed points, for action kinds
    points_per_unit: Decimal = Decimal(0)  # per major currency unit, for spend
    rounding: Rounding = Rounding.DOWN
    cap_points: int | None = None
    cap_period: CapPeriod | None = None


@dataclass(frozen=True)
class CampaignTerms:
    id: UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    multiplier: Decimal = Decimal(1)
    bonus_points: int = 0
    tier_ids: frozenset[UUID] = frozenset()  # empty: every tier (and none)
    kinds: frozenset[RuleKind] = frozenset({RuleKind.ORDER_SPEND})

    def applies(self, *, kind: RuleKind, at: datetime, tier_id: UUID | None) -> bool:
        if kind not in self.kinds or not self.starts_at <= at < self.ends_at:
            return False
        return not self.tier_ids or tier_id in self.tier_ids


@dataclass(frozen=True)
class Award:
    """Points one rule or campaign gives, with the explanation shown to customers."""

    points: int
    reason: str
    rule_id: UUID | None = None
    campaign_id: UUID | None = None
    is_bonus: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def spend_points(
    eligible_minor: int, currency: str, rule: EarnRule, multiplier: Decimal
) -> int:
    """Points for an eligible amount: per major unit, times multipliers, rounded once."""
    raw = to_major(eligible_minor, currency) * rule.points_per_unit * multiplier
    return max(round_points(raw, rule.rounding), 0)


def awards_for(
    rule: EarnRule,
    *,
    at: datetime,
    tier_id: UUID | None,
    tier_multiplier: Decimal,
    campaigns: list[CampaignTerms],
    eligible_minor: int = 0,
    currency: str = "EUR",
    subject: str = "",
) -> list[Award]:
    """Everything a rule gives at `at`: its own award, then campaign bonuses.

    The tier multiplier and the best running campaign multiplier apply to the
    rule's points (multipliers do not stack across campaigns, so stacking two
    promotions never surprises a merchant); fixed campaign bonuses are separate
    entries so each says which campaign gave it.
    """
    running = [
        c for c in campaigns if c.applies(kind=rule.kind, at=at, tier_id=tier_id)
    ]
    best = max(running, key=lambda c: c.multiplier, default=None)
    campaign_multiplier = (
        best.multiplier if best and best.multiplier > 1 else Decimal(1)
    )
    # Tiers multiply what spend earns; fixed action bonuses stay fixed per tier.
    is_spend = rule.kind is RuleKind.ORDER_SPEND
    multiplier = (tier_multiplier if is_spend else Decimal(1)) * campaign_multiplier
    if is_spend and eligible_minor <= 0:
        return []  # nothing bought (e.g. a gift-card-only order): no points, no bonus
    if rule.kind is RuleKind.ORDER_SPEND:
        points = spend_points(eligible_minor, currency, rule, multiplier)
    else:
        points = max(round_points(Decimal(rule.points) * multiplier, rule.rounding), 0)
    details: dict[str, Any] = {
        "rule": rule.name,
        "tier_multiplier": str(tier_multiplier if is_spend else Decimal(1)),
        "campaign_multiplier": str(campaign_multiplier),
    }
    if rule.kind is RuleKind.ORDER_SPEND:
        details |= {
            "eligible_minor": eligible_minor,
            "currency": currency,
            "points_per_unit": str(rule.points_per_unit),
        }
    if best is not None and campaign_multiplier > 1:
        details["campaign"] = best.name
    awards = []
    if points > 0:
        awards.append(
            Award(
                points=points,
                reason=_reason(rule, subject, multiplier),
                rule_id=rule.id,
                campaign_id=best.id
                if best is not None and campaign_multiplier > 1
                else None,
                details=details,
            )
        )
    for campaign in running:
        if campaign.bonus_points > 0:
            awards.append(
                Award(
                    points=campaign.bonus_points,
                    reason=f"{campaign.name} bonus",
                    rule_id=rule.id,
                    campaign_id=campaign.id,
                    is_bonus=True,
                    details={"campaign": campaign.name},
                )
            )
    return awards


def _reason(rule: EarnRule, subject: str, multiplier: Decimal) -> str:
    text = {
        RuleKind.ORDER_SPEND: f"Points for order {subject}".strip(),
        RuleKind.ENROLLMENT: "Welcome to the programme",
        RuleKind.BIRTHDAY: "Happy birthday",
        RuleKind.REFERRAL: "Thanks for referring a friend",
        RuleKind.REVIEW: "Thanks for your review",
        RuleKind.SURVEY: "Thanks for answering our survey",
        RuleKind.COMMUNITY_POST: "Thanks for joining the conversation",
    }[rule.kind]
    if multiplier != 1:
        text += f" (x{multiplier.normalize():f})"
    return text


def period_start(at: datetime, period: CapPeriod, timezone: str) -> datetime | None:
    """Start of the cap period containing `at`, as UTC; None for lifetime.

    Periods follow the store's calendar. The first of two repeated midnights
    (fold=0) starts a day where clocks go back over midnight.
    """
    if period is CapPeriod.LIFETIME:
        return None
    day = at.astimezone(ZoneInfo(timezone)).date()
    if period is CapPeriod.WEEK:
        day -= timedelta(days=day.weekday())
    elif period is CapPeriod.MONTH:
        day = day.replace(day=1)
    elif period is CapPeriod.YEAR:
        day = day.replace(month=1, day=1)
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone), fold=0)
    return local.astimezone(UTC)


def capped(points: int, *, already: int, cap: int | None) -> int:
    """What may still be given under a cap, given what the period already gave."""
    if cap is None:
        return points
    return max(0, min(points, cap - already))

"""Earning maths: money, spend points, awards with tiers and campaigns, caps, settings."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from api.core.money import Rounding, exponent, round_points, to_major
from api.program import rules
from api.program.errors import ProgramError, ProgramErrorCode
from api.program.rules import (
    CampaignTerms,
    CapPeriod,
    EarnRule,
    ProgramSettings,
    RuleKind,
    TierBasis,
    TierWindow,
)

RULE_ID = UUID(int=1)
GOLD = UUID(int=101)
SILVER = UUID(int=102)
AT = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def _rule(
    kind: RuleKind = RuleKind.ORDER_SPEND,
    *,
    points: int = 0,
    per_unit: str = "1",
    rounding: Rounding = Rounding.DOWN,
) -> EarnRule:
    return EarnRule(
        id=RULE_ID,
        kind=kind,
        name="Spend" if kind is RuleKind.ORDER_SPEND else kind.value,
        points=points,
        points_per_unit=Decimal(per_unit),
        rounding=rounding,
    )


def _campaign(
    number: int,
    name: str,
    *,
    multiplier: str = "1",
    bonus: int = 0,
    tiers: frozenset[UUID] = frozenset(),
    kinds: frozenset[RuleKind] = frozenset({RuleKind.ORDER_SPEND}),
) -> CampaignTerms:
    return CampaignTerms(
        id=UUID(int=number),
        name=name,
        starts_at=MAY,
        ends_at=JUNE,
        multiplier=Decimal(multiplier),
        bonus_points=bonus,
        tier_ids=tiers,
        kinds=kinds,
    )


CAMPAIGNS = {
    "double": _campaign(11, "Double points", multiplier="2"),
    "triple": _campaign(12, "Triple points", multiplier="3"),
    "bonus": _campaign(13, "Welcome weekend", bonus=50),
    "gold x4": _campaign(14, "Gold week", multiplier="4", tiers=frozenset({GOLD})),
    "half": _campaign(15, "Odd half", multiplier="0.5"),
    "reviews x5": _campaign(
        16, "Review month", multiplier="5", kinds=frozenset({RuleKind.REVIEW})
    ),
    "birthday x2": _campaign(
        17, "Birthday double", multiplier="2", kinds=frozenset({RuleKind.BIRTHDAY})
    ),
}


# --- money -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "currency", "expected"),
    [
        ("euro has cents", "EUR", 2),
        ("dollar has cents", "USD", 2),
        ("lower case accepted", "eur", 2),
        ("yen has no minor unit", "JPY", 0),
        ("yen lower case", "jpy", 0),
        ("won has no minor unit", "KRW", 0),
        ("dinar has fils", "KWD", 3),
        ("bahraini dinar", "BHD", 3),
        ("unknown currency defaults to 2", "XYZ", 2),
    ],
)
def test_exponent(_case: str, currency: str, expected: int) -> None:
    assert exponent(currency) == expected


@pytest.mark.parametrize(
    ("_case", "minor", "currency", "expected"),
    [
        ("euro cents", 1999, "EUR", Decimal("19.99")),
        ("single cent", 5, "EUR", Decimal("0.05")),
        ("yen is already major", 1999, "JPY", Decimal(1999)),
        ("dinar thousandths", 1999, "KWD", Decimal("1.999")),
        ("zero", 0, "EUR", Decimal(0)),
    ],
)
def test_to_major(_case: str, minor: int, currency: str, expected: Decimal) -> None:
    assert to_major(minor, currency) == expected


@pytest.mark.parametrize(
    ("_case", "value", "down", "nearest", "up"),
    [
        ("exact half", "2.5", 2, 3, 3),
        ("below half", "2.4", 2, 2, 3),
        ("above half", "2.6", 2, 3, 3),
        ("just above whole", "2.01", 2, 2, 3),
        ("whole stays whole", "3", 3, 3, 3),
        ("half of one", "0.5", 0, 1, 1),
        ("just under half", "0.49", 0, 0, 1),
        ("zero", "0", 0, 0, 0),
    ],
)
def test_round_points(_case: str, value: str, down: int, nearest: int, up: int) -> None:
    amount = Decimal(value)
    assert round_points(amount, Rounding.DOWN) == down
    assert round_points(amount, Rounding.NEAREST) == nearest
    assert round_points(amount, Rounding.UP) == up


# --- spend points ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "minor", "currency", "per_unit", "rounding", "multiplier", "expected"),
    [
        ("EUR 19.99 down", 1999, "EUR", "1", Rounding.DOWN, "1", 19),
        ("EUR 19.99 nearest", 1999, "EUR", "1", Rounding.NEAREST, "1", 20),
        ("EUR 19.99 up", 1999, "EUR", "1", Rounding.UP, "1", 20),
        (
            "EUR 19.50 nearest rounds half up",
            1950,
            "EUR",
            "1",
            Rounding.NEAREST,
            "1",
            20,
        ),
        ("EUR 19.49 nearest", 1949, "EUR", "1", Rounding.NEAREST, "1", 19),
        ("EUR 20.00 up stays", 2000, "EUR", "1", Rounding.UP, "1", 20),
        ("EUR 20.01 up", 2001, "EUR", "1", Rounding.UP, "1", 21),
        ("EUR 10 per unit", 1999, "EUR", "10", Rounding.DOWN, "1", 199),
        ("EUR 0.1 per unit under one point", 999, "EUR", "0.1", Rounding.DOWN, "1", 0),
        ("JPY per yen", 1999, "JPY", "1", Rounding.DOWN, "1", 1999),
        ("JPY one point per 100 yen", 1999, "JPY", "0.01", Rounding.DOWN, "1", 19),
        ("JPY lower case", 1999, "jpy", "0.01", Rounding.DOWN, "1", 19),
        ("KWD 1.999 down", 1999, "KWD", "1", Rounding.DOWN, "1", 1),
        ("KWD 1.999 ten per unit", 1999, "KWD", "10", Rounding.DOWN, "1", 19),
        ("KWD 1.500 nearest", 1500, "KWD", "1", Rounding.NEAREST, "1", 2),
        ("multiplier 1.5 down", 1999, "EUR", "1", Rounding.DOWN, "1.5", 29),
        ("multiplier 1.5 nearest", 1999, "EUR", "1", Rounding.NEAREST, "1.5", 30),
        ("rounded once, after multiplying", 1050, "EUR", "1", Rounding.DOWN, "2", 21),
        ("nothing eligible", 0, "EUR", "1", Rounding.UP, "2", 0),
        (
            "negative never gives negative points",
            -500,
            "EUR",
            "1",
            Rounding.DOWN,
            "1",
            0,
        ),
    ],
)
def test_spend_points(
    _case: str,
    minor: int,
    currency: str,
    per_unit: str,
    rounding: Rounding,
    multiplier: str,
    expected: int,
) -> None:
    rule = _rule(per_unit=per_unit, rounding=rounding)
    assert rules.spend_points(minor, currency, rule, Decimal(multiplier)) == expected


# --- awards ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "campaigns", "at", "tier_id", "tier_multiplier", "expected"),
    [
        ("plain", [], AT, None, "1", [(100, None, False)]),
        ("tier multiplier", [], AT, SILVER, "1.5", [(150, None, False)]),
        ("double points", ["double"], AT, None, "1", [(200, "double", False)]),
        (
            "best multiplier wins, not stacked",
            ["double", "triple"],
            AT,
            None,
            "1",
            [(300, "triple", False)],
        ),
        (
            "tier and campaign multiply",
            ["double"],
            AT,
            SILVER,
            "1.5",
            [(300, "double", False)],
        ),
        ("just before start", ["double"], MAY - TICK, None, "1", [(100, None, False)]),
        ("starts_at inclusive", ["double"], MAY, None, "1", [(200, "double", False)]),
        (
            "last instant before end",
            ["double"],
            JUNE - TICK,
            None,
            "1",
            [(200, "double", False)],
        ),
        ("ends_at exclusive", ["double"], JUNE, None, "1", [(100, None, False)]),
        (
            "tier campaign, right tier",
            ["gold x4"],
            AT,
            GOLD,
            "1",
            [(400, "gold x4", False)],
        ),
        (
            "tier campaign, other tier",
            ["gold x4"],
            AT,
            SILVER,
            "1",
            [(100, None, False)],
        ),
        ("tier campaign, no tier", ["gold x4"], AT, None, "1", [(100, None, False)]),
        (
            "fixed bonus is a separate award",
            ["bonus"],
            AT,
            None,
            "1",
            [(100, None, False), (50, "bonus", True)],
        ),
        (
            "multiplier and bonus together",
            ["double", "bonus"],
            AT,
            None,
            "1",
            [(200, "double", False), (50, "bonus", True)],
        ),
        (
            "bonus outside its window",
            ["bonus"],
            JUNE,
            None,
            "1",
            [(100, None, False)],
        ),
        ("multiplier below one ignored", ["half"], AT, None, "1", [(100, None, False)]),
        (
            "campaign for another kind",
            ["reviews x5"],
            AT,
            None,
            "1",
            [(100, None, False)],
        ),
    ],
)
def test_awards_for_spend(
    _case: str,
    campaigns: list[str],
    at: datetime,
    tier_id: UUID | None,
    tier_multiplier: str,
    expected: list[tuple[int, str | None, bool]],
) -> None:
    awards = rules.awards_for(
        _rule(),
        at=at,
        tier_id=tier_id,
        tier_multiplier=Decimal(tier_multiplier),
        campaigns=[CAMPAIGNS[name] for name in campaigns],
        eligible_minor=10_000,
        currency="EUR",
        subject="#1001",
    )
    expected_ids = [
        (points, CAMPAIGNS[name].id if name else None, bonus)
        for points, name, bonus in expected
    ]
    assert [(a.points, a.campaign_id, a.is_bonus) for a in awards] == expected_ids
    assert all(a.rule_id == RULE_ID for a in awards)


def test_award_details_explain_the_maths() -> None:
    spend, bonus = rules.awards_for(
        _rule(),
        at=AT,
        tier_id=SILVER,
        tier_multiplier=Decimal("1.5"),
        campaigns=[CAMPAIGNS["double"], CAMPAIGNS["bonus"]],
        eligible_minor=10_000,
        currency="EUR",
        subject="#1001",
    )
    assert spend.details == {
        "rule": "Spend",
        "tier_multiplier": "1.5",
        "campaign_multiplier": "2",
        "eligible_minor": 10_000,
        "currency": "EUR",
        "points_per_unit": "1",
        "campaign": "Double points",
    }
    assert spend.reason == "Points for order #1001 (x3)"
    assert bonus.details == {"campaign": "Welcome weekend"}
    assert bonus.reason == "Welcome weekend bonus"


def test_nothing_eligible_gives_no_spend_award() -> None:
    assert (
        rules.awards_for(
            _rule(),
            at=AT,
            tier_id=None,
            tier_multiplier=Decimal(1),
            campaigns=[CAMPAIGNS["double"]],
            eligible_minor=0,
        )
        == []
    )


@pytest.mark.parametrize(
    ("_case", "kind", "points", "campaigns", "expected_points", "reason"),
    [
        ("enrollment", RuleKind.ENROLLMENT, 100, [], 100, "Welcome to the programme"),
        ("birthday", RuleKind.BIRTHDAY, 250, [], 250, "Happy birthday"),
        (
            "spend campaign does not touch birthdays",
            RuleKind.BIRTHDAY,
            250,
            ["double"],
            250,
            "Happy birthday",
        ),
        (
            "birthday campaign doubles birthdays",
            RuleKind.BIRTHDAY,
            250,
            ["birthday x2"],
            500,
            "Happy birthday (x2)",
        ),
        ("referral", RuleKind.REFERRAL, 500, [], 500, "Thanks for referring a friend"),
        (
            "review campaign",
            RuleKind.REVIEW,
            20,
            ["reviews x5"],
            100,
            "Thanks for your review (x5)",
        ),
        ("survey", RuleKind.SURVEY, 30, [], 30, "Thanks for answering our survey"),
        (
            "community post",
            RuleKind.COMMUNITY_POST,
            5,
            [],
            5,
            "Thanks for joining the conversation",
        ),
    ],
)
def test_action_rules_give_fixed_points(
    _case: str,
    kind: RuleKind,
    points: int,
    campaigns: list[str],
    expected_points: int,
    reason: str,
) -> None:
    (award,) = rules.awards_for(
        _rule(kind, points=points),
        at=AT,
        tier_id=None,
        tier_multiplier=Decimal(1),
        campaigns=[CAMPAIGNS[name] for name in campaigns],
        eligible_minor=99_999,  # ignored for actions
    )
    assert award.points == expected_points
    assert award.reason == reason
    assert award.rule_id == RULE_ID
    assert not award.is_bonus
    assert "eligible_minor" not in award.details


def test_action_rule_with_no_points_gives_nothing() -> None:
    assert (
        rules.awards_for(
            _rule(RuleKind.ENROLLMENT, points=0),
            at=AT,
            tier_id=None,
            tier_multiplier=Decimal(1),
            campaigns=[],
        )
        == []
    )


@pytest.mark.parametrize(
    ("_case", "subject", "tier_multiplier", "campaigns", "reason"),
    [
        ("mentions the order", "#1001", "1", [], "Points for order #1001"),
        ("no subject, no dangling space", "", "1", [], "Points for order"),
        (
            "campaign multiplier shown",
            "#1001",
            "1",
            ["double"],
            "Points for order #1001 (x2)",
        ),
        ("tier multiplier shown", "#1001", "1.5", [], "Points for order #1001 (x1.5)"),
        (
            "trailing zeros dropped",
            "#1001",
            "1.25",
            ["double"],
            "Points for order #1001 (x2.5)",
        ),
        ("multiplier 1.0 not shown", "#1001", "1.0", [], "Points for order #1001"),
        pytest.param(
            "multiplier ten shown plainly",
            "#1001",
            "5",
            ["double"],
            "Points for order #1001 (x10)",
        ),
    ],
)
def test_spend_reason(
    _case: str, subject: str, tier_multiplier: str, campaigns: list[str], reason: str
) -> None:
    (award,) = rules.awards_for(
        _rule(),
        at=AT,
        tier_id=None,
        tier_multiplier=Decimal(tier_multiplier),
        campaigns=[CAMPAIGNS[name] for name in campaigns],
        eligible_minor=10_000,
        subject=subject,
    )
    assert award.reason == reason


# --- caps ----------------------------------------------------------------------------


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("_case", "at", "period", "timezone", "expected"),
    [
        (
            "lifetime has no start",
            _utc(2026, 3, 31, 22, 30),
            CapPeriod.LIFETIME,
            "Europe/Paris",
            None,
        ),
        (
            "day in UTC",
            _utc(2026, 3, 31, 22, 30),
            CapPeriod.DAY,
            "UTC",
            _utc(2026, 3, 31),
        ),
        (
            "day: already tomorrow in Paris",
            _utc(2026, 3, 31, 22, 30),
            CapPeriod.DAY,
            "Europe/Paris",
            _utc(2026, 3, 31, 22),
        ),
        (
            "day: still today in Paris",
            _utc(2026, 3, 31, 21, 59),
            CapPeriod.DAY,
            "Europe/Paris",
            _utc(2026, 3, 30, 22),
        ),
        (
            "day: New York is behind UTC",
            _utc(2026, 6, 1, 3),
            CapPeriod.DAY,
            "America/New_York",
            _utc(2026, 5, 31, 4),
        ),
        (
            "week starts Monday, Paris",
            _utc(2026, 3, 31, 22, 30),
            CapPeriod.WEEK,
            "Europe/Paris",
            _utc(2026, 3, 29, 22),
        ),
        (
            "week: Monday just after local midnight",
            _utc(2026, 3, 29, 22, 5),
            CapPeriod.WEEK,
            "Europe/Paris",
            _utc(2026, 3, 29, 22),
        ),
        (
            "week across the spring DST change",
            _utc(2026, 3, 29, 12),
            CapPeriod.WEEK,
            "Europe/Paris",
            _utc(2026, 3, 22, 23),
        ),
        (
            "month: already April in Paris",
            _utc(2026, 3, 31, 22, 30),
            CapPeriod.MONTH,
            "Europe/Paris",
            _utc(2026, 3, 31, 22),
        ),
        (
            "month: still March in Paris (winter offset)",
            _utc(2026, 3, 31, 21, 30),
            CapPeriod.MONTH,
            "Europe/Paris",
            _utc(2026, 2, 28, 23),
        ),
        (
            "year: already 2026 in Paris",
            _utc(2025, 12, 31, 23, 30),
            CapPeriod.YEAR,
            "Europe/Paris",
            _utc(2025, 12, 31, 23),
        ),
        (
            "year: still 2025 in Paris",
            _utc(2025, 12, 31, 22, 30),
            CapPeriod.YEAR,
            "Europe/Paris",
            _utc(2024, 12, 31, 23),
        ),
        pytest.param(
            "day: second pass of an hour repeated at midnight",
            _utc(2025, 11, 2, 5, 30),  # 00:30 CST, after 00:30 CDT an hour earlier
            CapPeriod.DAY,
            "America/Havana",
            _utc(2025, 11, 2, 4),  # the first 00:00 of the day
        ),
    ],
)
def test_period_start(
    _case: str,
    at: datetime,
    period: CapPeriod,
    timezone: str,
    expected: datetime | None,
) -> None:
    assert rules.period_start(at, period, timezone) == expected


@pytest.mark.parametrize(
    ("_case", "points", "already", "cap", "expected"),
    [
        ("no cap", 100, 999, None, 100),
        ("well under the cap", 100, 0, 500, 100),
        ("cap cuts the award", 100, 450, 500, 50),
        ("exactly reaches the cap", 50, 450, 500, 50),
        ("cap already reached", 100, 500, 500, 0),
        ("cap already exceeded", 100, 600, 500, 0),
        ("zero points", 0, 0, 500, 0),
    ],
)
def test_capped(
    _case: str, points: int, already: int, cap: int | None, expected: int
) -> None:
    assert rules.capped(points, already=already, cap=cap) == expected


# --- settings --------------------------------------------------------------------


def test_settings_defaults_to_json() -> None:
    assert ProgramSettings().to_json() == {
        "pending_days": 0,
        "expiry_days": 365,
        "expiry_warning_days": 30,
        "tier_basis": "spend",
        "tier_window": "rolling",
        "tier_window_days": 365,
        "tier_warning_days": 30,
        "client_min_orders": 2,
        "advocate_min_orders": 2,
        "lapse_days": 180,
    }


@pytest.mark.parametrize(
    ("_case", "data", "expected"),
    [
        ("none gives defaults", None, ProgramSettings()),
        ("empty gives defaults", {}, ProgramSettings()),
        (
            "unknown keys ignored",
            {"pending_days": 14, "favourite_colour": "blue"},
            ProgramSettings(pending_days=14),
        ),
        (
            "enums parsed from their values",
            {"tier_basis": "points", "tier_window": "calendar_year"},
            ProgramSettings(
                tier_basis=TierBasis.POINTS, tier_window=TierWindow.CALENDAR_YEAR
            ),
        ),
        (
            "null expiry: never",
            {"expiry_days": None},
            ProgramSettings(expiry_days=None),
        ),
    ],
)
def test_settings_from_json(
    _case: str, data: dict[str, Any] | None, expected: ProgramSettings
) -> None:
    assert ProgramSettings.from_json(data) == expected


def test_settings_round_trip_through_json_text() -> None:
    settings = ProgramSettings(
        pending_days=14,
        expiry_days=None,
        expiry_warning_days=7,
        tier_basis=TierBasis.POINTS,
        tier_window=TierWindow.CALENDAR_YEAR,
        tier_window_days=730,
        tier_warning_days=60,
        client_min_orders=3,
        advocate_min_orders=5,
        lapse_days=90,
    )
    text = json.dumps(settings.to_json())
    back = ProgramSettings.from_json(json.loads(text))
    assert back == settings
    assert back.tier_basis is TierBasis.POINTS
    assert back.tier_window is TierWindow.CALENDAR_YEAR


@pytest.mark.parametrize(
    ("_case", "changes"),
    [
        ("defaults", {}),
        ("no pending, no expiry", {"pending_days": 0, "expiry_days": None}),
        ("longest pending", {"pending_days": 365, "expiry_days": 366}),
        ("longest expiry", {"expiry_days": 3650}),
        ("expiry one day after pending", {"pending_days": 30, "expiry_days": 31}),
        ("warnings at zero", {"expiry_warning_days": 0, "tier_warning_days": 0}),
        ("warnings at most", {"expiry_warning_days": 365, "tier_warning_days": 365}),
        ("shortest tier window", {"tier_window_days": 30}),
        ("longest tier window", {"tier_window_days": 1095}),
        ("most orders", {"client_min_orders": 100, "advocate_min_orders": 100}),
        ("shortest lapse", {"lapse_days": 30}),
        ("longest lapse", {"lapse_days": 3650}),
    ],
)
def test_settings_valid(_case: str, changes: dict[str, Any]) -> None:
    settings = replace(ProgramSettings(), **changes)
    assert settings.validate() is settings


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("negative pending", {"pending_days": -1}, "pendingDays"),
        (
            "pending over a year",
            {"pending_days": 366, "expiry_days": None},
            "pendingDays",
        ),
        (
            "expiry equals pending",
            {"pending_days": 30, "expiry_days": 30},
            "expiryDays",
        ),
        (
            "expiry before pending ends",
            {"pending_days": 30, "expiry_days": 10},
            "expiryDays",
        ),
        ("zero expiry", {"expiry_days": 0}, "expiryDays"),
        ("expiry over ten years", {"expiry_days": 3651}, "expiryDays"),
        ("negative expiry warning", {"expiry_warning_days": -1}, "expiryWarningDays"),
        (
            "expiry warning over a year",
            {"expiry_warning_days": 366},
            "expiryWarningDays",
        ),
        ("tier window too short", {"tier_window_days": 29}, "tierWindowDays"),
        ("tier window too long", {"tier_window_days": 1096}, "tierWindowDays"),
        ("negative tier warning", {"tier_warning_days": -1}, "tierWarningDays"),
        ("tier warning over a year", {"tier_warning_days": 366}, "tierWarningDays"),
        ("one order is not a client", {"client_min_orders": 1}, "clientMinOrders"),
        (
            "too many client orders",
            {"client_min_orders": 101, "advocate_min_orders": 101},
            "clientMinOrders",
        ),
        (
            "advocate below client",
            {"client_min_orders": 5, "advocate_min_orders": 4},
            "advocateMinOrders",
        ),
        ("too many advocate orders", {"advocate_min_orders": 101}, "advocateMinOrders"),
        ("lapse too short", {"lapse_days": 29}, "lapseDays"),
        ("lapse too long", {"lapse_days": 3651}, "lapseDays"),
    ],
)
def test_settings_invalid(_case: str, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProgramError) as raised:
        replace(ProgramSettings(), **changes).validate()
    assert raised.value.code is ProgramErrorCode.INVALID
    assert raised.value.field == field
    assert raised.value.message.startswith(f"{field} must be ")

"""Replaying past orders under a proposed spend rule and tiers."""

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from api.core.money import Rounding
from api.program.rules import EarnRule, RuleKind, TierBasis
from api.simulation import rules
from api.simulation.rules import Outcome, PastOrder, Proposal
from api.tiers.rules import TierLevel

ANNA = UUID(int=1)
BEN = UUID(int=2)
CLEO = UUID(int=3)

ONE_PER_UNIT = EarnRule(
    id=UUID(int=100),
    kind=RuleKind.ORDER_SPEND,
    name="Spend",
    points_per_unit=Decimal(1),
    rounding=Rounding.DOWN,
)
SPEND_TIERS = [
    TierLevel(UUID(int=201), "Gold", rank=2, threshold=30_000, multiplier=Decimal(3)),
    TierLevel(UUID(int=200), "Silver", rank=1, threshold=10_000, multiplier=Decimal(2)),
]
POINTS_TIERS = [
    TierLevel(UUID(int=211), "Gold", rank=2, threshold=500, multiplier=Decimal(3)),
    TierLevel(UUID(int=210), "Silver", rank=1, threshold=100, multiplier=Decimal(2)),
]


def _order(
    customer: UUID, month: int, day: int, eligible: int, actual: int
) -> PastOrder:
    return PastOrder(
        customer_id=customer,
        paid_at=datetime(2026, month, day, 12, tzinfo=UTC),
        eligible_minor=eligible,
        points_earned=actual,
    )


# Given newest first: replay must put them in time order.
ORDERS = [
    _order(ANNA, 3, 1, 15_000, 150),
    _order(BEN, 1, 15, 5_000, 40),
    _order(ANNA, 2, 1, 10_000, 100),
    _order(CLEO, 1, 10, 12_000, 150),
    _order(ANNA, 1, 1, 10_000, 100),
]


@pytest.mark.parametrize(
    ("_case", "tiers", "basis", "proposed", "tiers_after", "by_customer"),
    [
        (
            # Anna: 100 (no tier), 200 (silver from 100.00 spent), 300 (still
            # silver at 200.00); ends gold at 350.00.
            "spend basis",
            SPEND_TIERS,
            TierBasis.SPEND,
            100 + 200 + 300 + 50 + 120,
            Counter({"Gold": 1, "Silver": 1, rules.NO_TIER: 1}),
            {ANNA: (350, 600), BEN: (40, 50), CLEO: (150, 120)},
        ),
        (
            # Anna: 100 (no tier), silver from 100 points: 200, 300; ends gold at 600.
            "points basis",
            POINTS_TIERS,
            TierBasis.POINTS,
            100 + 200 + 300 + 50 + 120,
            Counter({"Gold": 1, "Silver": 1, rules.NO_TIER: 1}),
            {ANNA: (350, 600), BEN: (40, 50), CLEO: (150, 120)},
        ),
        (
            "no tiers",
            [],
            TierBasis.SPEND,
            100 + 100 + 150 + 50 + 120,
            Counter({rules.NO_TIER: 3}),
            {ANNA: (350, 350), BEN: (40, 50), CLEO: (150, 120)},
        ),
    ],
)
def test_replay(
    _case: str,
    tiers: list[TierLevel],
    basis: TierBasis,
    proposed: int,
    tiers_after: Counter[str],
    by_customer: dict[UUID, tuple[int, int]],
) -> None:
    outcome = rules.replay(ORDERS, Proposal(ONE_PER_UNIT, tiers, basis), "EUR")
    assert outcome.orders == 5
    assert outcome.points_actual == 150 + 40 + 100 + 150 + 100
    assert outcome.points_proposed == proposed
    assert outcome.tiers_after == tiers_after
    assert outcome.by_customer == by_customer


def test_tier_reached_mid_order_applies_from_the_next_order() -> None:
    # The order that crosses the threshold earns at the old tier.
    orders = [_order(ANNA, 1, 1, 9_000, 0), _order(ANNA, 1, 2, 2_000, 0)]
    outcome = rules.replay(
        orders, Proposal(ONE_PER_UNIT, SPEND_TIERS, TierBasis.SPEND), "EUR"
    )
    assert outcome.points_proposed == 90 + 20
    orders.append(_order(ANNA, 1, 3, 1_000, 0))
    outcome = rules.replay(
        orders, Proposal(ONE_PER_UNIT, SPEND_TIERS, TierBasis.SPEND), "EUR"
    )
    assert outcome.points_proposed == 90 + 20 + 20
    assert outcome.tiers_after == Counter({"Silver": 1})


def test_replay_in_store_currency() -> None:
    rule = EarnRule(
        id=UUID(int=100),
        kind=RuleKind.ORDER_SPEND,
        name="Yen",
        points_per_unit=Decimal("0.01"),
    )
    outcome = rules.replay(
        [_order(ANNA, 1, 1, 1_999, 19)], Proposal(rule, [], TierBasis.SPEND), "JPY"
    )
    assert (outcome.points_actual, outcome.points_proposed) == (19, 19)


def test_replay_nothing() -> None:
    outcome = rules.replay(
        [], Proposal(ONE_PER_UNIT, SPEND_TIERS, TierBasis.SPEND), "EUR"
    )
    assert outcome == Outcome()


@pytest.mark.parametrize(
    ("_case", "limit", "expected"),
    [
        (
            "largest change first, either direction",
            3,
            [(ANNA, 350, 600), (CLEO, 150, 120), (BEN, 40, 50)],
        ),
        ("limited", 1, [(ANNA, 350, 600)]),
        (
            "limit above the customer count",
            10,
            [(ANNA, 350, 600), (CLEO, 150, 120), (BEN, 40, 50)],
        ),
        ("zero", 0, []),
    ],
)
def test_most_affected(
    _case: str, limit: int, expected: list[tuple[UUID, int, int]]
) -> None:
    outcome = rules.replay(
        ORDERS, Proposal(ONE_PER_UNIT, SPEND_TIERS, TierBasis.SPEND), "EUR"
    )
    assert outcome.most_affected(limit) == expected

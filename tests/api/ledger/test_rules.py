"""Ledger maths: which lots a debit or a reversal takes from, and refund targets."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.ledger import rules
from api.ledger.rules import Lot

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ORDER = UUID(int=500)
OTHER_ORDER = UUID(int=501)


def _lot(
    number: int,
    remaining: int = 100,
    *,
    available: datetime = NOW - 30 * DAY,
    expires: datetime | None = NOW + 300 * DAY,
    created: datetime = NOW - 30 * DAY,
    order_id: UUID | None = None,
) -> Lot:
    return Lot(
        id=UUID(int=number),
        remaining=remaining,
        available_at=available,
        expires_at=expires,
        created_at=created,
        order_id=order_id,
    )


LOTS = {
    # spendable, expiring at different times
    "A": _lot(1, expires=NOW + 10 * DAY, created=NOW - 30 * DAY),
    "B": _lot(2, expires=NOW + 5 * DAY, created=NOW - 20 * DAY),
    "D": _lot(3, expires=NOW + 5 * DAY, created=NOW - 40 * DAY),
    "C": _lot(4, expires=None, created=NOW - 60 * DAY),  # oldest, never expires
    # not spendable
    "pending": _lot(5, available=NOW + DAY, expires=NOW + 400 * DAY, created=NOW),
    "expired": _lot(6, expires=NOW - DAY, created=NOW - 400 * DAY),
    "expires now": _lot(7, expires=NOW, created=NOW - 365 * DAY),
    "empty": _lot(8, remaining=0, expires=NOW + DAY),
    # spendable from exactly now
    "available now": _lot(9, available=NOW, expires=NOW + 20 * DAY, created=NOW),
    # the reversed order's own lots
    "own pending": _lot(
        10, available=NOW + 10 * DAY, expires=NOW + 400 * DAY, order_id=ORDER
    ),
    "own spendable": _lot(11, remaining=50, expires=NOW + 300 * DAY, order_id=ORDER),
    "own empty": _lot(12, remaining=0, order_id=ORDER),
    "other order pending": _lot(
        13, available=NOW + 2 * DAY, expires=NOW + 380 * DAY, order_id=OTHER_ORDER
    ),
}


def _lots(*names: str) -> list[Lot]:
    return [LOTS[name] for name in names]


def _named(taken: list[tuple[UUID, int]]) -> list[tuple[str, int]]:
    names = {lot.id: name for name, lot in LOTS.items()}
    return [(names[lot_id], points) for lot_id, points in taken]


@pytest.mark.parametrize(
    ("_case", "lots", "points", "expected"),
    [
        ("one lot, exact take", ["A"], 100, [("A", 100)]),
        ("part of one lot", ["A"], 30, [("A", 30)]),
        ("oldest-expiring first", ["A", "B"], 150, [("B", 100), ("A", 50)]),
        ("never-expiring last", ["C", "A"], 150, [("A", 100), ("C", 50)]),
        ("same expiry: oldest earned first", ["B", "D"], 150, [("D", 100), ("B", 50)]),
        ("stops once enough", ["C", "A", "B"], 100, [("B", 100)]),
        (
            "all of everything",
            ["C", "A", "B"],
            300,
            [("B", 100), ("A", 100), ("C", 100)],
        ),
        ("skips pending", ["pending", "A"], 100, [("A", 100)]),
        ("skips expired", ["expired", "A"], 50, [("A", 50)]),
        ("expiring exactly now is expired", ["expires now", "A"], 50, [("A", 50)]),
        ("skips empty lots", ["empty", "A"], 50, [("A", 50)]),
        (
            "available exactly now is spendable",
            ["available now"],
            100,
            [("available now", 100)],
        ),
    ],
)
def test_allocate(
    _case: str, lots: list[str], points: int, expected: list[tuple[str, int]]
) -> None:
    assert _named(rules.allocate(_lots(*lots), points, NOW)) == expected


@pytest.mark.parametrize(
    ("_case", "lots", "points"),
    [
        ("one point short", ["A", "B"], 201),
        (
            "pending and expired do not count",
            ["A", "pending", "expired", "expires now"],
            101,
        ),
        ("no lots", [], 1),
        ("zero", ["A"], 0),
        ("negative", ["A"], -5),
    ],
)
def test_allocate_refuses(_case: str, lots: list[str], points: int) -> None:
    with pytest.raises(ValueError, match=r"allocate needs|spendable lots hold"):
        rules.allocate(_lots(*lots), points, NOW)


def test_spendable_total_counts_only_spendable() -> None:
    assert rules.spendable_total(LOTS.values(), NOW) == (
        100 * 4  # A, B, C, D
        + 100  # available now
        + 50  # own spendable
    )


@pytest.mark.parametrize(
    ("_case", "lots", "points", "expected", "shortfall"),
    [
        ("own pending lot first", ["A", "own pending"], 80, [("own pending", 80)], 0),
        (
            "own lots, then other spendable",
            ["A", "own pending"],
            150,
            [("own pending", 100), ("A", 50)],
            0,
        ),
        (
            "own lots oldest-expiring first",
            ["own pending", "own spendable"],
            120,
            [("own spendable", 50), ("own pending", 70)],
            0,
        ),
        (
            "other spendable before other pending",
            ["other order pending", "A", "own pending"],
            250,
            [("own pending", 100), ("A", 100), ("other order pending", 50)],
            0,
        ),
        (
            "other spendable oldest-expiring first, never-expiring last",
            ["C", "A", "B", "own spendable"],
            200,
            [("own spendable", 50), ("B", 100), ("A", 50)],
            0,
        ),
        (
            "expired points are not taken; the rest is shortfall",
            ["expired", "own pending"],
            150,
            [("own pending", 100)],
            50,
        ),
        (
            "everything taken, shortfall reported",
            ["own spendable", "A", "pending"],
            300,
            [("own spendable", 50), ("A", 100), ("pending", 100)],
            50,
        ),
        ("empty own lot skipped", ["own empty", "A"], 30, [("A", 30)], 0),
        ("nothing to take", [], 70, [], 70),
        ("zero takes nothing", ["A"], 0, [], 0),
    ],
)
def test_allocate_reversal(
    _case: str,
    lots: list[str],
    points: int,
    expected: list[tuple[str, int]],
    shortfall: int,
) -> None:
    taken, left = rules.allocate_reversal(_lots(*lots), points, order_id=ORDER, now=NOW)
    assert _named(taken) == expected
    assert left == shortfall


@pytest.mark.parametrize(
    ("_case", "points_earned", "eligible", "refunded", "expected"),
    [
        ("nothing refunded", 100, 10_000, 0, 0),
        ("half refunded", 100, 10_000, 5_000, 50),
        ("all refunded", 100, 10_000, 10_000, 100),
        ("more than eligible refunded", 100, 10_000, 15_000, 100),
        ("nothing was eligible", 100, 0, 5_000, 0),
        ("negative refund", 100, 10_000, -1, 0),
        ("a third rounds down", 10, 300, 100, 3),
        ("two thirds rounds up", 10, 300, 200, 7),
        ("half a point rounds up", 1, 200, 100, 1),
        ("one and a half rounds up", 3, 200, 100, 2),
        ("a quarter rounds down", 5, 400, 100, 1),
        ("no points earned", 0, 10_000, 5_000, 0),
    ],
)
def test_reversal_target(
    _case: str, points_earned: int, eligible: int, refunded: int, expected: int
) -> None:
    assert rules.reversal_target(points_earned, eligible, refunded) == expected


@given(
    points_earned=st.integers(min_value=0, max_value=1_000_000),
    eligible=st.integers(min_value=1, max_value=10_000_000),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000_000), max_size=20),
)
def test_refunding_everything_in_parts_takes_back_exactly_what_was_given(
    points_earned: int, eligible: int, cuts: list[int]
) -> None:
    boundaries = [0, *sorted({c % eligible for c in cuts} - {0}), eligible]
    targets = [
        rules.reversal_target(points_earned, eligible, cumulative)
        for cumulative in boundaries
    ]
    steps = [after - before for before, after in pairwise(targets)]
    assert all(step >= 0 for step in steps)  # a refund never gives points back
    assert sum(steps) == points_earned
    # each cumulative target is the proportional share, rounded to nearest
    for cumulative, target in zip(boundaries, targets, strict=True):
        assert abs(2 * (target * eligible - points_earned * cumulative)) <= eligible

"""The loyalty ladder: the rung a customer stands on, and lapsing."""

from datetime import UTC, datetime, timedelta

import pytest

from api.ladder import rules
from api.ladder.models import Stage
from api.ladder.rules import Facts
from api.program.rules import ProgramSettings

DEFAULT = ProgramSettings()  # client at 2 orders, advocate at 2 orders + a signal
STRICT = ProgramSettings(client_min_orders=3, advocate_min_orders=5)
NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def _facts(
    *,
    enrolled: bool = False,
    consent: bool = False,
    orders: int = 0,
    signals: int = 0,
) -> Facts:
    return Facts(
        enrolled=enrolled,
        marketing_consent=consent,
        paid_orders=orders,
        advocacy_signals=signals,
    )


@pytest.mark.parametrize(
    ("_case", "facts", "settings", "expected"),
    [
        ("known, nothing else", _facts(), DEFAULT, Stage.PROSPECT),
        ("enrolled", _facts(enrolled=True), DEFAULT, Stage.CANDIDATE),
        ("subscribed", _facts(consent=True), DEFAULT, Stage.CANDIDATE),
        ("a signal alone is not enough", _facts(signals=3), DEFAULT, Stage.PROSPECT),
        ("one paid order", _facts(orders=1), DEFAULT, Stage.PURCHASER),
        (
            "one order, enrolled",
            _facts(enrolled=True, orders=1),
            DEFAULT,
            Stage.PURCHASER,
        ),
        (
            "one order and a referral",
            _facts(orders=1, signals=1),
            DEFAULT,
            Stage.PURCHASER,
        ),
        ("bought again", _facts(orders=2), DEFAULT, Stage.CLIENT),
        ("many orders, no signal", _facts(orders=40), DEFAULT, Stage.CLIENT),
        (
            "keeps buying and recommends",
            _facts(orders=2, signals=1),
            DEFAULT,
            Stage.ADVOCATE,
        ),
        (
            "strict: two orders still a purchaser",
            _facts(orders=2),
            STRICT,
            Stage.PURCHASER,
        ),
        ("strict: three orders a client", _facts(orders=3), STRICT, Stage.CLIENT),
        (
            "strict: signal before enough orders",
            _facts(orders=4, signals=2),
            STRICT,
            Stage.CLIENT,
        ),
        (
            "strict: advocate at five",
            _facts(orders=5, signals=1),
            STRICT,
            Stage.ADVOCATE,
        ),
    ],
)
def test_stage_for(
    _case: str, facts: Facts, settings: ProgramSettings, expected: Stage
) -> None:
    assert rules.stage_for(facts, settings) == expected


def test_ladder_order() -> None:
    assert rules.ORDER == [
        Stage.PROSPECT,
        Stage.CANDIDATE,
        Stage.PURCHASER,
        Stage.CLIENT,
        Stage.ADVOCATE,
    ]


@pytest.mark.parametrize(
    ("_case", "last_order_at", "lapse_days", "expected"),
    [
        ("never bought: not lapsed", None, 180, False),
        ("bought today", NOW, 180, False),
        ("bought just inside the period", NOW - timedelta(days=180) + TICK, 180, False),
        ("exactly the period ago", NOW - timedelta(days=180), 180, False),
        ("just past the period", NOW - timedelta(days=180) - TICK, 180, True),
        ("long ago", NOW - timedelta(days=1000), 180, True),
        ("shorter store period", NOW - timedelta(days=31), 30, True),
    ],
)
def test_is_lapsed(
    _case: str, last_order_at: datetime | None, lapse_days: int, expected: bool
) -> None:
    settings = ProgramSettings(lapse_days=lapse_days)
    assert rules.is_lapsed(last_order_at, settings, NOW) is expected


def test_lapse_cutoff() -> None:
    assert rules.lapse_cutoff(ProgramSettings(lapse_days=90), NOW) == datetime(
        2026, 2, 9, 12, 0, tzinfo=UTC
    )

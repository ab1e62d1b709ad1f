"""The loyalty ladder: which rung a customer stands on, from facts (pure)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from api.ladder.models import Stage
from api.program.rules import ProgramSettings

ORDER = [Stage.PROSPECT, Stage.CANDIDATE, Stage.PURCHASER, Stage.CLIENT, Stage.ADVOCATE]


@dataclass(frozen=True)
class Facts:
    enrolled: bool
    marketing_consent: bool
    paid_orders: int
    advocacy_signals: int


def stage_for(facts: Facts, settings: ProgramSettings) -> Stage:
    """PROSPECT (known) -> CANDIDATE (showed interest: enrolled or subscribed) ->
    PURCHASER (one paid order) -> CLIENT (bought again) -> ADVOCATE (keeps buying
    and recommends: a converted referral, a positive review, an NPS promoter)."""
    if facts.paid_orders >= settings.advocate_min_orders and facts.advocacy_signals > 0:
        return Stage.ADVOCATE
    if facts.paid_orders >= settings.client_min_orders:
        return Stage.CLIENT
    if facts.paid_orders >= 1:
        return Stage.PURCHASER
    if facts.enrolled or facts.marketing_consent:
        return Stage.CANDIDATE
    return Stage.PROSPECT


def is_lapsed(
    last_order_at: datetime | None, settings: ProgramSettings, now: datetime
) -> bool:
    """A buyer who has not bought for the store's quiet period may have gone elsewhere."""
    return last_order_at is not None and last_order_at < now - timedelta(
        days=settings.lapse_days
    )


def lapse_cutoff(settings: ProgramSettings, now: datetime) -> datetime:
    return now - timedelta(days=settings.lapse_days)

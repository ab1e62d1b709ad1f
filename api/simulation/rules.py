"""Replaying past orders under proposed earning rules and tiers (pure)."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from api.program.rules import EarnRule, TierBasis, spend_points
from api.tiers.rules import TierLevel, qualifying


@dataclass(frozen=True)
class PastOrder:
    customer_id: UUID
    paid_at: datetime
    eligible_minor: int  # net of refunds
    points_earned: int  # what it really earned


@dataclass(frozen=True)
class Proposal:
    spend_rule: EarnRule
    tiers: list[TierLevel]
    basis: TierBasis


@dataclass
class Outcome:
    orders: int = 0
    points_actual: int = 0
    points_proposed: int = 0
    tiers_after: Counter[str] = field(default_factory=Counter)
    # customer id -> (actual, proposed)
    by_customer: dict[UUID, tuple[int, int]] = field(default_factory=dict)

    def most_affected(self, limit: int) -> list[tuple[UUID, int, int]]:
        ranked = sorted(
            self.by_customer.items(),
            key=lambda item: abs(item[1][1] - item[1][0]),
            reverse=True,
        )
        return [(cid, actual, proposed) for cid, (actual, proposed) in ranked[:limit]]


NO_TIER = "(no tier)"


def replay(orders: list[PastOrder], proposal: Proposal, currency: str) -> Outcome:
    """Orders in time order: each earns under the tier its customer holds then
    (tiers qualify on the replayed range), as a real programme would have run."""
    outcome = Outcome()
    metric: dict[UUID, int] = defaultdict(int)
    actual: dict[UUID, int] = defaultdict(int)
    proposed: dict[UUID, int] = defaultdict(int)
    for order in sorted(orders, key=lambda o: o.paid_at):
        tier = qualifying(proposal.tiers, metric[order.customer_id])
        multiplier = tier.multiplier if tier else Decimal(1)
        points = spend_points(
            order.eligible_minor, currency, proposal.spend_rule, multiplier
        )
        outcome.orders += 1
        outcome.points_actual += order.points_earned
        outcome.points_proposed += points
        actual[order.customer_id] += order.points_earned
        proposed[order.customer_id] += points
        metric[order.customer_id] += (
            order.eligible_minor if proposal.basis is TierBasis.SPEND else points
        )
    for customer_id in actual:
        tier = qualifying(proposal.tiers, metric[customer_id])
        outcome.tiers_after[tier.name if tier else NO_TIER] += 1
        outcome.by_customer[customer_id] = (actual[customer_id], proposed[customer_id])
    return outcome

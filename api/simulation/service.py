"""programSimulate: what a change to earning or tiers would have done. Writes nothing."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from api.core.money import Rounding
from api.customers.models import Customer
from api.orders.models import Order, OrderStatus
from api.program import service as program
from api.program.errors import ProgramError, ProgramErrorCode
from api.program.rules import EarnRule, RuleKind
from api.simulation import rules
from api.stores.models import Store
from api.tiers import service as tiers
from api.tiers.rules import TierLevel

MAX_RANGE_DAYS = 731
MAX_ORDERS = 200_000


@dataclass(frozen=True)
class ProposedTier:
    name: str
    threshold: int
    multiplier: Decimal


@dataclass(frozen=True)
class Report:
    orders: int
    points_actual: int
    points_proposed: int
    tiers_before: dict[str, int]
    tiers_after: dict[str, int]
    most_affected: list[tuple[Customer, int, int]]


async def simulate(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    points_per_unit: Decimal | None = None,
    rounding: Rounding | None = None,
    proposed_tiers: list[ProposedTier] | None = None,
    limit: int = 10,
) -> Report:
    """Replay the store's paid orders in [since, until) under the proposal."""
    if until <= since or until - since > timedelta(days=MAX_RANGE_DAYS):
        raise ProgramError(
            ProgramErrorCode.INVALID,
            f"The range must be positive and at most {MAX_RANGE_DAYS} days.",
            field="until",
        )
    current_rules = await program.active_rules(store, RuleKind.ORDER_SPEND)
    base = (
        current_rules[0]
        if current_rules
        else EarnRule(id=uuid4(), kind=RuleKind.ORDER_SPEND, name="spend")
    )
    spend_rule = EarnRule(
        id=base.id,
        kind=RuleKind.ORDER_SPEND,
        name=base.name,
        points_per_unit=points_per_unit
        if points_per_unit is not None
        else base.points_per_unit,
        rounding=rounding or base.rounding,
    )
    existing = await tiers.list_tiers(store)
    levels = (
        [
            TierLevel(
                id=uuid4(),
                name=t.name,
                rank=i,
                threshold=t.threshold,
                multiplier=t.multiplier,
            )
            for i, t in enumerate(sorted(proposed_tiers, key=lambda t: t.threshold))
        ]
        if proposed_tiers is not None
        else [tiers.level(t) for t in existing]
    )
    rows = (
        await Order.filter(store_id=store.id, paid_at__gte=since, paid_at__lt=until)
        .exclude(status=OrderStatus.CANCELLED)
        .limit(MAX_ORDERS)
        .values_list(
            "customer_id",
            "paid_at",
            "eligible_minor",
            "refunded_minor",
            "points_earned",
            "points_reversed",
        )
    )
    past = [
        rules.PastOrder(
            customer_id=UUID(str(cid)),
            paid_at=paid_at,
            eligible_minor=max(eligible - refunded, 0),
            points_earned=earned - reversed_,
        )
        for cid, paid_at, eligible, refunded, earned, reversed_ in rows
    ]
    outcome = rules.replay(
        past,
        rules.Proposal(
            spend_rule=spend_rule,
            tiers=levels,
            basis=program.settings(store).tier_basis,
        ),
        store.currency,
    )
    names = {t.id: t.name for t in existing}
    before_ids = await Customer.filter(
        store_id=store.id, id__in=list(outcome.by_customer), erased_at__isnull=True
    ).values_list("tier_id", flat=True)
    tiers_before = Counter(
        names.get(UUID(str(t)), rules.NO_TIER) if t else rules.NO_TIER
        for t in before_ids
    )
    affected = outcome.most_affected(limit)
    customers = {
        c.id: c
        for c in await Customer.filter(
            store_id=store.id, id__in=[a[0] for a in affected]
        )
    }
    return Report(
        orders=outcome.orders,
        points_actual=outcome.points_actual,
        points_proposed=outcome.points_proposed,
        tiers_before=dict(tiers_before),
        tiers_after=dict(outcome.tiers_after),
        most_affected=[
            (customers[cid], a, p) for cid, a, p in affected if cid in customers
        ],
    )

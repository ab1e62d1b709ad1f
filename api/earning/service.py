"""Giving points: runs the store's earning rules for an order or an action."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.core import sql
from api.customers.models import Customer
from api.ledger import service as ledger
from api.ledger.models import PointsTransaction, TransactionKind
from api.program import rules as program_rules
from api.program import snapshot
from api.program.rules import RuleKind
from api.stores.models import Store


def _tier_multiplier(customer: Customer, programme: snapshot.Programme) -> Decimal:
    if customer.tier_id is None:
        return Decimal(1)
    tier = next((t for t in programme.tiers if t.id == customer.tier_id), None)
    return Decimal(tier.multiplier) if tier else Decimal(1)


@dataclass(frozen=True)
class Credit:
    """One entry the store's rules give, worked out but not yet written."""

    rule_id: UUID
    campaign_id: UUID | None
    kind: TransactionKind
    points: int
    reason: str
    details: dict[str, Any]
    once_key: str | None
    hold: bool  # only order points wait for the return window


async def award(
    store: Store,
    customer: Customer,
    *,
    kind: RuleKind,
    at: datetime,
    source: ledger.Source,
    subject: str = "",
    eligible_minor: int = 0,
    currency: str | None = None,
    order_id: UUID | None = None,
    once_key: str | None = None,
    programme: snapshot.Programme | None = None,
) -> list[PointsTransaction]:
    """Credit what the store's active rules of this kind give (customer locked).

    Each entry names its rule (and campaign); caps per rule and period apply.
    `once_key` makes an action pay out at most once (e.g. one birthday a year).
    Callers already holding the store's programme pass it (`programme`).
    """
    credits = await plan(
        store,
        customer,
        kind=kind,
        at=at,
        subject=subject,
        eligible_minor=eligible_minor,
        currency=currency,
        once_key=once_key,
        programme=programme,
    )
    return await give(store, customer, credits, at=at, source=source, order_id=order_id)


async def plan(
    store: Store,
    customer: Customer,
    *,
    kind: RuleKind,
    at: datetime,
    subject: str = "",
    eligible_minor: int = 0,
    currency: str | None = None,
    once_key: str | None = None,
    programme: snapshot.Programme | None = None,
) -> list[Credit]:
    """What `award` would credit, written by `give`: a caller that must know
    the points first (an order records what it earned) plans, then gives."""
    programme = programme or await snapshot.of(store)
    multiplier = _tier_multiplier(customer, programme)
    campaigns = programme.campaigns_at(at)
    credits: list[Credit] = []
    for rule in programme.rules_of(kind):
        awards = program_rules.awards_for(
            rule,
            at=at,
            tier_id=customer.tier_id,
            tier_multiplier=multiplier,
            campaigns=campaigns,
            eligible_minor=eligible_minor,
            currency=currency or store.currency,
            subject=subject,
        )
        already = 0
        if rule.cap_points is not None and rule.cap_period is not None:
            since = program_rules.period_start(at, rule.cap_period, store.timezone)
            already = await ledger.earned_since(
                store, customer.id, rule_id=rule.id, since=since
            )
        for index, item in enumerate(awards):
            points = program_rules.capped(
                item.points, already=already, cap=rule.cap_points
            )
            if points <= 0:
                continue
            already += points
            details = dict(item.details)
            if points < item.points:
                details["capped_from"] = item.points
            credits.append(
                Credit(
                    rule_id=rule.id,
                    campaign_id=item.campaign_id,
                    kind=TransactionKind.BONUS
                    if item.is_bonus
                    else TransactionKind.EARN,
                    points=points,
                    reason=item.reason,
                    details=details,
                    once_key=f"{once_key}:{rule.id}:{index}" if once_key else None,
                    hold=kind is RuleKind.ORDER_SPEND,
                )
            )
    return credits


async def give(
    store: Store,
    customer: Customer,
    credits: list[Credit],
    *,
    at: datetime,
    source: ledger.Source,
    order_id: UUID | None = None,
    also_save: tuple[str, ...] = (),
    also_write: Sequence[sql.Write] = (),
) -> list[PointsTransaction]:
    """Write planned credits (customer locked). `also_save`: other customer
    fields the caller changed; `also_write`: its writes of other rows. Both
    are written with the last credit, in its round trip, or on their own when
    nothing is credited: in any case, exactly once."""
    if (also_save or also_write) and any(c.once_key for c in credits):
        # A credit paid out before is skipped: it cannot carry other writes.
        raise ValueError("writes cannot ride on once-only credits")
    given: list[PointsTransaction] = []
    for number, credit in enumerate(credits, start=1):
        last = number == len(credits)
        transaction = await _credit_once(
            store,
            customer,
            kind=credit.kind,
            points=credit.points,
            reason=credit.reason,
            earned_at=at,
            source=source,
            rule_id=credit.rule_id,
            campaign_id=credit.campaign_id,
            order_id=order_id,
            details=credit.details,
            idempotency_key=credit.once_key,
            hold=credit.hold,
            also_save=also_save if last else (),
            also_write=also_write if last else (),
        )
        if transaction is not None:
            given.append(transaction)
    if not credits:
        saving = [sql.update(customer, [*also_save, "updated_at"])] if also_save else []
        if saving or also_write:
            await sql.write(*saving, *also_write)
    return given


async def _credit_once(
    store: Store, customer: Customer, *, idempotency_key: str | None, **kwargs: object
) -> PointsTransaction | None:
    if idempotency_key is None:
        return await ledger.credit(store, customer, idempotency_key=None, **kwargs)  # type: ignore[arg-type]
    if await PointsTransaction.exists(
        store_id=store.id, idempotency_key=idempotency_key
    ):
        return None
    balance = (
        customer.points_balance,
        customer.points_pending,
        customer.points_lifetime,
    )
    try:
        async with in_transaction():
            return await ledger.credit(
                store,
                customer,
                idempotency_key=idempotency_key,
                **kwargs,  # type: ignore[arg-type]
            )
    except IntegrityError:
        # Paid out concurrently; our savepoint rolled back, so undo the cached change.
        customer.points_balance, customer.points_pending, customer.points_lifetime = (
            balance
        )
        return None

"""Tiers: the catalogue, qualification, upgrades at once, downgrades at review."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from api.core import sql
from api.core.clock import utc_now
from api.customers.models import Customer
from api.ledger.models import TransactionKind
from api.orders.models import OrderStatus
from api.program.rules import TierBasis
from api.program.service import settings as program_settings
from api.stores.models import Store
from api.tiers import rules
from api.tiers.errors import TierError, TierErrorCode
from api.tiers.models import Tier, TierChange, TierChangeReason

MAX_TIERS = 20


def level(tier: Tier) -> rules.TierLevel:
    return rules.TierLevel(
        id=tier.id,
        name=tier.name,
        rank=tier.rank,
        threshold=tier.threshold,
        multiplier=Decimal(tier.multiplier),
    )


async def list_tiers(store: Store) -> list[Tier]:
    return await Tier.filter(store_id=store.id).order_by("rank")


async def get_tier(store: Store, tier_id: UUID) -> Tier:
    tier = await Tier.get_or_none(store_id=store.id, id=tier_id)
    if tier is None:
        raise TierError(TierErrorCode.NOT_FOUND, "No such tier.", field="id")
    return tier


@dataclass
class TierFields:
    name: str
    rank: int
    threshold: int
    multiplier: Decimal = Decimal(1)
    perks: tuple[str, ...] = ()
    description: str = ""


def _check(fields: TierFields) -> None:
    problems = [
        (
            1 <= len(fields.name.strip()) <= 100,
            "name",
            "Name must be 1 to 100 characters.",
        ),
        (0 <= fields.rank <= 1000, "rank", "Rank must be 0 to 1000."),
        (fields.threshold >= 0, "threshold", "Threshold cannot be negative."),
        (
            Decimal(1) <= fields.multiplier <= Decimal(10),
            "multiplier",
            "Multiplier must be between 1 and 10.",
        ),
        (len(fields.perks) <= 20, "perks", "At most 20 perks."),
    ]
    for ok, field, message in problems:
        if not ok:
            raise TierError(TierErrorCode.INVALID, message, field=field)


async def save_tier(
    store: Store, fields: TierFields, *, tier_id: UUID | None = None
) -> Tier:
    """Create or change a tier; thresholds must grow with rank."""
    _check(fields)
    tiers = [t for t in await list_tiers(store) if t.id != tier_id]
    if tier_id is None and len(tiers) >= MAX_TIERS:
        raise TierError(
            TierErrorCode.INVALID, f"At most {MAX_TIERS} tiers.", field="rank"
        )
    if any(t.rank == fields.rank for t in tiers):
        raise TierError(
            TierErrorCode.DUPLICATE_RANK, "Another tier has this rank.", field="rank"
        )
    for other in tiers:
        if (other.rank < fields.rank) != (other.threshold < fields.threshold):
            raise TierError(
                TierErrorCode.THRESHOLD_ORDER,
                f"Threshold must sit between the tiers around it ({other.name}).",
                field="threshold",
            )
    tier = await get_tier(store, tier_id) if tier_id else Tier(store_id=store.id)
    tier.name = fields.name.strip()
    tier.rank = fields.rank
    tier.threshold = fields.threshold
    tier.multiplier = fields.multiplier
    tier.perks = [p.strip() for p in fields.perks if p.strip()]
    tier.description = fields.description.strip()
    await tier.save()
    return tier


async def delete_tier(store: Store, tier_id: UUID) -> UUID:
    """Delete a tier; its members drop to no tier until their next evaluation."""
    tier = await get_tier(store, tier_id)
    await Customer.filter(store_id=store.id, tier_id=tier.id).update(tier_id=None)
    await tier.delete()
    return tier_id


# What counts toward a tier, defined once for one window and for several
# (hand-written SQL: every order and every storefront `me` reads it). Spend:
# paid orders net of refunds, cancelled ones never. Points: earned entries, net
# of the reversals of refunded orders. $1 store, $2 customer, $3 window start.
_QUALIFYING = {
    TierBasis.SPEND: (
        "eligible_minor - refunded_minor",
        "paid_at",
        f"FROM orders WHERE store_id = $1 AND customer_id = $2 AND paid_at >= $3"
        f" AND status <> '{OrderStatus.CANCELLED.value}'",
    ),
    TierBasis.POINTS: (
        "points",
        "created_at",
        "FROM points_transactions WHERE store_id = $1 AND customer_id = $2"
        " AND created_at >= $3 AND (kind IN"
        f" ('{TransactionKind.EARN.value}', '{TransactionKind.BONUS.value}')"
        f" OR (kind = '{TransactionKind.REVERSE.value}' AND source_type = 'order'))",
    ),
}


async def qualifying_metric(
    store: Store, customer_id: UUID, *, since: datetime, until: datetime | None = None
) -> int:
    """Spend (minor units, net of refunds) or points earned since `since` (and
    before `until` when given: a review judges a closed period)."""
    query, args = _metric_query(store, customer_id, since, until)
    return total(await sql.fetch_one(query, *args))


def total(row: Mapping[str, Any] | None) -> int:
    """The metric a qualifying read returned."""
    return int(row["total"] or 0) if row else 0


def _metric_query(
    store: Store, customer_id: UUID, since: datetime, until: datetime | None
) -> tuple[str, tuple[object, ...]]:
    amount, at, rows = _QUALIFYING[program_settings(store).tier_basis]
    query = f"SELECT SUM({amount}) AS total {rows}"
    if until is None:
        return query, (store.id, customer_id, since)
    return f"{query} AND {at} < $4", (store.id, customer_id, since, until)


async def qualifying_metrics(
    store: Store, customer_id: UUID, *, since: list[datetime]
) -> list[int]:
    """`qualifying_metric` for several open windows at once, in one query
    (tier progress asks for the qualification and the review windows)."""
    amount, at, rows = _QUALIFYING[program_settings(store).tier_basis]
    sums = ", ".join(
        f"SUM(CASE WHEN {at} >= ${n} THEN {amount} ELSE 0 END) AS w{n}"
        for n in range(4, 4 + len(since))
    )
    row = await sql.fetch_one(
        f"SELECT {sums} {rows}",
        store.id,
        customer_id,
        min(since),
        *since,
    )
    return [int((row or {}).get(f"w{n}") or 0) for n in range(4, 4 + len(since))]


@dataclass(frozen=True)
class Judgement:
    """A tier judgement waiting for its metric: over `since` (and before
    `until`, for a review of a closed period)."""

    levels: list[rules.TierLevel]
    current: rules.TierLevel | None
    review_due: bool
    since: datetime
    until: datetime | None
    now: datetime


def judgement(
    store: Store,
    customer: Customer,
    store_tiers: list[Tier],
    *,
    now: datetime,
    review_now: bool = False,
) -> Judgement | None:
    """What judging a (locked) customer's tier needs to read; None when no
    move is possible (an override, no tiers, the top tier before its review)."""
    if customer.tier_locked:
        return None
    levels = [level(t) for t in store_tiers]
    if not levels:
        return None
    program = program_settings(store)
    current = next((lv for lv in levels if lv.id == customer.tier_id), None)
    at_review = customer.tier_review_at is not None and customer.tier_review_at <= now
    review_due = review_now or at_review
    top_rank = max(lv.rank for lv in levels)
    if not review_due and current is not None and current.rank >= top_rank:
        return None  # the top tier, no review due: no move is possible, no read
    review_at = customer.tier_review_at
    if at_review and not review_now and review_at is not None:
        # A review judges the closed period that ended at the review date.
        until: datetime | None = review_at
        since = rules.review_window_start(review_at, program, store.timezone)
    else:
        # Upgrades count everything so far, even stamped a little ahead of our clock.
        until = None
        since = rules.qualification_start(now, program, store.timezone)
    return Judgement(levels, current, review_due, since, until, now)


def spend_read(
    store: Store, customer_id: UUID, judged: Judgement, *, without_order: UUID
) -> sql.Read | None:
    """The judgement's spend, without one order's share, as a read that can
    ride at the end of a round trip of writes (`sql.write`); None where the
    tiers count points. The caller adds that order's share itself
    (`spend_share`): the read may run before or after the order is written."""
    if program_settings(store).tier_basis is not TierBasis.SPEND:
        return None
    query, args = _metric_query(store, customer_id, judged.since, judged.until)
    return sql.Read(f"{query} AND id <> ${len(args) + 1}", (*args, without_order))


def spend_share(judged: Judgement, *, paid_at: datetime, amount: int) -> int:
    """What a paid order adds to the judgement's spend (`_QUALIFYING`)."""
    inside = paid_at >= judged.since and (
        judged.until is None or paid_at < judged.until
    )
    return amount if inside else 0


async def evaluate(
    store: Store,
    customer: Customer,
    *,
    note: str,
    now: datetime | None = None,
    review_now: bool = False,
    store_tiers: list[Tier] | None = None,
) -> TierChange | None:
    """Move a (locked) customer to the tier they qualify for: up at once, down
    only at their review date (or at once with `review_now`, on the current
    window). A merchant override freezes the tier. Callers already holding the
    store's tiers pass them (`store_tiers`)."""
    if customer.tier_locked:
        return None
    if store_tiers is None:
        store_tiers = await list_tiers(store)
    judged = judgement(
        store, customer, store_tiers, now=now or utc_now(), review_now=review_now
    )
    if judged is None:
        return None
    metric = await qualifying_metric(
        store, customer.id, since=judged.since, until=judged.until
    )
    return await conclude(store, customer, judged, metric, note=note)


async def conclude(
    store: Store, customer: Customer, judged: Judgement, metric: int, *, note: str
) -> TierChange | None:
    """Move the customer as the judgement's metric says."""
    decision = rules.decide(
        judged.current,
        rules.qualifying(judged.levels, metric),
        review_due=judged.review_due,
    )
    if decision is None:
        if judged.review_due:  # kept the tier: judged again after another period
            customer.tier_review_at = rules.renewal_review(
                judged.now, program_settings(store), store.timezone
            )
            await customer.save(update_fields=["tier_review_at", "updated_at"])
        return None
    reason = (
        TierChangeReason.DOWNGRADED
        if decision.downgrade
        else TierChangeReason.QUALIFIED
    )
    return await _move(
        store, customer, decision.to, reason=reason, note=note, now=judged.now
    )


async def override(
    store: Store, customer: Customer, tier: Tier | None, *, note: str
) -> TierChange | None:
    """Fix a customer's tier by hand (None: clear the override and re-evaluate)."""
    now = utc_now()
    if tier is None:
        if not customer.tier_locked:
            return None
        customer.tier_locked = False
        await customer.save(update_fields=["tier_locked", "updated_at"])
        await TierChange.create(
            store_id=store.id,
            customer_id=customer.id,
            from_tier_id=customer.tier_id,
            to_tier_id=customer.tier_id,
            reason=TierChangeReason.OVERRIDE_CLEARED,
            note=note,
        )
        # Back to what the customer qualifies for now, down as well as up.
        return await evaluate(store, customer, note=note, now=now, review_now=True)
    customer.tier_locked = True
    return await _move(
        store, customer, level(tier), reason=TierChangeReason.MANUAL, note=note, now=now
    )


async def _move(
    store: Store,
    customer: Customer,
    to: rules.TierLevel | None,
    *,
    reason: TierChangeReason,
    note: str,
    now: datetime,
) -> TierChange:
    program = program_settings(store)
    change = await TierChange.create(
        store_id=store.id,
        customer_id=customer.id,
        from_tier_id=customer.tier_id,
        to_tier_id=to.id if to else None,
        reason=reason,
        note=note,
    )
    customer.tier_id = to.id if to else None
    # A tier reached now is kept through the next period; one kept or lowered
    # at a review is judged again after the period that follows.
    review = (
        rules.renewal_review
        if reason is TierChangeReason.DOWNGRADED
        else rules.next_review
    )
    customer.tier_review_at = review(now, program, store.timezone) if to else None
    await customer.save(
        update_fields=["tier_id", "tier_review_at", "tier_locked", "updated_at"]
    )
    return change


async def customers_due_for_review(
    store: Store, now: datetime, limit: int = 500
) -> list[UUID]:
    rows = (
        await Customer.filter(
            store_id=store.id,
            tier_review_at__lte=now,
            tier_locked=False,
            erased_at__isnull=True,
        )
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [UUID(str(r)) for r in rows]


def history(store: Store, customer_id: UUID):  # type: ignore[no-untyped-def]
    return TierChange.filter(store_id=store.id, customer_id=customer_id).order_by(
        "-created_at"
    )


@dataclass(frozen=True)
class Progress:
    current: Tier | None
    next: Tier | None
    metric: int
    amount_to_next: int | None
    review_at: datetime | None
    # What is still missing, in the window judged at the review, to keep the tier.
    amount_to_keep: int


async def progress(
    store: Store,
    customer: Customer,
    *,
    now: datetime | None = None,
    store_tiers: list[Tier] | None = None,
) -> Progress:
    """Where the customer stands: current tier, the next one and how far it is.
    Callers that already hold the store's tiers pass them (`store_tiers`)."""
    now = now or utc_now()
    program = program_settings(store)
    all_tiers = store_tiers if store_tiers is not None else await list_tiers(store)
    current = next((t for t in all_tiers if t.id == customer.tier_id), None)
    windows = [rules.qualification_start(now, program, store.timezone)]
    if current is not None and customer.tier_review_at is not None:
        windows.append(
            rules.review_window_start(customer.tier_review_at, program, store.timezone)
        )
    metric, *judged = await qualifying_metrics(store, customer.id, since=windows)
    above = [t for t in all_tiers if current is None or t.rank > current.rank]
    upcoming = min(above, key=lambda t: t.rank, default=None)
    to_keep = 0
    if current is not None and judged:
        to_keep = max(current.threshold - judged[0], 0)
    return Progress(
        current=current,
        next=upcoming,
        metric=metric,
        amount_to_next=max(upcoming.threshold - metric, 0) if upcoming else None,
        review_at=customer.tier_review_at,
        amount_to_keep=to_keep,
    )

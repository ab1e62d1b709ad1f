"""The points ledger: append-only entries, lots, and the balances cached from them.

Every function expects an open transaction and the customer row locked with
`lock_customer`, so concurrent writers for one customer queue up instead of
overdrawing. Invariant after every commit:
    points_balance + points_pending == sum(points of the customer's entries)
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.functions import Sum

from api.core import sql
from api.core.clock import utc_now
from api.core.instances import new
from api.customers.errors import CustomerNotFoundError
from api.customers.models import NOTHING_DUE, Customer
from api.ledger import rules
from api.ledger.errors import InsufficientPointsError, LedgerError, LedgerErrorCode
from api.ledger.models import PointsLot, PointsTransaction, TransactionKind
from api.program.service import settings as program_settings
from api.stores.models import Store

MAX_ADJUSTMENT = 10_000_000
# Converts what a hand-written read of a lot's times returns (SQLite: text).
_DUE = PointsLot._meta.fields_map["available_at"]
# The customer's points cached from the ledger, written with each entry.
BALANCES = ("points_balance", "points_pending", "points_lifetime", "updated_at")


@dataclass(frozen=True)
class Source:
    type: str
    id: str

    @classmethod
    def none(cls) -> "Source":
        return cls("", "")


async def lock_customer(store: Store, customer_id: UUID) -> Customer:
    """The customer row, locked until the transaction ends (PostgreSQL). Every
    points change runs this: hand-written SQL."""
    customer = await sql.fetch_model(
        Customer,
        "t.store_id = $1 AND t.id = $2 AND t.erased_at IS NULL",
        store.id,
        customer_id,
        lock="FOR UPDATE",
    )
    if customer is None:
        raise CustomerNotFoundError(field="customerId")
    return customer


async def _open_lots(customer: Customer) -> list[PointsLot]:
    # Every refund and spend reads them: hand-written (a QuerySet costs
    # several times the statement's CPU).
    return await sql.fetch_models(
        PointsLot,
        "t.store_id = $1 AND t.customer_id = $2 AND t.remaining > 0",
        customer.store_id,
        customer.id,
        order_by="t.created_at, t.id",
    )


def _as_rule_lot(lot: PointsLot) -> rules.Lot:
    return rules.Lot(
        id=lot.id,
        remaining=lot.remaining,
        available_at=lot.available_at,
        expires_at=lot.expires_at,
        created_at=lot.created_at,
        order_id=lot.order_id,
    )


async def settle(
    store: Store, customer: Customer, *, now: datetime | None = None
) -> None:
    """Release pending points whose hold ended and expire lots past their date."""
    now = now or utc_now()
    if customer.lots_due_at is not None and customer.lots_due_at > now:
        return  # no lot can be due yet: nothing to read
    changed = False
    # Only lots that are due: a loyal customer has hundreds of open lots.
    due = await sql.fetch_models(
        PointsLot,
        "t.store_id = $1 AND t.customer_id = $2 AND t.remaining > 0"
        " AND ((t.pending AND t.available_at <= $3)"
        " OR (NOT t.pending AND t.expires_at <= $3))",
        customer.store_id,
        customer.id,
        now,
        order_by="t.created_at, t.id",
    )
    for lot in due:
        if lot.pending and lot.available_at <= now:
            lot.pending = False
            await lot.save(update_fields=["pending"])
            customer.points_pending -= lot.remaining
            customer.points_balance += lot.remaining
            changed = True
        if not lot.pending and lot.expires_at is not None and lot.expires_at <= now:
            expired = lot.remaining
            lot.remaining = 0
            await lot.save(update_fields=["remaining"])
            await PointsTransaction.create(
                store_id=store.id,
                customer_id=customer.id,
                kind=TransactionKind.EXPIRE,
                points=-expired,
                reason=f"{expired} points earned on {lot.created_at:%Y-%m-%d} expired",
                source_type="lot",
                source_id=str(lot.id),
            )
            customer.points_balance -= expired
            changed = True
    customer.lots_due_at = await _next_due(customer)
    fields = ["points_balance", "points_pending", "updated_at"] if changed else []
    await sql.write(sql.update(customer, [*fields, "lots_due_at"]))


async def _next_due(customer: Customer) -> datetime:
    """When the first of the customer's open lots falls due (read after
    settling, so every one of them is in the future)."""
    row = await sql.fetch_one(
        "SELECT MIN(CASE WHEN t.pending THEN t.available_at ELSE t.expires_at END)"
        " AS due FROM points_lots t"
        " WHERE t.store_id = $1 AND t.customer_id = $2 AND t.remaining > 0",
        customer.store_id,
        customer.id,
    )
    due = _DUE.to_python_value(row["due"]) if row else None
    return due if due is not None else NOTHING_DUE


def _due_of(lot: PointsLot) -> datetime | None:
    return lot.available_at if lot.pending else lot.expires_at


async def credit(
    store: Store,
    customer: Customer,
    *,
    kind: TransactionKind,
    points: int,
    reason: str,
    earned_at: datetime,
    source: Source = Source("", ""),
    rule_id: UUID | None = None,
    campaign_id: UUID | None = None,
    order_id: UUID | None = None,
    details: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    hold: bool = True,
    now: datetime | None = None,
    also_save: tuple[str, ...] = (),
    also_write: Sequence[sql.Write] = (),
) -> PointsTransaction:
    """Add points as a new lot: pending for the store's hold, expiring per its rules.

    `also_save` names other customer fields the caller changed, written in the
    same UPDATE as the balances; `also_write`, the caller's writes of other
    rows, made in the same round trip (an order's payment saves two).
    """
    if points <= 0:
        raise ValueError("credit needs positive points")
    now = now or utc_now()
    program = program_settings(store)
    available_at = earned_at + timedelta(days=program.pending_days if hold else 0)
    expires_at = (
        earned_at + timedelta(days=program.expiry_days) if program.expiry_days else None
    )
    transaction = new(
        PointsTransaction,
        store_id=store.id,
        customer_id=customer.id,
        kind=kind,
        points=points,
        reason=reason,
        source_type=source.type,
        source_id=source.id,
        rule_id=rule_id,
        campaign_id=campaign_id,
        details=details or {},
        idempotency_key=idempotency_key,
    )
    pending = available_at > now
    lot = new(
        PointsLot,
        store_id=store.id,
        customer_id=customer.id,
        origin_id=transaction.id,
        order_id=order_id,
        points=points,
        remaining=points,
        available_at=available_at,
        pending=pending,
        expires_at=expires_at,
    )
    if pending:
        customer.points_pending += points
    else:
        customer.points_balance += points
    if kind in (TransactionKind.EARN, TransactionKind.BONUS):
        customer.points_lifetime += points
    due = _due_of(lot)
    if due is not None and customer.lots_due_at is not None:
        customer.lots_due_at = min(customer.lots_due_at, due)
    # One round trip for the entry, its lot and the cached balances.
    await sql.write(
        sql.insert(transaction),
        sql.insert(lot),
        sql.update(customer, [*BALANCES, "lots_due_at", *also_save]),
        *also_write,
    )
    return transaction


async def debit(
    store: Store,
    customer: Customer,
    *,
    kind: TransactionKind,
    points: int,
    reason: str,
    source: Source = Source("", ""),
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> PointsTransaction:
    """Spend points from spendable lots, oldest-expiring first; never below zero."""
    now = now or utc_now()
    lots = await _open_lots(customer)
    rule_lots = [_as_rule_lot(lot) for lot in lots]
    available = rules.spendable_total(rule_lots, now)
    if points > available:
        raise InsufficientPointsError(needed=points, available=available)
    taken = rules.allocate(rule_lots, points, now)
    customer.points_balance -= points
    transaction = new(
        PointsTransaction,
        store_id=store.id,
        customer_id=customer.id,
        kind=kind,
        points=-points,
        reason=reason,
        source_type=source.type,
        source_id=source.id,
        details={**(details or {}), "lots": [[str(i), n] for i, n in taken]},
    )
    await sql.write(
        *_take(lots, taken),
        sql.update(customer, ["points_balance", "updated_at"]),
        sql.insert(transaction),
    )
    return transaction


@dataclass
class Reversal:
    """Points taken back from an order's lots, worked out; `writes` holds the
    lots and the entry, for the caller to write together with the customer's
    balances (`BALANCES`) and its own changes, in one round trip."""

    transaction: PointsTransaction | None
    shortfall: int  # what was already spent
    writes: list[sql.Write]

    @property
    def points(self) -> int:
        return -self.transaction.points if self.transaction else 0


async def plan_reversal(
    store: Store,
    customer: Customer,
    *,
    order_id: UUID,
    points: int,
    reason: str,
    source: Source,
    now: datetime | None = None,
) -> Reversal:
    """Take back points an order gave (customer locked): the customer's
    balances and the lots change in memory, nothing is written yet."""
    now = now or utc_now()
    lots = await _open_lots(customer)
    by_id = {lot.id: lot for lot in lots}
    taken, shortfall = rules.allocate_reversal(
        [_as_rule_lot(lot) for lot in lots], points, order_id=order_id, now=now
    )
    if not taken:
        return Reversal(None, shortfall, [])
    from_pending = sum(n for lot_id, n in taken if by_id[lot_id].pending)
    total = sum(n for _, n in taken)
    customer.points_pending -= from_pending
    customer.points_balance -= total - from_pending
    customer.points_lifetime -= total
    transaction = new(
        PointsTransaction,
        store_id=store.id,
        customer_id=customer.id,
        kind=TransactionKind.REVERSE,
        points=-total,
        reason=reason,
        source_type=source.type,
        source_id=source.id,
        details={"lots": [[str(i), n] for i, n in taken], "shortfall": shortfall},
    )
    return Reversal(
        transaction, shortfall, [*_take(lots, taken), sql.insert(transaction)]
    )


def _take(lots: list[PointsLot], taken: list[tuple[UUID, int]]) -> list[sql.Write]:
    """Take points from lots: their new remainders, to write with the entry."""
    by_id = {lot.id: lot for lot in lots}
    writes = []
    for lot_id, points in taken:
        lot = by_id[lot_id]
        lot.remaining -= points
        writes.append(sql.update(lot, ["remaining"]))
    return writes


async def adjust(
    store: Store, customer_id: UUID, *, points: int, reason: str
) -> PointsTransaction:
    """A merchant's goodwill credit or correction; a reason is required."""
    reason = reason.strip()
    if not reason or len(reason) > 255:
        raise LedgerError(
            LedgerErrorCode.INVALID,
            "A reason of 1 to 255 characters is required.",
            field="reason",
        )
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        raise LedgerError(
            LedgerErrorCode.INVALID,
            f"Points must be non-zero and at most {MAX_ADJUSTMENT} either way.",
            field="points",
        )
    customer = await lock_customer(store, customer_id)
    now = utc_now()
    await settle(store, customer, now=now)
    source = Source("manual", "")
    if points > 0:
        return await credit(
            store,
            customer,
            kind=TransactionKind.ADJUST,
            points=points,
            reason=reason,
            earned_at=now,
            source=source,
            hold=False,
            now=now,
        )
    return await debit(
        store,
        customer,
        kind=TransactionKind.ADJUST,
        points=-points,
        reason=reason,
        source=source,
        now=now,
    )


async def earned_since(
    store: Store, customer_id: UUID, *, rule_id: UUID, since: datetime | None
) -> int:
    """Points a rule gave a customer since a time (for caps), net of nothing."""
    query = PointsTransaction.filter(
        store_id=store.id,
        customer_id=customer_id,
        rule_id=rule_id,
        kind__in=[TransactionKind.EARN, TransactionKind.BONUS],
    )
    if since is not None:
        query = query.filter(created_at__gte=since)
    rows = await query.annotate(total=Sum("points")).values("total")
    return int(rows[0]["total"] or 0) if rows else 0


def history(store: Store, customer_id: UUID) -> Any:
    """The customer's entries, newest first."""
    return PointsTransaction.filter(
        store_id=store.id, customer_id=customer_id
    ).order_by("-created_at", "-id")


async def open_lots(store: Store, customer_id: UUID) -> list[PointsLot]:
    """Lots with points left, in the order they will be spent."""
    lots = await PointsLot.filter(
        store_id=store.id, customer_id=customer_id, remaining__gt=0
    ).order_by("created_at", "id")
    return sorted(lots, key=lambda lot: rules.spend_order(_as_rule_lot(lot)))


async def reasons_of(store: Store, transaction_ids: list[Any]) -> dict[Any, str]:
    """Reasons of the entries that created some lots, to explain each lot."""
    rows = await PointsTransaction.filter(
        store_id=store.id, id__in=transaction_ids
    ).values_list("id", "reason")
    return dict(rows)

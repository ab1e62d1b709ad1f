"""Ledger maths: which lots a debit takes from, what expires, what is pending (pure)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Lot:
    id: UUID
    remaining: int
    available_at: datetime
    expires_at: datetime | None
    created_at: datetime
    order_id: UUID | None = None

    def spendable(self, now: datetime) -> bool:
        return (
            self.remaining > 0
            and self.available_at <= now
            and (self.expires_at is None or self.expires_at > now)
        )


def spend_order(lot: Lot) -> tuple[datetime, datetime, str]:
    # Oldest-expiring first (points that never expire last), then oldest earned.
    return (lot.expires_at or _FAR_FUTURE, lot.created_at, str(lot.id))


def spendable_total(lots: Iterable[Lot], now: datetime) -> int:
    return sum(lot.remaining for lot in lots if lot.spendable(now))


def allocate(lots: Sequence[Lot], points: int, now: datetime) -> list[tuple[UUID, int]]:
    """Take `points` from spendable lots, oldest-expiring first.

    Raises ValueError when the spendable lots hold less: callers check first and
    report INSUFFICIENT_POINTS; pending and expired points are never spent.
    """
    if points <= 0:
        raise ValueError("allocate needs a positive amount")
    taken: list[tuple[UUID, int]] = []
    left = points
    for lot in sorted((lot for lot in lots if lot.spendable(now)), key=spend_order):
        take = min(lot.remaining, left)
        taken.append((lot.id, take))
        left -= take
        if left == 0:
            return taken
    raise ValueError(f"spendable lots hold {points - left} of {points} points")


def allocate_reversal(
    lots: Sequence[Lot], points: int, *, order_id: UUID, now: datetime
) -> tuple[list[tuple[UUID, int]], int]:
    """Take back `points` an order gave: its own lots first (pending or not), then
    other spendable lots, then other pending ones. Returns (taken, shortfall):
    what the customer already spent cannot be taken and is reported, not hidden.
    """
    own = sorted(
        (lot for lot in lots if lot.order_id == order_id and lot.remaining > 0),
        key=spend_order,
    )
    spendable = sorted(
        (lot for lot in lots if lot.order_id != order_id and lot.spendable(now)),
        key=spend_order,
    )
    pending = sorted(
        (
            lot
            for lot in lots
            if lot.order_id != order_id and lot.remaining > 0 and lot.available_at > now
        ),
        key=spend_order,
    )
    taken: list[tuple[UUID, int]] = []
    left = points
    for lot in [*own, *spendable, *pending]:
        if left == 0:
            break
        take = min(lot.remaining, left)
        taken.append((lot.id, take))
        left -= take
    return taken, left


def reversal_target(
    points_earned: int, eligible_minor: int, refunded_minor: int
) -> int:
    """Points to have taken back after refunds totalling `refunded_minor`.

    Computed on the cumulative refund so partial refunds never drift by rounding:
    refunding everything, in any number of parts, takes back exactly what was given.
    """
    if eligible_minor <= 0 or refunded_minor <= 0:
        return 0
    refunded = min(refunded_minor, eligible_minor)
    return (points_earned * refunded + eligible_minor // 2) // eligible_minor

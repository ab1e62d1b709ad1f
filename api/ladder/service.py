"""Keeps each customer's rung on the loyalty ladder, with every move recorded."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from api.core import sql
from api.core.clock import utc_now
from api.core.instances import new
from api.customers.models import Customer
from api.ladder import rules
from api.ladder.models import StageChange
from api.program.service import settings as program_settings
from api.stores.models import Store

# The customer fields a move changes.
MOVED_FIELDS = ("stage", "stage_changed_at", "updated_at")


@dataclass(frozen=True)
class Move:
    """A stage move worked out and set on the customer in memory, unsaved:
    `fields` go into the caller's UPDATE of the customer, `writes` with it."""

    change: StageChange | None  # None: the stage stays

    @property
    def fields(self) -> tuple[str, ...]:
        return MOVED_FIELDS if self.change else ()

    @property
    def writes(self) -> list[sql.Write]:
        return [sql.insert(self.change)] if self.change else []


async def recompute(
    store: Store, customer: Customer, *, cause: str, now: datetime | None = None
) -> StageChange | None:
    """Derive the stage from the customer's facts; record the move if it changed."""
    moved = move(store, customer, cause=cause, now=now)
    if moved.change is not None:
        await sql.write(*moved.writes, sql.update(customer, moved.fields))
    return moved.change


def move(
    store: Store, customer: Customer, *, cause: str, now: datetime | None = None
) -> Move:
    """`recompute` without the writing, for a caller that writes the move
    with its own changes."""
    stage = rules.stage_for(
        rules.Facts(
            enrolled=customer.enrolled,
            marketing_consent=customer.marketing_consent,
            paid_orders=customer.paid_orders,
            advocacy_signals=customer.advocacy_signals,
        ),
        program_settings(store),
    )
    if stage == customer.stage:
        return Move(None)
    change = new(
        StageChange,
        store_id=store.id,
        customer_id=customer.id,
        from_stage=customer.stage,
        to_stage=stage,
        cause=cause[:255],
    )
    customer.stage = stage
    customer.stage_changed_at = now or utc_now()
    return Move(change)


async def record_advocacy(
    store: Store, customer: Customer, *, cause: str
) -> StageChange | None:
    """A recommendation (converted referral, positive review, NPS promoter):
    the hook the referral and community features call, on a locked customer."""
    customer.advocacy_signals += 1
    await customer.save(update_fields=["advocacy_signals", "updated_at"])
    return await recompute(store, customer, cause=cause)


def history(store: Store, customer_id: UUID):  # type: ignore[no-untyped-def]
    return StageChange.filter(store_id=store.id, customer_id=customer_id).order_by(
        "-created_at"
    )

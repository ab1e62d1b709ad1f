"""Refunds and cancellations: the points an order gave, taken back once.

A refund is applied once per refund reference, a cancellation once per order;
each writes what it takes back, the customer and the order in one round trip.
"""

from dataclasses import dataclass, field

from api.core import sql
from api.core.instances import new
from api.customers.models import Customer
from api.ladder import service as ladder
from api.ledger import rules as ledger_rules
from api.ledger import service as ledger
from api.orders import rules
from api.orders.events import OrderEvent
from api.orders.models import CHANGING, Order, OrderRefund, OrderStatus
from api.stores.models import Store
from api.tiers import service as tiers


@dataclass
class Reversed:
    """What a refund or a cancellation did."""

    effects: list[str] = field(default_factory=list)
    points_reversed: int = 0
    saved: bool = False  # the order was written with everything else


async def refund(
    store: Store, customer: Customer, order: Order, event: OrderEvent
) -> Reversed:
    """Apply a refund once per refund reference (order and customer locked)."""
    refund_ref = (event.refund_ref or "").strip()
    refunded = rules.eligible_refund(
        line_refund_minor=event.refunded_minor,
        unallocated_minor=event.unallocated_refund_minor,
        eligible_minor=order.eligible_minor,
        total_minor=order.total_minor,
    )
    refund = new(
        OrderRefund,
        store_id=store.id,
        order_id=order.id,
        refund_ref=refund_ref,
        refunded_minor=refunded,
    )
    # Seen before: nothing to do. The order is locked, so a repeat delivered
    # at the same time waits for this one and finds its refund.
    if not await sql.insert_unless_exists(refund):
        return Reversed()
    order.refunded_minor = min(order.refunded_minor + refunded, order.eligible_minor)
    # Unpaid orders earned nothing; cancelled ones gave everything back already.
    if order.paid_at is None or order.status is OrderStatus.CANCELLED:
        return Reversed(effects=["refunded"])
    fully = order.refunded_minor >= order.eligible_minor
    uncount = fully and rules.in_paid_orders(order.status)
    order.status = OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED
    target = (
        order.points_earned
        if fully
        else ledger_rules.reversal_target(
            order.points_earned, order.eligible_minor, order.refunded_minor
        )
    )
    uncounted = _uncount(store, customer, order, cause="refunded") if uncount else None
    reversal = await _take_back(
        store,
        customer,
        order,
        target,
        reason=f"Refund on order {order.name or order.order_ref}",
    )
    refund.points_reversed = reversal.points
    await _write_take_back(
        store,
        customer,
        order,
        reversal,
        uncounted,
        sql.update(refund, ["points_reversed"]),
    )
    return Reversed(["refunded"], reversal.points, saved=True)


async def cancel(store: Store, customer: Customer, order: Order) -> Reversed:
    """Cancel the order (order and customer locked)."""
    was_paid = rules.counts_as_paid(order.status)
    counted = rules.in_paid_orders(order.status)
    order.status = OrderStatus.CANCELLED
    if not was_paid:
        return Reversed(effects=["cancelled"])
    uncounted = _uncount(store, customer, order, cause="cancelled") if counted else None
    reversal = await _take_back(
        store,
        customer,
        order,
        order.points_earned,
        reason=f"Order {order.name or order.order_ref} cancelled",
    )
    await _write_take_back(store, customer, order, reversal, uncounted)
    return Reversed(["cancelled"], reversal.points, saved=True)


async def _take_back(
    store: Store, customer: Customer, order: Order, target: int, *, reason: str
) -> ledger.Reversal:
    """Reverse up to `target` of the order's points in total, recording any
    shortfall on the order; written by `_write_take_back`."""
    owed = target - order.points_reversed - order.points_unrecovered
    if owed <= 0:
        return ledger.Reversal(None, 0, [])
    reversal = await ledger.plan_reversal(
        store,
        customer,
        order_id=order.id,
        points=owed,
        reason=reason,
        source=ledger.Source("order", str(order.id)),
    )
    order.points_reversed += reversal.points
    order.points_unrecovered += reversal.shortfall
    return reversal


@dataclass
class _Uncounted:
    """An order that no longer counts as paid: the customer's count and stage
    changed in memory, to write."""

    note: str
    moved: ladder.Move

    @property
    def fields(self) -> tuple[str, ...]:
        return ("paid_orders", *self.moved.fields)


def _uncount(
    store: Store, customer: Customer, order: Order, *, cause: str
) -> _Uncounted:
    customer.paid_orders = max(customer.paid_orders - 1, 0)
    note = f"order {order.name or order.order_ref} {cause}"
    return _Uncounted(note, ladder.move(store, customer, cause=note))


async def _write_take_back(
    store: Store,
    customer: Customer,
    order: Order,
    reversal: ledger.Reversal,
    uncounted: _Uncounted | None,
    *also: sql.Write,
) -> None:
    """One round trip: the lots and the entry, the customer's balances (and
    count and stage), the order, the caller's other writes. The customer row
    only when it changed: each write of it moves its cache version."""
    fields = (*ledger.BALANCES, *(uncounted.fields if uncounted else ()))
    changed = reversal.transaction is not None or uncounted is not None
    await sql.write(
        *reversal.writes,
        *([sql.update(customer, fields)] if changed else []),
        sql.update(order, CHANGING),
        *also,
        *(uncounted.moved.writes if uncounted else ()),
    )
    if uncounted is not None:
        # Tier qualification reads the paid orders: after the order is saved.
        await tiers.evaluate(store, customer, note=uncounted.note)

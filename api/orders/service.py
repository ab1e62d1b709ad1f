"""Order intake: one idempotent `ingest` decides every effect of an order event.

Same event twice = one effect: the order row is locked and its state (paid,
refund refs, snapshot time) says what was already applied.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any
from uuid import UUID

from api.core import sql
from api.core.clock import utc_now
from api.core.instances import new
from api.customers import service as customers
from api.customers.models import Customer, Platform
from api.customers.rules import CustomerChanges
from api.earning import service as earning
from api.ladder import service as ladder
from api.ledger import service as ledger
from api.orders import reversals, rules
from api.orders.errors import OrderError, OrderErrorCode
from api.orders.events import OrderEvent, OrderEventKind
from api.orders.models import CHANGING, Order, OrderStatus
from api.program import snapshot
from api.program.rules import RuleKind
from api.rewards import service as rewards
from api.stores.models import Store
from api.tiers import service as tiers

# An order by its platform reference: (store id, platform, reference).
ORDER_KEY = "t.store_id = $1 AND t.platform = $2 AND t.order_ref = $3"


@dataclass
class IngestResult:
    order: Order
    # What this event did; empty when it was a repeat or a stale snapshot.
    effects: list[str] = field(default_factory=list)
    points_earned: int = 0
    points_reversed: int = 0

    @property
    def applied(self) -> bool:
        return bool(self.effects)


async def ingest(
    store: Store,
    event: OrderEvent,
    *,
    programme_version: int | None = None,
    buyer_unknown: bool = False,
) -> IngestResult:
    """Apply an order event: points, tier and ladder move together, or not at all.
    `programme_version`: the store's version as the caller read it with the
    store row just before, outside any transaction that changed the
    programme (see `snapshot.of`); None reads it here. `buyer_unknown`: the
    caller just found no customer with the event's platform id (a backfill
    asks for a page's buyers at once), so the buyer is created without
    looking first; one created meanwhile still wins, as in a race."""
    rules.check_event(event, store_currency=store.currency)
    # Stored and compared in UTC (SQLite compares timestamps as text).
    event = replace(
        event,
        occurred_at=event.occurred_at.astimezone(UTC),
        updated_at=event.updated_at.astimezone(UTC),
    )
    customer, order, created = await _customer_and_order(
        store, event, buyer_unknown=buyer_unknown
    )
    result = IngestResult(order=order, effects=["created"] if created else [])
    stale = not created and rules.is_stale(event, order.snapshot_at)
    # A payment is a fact, like a refund: arriving after a newer (unpaid)
    # snapshot, it still pays the order, keeping the newer snapshot's amounts.
    late_payment = (
        stale
        and event.kind is OrderEventKind.PAID
        and order.paid_at is None
        and order.status is not OrderStatus.CANCELLED
    )
    if stale and not late_payment:
        return result
    now = utc_now()
    await ledger.settle(store, customer, now=now)
    if not stale and event.kind in (
        OrderEventKind.PLACED,
        OrderEventKind.UPDATED,
        OrderEventKind.PAID,
    ):
        await _apply_snapshot(order, event, result)
    if event.updated_at > order.snapshot_at:
        order.snapshot_at = event.updated_at
    saved = False
    if event.kind is OrderEventKind.PAID and order.paid_at is None:
        saved = await _pay(store, customer, order, event, result, programme_version)
    elif event.kind is OrderEventKind.REFUNDED:
        saved = _took_back(
            result, await reversals.refund(store, customer, order, event)
        )
    elif (
        event.kind is OrderEventKind.CANCELLED
        and order.status is not OrderStatus.CANCELLED
    ):
        saved = _took_back(result, await reversals.cancel(store, customer, order))
    if not saved:  # saved already, with everything above
        await _save(order)
    if event.discount_codes and await rewards.mark_used(
        store, list(event.discount_codes), order_ref=order.order_ref
    ):
        result.effects.append("reward codes used")
    return result


async def _customer_and_order(
    store: Store, event: OrderEvent, *, buyer_unknown: bool
) -> tuple[Customer, Order, bool]:
    """The event's customer, then its order, both locked (the order inserted
    when new): (customer, order, created). On PostgreSQL most events take one
    statement: a returning buyer's or guest's, or a new buyer's made with
    their order."""
    unknown = buyer_unknown
    if not unknown:
        parent = _buyer(store, event)
        if parent is not None:
            found = await _returning_buyer_and_order(store, event, parent)
            if found is not None:
                return found
            unknown = True  # asked: made below without a second look
    if unknown and event.customer.external_id and sql.is_postgres():
        made = await _new_buyer_and_order(store, event)
        if made is not None:
            return made
        unknown = False  # made meanwhile: looked up below
    customer = await _customer_for(store, event, buyer_unknown=unknown)
    order, created = await _locked_order(store, customer, event)
    return customer, order, created


def _took_back(result: IngestResult, done: reversals.Reversed) -> bool:
    result.effects.extend(done.effects)
    result.points_reversed = done.points_reversed
    return done.saved


async def _customer_for(
    store: Store, event: OrderEvent, *, buyer_unknown: bool
) -> Customer:
    """The customer an order belongs to, locked: by platform id, else by email
    (guests), else (refunds that name only the order) the customer of the known
    order."""
    found = await _known_customer_for(store, event, buyer_unknown=buyer_unknown)
    if isinstance(found, Customer):
        return found
    return await ledger.lock_customer(store, found)


async def _known_customer_for(
    store: Store, event: OrderEvent, *, buyer_unknown: bool
) -> Customer | UUID:
    """The customer, locked, when found by platform id or made or updated
    here (`upsert` locks the one it finds; a new row is this transaction's
    own); otherwise the id of the one found, for the caller to lock."""
    ref = event.customer
    platform = Platform(ref.platform)
    if not (ref.external_id or ref.email):
        known = await Order.get_or_none(
            store_id=store.id,
            platform=event.platform,
            order_ref=event.order_ref.strip(),
        )
        if known is None:
            # Not seen yet (a refund before its order): kept and retried later.
            raise OrderError(
                OrderErrorCode.NOT_FOUND, "Unknown order.", field="orderRef"
            )
        return UUID(str(known.customer_id))
    if ref.external_id:
        if not buyer_unknown:
            found = await customers.find_by_external_id(
                store, platform=platform, external_id=ref.external_id, lock=True
            )
            if found is not None:
                return found
        changes = CustomerChanges({"email": ref.email} if ref.email else {})
        # A first order (most of a backfill): the new row is this
        # transaction's own, so it is not read back and locked.
        created = await customers.create(
            store, platform=platform, external_id=ref.external_id, changes=changes
        )
        if created is not None:
            return created
        # Known after all (a concurrent first order, or one created since the
        # caller asked): that customer, as a lookup finds them, their email
        # untouched by an order that may be years old.
        found = await customers.find_by_external_id(
            store, platform=platform, external_id=ref.external_id, lock=True
        )
        if found is not None:
            return found
        # Its customer erased in between: upsert makes them anew.
        result = await customers.upsert(
            store, platform=platform, external_id=ref.external_id, changes=changes
        )
        return result.customer
    email = (ref.email or "").strip().lower()
    if not buyer_unknown:
        guest = await customers.first_by_email(store, email)
        if guest is not None:
            return guest
    # A guest with no id anywhere: keyed by email on this platform, so repeats match.
    result = await customers.upsert(
        store,
        platform=platform,
        external_id=f"email:{email}",
        changes=CustomerChanges({"email": email}),
    )
    return result.customer


def _buyer(store: Store, event: OrderEvent) -> sql.Parent[Customer] | None:
    """The statement that finds and locks the event's customer, by platform
    id, else (a guest) by email; None on SQLite, and for a refund that names
    only its order."""
    ref = event.customer
    if not sql.is_postgres():
        return None
    if ref.external_id:
        return customers.locked_by_external_id(
            store,
            platform=Platform(ref.platform),
            external_id=ref.external_id,
            prefix="buyer_",
        )
    if ref.email and ref.email.strip():
        return customers.locked_first_by_email(store, ref.email, prefix="buyer_")
    return None


async def _returning_buyer_and_order(
    store: Store, event: OrderEvent, parent: sql.Parent[Customer]
) -> tuple[Customer, Order, bool] | None:
    """The buyer (`parent`), locked, and their order locked or inserted, in
    one statement (PostgreSQL), where finding the buyer, then the order, took
    two or three: most events of a returning buyer or guest. None when no
    customer is found; then nothing was locked or written."""
    order_ref = event.order_ref.strip()
    customer, order, created = await sql.lock_or_insert_under(
        parent,
        _new_order(store, None, event),
        "customer_id",
        ORDER_KEY,
        store.id,
        event.platform,
        order_ref,
    )
    if customer is None:
        return None
    if order is None:
        # Inserted by a delivery that committed after this statement began
        # (often the one that held the buyer): read with a new snapshot.
        order = await _winner(store, event.platform, order_ref)
    return customer, order, created


async def _new_buyer_and_order(
    store: Store, event: OrderEvent
) -> tuple[Customer, Order, bool] | None:
    """A buyer no customer has the platform id of, made, and their order
    inserted (or, stored already under another customer, locked), in one
    statement (PostgreSQL), where making them, then the order, took two.
    None when a customer with that id was made meanwhile: then the new row
    is deleted again and nothing of the order was touched."""
    ref = event.customer
    made = customers.prepare(
        store,
        platform=Platform(ref.platform),
        external_id=ref.external_id or "",
        changes=CustomerChanges({"email": ref.email} if ref.email else {}),
    )
    order_ref = event.order_ref.strip()
    inserted, order, created = await sql.lock_or_insert_after(
        made.identity,
        made.first,
        _new_order(store, made.customer.id, event),
        ORDER_KEY,
        store.id,
        event.platform,
        order_ref,
    )
    if not inserted:
        await made.discard()
        return None
    if order is None:  # inserted by a delivery that committed meanwhile
        order = await _winner(store, event.platform, order_ref)
    return made.customer, order, created


def _new_order(store: Store, customer_id: UUID | None, event: OrderEvent) -> Order:
    # Without a customer id when the statement that inserts it reads the id.
    owner = {} if customer_id is None else {"customer_id": customer_id}
    return new(
        Order,
        store_id=store.id,
        **owner,
        platform=event.platform,
        order_ref=event.order_ref.strip(),
        name=event.name,
        status=OrderStatus.PLACED,
        currency=event.currency.upper(),
        eligible_minor=event.eligible_minor,
        total_minor=event.total_minor,
        discount_codes=list(event.discount_codes),
        placed_at=event.occurred_at,
        snapshot_at=event.updated_at,
    )


async def _locked_order(
    store: Store, customer: Customer, event: OrderEvent
) -> tuple[Order, bool]:
    ref = event.order_ref.strip()
    order = _new_order(store, customer.id, event)
    # Every order event runs this: the stored order locked, or the new one
    # inserted, in one statement.
    found, created = await sql.lock_or_insert(
        order,
        ORDER_KEY,
        store.id,
        event.platform,
        ref,
    )
    if found is not None:
        return found, created
    # A concurrent first delivery of this order won (its insert committed).
    return await _winner(store, event.platform, ref), False


async def _save(order: Order) -> None:
    # Every order event runs this: hand-written, and only what can change.
    await sql.write(sql.update(order, CHANGING))


async def _winner(store: Store, platform: str, ref: str) -> Order:
    """The order another delivery inserted while this one waited, locked."""
    order = await sql.fetch_model(
        Order, ORDER_KEY, store.id, platform, ref, lock="FOR UPDATE"
    )
    if order is None:  # pragma: no cover - the conflicting row exists
        raise RuntimeError(f"order {ref} conflicted but cannot be read")
    return order


async def _apply_snapshot(
    order: Order, event: OrderEvent, result: IngestResult
) -> None:
    if event.total_minor and order.paid_at is None:
        order.total_minor = event.total_minor
    # Amounts only change before payment: after it, refunds are the only way down.
    if order.paid_at is None and order.eligible_minor != event.eligible_minor:
        order.eligible_minor = event.eligible_minor
        result.effects.append("amount updated")
    codes = sorted(set(order.discount_codes) | set(event.discount_codes))
    if codes != sorted(order.discount_codes):
        order.discount_codes = codes
    if event.name and not order.name:
        order.name = event.name


async def _pay(
    store: Store,
    customer: Customer,
    order: Order,
    event: OrderEvent,
    result: IngestResult,
    programme_version: int | None,
) -> bool:
    """Pay the order and earn its points; True when the order was saved."""
    if order.status is OrderStatus.CANCELLED:
        return False
    order.status = OrderStatus.PAID
    order.paid_at = event.occurred_at
    if event.total_minor and not order.total_minor:
        order.total_minor = event.total_minor
    customer.paid_orders += 1
    if customer.last_order_at is None or event.occurred_at > customer.last_order_at:
        customer.last_order_at = event.occurred_at
    counted = ("paid_orders", "last_order_at")
    # Read once: the earning and the tier evaluation below both need it.
    programme = await snapshot.of(store, read_at=programme_version)
    note = f"order {order.name or order.order_ref} paid"
    # The stage follows the paid orders; it does not depend on the tier.
    moved = ladder.move(store, customer, cause=note)
    credits = await earning.plan(
        store,
        customer,
        kind=RuleKind.ORDER_SPEND,
        at=event.occurred_at,
        subject=order.name or order.order_ref,
        # A refund seen before the payment already returned part of it.
        eligible_minor=max(order.eligible_minor - order.refunded_minor, 0),
        currency=order.currency,
        programme=programme,
    )
    order.points_earned = sum(c.points for c in credits)
    result.points_earned = order.points_earned
    result.effects.append("paid")
    # The tier is judged on the spend with this order: the rest of it is read
    # in the same round trip, and this order's share added here.
    judged = tiers.judgement(store, customer, list(programme.tiers), now=utc_now())
    spend = (
        None
        if judged is None
        else tiers.spend_read(store, customer.id, judged, without_order=order.id)
    )
    # One round trip: the points, the customer's count and stage, the order,
    # the stage's record and the spend.
    await earning.give(
        store,
        customer,
        credits,
        at=event.occurred_at,
        source=ledger.Source("order", str(order.id)),
        order_id=order.id,
        also_save=(*counted, *moved.fields),
        also_write=(
            sql.update(order, CHANGING),
            *moved.writes,
            *([spend] if spend else []),
        ),
    )
    if judged is None:
        return True
    if spend is None:  # tiers on points: read once the points are written
        metric = await tiers.qualifying_metric(
            store, customer.id, since=judged.since, until=judged.until
        )
    else:  # `give` wrote it last: one row, as every SUM has
        metric = tiers.total(spend.rows[0]) + tiers.spend_share(
            judged,
            paid_at=event.occurred_at,
            amount=order.eligible_minor - order.refunded_minor,
        )
    await tiers.conclude(store, customer, judged, metric, note=note)
    return True


async def owners(
    store: Store, *, platform: str, order_refs: Iterable[str]
) -> dict[str, UUID]:
    """The customer of each of these orders already stored, in one statement
    (a backfill's refunds that name only their order)."""
    refs = sorted({ref.strip() for ref in order_refs})
    if not refs:
        return {}
    query = "SELECT order_ref, customer_id FROM orders WHERE store_id = $1 AND platform = $2"
    by_refs, ref_args = sql.any_of("order_ref", refs, at=3)
    rows = await sql.fetch_all(f"{query} AND {by_refs}", store.id, platform, *ref_args)
    return {row["order_ref"]: UUID(str(row["customer_id"])) for row in rows}


def orders_of(store: Store, customer_id: UUID) -> Any:
    return Order.filter(store_id=store.id, customer_id=customer_id).order_by(
        "-placed_at", "-id"
    )


async def get_order(store: Store, order_id: UUID) -> Order:
    order = await Order.get_or_none(store_id=store.id, id=order_id)
    if order is None:
        raise OrderError(OrderErrorCode.NOT_FOUND, "No such order.", field="id")
    return order

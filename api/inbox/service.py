"""The webhook inbox: verified deliveries are stored, then turned into effects.

A delivery of orders or customers is applied in the transaction that stores it
(`receive`), so it is answered once its effect is in. Others, and any delivery
whose processing failed, are stored on their own and processed in another
transaction, so a crash between the two loses nothing: `redrive` picks up
whatever was stored but not processed.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from api.connections import service as connections
from api.connections.models import Connection
from api.core import sql
from api.core.clock import utc_now
from api.core.errors import DomainError
from api.core.instances import new
from api.inbox.models import WebhookDelivery
from api.membership import service as membership
from api.orders import service as orders
from api.orders.errors import OrderErrorCode
from api.orders.events import OrderEvent
from api.platforms import (
    AppUninstalled,
    Connector,
    PlatformCustomer,
    PlatformName,
    PrivacyRequest,
    UnsupportedPayloadError,
)
from api.privacy import service as privacy
from api.stores.models import Store

logger = logging.getLogger("ladder.inbox")
MAX_ATTEMPTS = 10
REDRIVE_AFTER = timedelta(seconds=30)


# Facts applied before the answer: a few statements each. Privacy requests
# and uninstalls can take long (a shop's redaction erases every customer),
# past the seconds a platform waits for its answer.
APPLIED_AT_ONCE = (OrderEvent, PlatformCustomer)


async def record(
    connection: Connection,
    *,
    topic: str,
    event_key: str | None,
    payload: dict[str, Any],
    raw: str | None = None,
) -> WebhookDelivery | None:
    """Store a verified delivery; None when this event was stored already.
    `raw`: the JSON text the payload was parsed from, stored as it came."""
    delivery = _delivery(connection, topic, event_key, payload)
    return delivery if await _insert(delivery, raw) else None


@dataclass(frozen=True)
class Receipt:
    delivery: WebhookDelivery
    # Stored untried: `process` applies it once the platform is answered.
    pending: bool


async def receive(
    connection: Connection,
    connectors: Mapping[PlatformName, Connector],
    *,
    topic: str,
    event_key: str | None,
    payload: dict[str, Any],
    raw: str | None = None,
    programme_version: int | None = None,
) -> Receipt | None:
    """Store a verified delivery and, when its facts are orders or customers,
    apply them in the same transaction; None when this event was stored
    already. One transaction and one statement fewer than storing, then
    claiming it. If applying fails, the delivery is stored as `process` would
    leave it: kept for retry, or done with the reason it was refused. Other
    deliveries are stored untried (`pending`), for `process` to apply after
    the answer. `connection`: verified, with its store loaded;
    `programme_version`: the store's, read with it just before (see
    `orders.ingest`)."""
    try:
        facts = connectors[connection.platform].facts(
            topic, payload, currency=connection.store.currency
        )
    except Exception:  # `process` records why, as for any delivery
        facts = []
    if not facts or not all(isinstance(f, APPLIED_AT_ONCE) for f in facts):
        stored = await record(
            connection, topic=topic, event_key=event_key, payload=payload, raw=raw
        )
        return Receipt(stored, pending=True) if stored else None
    delivery = _delivery(connection, topic, event_key, payload)
    delivery.processed_at, delivery.attempts = utc_now(), 1
    try:
        async with in_transaction():
            if not await _insert(delivery, raw):
                return None  # stored already (a concurrent one waited for it)
            skipped = await _apply_all(connection, facts, programme_version)
            if skipped:
                delivery.last_error = _skip_note(skipped)
                await delivery.save(update_fields=["last_error"])
        return Receipt(delivery, pending=False)
    except _RefusedError as refused:
        delivery.last_error = _skip_note([str(refused)])
    except Exception as error:  # kept, counted and retried: never lost
        logger.warning("webhook %s failed: %s", delivery.id, type(error).__name__)
        delivery.processed_at = None
        delivery.last_error = _failure_note(error)
    # Undone with the transaction: stored again on its own. A database that
    # is down raises here, and the platform is answered 503 and retries.
    if not await _insert(delivery, raw):
        return None
    return Receipt(delivery, pending=False)


def _delivery(
    connection: Connection, topic: str, event_key: str | None, payload: dict[str, Any]
) -> WebhookDelivery:
    return new(
        WebhookDelivery,
        store_id=connection.store_id,
        platform=connection.platform,
        shop_ref=connection.shop_ref,
        topic=topic,
        event_key=event_key,
        payload=payload,
    )


async def _insert(delivery: WebhookDelivery, raw: str | None) -> bool:
    return await sql.insert_unless_exists(
        delivery, {"payload": raw} if raw is not None else None
    )


class _RefusedError(Exception):
    """The one fact of a delivery was refused for good: the transaction is
    undone, then the delivery is marked done with the reason."""


async def process(
    delivery_id: UUID,
    connectors: Mapping[PlatformName, Connector],
    connection: Connection | None = None,
    stored: WebhookDelivery | None = None,
) -> bool:
    """Apply one stored delivery, exactly once; False when it failed (kept for retry).

    The webhook endpoint passes the connection it just verified the delivery
    with (store loaded) and the delivery it just stored, saving their reads;
    redrives read both.
    """
    try:
        async with in_transaction():
            delivery = await _claim(delivery_id, stored)
            if delivery is None:  # done already (a concurrent claim waits for it)
                return True
            if connection is None:
                connection = await connections.find(
                    delivery.platform, delivery.shop_ref
                )
            if connection is None:
                raise UnsupportedPayloadError("no connection for this shop any more")
            facts = connectors[delivery.platform].facts(
                delivery.topic, delivery.payload, currency=connection.store.currency
            )
            skipped = await _apply_all(connection, facts)
            if skipped:
                delivery.last_error = _skip_note(skipped)
                await delivery.save(update_fields=["last_error"])
        return True
    except _RefusedError as refused:
        await WebhookDelivery.filter(id=delivery_id, processed_at__isnull=True).update(
            processed_at=utc_now(),
            attempts=F("attempts") + 1,
            last_error=_skip_note([str(refused)]),
        )
        return True
    except Exception as error:  # kept, counted and retried: never lost
        logger.warning("webhook %s failed: %s", delivery_id, type(error).__name__)
        await WebhookDelivery.filter(id=delivery_id).update(
            attempts=F("attempts") + 1, last_error=_failure_note(error)
        )
        return False


async def _apply_all(
    connection: Connection,
    facts: Sequence[object],
    programme_version: int | None = None,
) -> list[str]:
    """Apply the facts; the reasons of those refused for good (skipped)."""
    if len(facts) == 1:
        # The usual single fact needs no savepoint (two round trips): if it is
        # refused, the whole transaction is undone instead (_RefusedError).
        try:
            await _apply(connection, facts[0], programme_version)
        except DomainError as error:
            if _retry_later(error):
                raise
            raise _RefusedError(f"{error.code}: {error.message}") from error
        return []
    skipped = []
    for fact in facts:
        try:
            async with in_transaction():  # one bad fact spoils no other
                await _apply(connection, fact, programme_version)
        except DomainError as error:
            if _retry_later(error):
                raise
            skipped.append(f"{error.code}: {error.message}")
    return skipped


def _skip_note(reasons: list[str]) -> str:
    return ("skipped " + "; ".join(reasons))[:500]


def _failure_note(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


async def _claim(
    delivery_id: UUID, stored: WebhookDelivery | None
) -> WebhookDelivery | None:
    """The delivery, locked and marked processed (undone with the transaction
    if processing fails), unless done already. Deliveries processed after
    the answer, and redrives, run this: one hand-written statement, where a
    concurrent claim waits for this transaction and then finds the delivery
    done. A delivery the caller holds (`stored`) is not read back."""
    now = utc_now()
    mark = "processed_at = $2, attempts = attempts + 1, last_error = NULL"
    where = "id = $1 AND processed_at IS NULL"
    if stored is None:
        claimed = await sql.update_returning(
            WebhookDelivery, mark, where, delivery_id, now
        )
        return claimed[0] if claimed else None
    row = await sql.fetch_one(
        f"UPDATE webhook_deliveries SET {mark} WHERE {where} RETURNING attempts",  # noqa: S608 - constants
        delivery_id,
        now,
    )
    if row is None:
        return None
    stored.processed_at, stored.attempts, stored.last_error = now, row["attempts"], None
    return stored


def _retry_later(error: DomainError) -> bool:
    # A refund can overtake its order: retried until the order arrives. Other
    # domain refusals (no customer to credit, bad amounts) will not change.
    return error.code is OrderErrorCode.NOT_FOUND


async def _apply(
    connection: Connection, fact: object, programme_version: int | None
) -> None:
    store: Store = connection.store
    if isinstance(fact, OrderEvent):
        if fact.extra.get("test") == "true" and not connection.include_test_orders:
            return  # test-gateway orders earn nothing unless the store opts in
        await orders.ingest(store, fact, programme_version=programme_version)
    elif isinstance(fact, PlatformCustomer):
        await membership.sync_platform_customer(store, fact)
    elif isinstance(fact, PrivacyRequest):
        await privacy.handle(store, fact)
    elif isinstance(fact, AppUninstalled):
        await connections.uninstall(connection)


PURGE_BATCH = 1_000
# Per call: a first purge of a long-kept inbox spreads over several runs of
# the maintenance loop instead of holding up one.
PURGE_BATCHES = 100


@dataclass(frozen=True)
class Purged:
    deleted: int
    # The cap was reached: older deliveries are left for the next call.
    more: bool


async def purge(
    before: datetime, *, batch: int = PURGE_BATCH, batches: int = PURGE_BATCHES
) -> Purged:
    """Delete the processed deliveries received before `before`, oldest
    first, a statement per batch (short locks, small transactions), at most
    `batches` of them. Those not processed yet, retried or out of attempts,
    stay whatever their age. On PostgreSQL rows another purge holds are
    skipped, so two maintenance loops share the work and count it once."""
    before = before.astimezone(UTC)  # SQLite compares timestamps as text
    # Past what was deleted (their index entries stay until vacuumed): a
    # datetime, or on SQLite the text of one, as stored.
    since: Any = None
    deleted = 0
    for _ in range(batches):
        rows = await sql.fetch_all(
            purge_sql(bounded=since is not None),
            before,
            batch,
            *([since] if since is not None else []),
        )
        deleted += len(rows)
        if len(rows) < batch:
            return Purged(deleted, more=False)
        since = max(row["received_at"] for row in rows)
    return Purged(deleted, more=True)


def purge_sql(*, bounded: bool = False) -> str:
    """A purge's statement for one batch: $1 the time before which, $2 the
    batch, $3 (`bounded`) the time at or after which (past the entries
    deleted before, not yet vacuumed from the index)."""
    return _purge_sql(bounded, sql.is_postgres())


@cache
def _purge_sql(bounded: bool, postgres: bool) -> str:
    # Read by webhook_deliveries_received (migration 0012), oldest first.
    return (
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM"  # noqa: S608 - constant clauses
        " webhook_deliveries WHERE processed_at IS NOT NULL AND received_at < $1"
        + (" AND received_at >= $3" if bounded else "")
        + " ORDER BY received_at LIMIT $2"
        + (" FOR UPDATE SKIP LOCKED" if postgres else "")
        + ") RETURNING received_at"
    )


def due_for_redrive(limit: int) -> QuerySet[WebhookDelivery]:
    """The oldest deliveries stored but not processed, across stores: read
    through the partial index of unprocessed deliveries (migration 0011),
    past those out of attempts."""
    return (
        WebhookDelivery.filter(
            processed_at__isnull=True,
            attempts__lt=MAX_ATTEMPTS,
            received_at__lte=utc_now() - REDRIVE_AFTER,
        )
        .order_by("received_at")
        .limit(limit)
    )


async def redrive(
    connectors: Mapping[PlatformName, Connector], limit: int = 200
) -> int:
    """Process deliveries stored but not processed (crash, outage, early refund)."""
    due = await due_for_redrive(limit).values_list("id", flat=True)
    done = 0
    for delivery_id in due:
        done += await process(UUID(str(delivery_id)), connectors)
    return done

"""Backfill and reconcile: a platform's order history through the same idempotent
ingest as webhooks, checkpointed after every page so a stopped run resumes.

Running it twice changes nothing: every event meets the order's own state.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.transactions import in_transaction

from api.connections import service as connections
from api.connections.models import Connection
from api.core import sql, table_statistics, tasks
from api.core.errors import DomainError
from api.customers import service as customers
from api.customers.models import Customer, CustomerIdentity, Platform
from api.ladder.models import StageChange
from api.ledger.models import PointsLot, PointsTransaction
from api.orders import rules as order_rules
from api.orders import service as orders
from api.orders.events import OrderEvent
from api.orders.models import Order, OrderRefund
from api.platforms import OrderPage, OrderSource, order_pages
from api.tiers.models import TierChange
from api.versions import service as versions

logger = logging.getLogger("ladder.sync")
PAGE_SIZE = 250
# Shoppers whose orders are ingested at once (PostgreSQL). A backfill is bound
# by round trips, not CPU: one order at a time left both cores idle.
CONCURRENT_SHOPPERS = 8
# The tables a backfill fills: analyzed as they grow (api/core/table_statistics.py),
# looked at every so many orders rather than after every page (a Shopify page
# holds ten).
CHECK_STATISTICS_EVERY = table_statistics.CHANGED_ROWS // 2
FILLED = (
    Customer,
    CustomerIdentity,
    Order,
    OrderRefund,
    PointsLot,
    PointsTransaction,
    StageChange,
    TierChange,
)


@dataclass
class SyncReport:
    orders_seen: int = 0
    events_ingested: int = 0
    skipped: int = 0
    errors: int = 0
    pages: int = 0
    resumed: bool = False
    # The errors by code (another currency, a refund of an order not seen yet).
    refused: dict[str, int] = field(default_factory=dict)


# Refused events named in the log per run; the rest are summed up at its end
# (a shop in another currency refuses every order).
NAMED_REFUSALS = 10


def _refused(
    connection: Connection, event: OrderEvent, error: DomainError, report: SyncReport
) -> None:
    report.errors += 1
    code = str(error.code)
    report.refused[code] = report.refused.get(code, 0) + 1
    if report.errors <= NAMED_REFUSALS:
        logger.warning(
            "order %r of %s not ingested: %s",
            event.order_ref[: order_rules.MAX_REF],
            connection.shop_ref,
            code,
        )


async def backfill(
    connection: Connection,
    source: OrderSource,
    *,
    since: datetime | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int | None = None,
    on_page: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Ingest the shop's orders changed since `since` (or since the checkpoint).

    A run that stops (crash, Ctrl-C, `max_pages`) leaves the cursor of the last
    committed page; the next run continues from there.
    """
    report = SyncReport()
    if since is None and connection.sync_cursor is not None:
        # Resume: the cursor only makes sense with the window it was made for.
        cursor: str | None = connection.sync_cursor
        start = connection.synced_until
        report.resumed = True
    else:
        cursor = None
        start = since if since is not None else connection.synced_until
        await connections.save_checkpoint(
            connection.id, cursor=None, synced_until=start
        )

    pages = order_pages(
        source, since=start, cursor=cursor, page_size=page_size, max_pages=max_pages
    )

    def fetch() -> asyncio.Future[OrderPage]:
        return asyncio.ensure_future(anext(pages))

    # The next page is asked for while this one is ingested: a platform's
    # answer takes longer than ingesting a page, and the two overlap. Pages
    # are still asked for one at a time and in order (cost limits, cursors).
    upcoming = fetch()
    checked = 0  # orders seen at the last look at the planner statistics
    try:
        while True:
            page = await upcoming
            last = not page.has_next or (
                max_pages is not None and report.pages + 1 >= max_pages
            )
            if not last:
                upcoming = fetch()
            report.orders_seen += page.orders_seen
            await _ingest_all(connection, _by_shopper(connection, page, report), report)
            report.pages += 1
            cursor = page.cursor if page.has_next else None
            # Committed page by page: (window start, cursor) while paging; when
            # done, the next run asks only for what changed after the newest
            # order seen.
            await connections.save_checkpoint(
                connection.id,
                cursor=cursor,
                synced_until=start if page.has_next else (page.updated_until or start),
            )
            if last or report.orders_seen - checked >= CHECK_STATISTICS_EVERY:
                checked = report.orders_seen
                await table_statistics.analyze_grown(FILLED)
            if on_page is not None:
                on_page(report)
            if last:
                break
    finally:
        # A page asked for ahead when the run stops early: dropped, and its
        # own failure, if any, is not the one reported.
        if not upcoming.done():
            upcoming.cancel()
            await asyncio.gather(upcoming, return_exceptions=True)
        elif not upcoming.cancelled():
            upcoming.exception()
        await pages.aclose()
        if report.errors > NAMED_REFUSALS:  # a run that stops sums up too
            logger.warning(
                "%d more order events of %s not ingested (%d in all, by code: %s)",
                report.errors - NAMED_REFUSALS,
                connection.shop_ref,
                report.errors,
                report.refused,
            )
    return report


def _by_shopper(
    connection: Connection, page: OrderPage, report: SyncReport
) -> list[list[OrderEvent]]:
    by_shopper: dict[str, list[OrderEvent]] = {}
    for event in page.events:
        if event.extra.get("test") == "true" and not connection.include_test_orders:
            report.skipped += 1
            continue
        by_shopper.setdefault(_shopper_of(event), []).append(event)
    return list(by_shopper.values())


def _shopper_of(event: OrderEvent) -> str:
    # The email first: a guest order (email only) goes to the customer who
    # has that email, so it must queue behind that customer's own orders.
    ref = event.customer
    if ref.email:
        return f"email:{ref.email.strip().lower()}"
    if ref.external_id:
        return f"id:{ref.platform}:{ref.external_id.strip()}"
    return f"order:{event.order_ref.strip()}"


async def _ingest_all(
    connection: Connection, shoppers: list[list[OrderEvent]], report: SyncReport
) -> None:
    """Each shopper's events in page order (their points and tiers depend on
    it), several shoppers at once."""
    slots = asyncio.Semaphore(CONCURRENT_SHOPPERS if sql.is_postgres() else 1)
    # Read once per page, not once per event: a programme change made while
    # a page is ingested counts from the next page.
    version = await versions.of_store(connection.store.id)
    # Most of a backfill's buyers are new: the page asks once which ones, and
    # their first orders create them without looking each one up.
    unknown = await _unknown_buyers(connection, shoppers)

    async def one_shopper(events: list[OrderEvent]) -> None:
        async with slots:
            for event in events:
                buyer = _buyer_of(event)
                try:
                    async with in_transaction():
                        result = await orders.ingest(
                            connection.store,
                            event,
                            programme_version=version,
                            buyer_unknown=buyer is not None and buyer in unknown,
                        )
                except DomainError as error:
                    _refused(connection, event, error, report)
                    continue
                finally:
                    if buyer is not None:  # later events look them up
                        unknown.discard(buyer)
                if result.applied:
                    report.events_ingested += 1
                else:
                    report.skipped += 1

    async with tasks.together() as group:
        for events in shoppers:
            group.create_task(one_shopper(events))


def _buyer_of(event: OrderEvent) -> tuple[Platform, str] | None:
    ref = event.customer
    external_id = (ref.external_id or "").strip()
    return (Platform(ref.platform), external_id) if external_id else None


async def _unknown_buyers(
    connection: Connection, shoppers: list[list[OrderEvent]]
) -> set[tuple[Platform, str]]:
    """The page's buyers (platform, id) that no customer is known by yet."""
    wanted: dict[Platform, set[str]] = {}
    for events in shoppers:
        for event in events:
            if (buyer := _buyer_of(event)) is not None:
                wanted.setdefault(buyer[0], set()).add(buyer[1])
    unknown: set[tuple[Platform, str]] = set()
    for platform, ids in wanted.items():
        known = await customers.known_external_ids(
            connection.store, platform=platform, external_ids=ids
        )
        unknown.update((platform, i) for i in ids - known)
    return unknown

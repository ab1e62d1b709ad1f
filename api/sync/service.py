"""Backfill and reconcile: a platform's order history through the same idempotent
ingest as webhooks, checkpointed after every page so a stopped run resumes.

Running it twice changes nothing: every event meets the order's own state.
A page's events are committed in batches, several at once (api/sync/batches.py);
its checkpoint is saved once they are all in, pages in order.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime

from api.connections import service as connections
from api.connections.models import Connection
from api.core import table_statistics
from api.customers.models import Customer, CustomerIdentity
from api.ladder.models import StageChange
from api.ledger.models import PointsLot, PointsTransaction
from api.orders.models import Order, OrderRefund
from api.platforms import OrderPage, OrderSource, order_pages
from api.sync.batches import PageIngest
from api.sync.report import SyncReport, sum_up
from api.tiers.models import TierChange

PAGE_SIZE = 250
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
    committed page; the next run continues from there. Call it outside any
    transaction: its batches open their own, several at once.
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
    pipeline = PageIngest(connection, report)
    fetched = orders_in = 0  # pages asked for, orders of the pages all in
    checked = 0  # orders in at the last look at the planner statistics
    try:
        while True:
            page = await upcoming
            fetched += 1
            last = not page.has_next or (max_pages is not None and fetched >= max_pages)
            if not last:
                upcoming = fetch()
            report.orders_seen += page.orders_seen
            await pipeline.add(page)
            # Checkpoints in page order, each once its page is all in.
            while pipeline.pending and (last or pipeline.full):
                done = await pipeline.next_done()
                await _checkpoint(connection, start, done)
                report.pages += 1
                orders_in += done.orders_seen
                finished = last and not pipeline.pending
                if finished or orders_in - checked >= CHECK_STATISTICS_EVERY:
                    checked = orders_in
                    await table_statistics.analyze_grown(FILLED)
                if on_page is not None:
                    on_page(report)
            if last:
                break
    finally:
        await pipeline.stop()
        # A page asked for ahead when the run stops early: dropped, and its
        # own failure, if any, is not the one reported.
        if not upcoming.done():
            upcoming.cancel()
            await asyncio.gather(upcoming, return_exceptions=True)
        elif not upcoming.cancelled():
            upcoming.exception()
        await pages.aclose()
        sum_up(connection, report)
    return report


async def _checkpoint(
    connection: Connection, start: datetime | None, page: OrderPage
) -> None:
    # Committed page by page: (window start, cursor) while paging; when done,
    # the next run asks only for what changed after the newest order seen.
    await connections.save_checkpoint(
        connection.id,
        cursor=page.cursor if page.has_next else None,
        synced_until=start if page.has_next else (page.updated_until or start),
    )

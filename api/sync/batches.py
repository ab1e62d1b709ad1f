"""A backfill's events ingested in batches: up to `BATCH_EVENTS` consecutive
events of a page in one transaction, several batches at once.

A transaction per event spent a third of a backfill's round trips, and most
of the database's CPU, on BEGIN and COMMIT. A batch that fails (an event
refused after it wrote, a deadlock, a race lost to a webhook) is rolled back
and its events ingested again one per transaction, so one refused event
never costs the others.

Events keep the shop's order where it matters (points, tiers and stage
depend on it): a batch that shares a buyer, an email or an order with an
earlier batch still running waits for it.
"""

import asyncio
from collections import deque
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from api.connections.models import Connection
from api.core import sql
from api.core.errors import DomainError
from api.customers import service as customers
from api.customers.models import Platform
from api.orders import rules as order_rules
from api.orders import service as orders
from api.orders.events import OrderEvent
from api.platforms import OrderPage
from api.sync.report import SyncReport, refused
from api.versions import service as versions

# Events per transaction: a Shopify page (ten orders) is one batch. Bounded
# so that a batch's locks are held briefly, and a failed one redoes little.
BATCH_EVENTS = 25
# Batches ingested at once (PostgreSQL). The backfill is bound by CPU here:
# more did not go faster.
CONCURRENT_BATCHES = 4
# Pages whose batches may run at once (PostgreSQL): a page's first batches
# start while the last ones of the page before finish.
PAGES_AT_ONCE = 4

Buyer = tuple[Platform, str]  # a platform's customer id


@dataclass
class _Tally:
    ingested: int = 0
    skipped: int = 0


@dataclass
class _Scheduled:
    page: OrderPage
    batches: list[asyncio.Task[None]]


class PageIngest:
    """Pages handed in with `add`, taken back in the same order with
    `next_done` once all their events are in; `stop` cancels what runs."""

    def __init__(self, connection: Connection, report: SyncReport):
        self.connection = connection
        self.report = report
        postgres = sql.is_postgres()
        # SQLite: one connection, so one transaction, at a time.
        self.slots = asyncio.Semaphore(CONCURRENT_BATCHES if postgres else 1)
        self.pages_at_once = PAGES_AT_ONCE if postgres else 1
        self.window: deque[_Scheduled] = deque()
        # The last batch to touch each key (buyer, email, order), while any
        # page that holds it is in the window.
        self.tails: dict[str, asyncio.Task[None]] = {}

    @property
    def full(self) -> bool:
        return len(self.window) >= self.pages_at_once

    def __bool__(self) -> bool:
        return bool(self.window)

    async def add(self, page: OrderPage) -> None:
        events = self._wanted(page)
        # Read once per page, not once per event: a programme change counts
        # from the next page handed in.
        version = await versions.of_store(self.connection.store.id)
        # Most of a backfill's buyers are new: the page asks once which ones,
        # and their first orders create them without looking each one up. A
        # buyer of a batch still running may be being created: looked up.
        unknown = await self._unknown_buyers(
            {
                buyer
                for event in events
                if (buyer := _buyer_of(event)) is not None
                and not self._running(_id_key(buyer))
            }
        )
        tasks = []
        for batch in _batches(events):
            keys = {key for event in batch for key in _keys_of(event)}
            before = {t for key in keys if (t := self.tails.get(key)) is not None}
            task = asyncio.create_task(self._batch(batch, before, version, unknown))
            tasks.append(task)
            self.tails.update(dict.fromkeys(keys, task))
        self.window.append(_Scheduled(page, tasks))

    async def next_done(self) -> OrderPage:
        """The oldest page handed in, once all its events are in (or refused);
        a failure (an outage, a bug) is raised, and the run must stop."""
        scheduled = self.window[0]
        for task in scheduled.batches:
            await task
        self.window.popleft()
        for key in [key for key, task in self.tails.items() if task.done()]:
            del self.tails[key]
        return scheduled.page

    async def stop(self) -> None:
        """Cancel the batches still running; their failures are not the
        run's (it stopped for its own)."""
        tasks = [task for scheduled in self.window for task in scheduled.batches]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.window.clear()
        self.tails.clear()

    def _running(self, key: str) -> bool:
        task = self.tails.get(key)
        return task is not None and not task.done()

    def _wanted(self, page: OrderPage) -> list[OrderEvent]:
        """The page's events but test orders (unless wanted) and those refused
        on their face (another currency), which would fail their batch."""
        wanted = []
        for event in page.events:
            if (
                event.extra.get("test") == "true"
                and not self.connection.include_test_orders
            ):
                self.report.skipped += 1
                continue
            try:
                order_rules.check_event(
                    event, store_currency=self.connection.store.currency
                )
            except DomainError as error:
                refused(self.connection, event, error, self.report)
                continue
            wanted.append(event)
        return wanted

    async def _batch(
        self,
        events: list[OrderEvent],
        before: set[asyncio.Task[None]],
        version: int | None,
        unknown: set[Buyer],
    ) -> None:
        for earlier in before:  # one that failed fails this one: the run stops
            await earlier
        async with self.slots:
            tally = _Tally()
            still_unknown = set(unknown)
            try:
                async with in_transaction():
                    for event in events:
                        self._count(
                            tally,
                            await self._ingest(event, version, still_unknown),
                        )
            except Exception:  # each event alone says what it was
                await self._one_by_one(events, version, unknown)
                return
            unknown.intersection_update(still_unknown)
            self.report.events_ingested += tally.ingested
            self.report.skipped += tally.skipped

    async def _one_by_one(
        self, events: list[OrderEvent], version: int | None, unknown: set[Buyer]
    ) -> None:
        tally = _Tally()
        for event in events:
            try:
                async with in_transaction():
                    result = await self._ingest(event, version, unknown)
            except DomainError as error:
                refused(self.connection, event, error, self.report)
                continue
            self._count(tally, result)
        self.report.events_ingested += tally.ingested
        self.report.skipped += tally.skipped

    async def _ingest(
        self, event: OrderEvent, version: int | None, unknown: set[Buyer]
    ) -> orders.IngestResult:
        buyer = _buyer_of(event)
        try:
            return await orders.ingest(
                self.connection.store,
                event,
                programme_version=version,
                buyer_unknown=buyer is not None and buyer in unknown,
            )
        finally:
            if buyer is not None:  # later events look them up
                unknown.discard(buyer)

    @staticmethod
    def _count(tally: _Tally, result: orders.IngestResult) -> None:
        if result.applied:
            tally.ingested += 1
        else:
            tally.skipped += 1

    async def _unknown_buyers(self, buyers: set[Buyer]) -> set[Buyer]:
        """The buyers that no customer is known by yet."""
        wanted: dict[Platform, set[str]] = {}
        for platform, external_id in buyers:
            wanted.setdefault(platform, set()).add(external_id)
        unknown: set[Buyer] = set()
        for platform, ids in wanted.items():
            known = await customers.known_external_ids(
                self.connection.store, platform=platform, external_ids=ids
            )
            unknown.update((platform, i) for i in ids - known)
        return unknown


def _batches(events: list[OrderEvent]) -> list[list[OrderEvent]]:
    """The page's events in batches that share no key, each in page order:
    events linked by a buyer, an email or an order (directly or through
    others) go in one batch, or in consecutive ones when there are many."""
    root: dict[str, str] = {}

    def find(key: str) -> str:
        while (up := root.setdefault(key, key)) != key:
            root[key] = root.setdefault(up, up)  # halve the path
            key = up
        return key

    for event in events:
        first, *others = (find(key) for key in _keys_of(event))
        for other in others:
            root[other] = first
    linked: dict[str, list[OrderEvent]] = {}
    for event in events:
        linked.setdefault(find(_keys_of(event)[0]), []).append(event)
    batches: list[list[OrderEvent]] = [[]]
    for group in linked.values():
        for start in range(0, len(group), BATCH_EVENTS):
            part = group[start : start + BATCH_EVENTS]
            if len(batches[-1]) + len(part) > BATCH_EVENTS:
                batches.append([])
            batches[-1].extend(part)
    return [batch for batch in batches if batch]


def _keys_of(event: OrderEvent) -> list[str]:
    """What orders an event among others: its buyer's email (a guest order
    goes to the customer who has that email), their platform id, its order."""
    ref = event.customer
    keys = []
    if ref.email:
        keys.append(f"email:{ref.email.strip().lower()}")
    if (buyer := _buyer_of(event)) is not None:
        keys.append(_id_key(buyer))
    keys.append(f"order:{event.platform}:{event.order_ref.strip()}")
    return keys


def _id_key(buyer: Buyer) -> str:
    return f"id:{buyer[0]}:{buyer[1]}"


def _buyer_of(event: OrderEvent) -> Buyer | None:
    ref = event.customer
    external_id = (ref.external_id or "").strip()
    return (Platform(ref.platform), external_id) if external_id else None

"""A backfill's events ingested in batches: up to `BATCH_EVENTS` events of a
page in one transaction, several batches at once.

A transaction per event spent a third of a backfill's round trips, and a
fifth of the database's CPU, on BEGIN and COMMIT. A batch that fails (an event
refused after others wrote, a deadlock, a race lost to a webhook) is rolled
back and its events ingested again one per transaction, so one refused event
never costs the others.

Events keep the shop's order where it matters (points, tiers and stage
depend on it). Each event has keys: its buyer's email and platform id, its
order, the customers these name already, and the keys of the running events
it shares one with (a buyer being made is in no table yet). Events linked by
a key go in one batch, in page order (or in consecutive ones when there are
many), and a batch that shares a key with an earlier batch still running
waits for it.
"""

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from api.connections.models import Connection
from api.core import sql
from api.core.errors import DomainError
from api.customers import rules as customer_rules
from api.customers import service as customers
from api.customers.models import Platform
from api.orders import rules as order_rules
from api.orders import service as orders
from api.orders.events import OrderEvent
from api.platforms import OrderPage
from api.sync.report import SyncReport, count_refusal
from api.versions import service as versions

logger = logging.getLogger("ladder.sync")

# Events per transaction: a Shopify page (ten orders) is one batch. Bounded
# so that a batch's locks are held briefly, and a failed one redoes little.
BATCH_EVENTS = 25
# Batches ingested at once (PostgreSQL). The backfill is bound by CPU here:
# more did not go faster.
CONCURRENT_BATCHES = 4
# Pages whose batches may run at once (PostgreSQL): a page's first batches
# start while the last ones of the page before finish.
PAGES_AT_ONCE = 4
# Keys linked through running batches (a customer on page after page, a shared
# email): past this many, the running batches are waited for, so that the
# database knows what they made and the chain starts afresh.
MAX_LINKED_KEYS = 256

Buyer = tuple[Platform, str]  # a platform's customer id


@dataclass
class _Scheduled:
    page: OrderPage
    batches: list[asyncio.Task[None]]


@dataclass
class _Known:
    """What the database says about a page's buyers and orders."""

    owners: dict[str, set[UUID]] = field(default_factory=dict)  # by key
    unknown: set[Buyer] = field(default_factory=set)  # no customer yet


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
        # The last batch to touch each key while it runs (or failed), and the
        # keys linked to each in its page (the events' group).
        self.tails: dict[str, asyncio.Task[None]] = {}
        self.links: dict[str, frozenset[str]] = {}

    @property
    def pending(self) -> bool:
        return bool(self.window)

    @property
    def full(self) -> bool:
        return len(self.window) >= self.pages_at_once

    async def add(self, page: OrderPage) -> None:
        self._raise_failure()
        events = self._wanted(page)
        if not events:
            self.window.append(_Scheduled(page, []))
            return
        if any(len(keys) > MAX_LINKED_KEYS for keys in self.links.values()):
            await self._settle()
        # What runs now, taken before the database is asked: a batch that
        # commits meanwhile may not be in the answer, so it still counts.
        running = {key for key, task in self.tails.items() if not _succeeded(task)}
        # Read once per page, not once per event: a programme change counts
        # from the next page handed in.
        version = await versions.of_store(self.connection.store.id)
        known = await self._known(events, running)
        keyed = [
            (event, self._linked(_keys_of(event, known), running)) for event in events
        ]
        # An order-only refund of an order neither stored, nor running, nor
        # elsewhere on the page would fail its batch (not found): it goes alone.
        orders_on_page = Counter(keys[0] for _, keys in keyed)
        alone = {
            id(event)
            for event, keys in keyed
            if _order_only(event)
            and len(keys) == 1
            and orders_on_page[keys[0]] == 1
            and keys[0] not in running
        }
        groups = _groups(keyed)
        for _, group_keys in groups:
            # Who the group's buyer is: not the other orders' keys, which
            # would pile up as a customer comes back page after page.
            who = frozenset(key for key in group_keys if not key.startswith("order:"))
            self.links.update(dict.fromkeys(group_keys, who))
        tasks = []
        for batch, batch_keys in _batches(
            groups, alone=lambda event: id(event) in alone
        ):
            before = {
                task for key in batch_keys if (task := self.tails.get(key)) is not None
            }
            task = asyncio.create_task(
                self._batch(
                    batch, before, version, known.unknown, alone=id(batch[0]) in alone
                )
            )
            tasks.append(task)
            self.tails.update(dict.fromkeys(batch_keys, task))
        self.window.append(_Scheduled(page, tasks))

    def _linked(self, keys: list[str], running: set[str]) -> list[str]:
        """The keys, with those of the buyer of the running events they are
        linked to: a buyer made by a batch still running is not in the
        database yet, so a guest order with their email knows them only
        through that batch."""
        linked = dict.fromkeys(keys)
        for key in keys:
            if key in running:
                linked.update(dict.fromkeys(self.links.get(key, ())))
        return list(linked)

    async def _settle(self) -> None:
        """Wait for every batch handed in (a failure is raised), and forget
        the links: the database now knows what they made."""
        for scheduled in self.window:
            for task in scheduled.batches:
                await task
        self.links.clear()

    async def next_done(self) -> OrderPage:
        """The oldest page handed in, once all its events are in (or refused);
        a failure (an outage, a bug) is raised, and the run must stop."""
        scheduled = self.window[0]
        for task in scheduled.batches:
            await task
        self.window.popleft()
        # A failed batch stays: later events of its keys must not go ahead.
        for key in [key for key, task in self.tails.items() if _succeeded(task)]:
            del self.tails[key]
            self.links.pop(key, None)
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
        self.links.clear()

    def _raise_failure(self) -> None:
        """Stop at the first batch that failed in a later page, before more
        are handed in: the run ends there."""
        for scheduled in self.window:
            for task in scheduled.batches:
                if task.done() and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]

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
                count_refusal(self.connection, event, error, self.report)
                continue
            wanted.append(event)
        return wanted

    async def _known(self, events: list[OrderEvent], running: set[str]) -> _Known:
        """One question per platform: the customers the page's platform ids
        and guests' emails name; another, rarely, for the orders that
        refunds naming only their order belong to."""
        store = self.connection.store
        known = _Known()
        asked: dict[Platform, tuple[set[str], set[str]]] = {}
        order_only: dict[str, set[str]] = {}
        for event in events:
            ids, emails = asked.setdefault(
                Platform(event.customer.platform), (set(), set())
            )
            if (buyer := _buyer_of(event)) is not None:
                ids.add(buyer[1])
            elif event.customer.email:
                emails.add(event.customer.email)
            else:
                order_only.setdefault(event.platform, set()).add(event.order_ref)
        for platform, (ids, emails) in asked.items():
            found = await customers.owners(
                store, platform=platform, external_ids=ids, emails=emails
            )
            for external_id, owner in found.by_external_id.items():
                known.owners[_id_key((platform, external_id))] = {owner}
            for email, owned in found.by_email.items():
                known.owners[_email_key(email)] = owned
            # A buyer of a batch still running may be being created: looked up.
            known.unknown.update(
                (platform, external_id)
                for external_id in ids - found.by_external_id.keys()
                if _id_key((platform, external_id)) not in running
            )
        for order_platform, refs in order_only.items():
            by_order = await orders.owners(
                store, platform=order_platform, order_refs=refs
            )
            for ref, owner in by_order.items():
                known.owners[_order_key(order_platform, ref)] = {owner}
        return known

    async def _batch(
        self,
        events: list[OrderEvent],
        before: set[asyncio.Task[None]],
        version: int | None,
        unknown: set[Buyer],
        *,
        alone: bool = False,
    ) -> None:
        for earlier in before:  # one that failed fails this one: the run stops
            await earlier
        if alone:  # refused for certain: no batch to fail and redo
            async with self.slots:
                await self._one_by_one(events, version, unknown)
            return
        async with self.slots:
            ingested = skipped = 0
            still_unknown = set(unknown)
            try:
                async with in_transaction():
                    for event in events:
                        result = await self._ingest(event, version, still_unknown)
                        ingested += result.applied
                        skipped += not result.applied
            except Exception as error:
                current = asyncio.current_task()
                if isinstance(error, TransactionManagementError) or (
                    current is not None and current.cancelling()
                ):
                    raise  # not rolled back, or stopping: nothing to redo
                self.report.batches_redone += 1
                if not isinstance(error, DomainError):  # a refusal is logged as such
                    logger.warning(
                        "a batch of %d order events of %s failed (%s); "
                        "ingesting them one by one",
                        len(events),
                        self.connection.shop_ref,
                        type(error).__name__,
                    )
                await self._one_by_one(events, version, unknown)
                return
            unknown.intersection_update(still_unknown)
            self.report.events_ingested += ingested
            self.report.skipped += skipped

    async def _one_by_one(
        self, events: list[OrderEvent], version: int | None, unknown: set[Buyer]
    ) -> None:
        for event in events:
            try:
                async with in_transaction():
                    result = await self._ingest(event, version, unknown)
            except DomainError as error:
                count_refusal(self.connection, event, error, self.report)
                continue
            if result.applied:
                self.report.events_ingested += 1
            else:
                self.report.skipped += 1

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


def _groups(
    keyed: list[tuple[OrderEvent, list[str]]],
) -> list[tuple[list[OrderEvent], frozenset[str]]]:
    """The page's events linked by a key, directly or through others, each
    group in page order with all its keys."""
    root: dict[str, str] = {}

    def find(key: str) -> str:
        while (up := root.setdefault(key, key)) != key:
            root[key] = root.setdefault(up, up)  # path splitting
            key = up
        return key

    for _, keys in keyed:
        first, *others = (find(key) for key in keys)
        for other in others:
            root[other] = first
    groups: dict[str, tuple[list[OrderEvent], set[str]]] = {}
    for event, keys in keyed:
        events, group_keys = groups.setdefault(find(keys[0]), ([], set()))
        events.append(event)
        group_keys.update(keys)
    return [(events, frozenset(keys)) for events, keys in groups.values()]


def _batches(
    groups: list[tuple[list[OrderEvent], frozenset[str]]],
    *,
    alone: Callable[[OrderEvent], bool],
) -> list[tuple[list[OrderEvent], set[str]]]:
    """Groups packed into batches of at most BATCH_EVENTS, with their keys:
    a group cut in consecutive batches when it has more (they share its
    keys, so each waits for the last); a group with an event `alone` says
    not packed with others."""
    batches: list[tuple[list[OrderEvent], set[str]]] = [([], set())]
    apart: list[tuple[list[OrderEvent], set[str]]] = []
    for events, keys in groups:
        if any(alone(event) for event in events):
            apart += [(part, set(keys)) for part in _cut(events)]
            continue
        for part in _cut(events):
            if len(batches[-1][0]) + len(part) > BATCH_EVENTS:
                batches.append(([], set()))
            batches[-1][0].extend(part)
            batches[-1][1].update(keys)
    return [batch for batch in [*batches, *apart] if batch[0]]


def _cut(group: list[OrderEvent]) -> list[list[OrderEvent]]:
    return [group[n : n + BATCH_EVENTS] for n in range(0, len(group), BATCH_EVENTS)]


def _keys_of(event: OrderEvent, known: _Known) -> list[str]:
    """What orders an event among others: its order, its buyer's email (a
    guest order goes to the customer who has that email) and platform id,
    and the customers these name. The order's key comes first."""
    keys = [_order_key(event.platform, event.order_ref)]
    if event.customer.email:
        keys.append(_email_key(event.customer.email))
    if (buyer := _buyer_of(event)) is not None:
        keys.append(_id_key(buyer))
    owners: set[UUID] = set()
    for key in keys:
        owners |= known.owners.get(key, set())
    keys.extend(f"customer:{owner}" for owner in sorted(owners, key=str))
    return keys


def _order_only(event: OrderEvent) -> bool:
    # As the ingest decides: no platform id and no email given at all.
    return not (event.customer.email or event.customer.external_id)


def _order_key(platform: str, order_ref: str) -> str:
    return f"order:{platform}:{order_ref.strip()}"


def _email_key(email: str) -> str:
    return f"email:{customer_rules.normalize_email(email)}"


def _id_key(buyer: Buyer) -> str:
    return f"id:{buyer[0]}:{buyer[1]}"


def _buyer_of(event: OrderEvent) -> Buyer | None:
    ref = event.customer
    external_id = (ref.external_id or "").strip()
    return (Platform(ref.platform), external_id) if external_id else None


def _succeeded(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None

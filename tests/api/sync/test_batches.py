"""A backfill's events in batches: a transaction per batch, a failed batch
redone event by event, batches at once but each buyer's events in order."""

import asyncio
import logging
from collections import defaultdict
from dataclasses import replace
from typing import Any

import pytest
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from api.connections.models import Connection
from api.core import sql
from api.customers import service as customers
from api.customers.models import CustomerIdentity
from api.ledger.models import PointsTransaction
from api.orders import service as orders
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.orders.models import Order
from api.settings import Settings
from api.stores.service import IssuedKeys
from api.sync import batches
from api.sync import service as sync
from tests.api.sync.pages import Pages, custom_connection
from tests.factories.customers import make_customer
from tests.factories.program import order_event


async def _balances(store: IssuedKeys) -> dict[str, int]:
    return dict(
        await CustomerIdentity.filter(store_id=store.store.id).values_list(
            "external_id", "customer__points_balance"
        )
    )


def _count_transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return in_transaction(*args, **kwargs)

    monkeypatch.setattr(batches, "in_transaction", counted)
    return opened


def _fail_once_after(monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    """The order's ingest fails once after it wrote, as a deadlock would."""
    failed: list[str] = []
    ingest = orders.ingest

    async def failing_once(*args: Any, **kwargs: Any) -> orders.IngestResult:
        result = await ingest(*args, **kwargs)
        if args[1].order_ref == ref and not failed:
            failed.append(ref)
            raise OperationalError("deadlock detected")
        return result

    monkeypatch.setattr(orders, "ingest", failing_once)


async def test_a_page_of_ten_events_is_committed_in_one_transaction(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = await custom_connection(store, settings)
    opened = _count_transactions(monkeypatch)
    page = [order_event(ref=f"o-{n}", customer=f"c-{n % 7}") for n in range(10)]
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (0, 10)
    assert len(opened) == 1
    balances = await _balances(store)
    assert balances == {f"c-{n}": 200 if n < 3 else 100 for n in range(7)}


async def test_a_large_page_is_cut_into_batches_that_keep_each_buyer_together(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty events of four buyers and thirty of one more: no batch over the
    cap, each of the four in one batch, the fifth's in consecutive ones, and
    every buyer's events ingested in page order."""
    connection = await custom_connection(store, settings)
    page = [order_event(ref=f"o-{n}", customer=f"c-{n % 4}") for n in range(30)]
    page += [order_event(ref=f"w-{n}", customer="whale") for n in range(30)]
    buyer_of = {event.order_ref: event.customer.external_id for event in page}
    cut: list[list[str]] = []
    batch = batches.PageIngest._batch

    async def spied_batch(
        ingest: Any, events: list[OrderEvent], *args: Any, **kwargs: Any
    ) -> None:
        cut.append([event.order_ref for event in events])
        await batch(ingest, events, *args, **kwargs)

    ingested: list[str] = []
    ingest = orders.ingest

    async def spied_ingest(*args: Any, **kwargs: Any) -> orders.IngestResult:
        ingested.append(args[1].order_ref)
        return await ingest(*args, **kwargs)

    monkeypatch.setattr(batches.PageIngest, "_batch", spied_batch)
    monkeypatch.setattr(orders, "ingest", spied_ingest)
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (0, 60)
    assert sorted(ingested) == sorted(buyer_of)  # each once
    assert all(len(refs) <= batches.BATCH_EVENTS for refs in cut)
    holding = {
        buyer: [n for n, refs in enumerate(cut) if buyer in map(buyer_of.get, refs)]
        for buyer in set(buyer_of.values())
    }
    assert all(len(holding[f"c-{n}"]) == 1 for n in range(4))
    assert holding["whale"] == list(
        range(holding["whale"][0], holding["whale"][-1] + 1)
    )
    for buyer in set(buyer_of.values()):
        mine = [ref for ref in ingested if buyer_of[ref] == buyer]
        assert mine == sorted(mine, key=lambda ref: int(ref[2:]))
    balances = await _balances(store)
    assert balances == {"c-0": 800, "c-1": 800, "c-2": 700, "c-3": 700, "whale": 3000}


def _orphan_refund(ref: str) -> OrderEvent:
    """A refund naming only an order the shop's history has not shown yet:
    refused inside the ingest (after the batch's earlier events wrote)."""
    event = order_event(
        OrderEventKind.REFUNDED, ref=ref, refund_ref=f"r-{ref}", refunded=1_000
    )
    return replace(event, customer=CustomerRef(platform="custom"))


async def test_a_batch_with_an_event_refused_midway_is_redone_event_by_event(
    store: IssuedKeys,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A buyer's email is refused only when the buyer is made, after the
    batch's earlier events wrote: the batch is rolled back and its events
    go in one by one, the refused one counted and named once."""
    connection = await custom_connection(store, settings)
    opened = _count_transactions(monkeypatch)
    bad = order_event(ref="o-2", customer="bad")
    bad = replace(bad, customer=replace(bad.customer, email="not an email"))
    page = [
        order_event(ref="o-1", customer="a"),
        bad,
        order_event(ref="o-3", customer="b"),
    ]
    with caplog.at_level(logging.WARNING, logger="ladder.sync"):
        report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested, report.skipped) == (1, 2, 0)
    assert (report.refused, report.batches_redone) == ({"invalid_email": 1}, 1)
    # The batch, rolled back, then one transaction per event.
    assert len(opened) == 1 + 3
    assert await _balances(store) == {"a": 100, "b": 100}
    assert await PointsTransaction.filter(store_id=store.store.id).count() == 2
    assert [r.getMessage() for r in caplog.records if r.name == "ladder.sync"] == [
        "order 'o-2' of pages.myshopify.com not ingested: invalid_email"
    ]


async def test_a_refund_of_an_order_not_seen_yet_goes_alone(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refund that names only an order neither stored nor in the run is
    refused inside the ingest: ingested alone, it fails only itself."""
    connection = await custom_connection(store, settings)
    opened = _count_transactions(monkeypatch)
    page = [
        order_event(ref="o-1", customer="a"),
        _orphan_refund("gone"),
        order_event(ref="o-3", customer="b"),
    ]
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (1, 2)
    assert (report.refused, report.batches_redone) == ({"not_found": 1}, 0)
    assert len(opened) == 1 + 1  # the others' batch, the refund's own
    assert await _balances(store) == {"a": 100, "b": 100}


async def test_a_redone_batch_creates_its_new_buyers_again_without_looking(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rolled-back batch had created its new buyer: redone, the buyer is
    new again (created straight away, not looked up first), and is one
    customer with their points once."""
    connection = await custom_connection(store, settings)
    looked_up: list[str] = []
    find = customers.locked_by_external_id if sql.is_postgres() else None
    alone = customers.find_by_external_id

    async def spied_alone(*args: Any, **kwargs: Any) -> Any:
        looked_up.append(kwargs["external_id"])
        return await alone(*args, **kwargs)

    def spied_with_order(*args: Any, **kwargs: Any) -> Any:
        looked_up.append(kwargs["external_id"])
        assert find is not None
        return find(*args, **kwargs)

    monkeypatch.setattr(customers, "find_by_external_id", spied_alone)
    monkeypatch.setattr(customers, "locked_by_external_id", spied_with_order)
    _fail_once_after(monkeypatch, "o-2")
    page = [
        order_event(ref="o-1", customer="new"),
        order_event(ref="o-2", customer="new"),
    ]
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested, report.batches_redone) == (0, 2, 1)
    # The second order of each attempt looks the buyer up; the first never.
    assert looked_up == ["new", "new"]
    assert await _balances(store) == {"new": 200}


@pytest.mark.postgres
async def test_batches_run_at_once_and_a_buyers_next_batch_waits_for_the_last(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow batch holds back only the later batches that share its buyer:
    another buyer's page, handed in after it, goes in meanwhile."""
    connection = await custom_connection(store, settings)
    other_done = asyncio.Event()
    finished: list[str] = []
    ingest = orders.ingest

    async def slowed(*args: Any, **kwargs: Any) -> orders.IngestResult:
        event: OrderEvent = args[1]
        if event.order_ref == "slow-1":
            # Only a later page's batch, run meanwhile, can let it go on.
            await asyncio.wait_for(other_done.wait(), timeout=5)
        result = await ingest(*args, **kwargs)
        finished.append(event.order_ref)
        if event.order_ref == "other-1":
            other_done.set()
        return result

    monkeypatch.setattr(orders, "ingest", slowed)

    source = Pages(
        [
            [order_event(ref="slow-1", customer="slow", amount=1_000)],
            [order_event(ref="other-1", customer="other")],
            [order_event(ref="slow-2", customer="slow", amount=2_000)],
            [order_event(ref="other-2", customer="another")],
        ]
    )
    report = await sync.backfill(connection, source)
    assert (report.errors, report.events_ingested) == (0, 4)
    assert finished.index("other-1") < finished.index("slow-1")
    assert finished.index("slow-1") < finished.index("slow-2")
    assert (await _balances(store))["slow"] == 30


def _guest(ref: str, email: str) -> OrderEvent:
    """A guest order: an email and no platform id."""
    event = order_event(ref=ref)
    return replace(event, customer=CustomerRef(platform="custom", email=email))


@pytest.mark.postgres
async def test_a_guest_order_waits_for_the_batch_of_the_customer_its_email_names(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guest order (an email, no platform id) goes to the customer who has
    that email: its batch waits for a running batch of that customer's, known
    by their platform id, though the two share no email or id. Run at once,
    the two batches below would lock X and Y in opposite orders."""
    connection = await custom_connection(store, settings)
    await make_customer(store.store, external_id="x", email="x@example.com")
    await make_customer(store.store, external_id="y", email="y@example.com")
    steps: list[str] = []
    ingest = orders.ingest

    async def watched(*args: Any, **kwargs: Any) -> orders.IngestResult:
        ref = args[1].order_ref
        steps.append(f"{ref} starts")
        result = await ingest(*args, **kwargs)
        if ref == "a-1":  # holding X: room for a batch that should wait
            await asyncio.sleep(0.2)
        steps.append(f"{ref} ends")
        return result

    monkeypatch.setattr(orders, "ingest", watched)
    x, y = order_event(ref="a-1", customer="x"), order_event(ref="b-1", customer="y")
    source = Pages(
        [[x, _guest("a-2", "y@example.com")], [y, _guest("b-2", "x@example.com")]]
    )
    report = await sync.backfill(connection, source)
    assert (report.errors, report.events_ingested, report.batches_redone) == (0, 4, 0)
    assert steps.index("b-1 starts") > steps.index("a-2 ends")
    assert await _balances(store) == {"x": 200, "y": 200}


async def test_a_batch_that_fails_for_any_reason_is_redone_event_by_event(
    store: IssuedKeys,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A deadlock or a lost race fails a batch once: it is rolled back,
    its events go in one by one, and the log says so without personal data."""
    connection = await custom_connection(store, settings)
    opened = _count_transactions(monkeypatch)
    _fail_once_after(monkeypatch, "o-2")
    page = [order_event(ref=f"o-{n}", customer=f"c-{n}") for n in range(3)]
    with caplog.at_level(logging.WARNING, logger="ladder.sync"):
        report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested, report.batches_redone) == (0, 3, 1)
    assert len(opened) == 1 + 3
    assert await _balances(store) == {"c-0": 100, "c-1": 100, "c-2": 100}
    assert await PointsTransaction.filter(store_id=store.store.id).count() == 3
    assert [r.getMessage() for r in caplog.records if r.name == "ladder.sync"] == [
        "a batch of 3 order events of pages.myshopify.com failed (OperationalError);"
        " ingesting them one by one"
    ]


class _Steps(list[str]):
    """Each ingest's start and end, in order, and an event set at each end."""

    def __init__(self) -> None:
        super().__init__()
        self.ended: dict[str, asyncio.Event] = defaultdict(asyncio.Event)


def _watch(monkeypatch: pytest.MonkeyPatch, *slow: str) -> _Steps:
    """Each ingest's start and end; the `slow` orders hold their locks a
    while, room for a batch that should wait to go ahead."""
    steps = _Steps()
    ingest = orders.ingest

    async def watched(*args: Any, **kwargs: Any) -> orders.IngestResult:
        ref = args[1].order_ref
        steps.append(f"{ref} starts")
        result = await ingest(*args, **kwargs)
        if ref in slow:
            await asyncio.sleep(0.2)
        steps.append(f"{ref} ends")
        steps.ended[ref].set()
        return result

    monkeypatch.setattr(orders, "ingest", watched)
    return steps


def _made_then_guest_then_next() -> Pages:
    """Buyer x's first order (made by it, with their email), then a guest
    order with that email, then x's next order by platform id alone: one page
    each."""
    first = order_event(ref="a-1", customer="x")
    first = replace(first, customer=replace(first.customer, email="a@example.com"))
    return Pages(
        [
            [first],
            [_guest("g-1", "a@example.com")],
            [order_event(ref="e-1", customer="x")],
        ]
    )


@pytest.mark.postgres
async def test_a_buyer_being_made_links_their_guest_order_and_their_next_one(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buyer made by a batch still running is in no table yet: a guest
    order with their email and their next order by platform id (no email)
    know them only through that batch, and still go one after the other."""
    connection = await custom_connection(store, settings)
    steps = _watch(monkeypatch, "a-1")
    report = await sync.backfill(connection, _made_then_guest_then_next())
    assert (report.errors, report.events_ingested, report.batches_redone) == (0, 3, 0)
    assert steps.index("g-1 starts") > steps.index("a-1 ends")
    assert steps.index("e-1 starts") > steps.index("g-1 ends")
    assert await _balances(store) == {"x": 300}


@pytest.mark.postgres
async def test_a_refund_naming_only_a_stored_order_waits_for_its_customers_batch(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = await custom_connection(store, settings)
    await sync.backfill(connection, Pages([[order_event(ref="o-1", customer="x")]]))
    steps = _watch(monkeypatch, "o-2")
    refund = _orphan_refund("o-1")  # stored now: its customer is known
    source = Pages([[order_event(ref="o-2", customer="x")], [refund]])
    report = await sync.backfill(connection, source)
    assert (report.errors, report.events_ingested) == (0, 2)
    assert steps.index("o-1 starts") > steps.index("o-2 ends")
    assert await _balances(store) == {"x": 190}


@pytest.mark.postgres
async def test_no_page_is_handed_in_after_a_batch_failed(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch fails for good (an outage) while an earlier page still runs:
    that page is checkpointed and the run stops, the next page's buyers not
    even asked about, so the failed buyer's later order waits for the next
    run instead of going in ahead of the failed one."""
    connection = await custom_connection(store, settings)
    monkeypatch.setattr(batches, "PAGES_AT_ONCE", 2)
    failed = asyncio.Event()
    ingest = orders.ingest

    async def outage(*args: Any, **kwargs: Any) -> orders.IngestResult:
        ref = args[1].order_ref
        if ref == "y-1":
            failed.set()
            raise ConnectionError("database gone")
        if ref == "slow-0":
            await asyncio.wait_for(failed.wait(), timeout=5)
            await asyncio.sleep(0.1)  # the failed batch rolls back meanwhile
        return await ingest(*args, **kwargs)

    asked: list[object] = []
    owners = customers.owners

    async def spied_owners(*args: Any, **kwargs: Any) -> customers.Owners:
        asked.append(kwargs["external_ids"])
        return await owners(*args, **kwargs)

    monkeypatch.setattr(orders, "ingest", outage)
    monkeypatch.setattr(customers, "owners", spied_owners)
    pages = [[order_event(ref="slow-0", customer="s")]]
    pages += [[order_event(ref="y-1", customer="y")]]
    pages += [[order_event(ref="y-2", customer="y")], [order_event(ref="f-3")]]
    with pytest.raises(ConnectionError):
        await sync.backfill(connection, Pages(pages))
    assert (await Connection.get(id=connection.id)).sync_cursor == "1"
    assert len(asked) == 2  # the first two pages'
    assert not await Order.filter(order_ref="y-2").exists()


@pytest.mark.postgres
async def test_a_batch_that_commits_while_the_page_is_looked_up_still_links_it(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The buyer made by the first page's batch commits after the second
    page's lookup read the database, before the lookup returns: the guest
    order with their email is still linked to them, so their next order
    waits for it."""
    connection = await custom_connection(store, settings)
    steps = _watch(monkeypatch, "a-1", "g-1")
    owners = customers.owners

    async def late(*args: Any, **kwargs: Any) -> customers.Owners:
        found = await owners(*args, **kwargs)
        if "a@example.com" in kwargs["emails"]:  # the guest's page
            await asyncio.wait_for(steps.ended["a-1"].wait(), timeout=5)
            await asyncio.sleep(0.1)  # its batch commits meanwhile
        return found

    monkeypatch.setattr(customers, "owners", late)
    report = await sync.backfill(connection, _made_then_guest_then_next())
    assert (report.errors, report.events_ingested) == (0, 3)
    assert steps.index("e-1 starts") > steps.index("g-1 ends")
    assert await _balances(store) == {"x": 300}


def _largest_links(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The largest set of linked keys after each page is handed in."""
    sizes: list[int] = []
    add = batches.PageIngest.add

    async def spied(ingest: batches.PageIngest, page: Any) -> None:
        await add(ingest, page)
        sizes.append(max(map(len, ingest.links.values()), default=0))

    monkeypatch.setattr(batches.PageIngest, "add", spied)
    return sizes


@pytest.mark.postgres
async def test_a_buyer_on_page_after_page_links_only_who_they_are(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A customer whose orders fill page after page (a B2B account): each
    page links to the last, by who the buyer is, not by every order before."""
    connection = await custom_connection(store, settings)
    sizes = _largest_links(monkeypatch)
    pages = []
    for n in range(30):
        event = order_event(ref=f"o-{n}", customer="b2b")
        pages.append([replace(event, customer=replace(event.customer, email="b@x.io"))])
    report = await sync.backfill(connection, Pages(pages))
    assert (report.errors, report.events_ingested) == (0, 30)
    assert max(sizes) <= 3  # the email, the platform id, the customer
    assert await _balances(store) == {"b2b": 3000}


@pytest.mark.postgres
async def test_links_past_the_bound_wait_for_the_running_batches(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Customers sharing one email (a till's placeholder address) chain page
    after page: past the bound, the running batches are waited for and the
    links start afresh."""
    connection = await custom_connection(store, settings)
    monkeypatch.setattr(batches, "MAX_LINKED_KEYS", 6)
    sizes = _largest_links(monkeypatch)
    pages = []
    for n in range(30):
        event = order_event(ref=f"o-{n}", customer=f"c-{n}")
        pages.append(
            [replace(event, customer=replace(event.customer, email="till@x.io"))]
        )
    report = await sync.backfill(connection, Pages(pages))
    assert (report.errors, report.events_ingested) == (0, 30)
    assert max(sizes) <= 6 + 2  # a page adds its buyer's id and customer
    assert await _balances(store) == {f"c-{n}": 100 for n in range(30)}

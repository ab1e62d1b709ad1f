"""A backfill's events in batches: a transaction per batch, a failed batch
redone event by event, batches at once but each buyer's events in order."""

import asyncio
import logging
from dataclasses import replace
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from api.customers.models import CustomerIdentity
from api.ledger.models import PointsTransaction
from api.orders import service as orders
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
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
    """Sixty events of four buyers each (and one buyer's thirty): no batch
    over the cap, and a buyer's events in their page order."""
    connection = await custom_connection(store, settings)
    page = [order_event(ref=f"o-{n}", customer=f"c-{n % 4}") for n in range(30)]
    page += [order_event(ref=f"w-{n}", customer="whale") for n in range(30)]
    seen: list[list[str]] = []
    batch = batches.PageIngest._batch

    async def spied(ingest: Any, events: list[OrderEvent], *args: Any) -> None:
        seen.append([event.order_ref for event in events])
        await batch(ingest, events, *args)

    monkeypatch.setattr(batches.PageIngest, "_batch", spied)
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (0, 60)
    assert all(len(refs) <= batches.BATCH_EVENTS for refs in seen)
    in_order = [ref for refs in seen for ref in refs]
    assert sorted(in_order) == sorted(e.order_ref for e in page)  # each once
    buyer_of = {event.order_ref: event.customer.external_id for event in page}
    for buyer in set(buyer_of.values()):
        mine = [ref for ref in in_order if buyer_of[ref] == buyer]
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
    connection = await custom_connection(store, settings)
    opened = _count_transactions(monkeypatch)
    page = [
        order_event(ref="o-1", customer="a"),
        _orphan_refund("gone"),
        order_event(ref="o-3", customer="b"),
    ]
    with caplog.at_level(logging.WARNING, logger="ladder.sync"):
        report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested, report.skipped) == (1, 2, 0)
    assert report.refused == {"not_found": 1}
    # The batch, rolled back, then one transaction per event.
    assert len(opened) == 1 + 3
    assert await _balances(store) == {"a": 100, "b": 100}
    assert await PointsTransaction.filter(store_id=store.store.id).count() == 2
    assert [r.getMessage() for r in caplog.records if r.name == "ladder.sync"] == [
        "order 'gone' of pages.myshopify.com not ingested: not_found"
    ]


async def test_a_redone_batch_leaves_each_of_its_new_buyers_once(
    store: IssuedKeys, settings: Settings
) -> None:
    """The rolled-back batch had created its new buyers: redone, they are
    new again, and each is one customer with their points once."""
    connection = await custom_connection(store, settings)
    page = [
        order_event(ref="o-1", customer="new"),
        order_event(ref="o-2", customer="new"),
        _orphan_refund("gone"),
    ]
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (1, 2)
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
async def test_two_batches_that_deadlock_are_redone_and_both_go_in(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two buyers' keys can name one customer (a guest order by email goes to
    the customer who has it), so batches that share no key can still lock
    the same customers in opposite orders. PostgreSQL aborts one; it is
    redone event by event once the other commits."""
    connection = await custom_connection(store, settings)
    await make_customer(store.store, external_id="x", email="x@example.com")
    await make_customer(store.store, external_id="y", email="y@example.com")
    first_held = asyncio.Barrier(2)
    waited: set[str] = set()
    ingest = orders.ingest

    async def in_step(*args: Any, **kwargs: Any) -> orders.IngestResult:
        result = await ingest(*args, **kwargs)
        ref = args[1].order_ref
        if ref in ("a-1", "b-1") and ref not in waited:
            # Each batch holds its first customer before asking for the other.
            waited.add(ref)
            await asyncio.wait_for(first_held.wait(), timeout=5)
        return result

    monkeypatch.setattr(orders, "ingest", in_step)
    opened = _count_transactions(monkeypatch)
    x, y = order_event(ref="a-1", customer="x"), order_event(ref="b-1", customer="y")
    source = Pages(
        [[x, _guest("a-2", "y@example.com")], [y, _guest("b-2", "x@example.com")]]
    )
    report = await sync.backfill(connection, source)
    assert (report.errors, report.events_ingested) == (0, 4)
    assert len(opened) == 2 + 2  # two batches, one of them redone alone
    assert await _balances(store) == {"x": 200, "y": 200}

"""Backfill from a fake Shopify Admin API: every order exactly once, resumable,
and a second run changes nothing."""

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from api.connections import service as connections
from api.connections.models import Connection
from api.core import table_statistics
from api.core.crypto import Vault
from api.customers import service as customers
from api.customers.models import Customer, CustomerIdentity
from api.ledger.models import PointsTransaction
from api.orders import service as orders
from api.orders.events import OrderEvent, OrderEventKind
from api.orders.models import Order
from api.platforms import OrderPage, PlatformName
from api.program.models import EarningRule
from api.settings import Settings
from api.stores.service import IssuedKeys
from api.sync import batches
from api.sync import service as sync
from api.sync.report import NAMED_REFUSALS
from tests.api.sync.pages import Pages, custom_connection
from tests.factories.customers import make_customer
from tests.factories.program import make_spend_rule, order_event
from tests.plugins.shopify.fake_admin import SHOP, TOKEN, FakeShopifyAdmin


async def _connect(issued: IssuedKeys, settings: Settings) -> Connection:
    # The fake shop sells in USD.
    issued.store.currency = "USD"
    await issued.store.save()
    await make_spend_rule(issued.store)
    connection = await connections.connect(
        issued.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=SHOP,
        vault=Vault(settings.vault_key()),
        access_token=TOKEN,
    )
    await connection.fetch_related("store")
    return connection


async def _reloaded(connection: Connection) -> Connection:
    fresh = await Connection.get(id=connection.id)
    await fresh.fetch_related("store")
    return fresh


async def _ledger_total() -> int:
    return sum(
        int(str(p))
        for p in await PointsTransaction.all().values_list("points", flat=True)
    )


@pytest.mark.parametrize("orders", [200])
async def test_interrupted_backfill_resumes_and_ingests_each_order_once(
    orders: int, store: IssuedKeys, settings: Settings
) -> None:
    # given a shop with history and a connection
    fake = FakeShopifyAdmin(orders)
    connection = await _connect(store, settings)
    live = [o for o in fake.orders if not o.test]
    async with fake.http() as http:
        admin = fake.admin(http)
        # when the first run stops halfway
        first = await sync.backfill(connection, admin, page_size=100, max_pages=3)
        assert first.pages == 3
        assert (await _reloaded(connection)).sync_cursor is not None
        # and a second run resumes
        second = await sync.backfill(await _reloaded(connection), admin, page_size=100)
        # then every order was seen once across both runs, and ingested once
        assert second.resumed is True
        assert first.orders_seen + second.orders_seen == orders
        assert await Order.all().count() == len(live)
        assert first.errors == second.errors == 0
        total = await _ledger_total()
        # and a full re-run changes nothing
        again = await sync.backfill(await _reloaded(connection), admin, page_size=100)
        assert again.events_ingested == 0
        assert await Order.all().count() == len(live)
        assert await _ledger_total() == total
    finished = await _reloaded(connection)
    assert finished.sync_cursor is None
    assert finished.synced_until is not None


async def test_backfill_and_webhooks_agree(
    store: IssuedKeys, settings: Settings
) -> None:
    """The same order through the API and through a webhook earns once."""
    from tests.plugins.shopify.fake_admin import rest_payload

    fake = FakeShopifyAdmin(20)
    connection = await _connect(store, settings)
    async with fake.http() as http:
        await sync.backfill(connection, fake.admin(http), page_size=50)
    total = await _ledger_total()
    # replaying every order as its webhook payload changes nothing
    from api.orders import service as orders
    from plugins.shopify import mapping

    for order in fake.orders:
        for event in mapping.order_events("orders/updated", rest_payload(order)):
            if event.extra.get("test") == "true":
                continue
            from tortoise.transactions import in_transaction

            async with in_transaction():
                result = await orders.ingest(store.store, event)
            assert not result.applied, order.name
    assert await _ledger_total() == total


async def test_a_page_ingested_several_shoppers_at_once_is_exact(
    store: IssuedKeys, settings: Settings
) -> None:
    """Shoppers run concurrently on PostgreSQL: every event is applied once,
    with no error, and every shopper's points come out exact."""
    s = store.store
    connection = await custom_connection(store, settings)
    events = []
    for n in range(40):
        customer = f"shopper-{n}"
        events += [
            order_event(ref=f"o-{n}", customer=customer, amount=10_000),
            order_event(
                OrderEventKind.REFUNDED,
                ref=f"o-{n}",
                customer=customer,
                amount=10_000,
                refund_ref=f"r-{n}",
                refunded=2_500,
            ),
            order_event(ref=f"o-{n}-b", customer=customer, amount=5_000),
        ]
    report = await sync.backfill(connection, Pages([events]))
    assert (report.errors, report.events_ingested) == (0, 120)
    balances = await Customer.filter(store_id=s.id).values_list(
        "points_balance", "points_pending", flat=False
    )
    assert sorted(sum(b) for b in balances) == [125] * 40


async def test_the_next_page_is_asked_for_while_a_page_is_ingested(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeShopifyAdmin(30)
    connection = await _connect(store, settings)
    asked_at_checkpoint: list[int] = []  # `orders` queries the fake had answered
    saved = connections.save_checkpoint

    async def checkpoint(connection_id: object, **kwargs: object) -> None:
        asked_at_checkpoint.append(fake.calls["orders"])
        await saved(connection_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(connections, "save_checkpoint", checkpoint)
    async with fake.http() as http:
        report = await sync.backfill(
            connection, fake.admin(http), page_size=10, max_pages=2
        )
    assert report.pages == 2
    # The window's checkpoint, then page 2 asked for before page 1 is
    # committed, and nothing asked for beyond the last page the run may take.
    assert asked_at_checkpoint == [0, 2, 2]
    assert await Order.all().count() == 20 - sum(o.test for o in fake.orders[:20])


async def test_a_rule_changed_during_a_backfill_pays_the_pages_handed_in_after_it(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The programme's version is read once per page, as the page is handed
    in to be ingested: pages all in before a change keep the old rate, pages
    handed in after it get the new one (those running meanwhile, either)."""
    connection = await custom_connection(store, settings)
    source = Pages(
        [
            [order_event(ref=f"p{page}-{n}", customer=f"c{page}-{n}") for n in range(3)]
            for page in range(8)
        ]
    )
    saved = connections.save_checkpoint
    changed = False

    async def checkpoint(connection_id: object, **kwargs: object) -> None:
        nonlocal changed
        await saved(connection_id, **kwargs)  # type: ignore[arg-type]
        if kwargs["cursor"] == "1":  # the first page is all in: three a unit
            await EarningRule.filter(store_id=store.store.id).update(
                points_per_unit=Decimal(3)
            )
            changed = True

    handed_in_after: list[int] = []
    add = batches.PageIngest.add

    async def spied_add(ingest: batches.PageIngest, page: OrderPage) -> None:
        if changed:
            handed_in_after.append(int(str(page.cursor)) - 1)
        await add(ingest, page)

    monkeypatch.setattr(connections, "save_checkpoint", checkpoint)
    monkeypatch.setattr(batches.PageIngest, "add", spied_add)
    await sync.backfill(connection, source)
    earned = dict(await Order.all().values_list("order_ref", "points_earned"))
    assert [earned[f"p0-{n}"] for n in range(3)] == [100] * 3
    assert handed_in_after, "pages were handed in after the change"
    assert handed_in_after == list(range(handed_in_after[0], 8))
    assert {earned[f"p{p}-{n}"] for p in handed_in_after for n in range(3)} == {300}


async def test_the_tables_a_backfill_fills_are_checked_as_it_goes(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner statistics keep up with a bulk load (api/core/table_statistics.py):
    a backfill asks, after a committed page, whether a table it fills has
    grown enough to analyze, once so many orders went by since it last asked,
    and at the end of the run."""
    checked: list[tuple[str, ...]] = []

    async def analyze_grown(models: list[type]) -> list[str]:
        checked.append(tuple(sorted(m.__name__ for m in models)))
        return []

    monkeypatch.setattr(table_statistics, "analyze_grown", analyze_grown)
    monkeypatch.setattr(sync, "CHECK_STATISTICS_EVERY", 20)
    fake = FakeShopifyAdmin(30)
    connection = await _connect(store, settings)
    async with fake.http() as http:
        report = await sync.backfill(connection, fake.admin(http), page_size=10)
    assert report.pages == 3  # of 10 orders: checked after 20, and at the end
    assert (
        checked
        == [
            (
                "Customer",
                "CustomerIdentity",
                "Order",
                "OrderRefund",
                "PointsLot",
                "PointsTransaction",
                "StageChange",
                "TierChange",
            )
        ]
        * 2
    )


async def test_a_failure_stops_the_run_at_the_last_page_fully_ingested(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outage in one page's event fails the run; the checkpoint names the
    last page whose events are all in, and the next run picks up from there,
    ingesting each order once."""
    connection = await custom_connection(store, settings)
    source = Pages(
        [
            [order_event(ref=f"p{page}-{n}", customer=f"c{n}") for n in range(4)]
            for page in range(5)
        ]
    )
    ingest = orders.ingest
    outage = True

    async def failing(*args: Any, **kwargs: Any) -> orders.IngestResult:
        if outage and args[1].order_ref == "p1-2":
            raise ConnectionError("database gone")
        return await ingest(*args, **kwargs)

    monkeypatch.setattr(orders, "ingest", failing)
    with pytest.raises(ConnectionError):
        await sync.backfill(connection, source)
    stopped = await _reloaded(connection)
    assert stopped.sync_cursor == "1"  # page 0 committed, page 1 not
    outage = False
    resumed = await sync.backfill(stopped, source)
    assert resumed.resumed
    assert await Order.all().count() == 20
    assert await _ledger_total() == 20 * 100
    assert (await _reloaded(connection)).sync_cursor is None


def _spy_creations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Each customer made for a new buyer: the platform id, and who was made
    (None when one with that id existed after all). Alone (`customers.create`),
    or (PostgreSQL) with their order in the same statement."""
    calls: list[tuple[str, Any]] = []
    alone, with_order = customers.create, orders._new_buyer_and_order

    async def spied_alone(*args: Any, **kwargs: Any) -> Any:
        calls.append((kwargs["external_id"], await alone(*args, **kwargs)))
        return calls[-1][1]

    async def spied_with_order(store: Any, event: OrderEvent) -> Any:
        made = await with_order(store, event)
        calls.append((event.customer.external_id or "", made and made[0]))
        return made

    monkeypatch.setattr(customers, "create", spied_alone)
    monkeypatch.setattr(orders, "_new_buyer_and_order", spied_with_order)
    return calls


def _spy_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The platform id of each customer looked up: alone, or (PostgreSQL)
    with their order in the same statement."""
    calls: list[str] = []
    alone, with_order = customers.find_by_external_id, customers.locked_by_external_id

    async def spied_alone(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["external_id"])
        return await alone(*args, **kwargs)

    def spied_with_order(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["external_id"])
        return with_order(*args, **kwargs)

    monkeypatch.setattr(customers, "find_by_external_id", spied_alone)
    monkeypatch.setattr(customers, "locked_by_external_id", spied_with_order)
    return calls


async def test_a_pages_new_buyers_are_created_without_being_looked_up(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which of a page's buyers are new is asked once: their first orders
    create them straight away; later orders, and known buyers, look them up."""
    connection = await custom_connection(store, settings)
    await make_customer(store.store, external_id="known")
    looked_up = _spy_lookups(monkeypatch)
    created = _spy_creations(monkeypatch)
    page = [
        order_event(ref="o-1", customer="new-1", amount=1_000),
        order_event(ref="o-2", customer="new-2", amount=2_000),
        order_event(ref="o-3", customer="new-1", amount=3_000),
        order_event(ref="o-4", customer="known", amount=4_000),
    ]
    report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (0, 4)
    assert sorted(looked_up) == ["known", "new-1"]
    assert sorted(ref for ref, made in created if made is not None) == [
        "new-1",
        "new-2",
    ]
    assert len(created) == 2  # none tried twice
    balances = dict(
        await CustomerIdentity.filter(store_id=store.store.id).values_list(
            "external_id", "customer__points_balance"
        )
    )
    assert balances == {"known": 40, "new-1": 40, "new-2": 20}


async def test_a_buyer_created_after_the_page_was_asked_about_is_found(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A buyer who becomes known between the page's question and their order
    (a webhook of another order, say) keeps one customer row: the create
    yields to them, as in any race of first orders."""
    connection = await custom_connection(store, settings)
    known = await make_customer(store.store, external_id="late")  # ada@example.com

    async def nobody_known(*_: Any, **__: Any) -> customers.Owners:
        return customers.Owners({}, {})

    monkeypatch.setattr(customers, "owners", nobody_known)
    created = _spy_creations(monkeypatch)
    # An old order, under the email the buyer had then.
    event = order_event(ref="o-1", customer="late", amount=5_000)
    event = replace(event, customer=replace(event.customer, email="old@example.com"))
    report = await sync.backfill(connection, Pages([[event]]))
    assert (report.errors, report.events_ingested) == (0, 1)
    assert created == [("late", None)]  # thought new, and the create yielded
    assert await Customer.filter(store_id=store.store.id).count() == 1
    found = await Customer.get(id=known.id)
    assert (found.points_balance, found.email) == (50, "ada@example.com")


async def test_an_order_refused_for_good_is_counted_and_named_in_the_log(
    store: IssuedKeys, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    connection = await custom_connection(store, settings)
    refused = replace(order_event(ref="o-2", customer="b"), currency="JPY")
    page = [order_event(ref="o-1", customer="a"), refused]
    with caplog.at_level(logging.WARNING, logger="ladder.sync"):
        report = await sync.backfill(connection, Pages([page]))
    assert (report.errors, report.events_ingested) == (1, 1)
    assert report.refused == {"currency_mismatch": 1}
    assert [r.getMessage() for r in caplog.records if r.name == "ladder.sync"] == [
        "order 'o-2' of pages.myshopify.com not ingested: currency_mismatch"
    ]


def _in_another_currency(count: int) -> list[OrderEvent]:
    """Paid orders of as many buyers, in a currency the store does not run in."""
    return [
        replace(order_event(ref=f"o-{n}", customer=f"c-{n}"), currency="JPY")
        for n in range(count)
    ]


async def test_a_shop_refused_throughout_is_summed_up_not_logged_order_by_order(
    store: IssuedKeys, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    connection = await custom_connection(store, settings)
    refused = _in_another_currency(NAMED_REFUSALS + 5)
    with caplog.at_level(logging.WARNING, logger="ladder.sync"):
        report = await sync.backfill(connection, Pages([refused[:8], refused[8:]]))
    assert report.refused == {"currency_mismatch": NAMED_REFUSALS + 5}
    logged = [r.getMessage() for r in caplog.records if r.name == "ladder.sync"]
    assert len(logged) == NAMED_REFUSALS + 1
    assert logged[-1] == (
        "5 more order events of pages.myshopify.com not ingested"
        " (15 in all, by code: {'currency_mismatch': 15})"
    )


async def test_a_run_that_stops_still_sums_up_what_it_refused(
    store: IssuedKeys, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    connection = await custom_connection(store, settings)
    refused = _in_another_currency(NAMED_REFUSALS + 2)

    class Broken(Pages):
        async def orders_page(self, *, cursor: str | None, **_: object) -> OrderPage:
            if cursor == "1":
                raise ConnectionError("platform gone")
            return await super().orders_page(cursor=cursor)

    with (
        caplog.at_level(logging.WARNING, logger="ladder.sync"),
        pytest.raises(ConnectionError),
    ):
        await sync.backfill(connection, Broken([refused, refused]))
    logged = [r.getMessage() for r in caplog.records if r.name == "ladder.sync"]
    assert logged[-1] == (
        "2 more order events of pages.myshopify.com not ingested"
        " (12 in all, by code: {'currency_mismatch': 12})"
    )

"""Tables filled in bulk are analyzed as they grow (api/core/table_statistics.py)."""

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from tortoise.connection import get_connection
from tortoise.exceptions import OperationalError

from api.core import sql, table_statistics
from api.core.clock import utc_now
from api.orders.models import Order, OrderStatus
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer


async def _orders_stats() -> Mapping[str, Any]:
    row = await sql.fetch_one(
        "SELECT n_mod_since_analyze, last_analyze FROM pg_stat_user_tables"
        " WHERE schemaname = current_schema() AND relname = 'orders'"
    )
    assert row is not None
    return row


async def _counted(rows: int) -> None:
    """Until the statistics collector has counted the rows (each session
    reports its counts about once a second)."""
    for _ in range(150):
        if (await _orders_stats())["n_mod_since_analyze"] >= rows:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the statistics collector never counted the inserts")


@pytest.mark.postgres
async def test_a_table_that_grew_is_analyzed_once(store: IssuedKeys) -> None:
    # Counted from here: autovacuum kept out of it, earlier tests' changes
    # analyzed away (TRUNCATE between tests does not reset the count).
    client = get_connection("default")
    await client.execute_script(
        "ALTER TABLE orders SET (autovacuum_enabled = off); ANALYZE orders"
    )
    try:
        customer = await make_customer(store.store)
        await Order.bulk_create(
            [
                Order(
                    store_id=store.store.id,
                    customer_id=customer.id,
                    platform="shopify",
                    order_ref=str(1000 + n),
                    status=OrderStatus.PAID,
                    currency="EUR",
                    eligible_minor=1_000,
                    placed_at=utc_now(),
                    snapshot_at=utc_now(),
                )
                for n in range(600)
            ]
        )
        await _counted(600)
        before = (await _orders_stats())["last_analyze"]

        # Fewer changed rows than asked for: left to autovacuum.
        assert await table_statistics.analyze_grown([Order], changed_rows=10**6) == []
        assert (await _orders_stats())["last_analyze"] == before

        grown = await table_statistics.analyze_grown([Order], changed_rows=500)
        assert grown == ["orders"]
        assert (await _orders_stats())["last_analyze"] > before
        # Analyzed: nothing changed since, so nothing to do.
        assert await table_statistics.analyze_grown([Order], changed_rows=500) == []
    finally:
        await client.execute_script("ALTER TABLE orders RESET (autovacuum_enabled)")


@pytest.mark.postgres
async def test_a_failed_look_is_logged_not_raised(
    store: IssuedKeys, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refused(*_: Any) -> Any:
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(sql, "fetch_all", refused)
    assert await table_statistics.analyze_grown([Order], changed_rows=0) == []
    assert "planner statistics not refreshed" in caplog.text


async def test_nothing_is_analyzed_on_sqlite(store: IssuedKeys) -> None:
    if sql.is_postgres():
        pytest.skip("the SQLite case")
    assert await table_statistics.analyze_grown([Order], changed_rows=0) == []

"""Tables filled in bulk are analyzed as they grow (api/core/statistics.py)."""

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from api.core import sql, statistics
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

    # Too few changed rows for this threshold: left to autovacuum.
    assert await statistics.analyze_grown([Order], changed_rows=1_000) == []
    assert (await _orders_stats())["last_analyze"] == before

    assert await statistics.analyze_grown([Order], changed_rows=500) == ["orders"]
    after = await _orders_stats()
    assert after["last_analyze"] is not None
    assert before is None or after["last_analyze"] > before
    # Analyzed: nothing changed since, so nothing to do.
    assert await statistics.analyze_grown([Order], changed_rows=500) == []


async def test_nothing_is_analyzed_on_sqlite(store: IssuedKeys) -> None:
    if sql.is_postgres():
        pytest.skip("the SQLite case")
    assert await statistics.analyze_grown([Order], changed_rows=0) == []

"""What one statement costs in CPU through each layer, on the bench database.

    .venv/bin/python -m bench.orm

The same lookups (a customer by id; a customer's latest paid order) through
tortoise's QuerySet, through tortoise's raw `execute_query_dict`, and through
asyncpg directly. Process CPU time per statement, not wall time, so the figure
holds on a busy machine. It sizes the "ORM tax" on hot paths, which run 8 to 25
statements per request (see docs/performance.md). Also what making a new
order's row costs, before any statement: tortoise's `Order(...)` against
`instances.new`.
"""

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from tortoise import Tortoise, connections

from api import db, runtime
from api.core.instances import new
from api.customers.models import Customer
from api.orders.models import Order, OrderStatus
from bench import seed

LATEST = (
    "SELECT name, order_ref, paid_at, points_earned FROM orders WHERE store_id = $1"
    " AND customer_id = $2 AND paid_at IS NOT NULL ORDER BY paid_at DESC LIMIT 1"
)
BY_ID = "SELECT * FROM customers WHERE store_id = $1 AND id = $2"


async def _cpu_us(work: Callable[[], Awaitable[Any]], n: int) -> float:
    for _ in range(50):
        await work()
    started = time.process_time()
    for _ in range(n):
        await work()
    return round((time.process_time() - started) * 1e6 / n, 1)


def _cpu_us_sync(work: Callable[[], Any], n: int) -> float:
    for _ in range(50):
        work()
    started = time.process_time()
    for _ in range(n):
        work()
    return round((time.process_time() - started) * 1e6 / n, 1)


def _order_values(store_id: UUID, customer_id: UUID) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "store_id": store_id,
        "customer_id": customer_id,
        "platform": "shopify",
        "order_ref": "1001",
        "name": "#1001",
        "status": OrderStatus.PLACED,
        "currency": "EUR",
        "eligible_minor": 5_000,
        "total_minor": 5_000,
        "discount_codes": [],
        "placed_at": now,
        "snapshot_at": now,
    }


async def run(base_url: str, name: str, n: int) -> dict[str, float]:
    url = seed.database_url(base_url, name)
    await Tortoise.init(config=db.tortoise_config(url + "?minsize=1&maxsize=1"))
    direct = await asyncpg.connect(seed.asyncpg_url(url))
    try:
        customer = await Customer.filter(paid_orders__gt=3).first()
        if customer is None:
            raise SystemExit(f"{name} has no seeded buyers: run `make bench` first")
        store_id, customer_id = customer.store_id, customer.id
        raw = connections.get("default")
        values = _order_values(UUID(str(store_id)), customer_id)
        return {
            # A new row, before any statement: what every paid order makes
            # three of (the order, its ledger entry, the lot).
            "new_order_model_init_us": _cpu_us_sync(lambda: Order(**values), n),
            "new_order_instances_new_us": _cpu_us_sync(lambda: new(Order, **values), n),
            "customer_by_id_queryset_us": await _cpu_us(
                lambda: Customer.get(store_id=store_id, id=customer_id), n
            ),
            "customer_by_id_tortoise_raw_us": await _cpu_us(
                lambda: raw.execute_query_dict(BY_ID, [store_id, customer_id]), n
            ),
            "customer_by_id_asyncpg_us": await _cpu_us(
                lambda: direct.fetchrow(BY_ID, UUID(str(store_id)), customer_id), n
            ),
            "latest_order_queryset_us": await _cpu_us(
                lambda: (
                    Order.filter(
                        store_id=store_id,
                        customer_id=customer_id,
                        paid_at__isnull=False,
                    )
                    .order_by("-paid_at")
                    .first()
                ),
                n,
            ),
            "latest_order_tortoise_raw_us": await _cpu_us(
                lambda: raw.execute_query_dict(LATEST, [store_id, customer_id]), n
            ),
            "latest_order_asyncpg_us": await _cpu_us(
                lambda: direct.fetchrow(LATEST, UUID(str(store_id)), customer_id), n
            ),
        }
    finally:
        await direct.close()
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--name", default="ladder_bench")
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(runtime.run(run(args.database, args.name, args.n)), indent=2))


if __name__ == "__main__":
    main()

"""What one statement costs in CPU through each layer, on the bench database.

    .venv/bin/python -m bench.orm

The same lookups (a customer by id; a customer's latest paid order) through
tortoise's QuerySet, through tortoise's raw `execute_query_dict`, and through
asyncpg directly. Process CPU time per statement, not wall time, so the figure
holds on a busy machine. It sizes the "ORM tax" on hot paths, which run 8 to 25
statements per request (see docs/performance.md).
"""

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from tortoise import Tortoise, connections

from api import db, runtime
from api.customers.models import Customer
from api.orders.models import Order
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
        return {
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

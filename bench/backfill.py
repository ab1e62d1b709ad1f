"""Backfill throughput: N orders from a fake platform API into PostgreSQL,
interrupted halfway and resumed; each order must be ingested exactly once.

    .venv/bin/python -m bench.backfill --platform shopify --orders 5000
    .venv/bin/python -m bench.backfill --platform woocommerce --orders 5000
    .venv/bin/python -m bench.backfill --orders 500 --statements
    .venv/bin/python -m bench.backfill --without-statistics   # what they buy
    .venv/bin/python -m bench.backfill --orders 1000 --latency-ms 100   # a remote shop
    .venv/bin/python -m bench.backfill --platform-side   # the ceiling: nothing ingested

Creates and drops its own database next to --database. The fake API answers
over HTTP from its own process (bench/fake_api.py), as a real platform would,
with its rate limits lifted, so the figure is Ladder's own speed; a real
Shopify shop is capped far lower by its cost budget (plugins/shopify/client.py).
"""

import argparse
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import asyncpg
import httpx
from pydantic import SecretStr
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from api import db, runtime
from api.connections import service as connections
from api.core import sql, table_statistics
from api.core.crypto import Vault
from api.orders.models import Order
from api.platforms import PlatformName, order_pages
from api.program import service as program
from api.program.rules import RuleKind
from api.settings import Settings
from api.stores import service as stores
from api.sync import batches
from api.sync import service as sync
from bench import fake_api, seed, servers
from tests.graphql import count_queries
from tests.plugins.shopify.fake_admin import SHOP, TOKEN
from tests.plugins.woocommerce.fake_rest import SITE_URL


@asynccontextmanager
async def fresh_database(base_url: str) -> AsyncIterator[Settings]:
    name = f"ladder_bench_{uuid.uuid4().hex[:8]}"
    admin_url = seed.asyncpg_url(base_url)
    url = seed.database_url(base_url, name)
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    settings = Settings(database_url=url, secret_key=SecretStr("bench-secret-key-" * 3))
    try:
        await db.migrate(settings)
        await Tortoise.init(config=db.tortoise_config(settings.database_url))
        yield settings
    finally:
        await Tortoise.close_connections()
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@asynccontextmanager
async def _fake_platform(
    platform: PlatformName, orders: int, latency_ms: float
) -> AsyncIterator[tuple[Any, servers.Server]]:
    """The platform client Ladder uses (an order source), on the fake API
    served from its own process, as a real platform answers; and that
    process, for its CPU. The client's own fake is only for its options
    (shop, token, clock)."""
    fake: Any = fake_api.fake_for(platform, 0)
    server = servers.start(
        "fake-api",
        "bench.fake_api:create",
        {
            "LADDER_FAKE_PLATFORM": platform.value,
            "LADDER_FAKE_ORDERS": str(orders),
            "LADDER_FAKE_LATENCY_MS": str(latency_ms),
        },
        ready_path="/",
        factory=True,
    )
    try:
        async with httpx.AsyncClient(transport=fake_api.Forward(server.port)) as http:
            yield (
                (
                    fake.admin(http)
                    if platform is PlatformName.SHOPIFY
                    else fake.api(http)
                ),
                server,
            )
    finally:
        server.stop()


async def platform_side(
    platform: PlatformName, orders: int, *, latency_ms: float = 0
) -> dict[str, Any]:
    """The ceiling a backfill cannot pass on this machine: the same pages
    asked for and read into order events by the same client, with nothing
    ingested, checkpointed or stored. On two cores the fake platform's CPU
    is spent beside Ladder's; a real platform spends its own elsewhere."""
    seen = events = 0
    async with _fake_platform(platform, orders, latency_ms) as (source, server):
        started = time.perf_counter()
        cpu_started = time.process_time()
        pages = order_pages(source, since=None, cursor=None, page_size=sync.PAGE_SIZE)
        async for page in pages:
            seen += page.orders_seen
            events += len(page.events)
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
        fake_cpu = server.cpu_seconds()
    return {
        "orders_seen": seen,
        "events": events,
        "seconds": round(elapsed, 2),
        "orders_per_second": round(orders / elapsed, 1),
        "client_cpu_ms_per_order": round(1000 * client_cpu / orders, 2),
        "fake_api_cpu_ms_per_order": round(1000 * fake_cpu / orders, 2),
    }


async def run(
    platform: PlatformName, orders: int, base_url: str, *, latency_ms: float = 0
) -> dict[str, Any]:
    async with fresh_database(base_url) as settings:
        issued = await stores.create_store(name="Bench", currency="USD")
        await program.save_rule(
            issued.store,
            program.RuleFields(
                kind=RuleKind.ORDER_SPEND, name="spend", points_per_unit=Decimal(1)
            ),
        )
        shop = SHOP if platform is PlatformName.SHOPIFY else SITE_URL
        connection = await connections.connect(
            issued.store,
            platform=platform,
            shop_ref=shop,
            vault=Vault(settings.vault_key()),
            access_token=TOKEN,
        )
        await connection.fetch_related("store")
        # The Shopify client fits ~10 orders a page under Shopify's cost cap.
        per_page = 10 if platform is PlatformName.SHOPIFY else 100
        backend = await sql.fetch_one("SELECT pg_backend_pid() AS pid")
        assert backend is not None
        async with _fake_platform(platform, orders, latency_ms) as (source, server):
            postgres_started = servers.postgres_cpu_seconds(backend["pid"])
            started = time.perf_counter()
            cpu_started = time.process_time()
            first = await sync.backfill(
                connection, source, max_pages=max(1, orders // (2 * per_page))
            )
            resumed = await connections.find(platform, shop)
            assert resumed is not None
            second = await sync.backfill(resumed, source)
            elapsed = time.perf_counter() - started
            ladder_cpu = time.process_time() - cpu_started
            postgres_ended = servers.postgres_cpu_seconds(backend["pid"])
            fake_cpu = server.cpu_seconds()
        return {
            "platform": platform.value,
            "orders": orders,
            "latency_ms": latency_ms,
            "orders_seen": first.orders_seen + second.orders_seen,
            "orders_stored": await Order.all().count(),
            "first_run_orders": first.orders_seen,
            "resumed_run_orders": second.orders_seen,
            "events_ingested": first.events_ingested + second.events_ingested,
            "errors": first.errors + second.errors,
            "seconds": round(elapsed, 2),
            "orders_per_second": round(orders / elapsed, 1),
            # This process: the platform client and the ingest (PostgreSQL
            # and the fake API run in their own processes).
            "ladder_cpu_ms_per_order": round(1000 * ladder_cpu / orders, 2),
            # Every process of the server (when it runs on this machine),
            # autovacuum and the analyses included.
            "postgres_cpu_ms_per_order": None
            if postgres_started is None or postgres_ended is None
            else round(1000 * (postgres_ended - postgres_started) / orders, 2),
            "fake_api": "own process",
            "fake_api_cpu_seconds": round(fake_cpu, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--platform", choices=["shopify", "woocommerce"], default="shopify"
    )
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--without-statistics",
        action="store_true",
        help="skip the planner statistics a backfill keeps (to see what they buy)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="hold each answer of the fake API back so long, as a shop across "
        "the internet takes",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="count the SQL statements per order event, and the ingest's "
        "transactions (logging them costs time)",
    )
    parser.add_argument(
        "--platform-side",
        action="store_true",
        help="only ask for the pages and read them into events: the ceiling "
        "the platform's side sets (no database)",
    )
    args = parser.parse_args()
    if args.platform_side:
        side = platform_side(
            PlatformName(args.platform), args.orders, latency_ms=args.latency_ms
        )
        print(json.dumps(runtime.run(side), indent=2))
        return
    if args.without_statistics:

        async def skipped(*_: object, **__: object) -> list[str]:
            return []

        table_statistics.analyze_grown = skipped
    work = run(
        PlatformName(args.platform),
        args.orders,
        args.database,
        latency_ms=args.latency_ms,
    )
    if not args.statements:
        print(json.dumps(runtime.run(work), indent=2))
        return
    # The log holds no BEGIN or COMMIT: the backfill's transactions are
    # counted where its batches open them.
    opened = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal opened
        opened += 1
        return in_transaction(*args, **kwargs)

    with (
        count_queries() as counter,
        patch.object(batches, "in_transaction", counted),
    ):
        result = runtime.run(work)
    # Setting up the database (migrations, the store) is counted too: a few
    # dozen statements, under 1% at 5,000 orders.
    result["statements_per_event"] = round(counter.count / result["events_ingested"], 2)
    result["transactions"] = opened
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

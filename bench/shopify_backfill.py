"""Backfill throughput: N orders from the fake Shopify Admin API into PostgreSQL,
interrupted halfway and resumed, each order ingested exactly once.

    .venv/bin/python -m bench.shopify_backfill --orders 5000 \\
        --database postgres://postgres@127.0.0.1:5432/test

Creates and drops its own database. The fake's rate limit is lifted so the
figure is Ladder's own speed (Shopify's cost limit caps a real shop at roughly
restore rate / 29 orders per second; see plugins/shopify/client.py).
"""

import argparse
import asyncio
import json
import time
import uuid
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr
from tortoise import Tortoise

from api import db
from api.connections import service as connections
from api.core.crypto import Vault
from api.orders.models import Order
from api.platforms import PlatformName
from api.program import service as program
from api.program.rules import RuleKind
from api.settings import Settings
from api.stores import service as stores
from api.sync import service as sync
from tests.plugins.shopify.fake_admin import SHOP, TOKEN, FakeShopifyAdmin


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


async def run(orders: int, base_url: str) -> dict[str, object]:
    name = f"ladder_bench_{uuid.uuid4().hex[:8]}"
    admin_url = base_url.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    settings = Settings(
        database_url=_with_db(base_url, name),
        secret_key=SecretStr("bench-secret-key-" * 3),
    )
    try:
        await db.migrate(settings)
        await Tortoise.init(config=db.tortoise_config(settings.database_url))
        issued = await stores.create_store(name="Bench", currency="USD")
        await program.save_rule(
            issued.store,
            program.RuleFields(
                kind=RuleKind.ORDER_SPEND, name="spend", points_per_unit=Decimal(1)
            ),
        )
        connection = await connections.connect(
            issued.store,
            platform=PlatformName.SHOPIFY,
            shop_ref=SHOP,
            vault=Vault(settings.vault_key()),
            access_token=TOKEN,
        )
        await connection.fetch_related("store")
        fake = FakeShopifyAdmin(orders, maximum_available=1e12, restore_rate=1e12)
        started = time.perf_counter()
        async with fake.http() as http:
            admin = fake.admin(http)
            # Stop after roughly half the orders (the client fits about 10 per page).
            first = await sync.backfill(
                connection, admin, page_size=250, max_pages=max(1, orders // 20)
            )
            resumed = await connections.find(PlatformName.SHOPIFY, SHOP)
            assert resumed is not None
            second = await sync.backfill(resumed, admin, page_size=250)
        elapsed = time.perf_counter() - started
        stored = await Order.all().count()
        live = len([o for o in fake.orders if not o.test])
        return {
            "orders": orders,
            "orders_stored": stored,
            "exactly_once": stored == live
            and first.orders_seen + second.orders_seen == orders,
            "first_run_orders": first.orders_seen,
            "resumed_run_orders": second.orders_seen,
            "seconds": round(elapsed, 2),
            "orders_per_second": round(orders / elapsed, 1),
        }
    finally:
        await Tortoise.close_connections()
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.orders, args.database)), indent=2))


if __name__ == "__main__":
    main()

"""The benchmark data set: one store with 100,000 customers and 1,000,000 orders.

Configuration (tiers, rules, rewards, keys, the Shopify connection) goes
through Ladder's own services so it is valid; the bulk rows are written with
`generate_series` in SQL, because a million orders through the domain would
take hours. The rows keep the ledger's invariants: each paid order has its
earn entry and lot, and every cached balance equals the sum of its entries.

The seeded database (`ladder_bench` by default) is kept between runs and
rebuilt when its seed version or Ladder's migrations change (or `--reseed`).
"""

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr
from tortoise import Tortoise

from api import db
from api.connections import service as connections
from api.core.crypto import Vault
from api.customers.models import NOTHING_DUE
from api.platforms import PlatformName
from api.program import service as program
from api.program.rules import RuleKind
from api.rewards import service as rewards
from api.rewards.models import RewardKind
from api.settings import Settings
from api.stores import service as stores
from api.tiers import service as tiers

SEED_VERSION = "3"
SHOP = "bench-shop.myshopify.com"
SHOPIFY_SECRET = "shpss_bench_secret_0123456789abcdef"
SECRET_KEY = "bench-secret-key-bench-secret-key-bench-secret-key"

# Spend tiers over a rolling year, in minor units (cents).
TIERS = (
    ("Bronze", 0, 0),
    ("Silver", 1, 50_000),
    ("Gold", 2, 150_000),
    ("Platinum", 3, 400_000),
)
REWARD_COSTS = (500, 1_000, 2_500, 5_000, 10_000)
HOT_REWARD_COST = 100


@dataclass(frozen=True)
class Seeded:
    """What the scenarios need to know about the data set."""

    store_id: str
    secret_key: str
    publishable_key: str
    hot_reward_id: str
    tier_ids: dict[str, str]
    customers: int
    orders: int
    buyers: int
    # Customers numbered above `buyers` never ordered; the last `redeemers`
    # of them hold a large balance for the redemption scenario.
    redeemers: int


def database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SecretStr(SECRET_KEY),
        shopify_api_secret=SecretStr(SHOPIFY_SECRET),
        shopify_api_key="bench",
    )


async def ensure(
    base_url: str, name: str, *, customers: int, orders: int, reseed: bool
) -> Seeded:
    """The seeded database `name`, built if missing, stale or asked for."""
    url = database_url(base_url, name)
    fingerprint = json.dumps(
        {"seed": SEED_VERSION, "customers": customers, "orders": orders}
        | {"migrations": _migration_files()}
    )
    if not reseed:
        seeded = await _existing(url, fingerprint)
        if seeded is not None:
            return seeded
    admin = await asyncpg.connect(asyncpg_url(base_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    started = time.perf_counter()
    seeded = await _build(url, customers=customers, orders=orders)
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        await conn.execute(
            "CREATE TABLE bench_meta (fingerprint text NOT NULL, seeded jsonb NOT NULL)"
        )
        await conn.execute(
            "INSERT INTO bench_meta VALUES ($1, $2)",
            fingerprint,
            json.dumps(asdict(seeded)),
        )
    finally:
        await conn.close()
    print(f"seeded {name} in {time.perf_counter() - started:.0f} s")
    return seeded


def _migration_files() -> list[str]:
    """Each migration's name and a digest of its text: a migration changed in
    place (an index made partial, say) rebuilds the database too."""
    folder = Path(db.__file__).parent / "migrations"
    return [
        f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
        for path in sorted(folder.glob("0*.py"))
    ]


async def _existing(url: str, fingerprint: str) -> Seeded | None:
    try:
        conn = await asyncpg.connect(asyncpg_url(url))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        row = await conn.fetchrow("SELECT fingerprint, seeded FROM bench_meta")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()
    if row is None or row["fingerprint"] != fingerprint:
        return None
    return Seeded(**json.loads(row["seeded"]))


async def _build(url: str, *, customers: int, orders: int) -> Seeded:
    settings = settings_for(url)
    await db.migrate(settings)
    await Tortoise.init(config=db.tortoise_config(url))
    try:
        issued = await stores.create_store(name="Bench", currency="USD")
        store = issued.store
        await program.save_rule(
            store,
            program.RuleFields(
                kind=RuleKind.ORDER_SPEND, name="Spend", points_per_unit=Decimal(1)
            ),
        )
        tier_ids = {}
        for name, rank, threshold in TIERS:
            tier = await tiers.save_tier(
                store, tiers.TierFields(name=name, rank=rank, threshold=threshold)
            )
            tier_ids[name] = str(tier.id)
        for cost in REWARD_COSTS:
            await rewards.save_reward(
                store,
                rewards.RewardFields(
                    name=f"${cost // 100} off",
                    kind=RewardKind.FIXED_AMOUNT,
                    cost_points=cost,
                    value_minor=cost,
                ),
            )
        hot = await rewards.save_reward(
            store,
            rewards.RewardFields(
                name="Sticker",
                kind=RewardKind.FREE_PRODUCT,
                cost_points=HOT_REWARD_COST,
                product_ref="sticker",
            ),
        )
        await connections.connect(
            store,
            platform=PlatformName.SHOPIFY,
            shop_ref=SHOP,
            vault=Vault(settings.vault_key()),
            access_token="shpat_bench",
        )
    finally:
        await Tortoise.close_connections()

    buyers = customers * 8 // 10
    redeemers = min(1_000, customers - buyers)
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        await _bulk_rows(
            conn,
            str(store.id),
            tier_ids,
            customers=customers,
            orders=orders,
            buyers=buyers,
            redeemers=redeemers,
        )
    finally:
        await conn.close()
    return Seeded(
        store_id=str(store.id),
        secret_key=issued.secret_key,
        publishable_key=issued.publishable_key,
        hot_reward_id=str(hot.id),
        tier_ids=tier_ids,
        customers=customers,
        orders=orders,
        buyers=buyers,
        redeemers=redeemers,
    )


def customer_id(number: int) -> uuid.UUID:
    """The id of seeded customer `number` (1-based), as the SQL computes it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ladder-bench-customer-{number}")


async def _bulk_rows(
    conn: asyncpg.Connection,
    store_id: str,
    tier_ids: dict[str, str],
    *,
    customers: int,
    orders: int,
    buyers: int,
    redeemers: int,
) -> None:
    ids = [customer_id(n) for n in range(1, customers + 1)]
    args = {"store": store_id, "customers": customers, "orders": orders}
    args |= {"buyers": buyers, "redeemers": redeemers}
    # Seeded lots are neither held nor expiring: none ever falls due.
    args |= {"nothing_due": NOTHING_DUE.isoformat()}
    await conn.execute("CREATE TEMP TABLE bench_ids (n int PRIMARY KEY, id uuid)")
    await conn.copy_records_to_table(
        "bench_ids", records=[(n + 1, value) for n, value in enumerate(ids)]
    )
    async with conn.transaction():
        # Bulk rows start at version 0: the change-version triggers (migration
        # 0008) would otherwise bump a customer once per seeded row.
        await conn.execute("SET LOCAL session_replication_role = replica")
        for statement in _SQL:
            await conn.execute(statement.format(**args))
        for name, _, threshold in sorted(TIERS, key=lambda t: t[2]):
            await conn.execute(
                "UPDATE customers SET tier_id = $1 WHERE store_id = $2"
                " AND paid_orders > 0 AND year_spend >= $3",
                uuid.UUID(tier_ids[name]),
                uuid.UUID(store_id),
                threshold,
            )
        await conn.execute("ALTER TABLE customers DROP COLUMN year_spend")
    await conn.execute("VACUUM ANALYZE")


# Orders go to the first `buyers` customers (about 12 each), over the last
# year; three in ten buyers stopped 200 to 600 days ago (lapsed). One point per
# dollar of eligible spend, no expiry.
_SQL = (
    """
    INSERT INTO customers (id, store_id, email, first_name, last_name,
        marketing_consent, enrolled, enrolled_at, points_balance, points_pending,
        points_lifetime, lots_due_at, tier_locked, stage, paid_orders,
        advocacy_signals, created_at, updated_at)
    SELECT b.id, '{store}', 'shopper' || b.n || '@bench.example', 'Shopper', 'No' || b.n,
        b.n % 3 = 0, b.n % 10 < 8, now() - (b.n % 700) * interval '1 day', 0, 0,
        0, '{nothing_due}', false,
        CASE WHEN b.n % 10 < 8 THEN 'candidate' ELSE 'prospect' END, 0, 0,
        now() - (b.n % 700) * interval '1 day' - interval '1 hour',
        now() - (b.n % 700) * interval '1 day'
    FROM bench_ids b
    """,
    """
    INSERT INTO customer_identities (id, store_id, customer_id, platform,
        external_id, created_at)
    SELECT md5('identity' || b.n)::uuid, '{store}', b.id, 'shopify',
        (1000000 + b.n)::text, now()
    FROM bench_ids b
    """,
    """
    CREATE TEMP TABLE bench_orders AS
    SELECT md5('order' || j)::uuid AS id, b.id AS customer_id, j,
        1000 + (j * 37) % 20000 AS eligible,
        now() - ((j * 13) % 365 + CASE WHEN b.n % 10 < 3 THEN 200 + b.n % 400
            ELSE 0 END) * interval '1 day' - (j % 86400) * interval '1 second' AS paid_at
    FROM generate_series(1, {orders}) AS j
    JOIN bench_ids b ON b.n = 1 + (j::bigint * 7919) % {buyers}
    """,
    """
    INSERT INTO orders (id, store_id, customer_id, platform, order_ref, name,
        status, currency, eligible_minor, refunded_minor, total_minor,
        points_earned, points_reversed, points_unrecovered, discount_codes,
        placed_at, paid_at, snapshot_at, created_at, updated_at)
    SELECT o.id, '{store}', o.customer_id, 'shopify', 'seed-' || o.j, '#' || o.j,
        'paid', 'USD', o.eligible, 0, o.eligible + 500, o.eligible / 100, 0, 0,
        '[]', o.paid_at, o.paid_at, o.paid_at, o.paid_at, o.paid_at
    FROM bench_orders o
    """,
    """
    INSERT INTO points_transactions (id, store_id, customer_id, kind, points,
        reason, source_type, source_id, details, idempotency_key, created_at)
    SELECT md5('entry' || o.j)::uuid, '{store}', o.customer_id, 'earn',
        o.eligible / 100, 'Order #' || o.j, 'order', o.id::text, '{{}}',
        'order:' || o.id || ':seed', o.paid_at
    FROM bench_orders o
    """,
    """
    INSERT INTO points_lots (id, store_id, customer_id, origin_id, order_id,
        points, remaining, available_at, pending, expires_at, created_at)
    SELECT md5('lot' || o.j)::uuid, '{store}', o.customer_id,
        md5('entry' || o.j)::uuid, o.id, o.eligible / 100, o.eligible / 100,
        o.paid_at, false, NULL, o.paid_at
    FROM bench_orders o
    """,
    """
    INSERT INTO points_transactions (id, store_id, customer_id, kind, points,
        reason, source_type, source_id, details, created_at)
    SELECT md5('grant' || b.n)::uuid, '{store}', b.id, 'adjust',
        10000000, 'Benchmark grant', 'admin', 'bench', '{{}}', now() - interval '1 day'
    FROM bench_ids b WHERE b.n > {customers} - {redeemers}
    """,
    """
    INSERT INTO points_lots (id, store_id, customer_id, origin_id, points,
        remaining, available_at, pending, created_at)
    SELECT md5('grantlot' || b.n)::uuid, '{store}', b.id, md5('grant' || b.n)::uuid,
        10000000, 10000000, now() - interval '1 day', false, now() - interval '1 day'
    FROM bench_ids b WHERE b.n > {customers} - {redeemers}
    """,
    "ALTER TABLE customers ADD COLUMN year_spend bigint NOT NULL DEFAULT 0",
    """
    UPDATE customers c SET
        points_balance = t.points, points_lifetime = t.points
    FROM (SELECT customer_id, sum(points) AS points FROM points_transactions
          GROUP BY customer_id) t
    WHERE c.id = t.customer_id
    """,
    """
    UPDATE customers c SET
        paid_orders = s.n, last_order_at = s.last_paid,
        year_spend = s.year_spend,
        stage = CASE WHEN s.n >= 20 THEN 'advocate' WHEN s.n >= 2 THEN 'client'
                     ELSE 'purchaser' END,
        stage_changed_at = s.last_paid,
        tier_review_at = date_trunc('day', now()) + interval '90 days'
    FROM (SELECT customer_id, count(*) AS n, max(paid_at) AS last_paid,
                 coalesce(sum(eligible) FILTER (
                     WHERE paid_at >= now() - interval '365 days'), 0) AS year_spend
          FROM bench_orders GROUP BY customer_id) s
    WHERE c.id = s.customer_id
    """,
)

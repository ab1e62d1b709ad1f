"""The raw control: the same questions as the scenarios, answered by a minimal
Starlette + asyncpg app with hand-written SQL and no Ladder code.

It does the same work a careful hand-written service would: it authenticates
the API key (SHA-256 lookup), verifies customer tokens and webhook HMACs, and
keeps the ledger rules (row lock, balance check, entry + lot + cached balance
in one transaction). Ratios against it show what Ladder's layers cost.

    BENCH_DSN=postgresql://... uvicorn bench.control:app
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

POOL: dict[str, asyncpg.Pool] = {}
SHOPIFY_SECRET = os.environ.get("BENCH_SHOPIFY_SECRET", "").encode()


async def _keep_session(_: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    POOL["db"] = await asyncpg.create_pool(
        os.environ["BENCH_DSN"],
        min_size=int(os.environ.get("BENCH_POOL", "20")),
        max_size=int(os.environ.get("BENCH_POOL", "20")),
        # Like Ladder (api/db.py keep_session): no reset query on release.
        reset=_keep_session,
    )
    yield
    await POOL["db"].close()


def _db() -> asyncpg.Pool:
    return POOL["db"]


async def _principal(request: Request, conn: asyncpg.Connection) -> asyncpg.Record:
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    row = await conn.fetchrow(
        "SELECT k.store_id, k.kind, s.token_secret FROM api_keys k"
        " JOIN stores s ON s.id = k.store_id"
        " WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        hashlib.sha256(key.encode()).hexdigest(),
    )
    if row is None:
        raise PermissionError
    return row


def _unauthorized() -> Response:
    return JSONResponse({"error": "unauthenticated"}, status_code=401)


async def me(request: Request) -> Response:
    async with _db().acquire() as conn:
        try:
            key = await _principal(request, conn)
            claims = jwt.decode(
                request.headers["x-ladder-customer-token"],
                key["token_secret"],
                algorithms=["HS256"],
                audience="ladder:customer",
                issuer=str(key["store_id"]),
            )
        except (PermissionError, KeyError, jwt.PyJWTError):
            return _unauthorized()
        row = await conn.fetchrow(
            """
            SELECT c.points_balance, c.tier_id, c.tier_review_at, t.name AS tier,
              (SELECT coalesce(sum(eligible_minor - refunded_minor), 0) FROM orders
                WHERE store_id = c.store_id AND customer_id = c.id
                  AND paid_at >= now() - interval '365 days'
                  AND status <> 'cancelled')::bigint AS metric,
              (SELECT coalesce(sum(remaining), 0) FROM points_lots
                WHERE store_id = c.store_id AND customer_id = c.id AND remaining > 0
                  AND expires_at > now() AND expires_at <= now() + interval '30 days')::bigint
                AS expiring,
              (SELECT json_build_object('name', name, 'points', points_earned)
                 FROM orders WHERE store_id = c.store_id AND customer_id = c.id
                  AND paid_at IS NOT NULL ORDER BY paid_at DESC LIMIT 1) AS latest,
              (SELECT json_agg(json_build_object('name', name, 'rank', rank,
                  'threshold', threshold) ORDER BY rank)
                 FROM tiers WHERE store_id = c.store_id) AS tiers,
              (SELECT json_agg(json_build_object('id', id, 'name', name,
                  'cost', cost_points) ORDER BY cost_points)
                 FROM rewards WHERE store_id = c.store_id AND active) AS rewards
            FROM customers c LEFT JOIN tiers t ON t.id = c.tier_id
            WHERE c.store_id = $1 AND c.id = $2
            """,
            key["store_id"],
            UUID(claims["sub"]),
        )
    if row is None:
        return JSONResponse({"data": {"me": None}})
    tiers = json.loads(row["tiers"] or "[]")
    rank = next((t["rank"] for t in tiers if t["name"] == row["tier"]), -1)
    upcoming = next((t for t in tiers if t["rank"] > rank), None)
    balance = row["points_balance"]
    offers = [r for r in json.loads(row["rewards"] or "[]") if r["cost"] <= balance]
    return JSONResponse(
        {
            "data": {
                "me": {
                    "pointsBalance": balance,
                    "tier": {"name": row["tier"]} if row["tier"] else None,
                    "tierProgress": {
                        "metric": row["metric"],
                        "nextTier": {"name": upcoming["name"]} if upcoming else None,
                        "amountToNext": max(upcoming["threshold"] - row["metric"], 0)
                        if upcoming
                        else None,
                    },
                    "nudges": [
                        {"type": "REWARD_AVAILABLE", "data": offers[-1]}
                        if offers
                        else None,
                        {"type": "LATEST", "data": json.loads(row["latest"])}
                        if row["latest"]
                        else None,
                    ],
                }
            }
        }
    )


_LIST = """
    SELECT c.id, c.email, c.points_balance, c.stage, c.created_at, t.name AS tier
    FROM customers c LEFT JOIN tiers t ON t.id = c.tier_id
    WHERE c.store_id = $1 AND c.erased_at IS NULL {where}
    ORDER BY c.{sort} DESC, c.id DESC LIMIT $2
"""
SORTS = {"created_at", "points_balance"}


def _customer_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "node": {
            "id": str(row["id"]),
            "email": row["email"],
            "pointsBalance": row["points_balance"],
            "stage": row["stage"].upper(),
            "tier": {"name": row["tier"]} if row["tier"] else None,
        }
    }


async def customers(request: Request) -> Response:
    first = min(int(request.query_params.get("first", "100")), 100)
    sort = request.query_params.get("sort", "created_at")
    if sort not in SORTS:
        return JSONResponse({"error": "unknown sort"}, status_code=400)
    where, args = "", list[object]()
    if stage := request.query_params.get("stage"):
        args.append(stage)
        where += f" AND c.stage = ${len(args) + 2}"
    if tier := request.query_params.get("tier"):
        args.append(UUID(tier))
        where += f" AND c.tier_id = ${len(args) + 2}"
    if request.query_params.get("lapsed") == "true":
        where += " AND c.last_order_at < now() - interval '180 days'"
    async with _db().acquire() as conn:
        try:
            key = await _principal(request, conn)
        except PermissionError:
            return _unauthorized()
        rows = await conn.fetch(
            _LIST.format(where=where, sort=sort), key["store_id"], first + 1, *args
        )
    return JSONResponse(
        {
            "data": {
                "customers": {
                    "pageInfo": {"hasNextPage": len(rows) > first},
                    "edges": [_customer_json(row) for row in rows[:first]],
                }
            }
        }
    )


async def redeem(request: Request) -> Response:
    body = await request.json()
    customer_id = UUID(body["customerId"])
    reward_id = UUID(body["rewardId"])
    async with _db().acquire() as conn:
        try:
            key = await _principal(request, conn)
        except PermissionError:
            return _unauthorized()
        store_id = key["store_id"]
        async with conn.transaction():
            claimed = await conn.fetchval(
                "INSERT INTO idempotency_records (id, store_id, operation, key,"
                " fingerprint, result, created_at) VALUES (gen_random_uuid(), $1,"
                " 'redeem', $2, '', '{}', now()) ON CONFLICT DO NOTHING RETURNING id",
                store_id,
                body["idempotencyKey"],
            )
            if claimed is None:
                return JSONResponse({"data": {"rewardRedeem": {"replayed": True}}})
            cost = await conn.fetchval(
                "SELECT cost_points FROM rewards WHERE store_id = $1 AND id = $2"
                " AND active",
                store_id,
                reward_id,
            )
            balance = await conn.fetchval(
                "SELECT points_balance FROM customers WHERE store_id = $1 AND id = $2"
                " FOR UPDATE",
                store_id,
                customer_id,
            )
            if cost is None or balance is None or balance < cost:
                return JSONResponse(
                    {"data": {"rewardRedeem": {"userErrors": ["INSUFFICIENT_POINTS"]}}}
                )
            # Oldest-expiring lots first, as Ladder spends them.
            lots = await conn.fetch(
                "SELECT id, remaining FROM points_lots WHERE store_id = $1"
                " AND customer_id = $2 AND remaining > 0 AND NOT pending"
                " ORDER BY expires_at NULLS LAST, created_at FOR UPDATE",
                store_id,
                customer_id,
            )
            left = cost
            for lot in lots:
                take = min(left, lot["remaining"])
                await conn.execute(
                    "UPDATE points_lots SET remaining = remaining - $1 WHERE id = $2",
                    take,
                    lot["id"],
                )
                left -= take
                if left == 0:
                    break
            code = secrets.token_hex(8).upper()
            redemption = await conn.fetchval(
                "INSERT INTO redemptions (id, store_id, customer_id, reward_id, code,"
                " points_spent, status, created_at, platform_attempts) VALUES"
                " (gen_random_uuid(), $1, $2, $3, $4, $5, 'issued', now(), 0)"
                " RETURNING id",
                store_id,
                customer_id,
                reward_id,
                code,
                cost,
            )
            await conn.execute(
                "INSERT INTO points_transactions (id, store_id, customer_id, kind,"
                " points, reason, source_type, source_id, details, created_at)"
                " VALUES (gen_random_uuid(), $1, $2, 'redeem', $3, 'Reward',"
                " 'redemption', $4, '{}', now())",
                store_id,
                customer_id,
                -cost,
                str(redemption),
            )
            new_balance = await conn.fetchval(
                "UPDATE customers SET points_balance = points_balance - $1,"
                " updated_at = now() WHERE id = $2 RETURNING points_balance",
                cost,
                customer_id,
            )
    return JSONResponse(
        {
            "data": {
                "rewardRedeem": {
                    "redemption": {"code": code},
                    "pointsBalance": new_balance,
                    "userErrors": [],
                }
            }
        }
    )


async def shopify_webhook(request: Request) -> Response:
    raw = await request.body()
    digest = hmac.new(SHOPIFY_SECRET, raw, hashlib.sha256).digest()
    header = request.headers.get("x-shopify-hmac-sha256", "")
    if not hmac.compare_digest(base64.b64encode(digest).decode(), header):
        return JSONResponse({"error": "invalid webhook signature"}, status_code=401)
    order = json.loads(raw)
    shop = request.headers["x-shopify-shop-domain"]
    async with _db().acquire() as conn:
        store_id = await conn.fetchval(
            "SELECT store_id FROM connections WHERE platform = 'shopify'"
            " AND shop_ref = $1",
            shop,
        )
        eligible = round(float(order["subtotal_price"]) * 100)
        points = eligible // 100
        paid_at = datetime.fromisoformat(order["processed_at"]).astimezone(UTC)
        async with conn.transaction():
            customer_id = await _upsert_customer(conn, store_id, order["customer"])
            order_id = await conn.fetchval(
                "INSERT INTO orders (id, store_id, customer_id, platform, order_ref,"
                " name, status, currency, eligible_minor, refunded_minor, total_minor,"
                " points_earned, points_reversed, points_unrecovered, discount_codes,"
                " placed_at, paid_at, snapshot_at, created_at, updated_at) VALUES"
                " (gen_random_uuid(), $1, $2, 'shopify', $3, $4, 'paid', 'USD', $5,"
                " 0, $6, $7, 0, 0, '[]', $8, $8, $8, now(), now())"
                " ON CONFLICT (store_id, platform, order_ref) DO NOTHING RETURNING id",
                store_id,
                customer_id,
                str(order["id"]),
                order["name"],
                eligible,
                round(float(order["total_price"]) * 100),
                points,
                paid_at,
            )
            if order_id is None:
                return JSONResponse({"status": "duplicate"})
            entry = await conn.fetchval(
                "INSERT INTO points_transactions (id, store_id, customer_id, kind,"
                " points, reason, source_type, source_id, details, idempotency_key,"
                " created_at) VALUES (gen_random_uuid(), $1, $2, 'earn', $3, $4,"
                " 'order', $5, '{}', $6, now()) RETURNING id",
                store_id,
                customer_id,
                points,
                f"Order {order['name']}",
                str(order_id),
                f"order:{order_id}",
            )
            await conn.execute(
                "INSERT INTO points_lots (id, store_id, customer_id, origin_id,"
                " order_id, points, remaining, available_at, pending, created_at)"
                " VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $5, $6, true, now())",
                store_id,
                customer_id,
                entry,
                order_id,
                points,
                paid_at + timedelta(days=30),
            )
            await conn.execute(
                "UPDATE customers SET points_pending = points_pending + $1,"
                " points_lifetime = points_lifetime + $1, paid_orders = paid_orders + 1,"
                " last_order_at = $2, stage = CASE WHEN paid_orders >= 1 THEN 'client'"
                " ELSE 'purchaser' END, updated_at = now() WHERE id = $3",
                points,
                paid_at,
                customer_id,
            )
    return JSONResponse({"status": "accepted"})


async def _upsert_customer(
    conn: asyncpg.Connection, store_id: UUID, customer: dict[str, Any]
) -> UUID:
    external = str(customer["id"])
    found: UUID | None = await conn.fetchval(
        "SELECT customer_id FROM customer_identities WHERE store_id = $1"
        " AND platform = 'shopify' AND external_id = $2",
        store_id,
        external,
    )
    if found is not None:
        return found
    created: UUID = await conn.fetchval(
        "INSERT INTO customers (id, store_id, email, first_name, last_name,"
        " marketing_consent, enrolled, points_balance, points_pending,"
        " points_lifetime, tier_locked, stage, paid_orders, advocacy_signals,"
        " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, false,"
        " false, 0, 0, 0, false, 'prospect', 0, 0, now(), now()) RETURNING id",
        store_id,
        customer.get("email"),
        customer.get("first_name"),
        customer.get("last_name"),
    )
    await conn.execute(
        "INSERT INTO customer_identities (id, store_id, customer_id, platform,"
        " external_id, created_at) VALUES (gen_random_uuid(), $1, $2, 'shopify', $3,"
        " now())",
        store_id,
        created,
        external,
    )
    return created


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/me", me, methods=["POST"]),
        Route("/customers", customers, methods=["GET"]),
        Route("/redeem", redeem, methods=["POST"]),
        Route("/webhooks/shopify", shopify_webhook, methods=["POST"]),
    ],
    lifespan=lifespan,
)

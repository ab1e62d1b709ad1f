"""SQL statements per request on the hot paths, counted from tortoise's log.

    .venv/bin/python -m bench.statements

Runs, in process against the bench database (`make bench` seeds it), a
storefront `me`, a `rewardRedeem` and a signed Shopify `orders/paid` (until
processed), each twice (first with cold process caches, then again), and
prints how many statements each ran. Transaction control
(BEGIN, SAVEPOINT, COMMIT) is not counted.
"""

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import httpx

from api import runtime
from api.app import create_app
from api.stores import credentials
from bench import seed
from bench.__main__ import ME_QUERY, REDEEM_MUTATION, _global_id, _order_webhook
from tests.graphql import count_queries


async def run(base_url: str, name: str, show: str = "") -> dict[str, int]:
    url = seed.database_url(base_url, name)
    conn = await asyncpg.connect(seed.asyncpg_url(url))
    try:
        seeded = seed.Seeded(
            **json.loads(await conn.fetchval("SELECT seeded FROM bench_meta"))
        )
        secret = await conn.fetchval("SELECT token_secret FROM stores")
    finally:
        await conn.close()
    settings = seed.settings_for(url).model_copy(
        update={"rate_limit_per_minute": 0, "maintenance_interval_seconds": 0}
    )
    app = create_app(settings)
    token = credentials.mint_customer_token(
        secret=secret,
        store_id=UUID(seeded.store_id),
        customer_id=seed.customer_id(7),
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
    )[0]
    counts: dict[str, int] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):

        async def me() -> None:
            answer = await client.post(
                "/graphql",
                json={"query": ME_QUERY},
                headers={
                    "authorization": f"Bearer {seeded.publishable_key}",
                    "x-ladder-customer-token": token,
                },
            )
            assert "errors" not in answer.json(), answer.text

        async def redeem() -> None:
            variables = {
                "input": {
                    "rewardId": _global_id("Reward", seeded.hot_reward_id),
                    "customerId": _global_id(
                        "Customer", str(seed.customer_id(seeded.customers))
                    ),
                    "idempotencyKey": f"statements-{time.time_ns()}",
                }
            }
            answer = await client.post(
                "/graphql",
                json={"query": REDEEM_MUTATION, "variables": variables},
                headers={"authorization": f"Bearer {seeded.secret_key}"},
            )
            assert answer.json()["data"]["rewardRedeem"]["redemption"], answer.text

        async def order_paid() -> None:
            # An order of a returning buyer, applied before the answer, so
            # every statement is counted.
            raw = _order_webhook(time.time_ns() // 1000, 1_000_000 + 7, port=0)
            head, body = raw.split(b"\r\n\r\n", 1)
            headers = dict(
                line.split(": ", 1) for line in head.decode().split("\r\n")[1:]
            )
            headers.pop("host")
            headers.pop("content-length")
            answer = await client.post(
                "/webhooks/shopify", content=body, headers=headers
            )
            assert answer.json() == {"status": "accepted"}, answer.text

        # First: cold process caches (a `me` miss, the programme read); then
        # again: the steady state, where `me` is answered from its cache.
        for name, work in (
            ("me", me),
            ("rewardRedeem", redeem),
            ("shopify_orders_paid", order_paid),
        ):
            for when in ("first", "again"):
                with count_queries() as counter:
                    await work()
                counts[f"{name}_{when}"] = counter.count
                if show and f"{name}_{when}".startswith(show):
                    print(f"-- {name}, {when}")
                    for statement in counter.statements:
                        print(" ".join(statement.split())[:300])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--name", default="ladder_bench")
    parser.add_argument(
        "--show", default="", help="print the statements of cases named so"
    )
    args = parser.parse_args()
    print(json.dumps(runtime.run(run(args.database, args.name, args.show)), indent=2))


if __name__ == "__main__":
    main()

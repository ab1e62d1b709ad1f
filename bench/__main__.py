"""Ladder's benchmark suite: every figure against a raw control in the same run.

    make bench                      # or: .venv/bin/python -m bench
    .venv/bin/python -m bench --scenarios me,list --rounds 5 --seconds 8

Needs PostgreSQL (LADDER_BENCH_DATABASE_URL, default the local one). Seeds a
kept database (`ladder_bench`: 100,000 customers, 1,000,000 orders) on the
first run, starts Ladder and the control (bench/control.py) as one uvicorn
worker each, and runs the scenarios with the two sides interleaved (A B, then
B A, ...). Each figure is the median over rounds; ratios are per round, then
the median. Results: bench/results/latest.json and a table on stdout.

The memory soak is opt-in: at Ladder's `me` rate on two cores (1,000 to
3,000 req/s, the `me` cache included) its 100,000 requests take half a
minute to two minutes:

    .venv/bin/python -m bench --scenarios soak          # --soak-requests 100000

It sends storefront `me` requests to Ladder alone in 10 chunks and reads the
worker's RSS after each (issue #6: under 250 MB, no growth).
"""

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from rich.console import Console
from rich.table import Table

from api import runtime
from api.platforms import PlatformName
from api.stores import credentials
from bench import backfill, load, seed, servers
from tests.factories import shopify as shopify_payloads

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()

ME_QUERY = (
    "{ me { pointsBalance tier { name } tierProgress { metric nextTier { name }"
    " amountToNext } nudges { type data } } }"
)
LIST_QUERY = (
    "query($first: Int!) { customers(first: $first) { pageInfo { hasNextPage }"
    " edges { node { id email pointsBalance stage tier { name } } } } }"
)
SEARCH_QUERY = (
    "query($stage: LadderStage, $tier: ID, $lapsed: Boolean) { customers(first: 50,"
    " stage: $stage, tierId: $tier, lapsed: $lapsed, sortKey: POINTS_BALANCE) {"
    " pageInfo { hasNextPage } edges { node { id email pointsBalance stage"
    " tier { name } } } } }"
)
REDEEM_MUTATION = (
    "mutation($input: RewardRedeemInput!) { rewardRedeem(input: $input) {"
    " redemption { code } pointsBalance userErrors { code } } }"
)
# Ladder marks storefront `me` answers "hit" or "miss" (api/http/me_cache.py).
CACHE_HEADER = "x-ladder-cache"
GRAPHQL_HEADERS = {
    "content-type": "application/json",
    "accept": "application/graphql-response+json",
}


@dataclass
class Sample:
    """One measured run of one side."""

    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_ms: float
    requests: int
    statuses: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bench:
    args: argparse.Namespace
    seeded: seed.Seeded
    dsn: str
    ladder: servers.Server
    control: servers.Server
    url: str
    results: dict[str, Any] = field(default_factory=dict)

    def gql(
        self, query: str, variables: dict[str, Any] | None, **headers: str
    ) -> bytes:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return load.request(
            "POST",
            "/graphql",
            body=body,
            headers=GRAPHQL_HEADERS | headers,
            port=self.ladder.port,
        )

    async def measure(
        self,
        server: servers.Server,
        requests: Callable[[], Iterator[bytes]],
        *,
        connections: int,
        seconds: float | None = None,
        count: int | None = None,
        check: Callable[[bytes], bool] | None = None,
        count_header: str | None = None,
    ) -> Sample:
        cpu = server.cpu_seconds()
        result = await load.run(
            server.port,
            requests,
            connections=connections,
            seconds=seconds,
            count=count,
            keep_bodies=check is not None,
            count_header=count_header,
        )
        cpu = server.cpu_seconds() - cpu
        wrong = sum(1 for body in result.bodies if check and not check(body))
        if wrong:
            raise SystemExit(
                f"{server.name}: {wrong} wrong answers, e.g. {result.bodies[0][:300]!r}"
            )
        return Sample(
            per_second=result.per_second,
            p50_ms=result.p50,
            p95_ms=result.p95,
            p99_ms=result.p99,
            cpu_ms=cpu * 1000 / max(result.requests, 1),
            requests=result.requests,
            statuses={str(k): v for k, v in result.statuses.items()},
            extra={
                "socket_errors": result.socket_errors,
                "header_values": dict(result.header_values),
            },
        )

    async def paired(
        self,
        name: str,
        sides: dict[str, tuple[servers.Server, Callable[[], Iterator[bytes]]]],
        *,
        connections: int,
        check: dict[str, Callable[[bytes], bool]],
        lower_is_better: bool = False,
    ) -> None:
        """Run Ladder and the control alternately for every round."""
        if lower_is_better and connections != 1:  # see `mean_time_ratio`
            raise ValueError("latency scenarios run one request at a time")
        samples: dict[str, list[Sample]] = {side: [] for side in sides}
        for round_ in range(self.args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(sides)[::-1]
            for side in order:
                server, requests = sides[side]
                await self.measure(server, requests, connections=connections, seconds=1)
                samples[side].append(
                    await self.measure(
                        server,
                        requests,
                        connections=connections,
                        seconds=self.args.seconds,
                        check=check[side],
                        count_header=CACHE_HEADER,
                    )
                )
        ratios = [
            (c.p50_ms / lad.p50_ms)
            if lower_is_better
            else (lad.per_second / c.per_second)
            for lad, c in zip(samples["ladder"], samples["control"], strict=True)
        ]
        self.results[name] = _summary(samples) | {
            "ratio": statistics.median(ratios),
            "ratio_rounds": [round(r, 3) for r in ratios],
            "ratio_meaning": "control p50 / Ladder p50"
            if lower_is_better
            else "Ladder req/s / control req/s",
            "connections": connections,
        }
        if lower_is_better:
            # The median request can be one of many alike (an empty search:
            # the fixed cost of a request); the mean weighs every request of
            # the same cycle by its time. One request at a time, requests per
            # second are the inverse of the mean time.
            means = [
                lad.per_second / c.per_second
                for lad, c in zip(samples["ladder"], samples["control"], strict=True)
            ]
            self.results[name]["mean_time_ratio"] = round(statistics.median(means), 3)
            self.results[name]["mean_time_ratio_meaning"] = (
                "control mean time / Ladder mean time (connections 1)"
            )
        _progress(name, self.results[name])


def _summary(samples: dict[str, list[Sample]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side, runs in samples.items():
        out[side] = {
            "per_second": round(statistics.median(s.per_second for s in runs), 1),
            "p50_ms": round(statistics.median(s.p50_ms for s in runs), 2),
            "p95_ms": round(statistics.median(s.p95_ms for s in runs), 2),
            "p99_ms": round(statistics.median(s.p99_ms for s in runs), 2),
            "cpu_ms_per_request": round(statistics.median(s.cpu_ms for s in runs), 3),
            "requests": sum(s.requests for s in runs),
            "statuses": _add_statuses(s.statuses for s in runs),
        }
        cache = _add_statuses(s.extra.get("header_values", {}) for s in runs)
        if cache:  # Ladder's `me` cache: how many answers were hits
            out[side]["cache"] = cache
            out[side]["cache_hit_ratio"] = round(
                cache.get("hit", 0) / max(sum(cache.values()), 1), 3
            )
    return out


def _add_statuses(parts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for statuses in parts:
        for status, n in statuses.items():
            total[status] = total.get(status, 0) + n
    return total


def _progress(name: str, result: dict[str, Any]) -> None:
    ladder = result.get("ladder", {})
    hits = ladder.get("cache_hit_ratio")
    console.print(
        f"[bold]{name}[/]: ratio {result.get('ratio', float('nan')):.3f}"
        + (
            f" (mean time {result['mean_time_ratio']:.3f})"
            if "mean_time_ratio" in result
            else ""
        )
        + f"  Ladder {ladder.get('per_second', 0)}/s p99 {ladder.get('p99_ms')} ms"
        + (f"  me cache hits {hits:.0%}" if hits is not None else "")
    )


def _ok(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return "errors" not in data and data.get("data") is not None


def _found_customers(body: bytes) -> bool:
    """A right answer with at least one customer in it (either side)."""
    return _ok(body) and bool(json.loads(body)["data"]["customers"]["edges"])


def _cycle(items: list[bytes]) -> Callable[[], Iterator[bytes]]:
    def requests() -> Iterator[bytes]:
        while True:
            yield from items

    return requests


# --- scenarios -------------------------------------------------------------


async def _shoppers(bench: Bench) -> list[dict[str, str]]:
    """The headers of 1,000 storefront shoppers (random buyers, seed 1): the
    publishable key and each one's customer token."""
    seeded = bench.seeded
    conn = await asyncpg.connect(bench.dsn)
    try:
        secret = await conn.fetchval(
            "SELECT token_secret FROM stores WHERE id = $1", UUID(seeded.store_id)
        )
    finally:
        await conn.close()
    rng = random.Random(1)
    now = datetime.now(UTC)
    tokens = [
        credentials.mint_customer_token(
            secret=secret,
            store_id=UUID(seeded.store_id),
            customer_id=seed.customer_id(rng.randint(1, seeded.buyers)),
            now=now,
            ttl=timedelta(hours=2),
        )[0]
        for _ in range(1000)
    ]
    auth = {"authorization": f"Bearer {seeded.publishable_key}"}
    return [auth | {"x-ladder-customer-token": t} for t in tokens]


def _ladder_me(bench: Bench, shoppers: list[dict[str, str]]) -> list[bytes]:
    return [bench.gql(ME_QUERY, None, **headers) for headers in shoppers]


async def scenario_me(bench: Bench) -> None:
    """(1) Storefront `me` with a publishable key and a customer token."""
    await _me_against(bench, "me", bench.ladder)


async def scenario_me_uncached(bench: Bench) -> None:
    """(1b) The same, from a Ladder whose `me` cache is off: every answer is
    computed (what a shopper's first visit in a window costs)."""
    env = _ladder_env(bench.url, bench.args.pool) | {"LADDER_ME_CACHE_SECONDS": "0"}
    uncached = _start_ladder("ladder-uncached", env)
    try:
        await _me_against(bench, "me_uncached", uncached)
    finally:
        uncached.stop()


async def _me_against(bench: Bench, name: str, server: servers.Server) -> None:
    shoppers = await _shoppers(bench)
    ladder = _ladder_me(bench, shoppers)
    control = [
        load.request("POST", "/me", headers=headers, port=bench.control.port)
        for headers in shoppers
    ]
    # Each shopper once first, as a storefront that has been up a while: the
    # rounds then measure the steady state (the hit ratio is reported, and
    # `me_uncached` is what every miss costs).
    await bench.measure(server, _cycle(ladder), connections=32, count=len(ladder))
    await bench.paired(
        name,
        {
            "ladder": (server, _cycle(ladder)),
            "control": (bench.control, _cycle(control)),
        },
        connections=32,
        check={"ladder": _ok, "control": _ok},
    )


async def scenario_list(bench: Bench) -> None:
    """(2) Admin `customers(first: 100)` with tier, balance and stage."""
    auth = {"authorization": f"Bearer {bench.seeded.secret_key}"}
    ladder = [bench.gql(LIST_QUERY, {"first": 100}, **auth)]
    control = [
        load.request(
            "GET", "/customers?first=100", headers=auth, port=bench.control.port
        )
    ]
    await bench.paired(
        "list100",
        {
            "ladder": (bench.ladder, _cycle(ladder)),
            "control": (bench.control, _cycle(control)),
        },
        connections=32,
        check={"ladder": _ok, "control": _ok},
    )


async def scenario_search(bench: Bench) -> None:
    """(5) `customers` filtered by ladder stage, tier and lapse over the full set,
    richest first (every match is sorted, not just the first page read), one
    request at a time: the figure is latency, Ladder against raw SQL."""
    combos = [
        (stage, tier, True)
        for stage in ("purchaser", "client", "advocate")
        for tier in bench.seeded.tier_ids.values()
    ]
    await _searches(bench, "search", combos, check=_ok)


async def scenario_search_matching(bench: Bench) -> None:
    """(5b) The same search where it finds customers: every stage and tier
    that holds members, with and without the lapse filter when that still
    matches. In the seeded set most of `search`'s combinations are empty, so
    that one measures the fixed cost of a request; here both sides sort
    thousands of members by balance for each page."""
    conn = await asyncpg.connect(bench.dsn)
    try:
        found = await conn.fetch(
            "SELECT stage, tier_id, count(*) AS members,"
            " count(*) FILTER (WHERE last_order_at < now() - interval '180 days')"
            " AS lapsed FROM customers WHERE store_id = $1 AND tier_id IS NOT NULL"
            " AND erased_at IS NULL GROUP BY stage, tier_id ORDER BY stage, tier_id",
            UUID(bench.seeded.store_id),
        )
    finally:
        await conn.close()
    combos = [(row["stage"], str(row["tier_id"]), False) for row in found]
    combos += [
        (row["stage"], str(row["tier_id"]), True) for row in found if row["lapsed"]
    ]
    await _searches(bench, "search_matching", combos, check=_found_customers)
    bench.results["search_matching"]["combinations"] = len(combos)


async def _searches(
    bench: Bench,
    name: str,
    combos: list[tuple[str, str, bool]],
    *,
    check: Callable[[bytes], bool],
) -> None:
    """Each (stage, tier id, lapsed only) search on both sides, in turn."""
    auth = {"authorization": f"Bearer {bench.seeded.secret_key}"}
    ladder = [
        bench.gql(
            SEARCH_QUERY,
            {
                "stage": stage.upper(),
                "tier": _global_id("Tier", tier),
                "lapsed": True if lapsed else None,
            },
            **auth,
        )
        for stage, tier, lapsed in combos
    ]
    control = [
        load.request(
            "GET",
            f"/customers?first=50&stage={stage}&tier={tier}&sort=points_balance"
            + ("&lapsed=true" if lapsed else ""),
            headers=auth,
            port=bench.control.port,
        )
        for stage, tier, lapsed in combos
    ]
    await bench.paired(
        name,
        {
            "ladder": (bench.ladder, _cycle(ladder)),
            "control": (bench.control, _cycle(control)),
        },
        connections=1,
        check={"ladder": check, "control": check},
        lower_is_better=True,
    )


def _global_id(type_name: str, db_id: str) -> str:
    from strawberry import relay

    return relay.to_base64(type_name, db_id)


async def scenario_redeem(bench: Bench) -> None:
    """(3) `rewardRedeem` under contention: 32 connections on 16 customers, each
    attempt with its own idempotency key; every attempt must succeed once."""
    seeded = bench.seeded
    auth = {"authorization": f"Bearer {seeded.secret_key}"}
    first_redeemer = seeded.customers - seeded.redeemers + 1
    customers_per_run, attempts = 16, 1280
    samples: dict[str, list[Sample]] = {"ladder": [], "control": []}
    run_no = 0
    for round_ in range(bench.args.rounds):
        order = ["ladder", "control"] if round_ % 2 == 0 else ["control", "ladder"]
        for side in order:
            ids = [
                seed.customer_id(first_redeemer + run_no * customers_per_run + i)
                for i in range(customers_per_run)
            ]
            run_no += 1
            tag = f"{side}-{round_}-{time.time_ns()}"
            requests = []
            for n in range(attempts):
                variables = {
                    "rewardId": _global_id("Reward", seeded.hot_reward_id),
                    "customerId": _global_id("Customer", str(ids[n % len(ids)])),
                    "idempotencyKey": f"{tag}-{n}",
                }
                if side == "ladder":
                    requests.append(
                        bench.gql(REDEEM_MUTATION, {"input": variables}, **auth)
                    )
                else:
                    body = json.dumps(
                        variables
                        | {
                            "rewardId": seeded.hot_reward_id,
                            "customerId": str(ids[n % len(ids)]),
                        }
                    ).encode()
                    requests.append(
                        load.request(
                            "POST",
                            "/redeem",
                            body=body,
                            headers=auth | {"content-type": "application/json"},
                            port=bench.control.port,
                        )
                    )
            server = bench.ladder if side == "ladder" else bench.control
            sample = await bench.measure(
                server,
                iter(requests).__iter__,
                connections=32,
                count=attempts,
                check=_redeemed,
            )
            sample.extra["ledger_consistent"] = await _ledger_consistent(bench, ids)
            samples[side].append(sample)
    ratios = [
        lad.per_second / c.per_second
        for lad, c in zip(samples["ladder"], samples["control"], strict=True)
    ]
    bench.results["redeem"] = _summary(samples) | {
        "ratio": statistics.median(ratios),
        "ratio_rounds": [round(r, 3) for r in ratios],
        "ratio_meaning": "Ladder redemptions/s / control redemptions/s",
        "connections": 32,
        "attempts_per_round": attempts,
        "customers_per_round": customers_per_run,
        "ledger_consistent": all(
            s.extra["ledger_consistent"] for runs in samples.values() for s in runs
        ),
    }
    _progress("redeem", bench.results["redeem"])


def _redeemed(body: bytes) -> bool:
    data = json.loads(body)["data"]["rewardRedeem"]
    return bool(data.get("redemption")) and not data.get("userErrors")


async def _ledger_consistent(bench: Bench, ids: list[UUID]) -> bool:
    conn = await asyncpg.connect(bench.dsn)
    try:
        bad = await conn.fetchval(
            """
            SELECT count(*) FROM customers c WHERE c.id = ANY($1::uuid[]) AND
              c.points_balance + c.points_pending <>
              (SELECT sum(points) FROM points_transactions t WHERE t.customer_id = c.id)
            """,
            ids,
        )
    finally:
        await conn.close()
    return bool(bad == 0)


async def scenario_webhooks(bench: Bench) -> None:
    """(4) Signed Shopify orders/paid webhooks, end to end until the points are
    in the ledger, against the control doing the same inserts with asyncpg."""
    # A backend kept open while the scenario runs: the server's CPU is read
    # through its parent.
    watcher = await asyncpg.connect(bench.dsn)
    try:
        backend: int = await watcher.fetchval("SELECT pg_backend_pid()")
        samples = await _webhook_rounds(bench, backend)
    finally:
        await watcher.close()
    _webhook_results(bench, samples)


async def _webhook_rounds(bench: Bench, backend: int) -> dict[str, list[Sample]]:
    seeded = bench.seeded
    per_run = bench.args.webhook_orders
    samples: dict[str, list[Sample]] = {"ladder": [], "control": []}
    base = int(time.time()) * 1000
    run_no = 0
    rng = random.Random(4)
    for round_ in range(bench.args.rounds):
        order = ["ladder", "control"] if round_ % 2 == 0 else ["control", "ladder"]
        for side in order:
            run_no += 1
            server = bench.ladder if side == "ladder" else bench.control
            refs = [base + run_no * 100_000 + i for i in range(per_run)]
            requests = [
                _order_webhook(
                    ref, 1_000_000 + rng.randint(1, seeded.buyers), server.port
                )
                for ref in refs
            ]
            started = time.perf_counter()
            postgres_started = servers.postgres_cpu_seconds(backend)
            sample = await bench.measure(
                server, iter(requests).__iter__, connections=16, count=per_run
            )
            credited = await _wait_for_credits(bench, refs)
            elapsed = time.perf_counter() - started
            postgres_ended = servers.postgres_cpu_seconds(backend)
            sample.extra |= {"orders_credited": credited, "seconds": elapsed}
            if postgres_started is not None and postgres_ended is not None:
                # Every process of the server, autovacuum and the credits'
                # polling included (which lasts as long as the side is slow).
                sample.extra["postgres_cpu_ms"] = (
                    1000 * (postgres_ended - postgres_started) / per_run
                )
            sample.per_second = credited / elapsed
            samples[side].append(sample)
    return samples


def _webhook_results(bench: Bench, samples: dict[str, list[Sample]]) -> None:
    per_run = bench.args.webhook_orders
    ratios = [
        lad.per_second / c.per_second
        for lad, c in zip(samples["ladder"], samples["control"], strict=True)
    ]
    bench.results["webhooks"] = _summary(samples) | {
        "ratio": statistics.median(ratios),
        "ratio_rounds": [round(r, 3) for r in ratios],
        "ratio_meaning": "Ladder orders credited/s / control orders credited/s",
        "connections": 16,
        "orders_per_round": per_run,
        "postgres_cpu_ms_per_order": {
            side: _median_of(runs, "postgres_cpu_ms") for side, runs in samples.items()
        },
        "all_credited": all(
            s.extra["orders_credited"] == per_run
            for runs in samples.values()
            for s in runs
        ),
    }
    _progress("webhooks", bench.results["webhooks"])


def _order_webhook(ref: int, customer_ref: int, port: int) -> bytes:
    payload = shopify_payloads.order(
        ref,
        lines=(("40.00", 1), ("12.50", 2)),
        customer_id=customer_ref,
        email=f"shopper{customer_ref - 1_000_000}@bench.example",
        updated_at=datetime.now(UTC).isoformat(),
    )
    raw = json.dumps(payload).replace('"EUR"', '"USD"').encode()
    headers = shopify_payloads.headers(
        "orders/paid",
        raw,
        event_id=f"bench-{ref}",
        shop=seed.SHOP,
        secret=seed.SHOPIFY_SECRET,
    )
    return load.request(
        "POST", "/webhooks/shopify", body=raw, headers=headers, port=port
    )


def _median_of(runs: list[Sample], key: str) -> float | None:
    values = [s.extra[key] for s in runs if key in s.extra]
    return round(statistics.median(values), 3) if values else None


async def _wait_for_credits(bench: Bench, refs: list[int], limit: float = 120) -> int:
    """Orders of `refs` whose points are in the ledger, once all are or time is up."""
    conn = await asyncpg.connect(bench.dsn)
    try:
        deadline = time.monotonic() + limit
        while True:
            credited: int = await conn.fetchval(
                """
                SELECT count(*) FROM orders o WHERE o.store_id = $1
                  AND o.order_ref = ANY($2::text[]) AND EXISTS (
                    SELECT 1 FROM points_transactions t WHERE t.store_id = o.store_id
                      AND t.source_type = 'order' AND t.source_id = o.id::text)
                """,
                UUID(bench.seeded.store_id),
                [str(ref) for ref in refs],
            )
            if credited == len(refs) or time.monotonic() > deadline:
                return credited
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


HOSTILE = {
    "depth 50": "{ me {" + " tier { name " * 49 + "}" * 49 + " } }",
    "1,000 aliases": "{ "
    + " ".join(f"a{i}: store {{ name }}" for i in range(1000))
    + " }",
    "5,000 tokens": "{ store { " + "name " * 5000 + "} }",
    "introspection": "{ __schema { types { name fields { name } } } }",
    "field suggestion": "{ custmers { edges { node { id } } } }",
    "first: 99999999": "{ customers(first: 99999999) { edges { node { id } } } }",
}


async def scenario_hostile(bench: Bench) -> None:
    """(7) Hostile documents against the production configuration: how fast
    each is refused (the test suite proves no SQL runs past authentication)."""
    auth = {"authorization": f"Bearer {bench.seeded.secret_key}"}
    out: dict[str, Any] = {}
    for name, query in HOSTILE.items():
        requests = [bench.gql(query, None, **auth)]
        result = await load.run(
            bench.ladder.port, _cycle(requests), connections=1, count=200
        )
        out[name] = {
            "p50_ms": round(result.p50, 2),
            "p95_ms": round(result.p95, 2),
            "statuses": {str(k): v for k, v in result.statuses.items()},
        }
    body = json.dumps({"query": "{ store { name } }", "pad": "x" * 200_000}).encode()
    oversized = load.request(
        "POST",
        "/graphql",
        body=body,
        headers=GRAPHQL_HEADERS | auth,
        port=bench.ladder.port,
    )
    result = await load.run(
        bench.ladder.port, _cycle([oversized]), connections=1, count=100
    )
    out["200 KB body"] = {
        "p50_ms": round(result.p50, 2),
        "p95_ms": round(result.p95, 2),
        "statuses": {str(k): v for k, v in result.statuses.items()},
    }
    bench.results["hostile"] = out
    worst = max(v["p95_ms"] for v in out.values())
    console.print(f"[bold]hostile[/]: worst p95 {worst} ms")


async def scenario_backfill(bench: Bench) -> None:
    """(6) Backfill of 5,000 orders from the fake Shopify API, checkpointed;
    then the same pages only asked for and read, its ceiling on this machine
    (the fake platform's CPU is spent on the same two cores)."""
    result = await backfill.run(
        PlatformName.SHOPIFY, bench.args.backfill_orders, bench.args.database
    )
    side = await backfill.platform_side(
        PlatformName.SHOPIFY, bench.args.backfill_orders
    )
    result["platform_side"] = side
    result["share_of_platform_side"] = round(
        result["orders_per_second"] / side["orders_per_second"], 3
    )
    bench.results["backfill"] = result
    console.print(
        f"[bold]backfill[/]: {result['orders_per_second']} orders/s, CPU per order:"
        f" Ladder {result['ladder_cpu_ms_per_order']} ms, PostgreSQL"
        f" {result['postgres_cpu_ms_per_order'] or 'n/a'} ms, fake API"
        f" {round(1000 * result['fake_api_cpu_seconds'] / result['orders'], 2)} ms;"
        f" the pages alone, nothing ingested: {side['orders_per_second']} orders/s"
        f" (client {side['client_cpu_ms_per_order']} ms, fake API"
        f" {side['fake_api_cpu_ms_per_order']} ms of CPU per order)"
    )


SOAK_CHUNKS = 10
SOAK_WARMUP_CHUNKS = 2
SOAK_CONNECTIONS = 32
SOAK_RSS_LIMIT_MB = 250.0
# 5 MB over the 80,000 requests after warm-up is ~65 bytes per request: less
# than one leaked small object (a dict or a short string) per request, while
# allocator noise between chunks stays around a megabyte or two.
SOAK_GROWTH_LIMIT_MB = 5.0


async def scenario_soak(bench: Bench) -> None:
    """(8) Memory soak (opt-in): `--soak-requests` storefront `me` requests
    (100,000 by default, the same 1,000 shoppers as `me`) to Ladder alone over
    32 connections, in 10 equal chunks, Ladder's RSS read after each. Growth is
    counted from the end of chunk 2, once caches and pool connections are warm."""
    total = bench.args.soak_requests
    if total < SOAK_CHUNKS:
        raise SystemExit(f"--soak-requests must be at least {SOAK_CHUNKS}")
    stream = _cycle(_ladder_me(bench, await _shoppers(bench)))()

    def requests() -> Iterator[bytes]:
        return stream  # one stream: the shoppers keep rotating across chunks

    server = bench.ladder
    rss_start = server.rss_mb()
    chunks: list[dict[str, Any]] = []
    for n in range(SOAK_CHUNKS):
        size = total // SOAK_CHUNKS + (1 if n < total % SOAK_CHUNKS else 0)
        sample = await bench.measure(
            server,
            requests,
            connections=SOAK_CONNECTIONS,
            count=size,
            check=_me_ok,
            count_header=CACHE_HEADER,
        )
        cache = sample.extra["header_values"]
        chunk = {
            "requests": sample.requests,
            "per_second": round(sample.per_second, 1),
            "p50_ms": round(sample.p50_ms, 2),
            "p99_ms": round(sample.p99_ms, 2),
            "cpu_ms_per_request": round(sample.cpu_ms, 3),
            "rss_mb": round(server.rss_mb(), 1),
            "statuses": sample.statuses,
            "socket_errors": sample.extra["socket_errors"],
            "cache": cache,
            "cache_hit_ratio": _hit_ratio(cache),
        }
        chunks.append(chunk)
        console.print(
            f"  soak chunk {n + 1}/{SOAK_CHUNKS}: {chunk['per_second']}/s,"
            f" RSS {chunk['rss_mb']} MB, {_counts(chunk['statuses'])}"
            + (f", cache {_counts(cache)}" if cache else "")
        )
    rss = [c["rss_mb"] for c in chunks]
    baseline = rss[SOAK_WARMUP_CHUNKS - 1]
    growth = round(rss[-1] - baseline, 1)
    # A leak grows about as much in the second half as in the first; the tail
    # of a warm-up does not.
    growth_second_half = round(rss[-1] - rss[SOAK_CHUNKS // 2 - 1], 1)
    peak = round(max(server.peak_rss_mb(), *rss), 1)
    cache_total = _add_statuses(c["cache"] for c in chunks)
    bench.results["soak"] = {
        "requests_planned": total,
        "requests": sum(c["requests"] for c in chunks),
        "connections": SOAK_CONNECTIONS,
        "chunks": chunks,
        "statuses": _add_statuses(c["statuses"] for c in chunks),
        "socket_errors": sum(c["socket_errors"] for c in chunks),
        "rss_mb_start": round(rss_start, 1),
        "rss_mb_after_warmup": baseline,
        "rss_mb_end": rss[-1],
        "rss_mb_peak": peak,
        "rss_mb_peak_meaning": "VmHWM: the worker's highest RSS since it started",
        "growth_mb": growth,
        "growth_meaning": f"RSS after chunk {SOAK_CHUNKS} - RSS after chunk"
        f" {SOAK_WARMUP_CHUNKS} (warm-up)",
        "growth_mb_second_half": growth_second_half,
        "rss_limit_mb": SOAK_RSS_LIMIT_MB,
        "growth_limit_mb": SOAK_GROWTH_LIMIT_MB,
        "rss_ok": peak < SOAK_RSS_LIMIT_MB,
        "growth_ok": growth < SOAK_GROWTH_LIMIT_MB,
        "cache": cache_total,
        "cache_hit_ratio": _hit_ratio(cache_total),
    }
    console.print(
        f"[bold]soak[/]: RSS {rss_start:.1f} -> {rss[-1]} MB (peak {peak}),"
        f" growth after warm-up {growth:+} MB"
    )


def _me_ok(body: bytes) -> bool:
    """A storefront `me` answer: no errors and the signed-in shopper's data."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if "errors" in data or not isinstance(data.get("data"), dict):
        return False
    me = data["data"].get("me")
    return isinstance(me, dict) and isinstance(me.get("pointsBalance"), int)


def _hit_ratio(cache: dict[str, int]) -> float | None:
    """hit / (hit + miss) of the cache header, None when no answer carried it."""
    hits, misses = cache.get("hit", 0), cache.get("miss", 0)
    return round(hits / (hits + misses), 3) if hits + misses else None


SCENARIOS = {
    "me": scenario_me,
    "me_uncached": scenario_me_uncached,
    "list": scenario_list,
    "search": scenario_search,
    "search_matching": scenario_search_matching,
    "redeem": scenario_redeem,
    "webhooks": scenario_webhooks,
    "hostile": scenario_hostile,
    "backfill": scenario_backfill,
    "soak": scenario_soak,
}
# Run only when named in --scenarios (too long for every `make bench`).
OPT_IN = {"soak"}


# --- run -------------------------------------------------------------------


def _ladder_env(url: str, pool: int) -> dict[str, str]:
    joiner = "&" if "?" in url else "?"  # a URL may name a Unix socket's host
    return {
        "LADDER_ENVIRONMENT": "production",
        "LADDER_DATABASE_URL": f"{url}{joiner}minsize={pool}&maxsize={pool}",
        "LADDER_SECRET_KEY": seed.SECRET_KEY,
        "LADDER_PUBLIC_URL": "https://ladder.bench.example",
        "LADDER_SHOPIFY_API_KEY": "bench",
        "LADDER_SHOPIFY_API_SECRET": seed.SHOPIFY_SECRET,
        "LADDER_RATE_LIMIT_PER_MINUTE": "0",
        "LADDER_MAINTENANCE_INTERVAL_SECONDS": "0",
    }


def _start_ladder(name: str, env: dict[str, str]) -> servers.Server:
    return servers.start(
        name, "bench.ladder_app:app", env, ready_path="/readyz", factory=True
    )


def _servers(url: str, pool: int) -> tuple[servers.Server, servers.Server]:
    ladder = _start_ladder("ladder", _ladder_env(url, pool))
    control_env = {
        "BENCH_DSN": seed.asyncpg_url(url),
        "BENCH_SHOPIFY_SECRET": seed.SHOPIFY_SECRET,
        "BENCH_POOL": str(pool),
    }
    try:
        control = servers.start(
            "control",
            "bench.control:app",
            control_env,
            ready_path="/healthz",
            factory=False,
        )
    except Exception:
        ladder.stop()
        raise
    return ladder, control


async def main(args: argparse.Namespace) -> dict[str, Any]:
    seeded = await seed.ensure(
        args.database,
        args.name,
        customers=args.customers,
        orders=args.orders,
        reseed=args.reseed,
    )
    url = seed.database_url(args.database, args.name)
    ladder, control = _servers(url, args.pool)
    bench = Bench(args, seeded, seed.asyncpg_url(url), ladder, control, url)
    memory: dict[str, Any] = {"ladder_rss_mb_start": round(ladder.rss_mb(), 1)}
    try:
        for name in args.scenarios.split(","):
            await SCENARIOS[name](bench)
            memory[f"ladder_rss_mb_after_{name}"] = round(ladder.rss_mb(), 1)
        memory["ladder_rss_mb_end"] = round(ladder.rss_mb(), 1)
    finally:
        ladder.stop()
        control.stop()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "customers": args.customers,
            "orders": args.orders,
            "pool": args.pool,
        },
        "scenarios": bench.results,
        "memory": memory,
    }


def _table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Ladder vs raw control ({report['date']})")
    for column in (
        "scenario",
        "Ladder",
        "control",
        "ratio",
        "Ladder p50/p99 ms",
        "Ladder CPU ms/req",
        "me cache hits",
    ):
        table.add_column(column)
    for name, result in report["scenarios"].items():
        if "ladder" not in result:
            continue
        ladder, control = result["ladder"], result["control"]
        hits = ladder.get("cache_hit_ratio")
        table.add_row(
            name,
            f"{ladder['per_second']}/s",
            f"{control['per_second']}/s",
            f"{result['ratio']:.3f}"
            + (
                f" (mean {result['mean_time_ratio']:.3f})"
                if "mean_time_ratio" in result
                else ""
            ),
            f"{ladder['p50_ms']} / {ladder['p99_ms']}",
            f"{ladder['cpu_ms_per_request']}",
            "" if hits is None else f"{hits:.0%}",
        )
    return table


def _soak_table(soak: dict[str, Any]) -> Table:
    table = Table(
        title=f"Soak: Ladder `me`, {soak['requests']:,} requests over"
        f" {soak['connections']} connections",
        caption=f"RSS at start {soak['rss_mb_start']} MB; * warm-up (growth is"
        f" counted from the end of chunk {SOAK_WARMUP_CHUNKS}); CPU ms per request",
    )
    for column in (
        "chunk",
        "req/s",
        "p50/p99 ms",
        "CPU ms",
        "RSS MB",
        "statuses",
        "cache hit",
    ):
        table.add_column(column)
    for n, chunk in enumerate(soak["chunks"], 1):
        statuses = _counts(chunk["statuses"])
        if chunk["socket_errors"]:
            statuses += f" ({chunk['socket_errors']} socket errors)"
        ratio = chunk["cache_hit_ratio"]
        table.add_row(
            f"{n}" + ("*" if n <= SOAK_WARMUP_CHUNKS else ""),
            f"{chunk['per_second']}",
            f"{chunk['p50_ms']:.1f} / {chunk['p99_ms']:.1f}",
            f"{chunk['cpu_ms_per_request']}",
            f"{chunk['rss_mb']}",
            statuses,
            "no header" if ratio is None else f"{ratio:.1%}",
        )
    return table


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key}: {n:,}" for key, n in counts.items())


def _soak_verdict(soak: dict[str, Any]) -> list[str]:
    def mark(ok: bool) -> str:
        return "[green]MET[/]" if ok else "[red]NOT MET[/]"

    requests = sum(c["requests"] for c in soak["chunks"][SOAK_WARMUP_CHUNKS:])
    lines = [
        f"soak RSS MB: start {soak['rss_mb_start']}, after warm-up"
        f" {soak['rss_mb_after_warmup']}, end {soak['rss_mb_end']},"
        f" peak {soak['rss_mb_peak']} (VmHWM)",
        f"soak growth over the second half (chunks {SOAK_CHUNKS // 2 + 1}"
        f"-{SOAK_CHUNKS}): {soak['growth_mb_second_half']:+} MB",
        f"soak peak RSS < {soak['rss_limit_mb']:g} MB: {mark(soak['rss_ok'])}"
        f" ({soak['rss_mb_peak']} MB)",
        f"soak growth after warm-up < {soak['growth_limit_mb']:g} MB:"
        f" {mark(soak['growth_ok'])} ({soak['growth_mb']:+} MB over"
        f" {requests:,} requests)",
    ]
    if soak["requests"] != soak["requests_planned"]:
        lines.append(
            f"soak: [red]{soak['requests']:,} of {soak['requests_planned']:,}"
            f" requests answered[/] ({soak['socket_errors']} socket errors)"
        )
    ratio = soak["cache_hit_ratio"]
    if soak["cache"]:
        lines.append(
            f"soak {CACHE_HEADER}: {json.dumps(soak['cache'])}"
            + (f", hit ratio {ratio:.1%}" if ratio is not None else "")
        )
    else:
        lines.append(f"soak {CACHE_HEADER}: header absent")
    return lines


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "LADDER_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
        ),
        help="A PostgreSQL URL; the bench database is created next to it.",
    )
    parser.add_argument("--name", default="ladder_bench")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--pool",
        type=int,
        default=20,
        help="Database connections per server, both sides (Ladder's default is 20).",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--webhook-orders", type=int, default=1000)
    parser.add_argument("--backfill-orders", type=int, default=5000)
    parser.add_argument(
        "--soak-requests",
        type=int,
        default=100_000,
        help="Requests in the (opt-in) soak scenario, sent in 10 chunks.",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(name for name in SCENARIOS if name not in OPT_IN),
        help=f"Comma-separated, from: {', '.join(SCENARIOS)}"
        f" ({', '.join(sorted(OPT_IN))} only when named).",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    report = runtime.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if any("ladder" in result for result in report["scenarios"].values()):
        console.print(_table(report))
    if "soak" in report["scenarios"]:
        soak = report["scenarios"]["soak"]
        console.print(_soak_table(soak))
        for line in _soak_verdict(soak):
            console.print(line)
    console.print(f"hostile: {json.dumps(report['scenarios'].get('hostile', {}))}")
    console.print(f"memory: {json.dumps(report['memory'])}")
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    cli()

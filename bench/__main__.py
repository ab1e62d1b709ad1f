"""Ladder's benchmark suite: every figure against a raw control in the same run.

    make bench                      # or: .venv/bin/python -m bench
    .venv/bin/python -m bench --scenarios me,list --rounds 5 --seconds 8

Needs PostgreSQL (LADDER_BENCH_DATABASE_URL, default the local one). Seeds a
kept database (`ladder_bench`: 100,000 customers, 1,000,000 orders) on the
first run, starts Ladder and the control (bench/control.py) as one uvicorn
worker each, and runs the scenarios with the two sides interleaved (A B, then
B A, ...). Each figure is the median over rounds; ratios are per round, then
the median. Results: bench/results/latest.json and a table on stdout.
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
    "query($stage: LadderStage, $tier: ID) { customers(first: 50, stage: $stage,"
    " tierId: $tier, lapsed: true, sortKey: POINTS_BALANCE) { pageInfo { hasNextPage }"
    " edges { node { id email pointsBalance stage tier { name } } } } }"
)
REDEEM_MUTATION = (
    "mutation($input: RewardRedeemInput!) { rewardRedeem(input: $input) {"
    " redemption { code } pointsBalance userErrors { code } } }"
)
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
    ) -> Sample:
        cpu = server.cpu_seconds()
        result = await load.run(
            server.port,
            requests,
            connections=connections,
            seconds=seconds,
            count=count,
            keep_bodies=check is not None,
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
            extra={"socket_errors": result.socket_errors},
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
    return out


def _add_statuses(parts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for statuses in parts:
        for status, n in statuses.items():
            total[status] = total.get(status, 0) + n
    return total


def _progress(name: str, result: dict[str, Any]) -> None:
    ladder = result.get("ladder", {})
    console.print(
        f"[bold]{name}[/]: ratio {result.get('ratio', float('nan')):.3f}"
        f"  Ladder {ladder.get('per_second', 0)}/s p99 {ladder.get('p99_ms')} ms"
    )


def _ok(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return "errors" not in data and data.get("data") is not None


def _cycle(items: list[bytes]) -> Callable[[], Iterator[bytes]]:
    def requests() -> Iterator[bytes]:
        while True:
            yield from items

    return requests


# --- scenarios -------------------------------------------------------------


async def scenario_me(bench: Bench) -> None:
    """(1) Storefront `me` with a publishable key and a customer token."""
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
    ladder = [
        bench.gql(ME_QUERY, None, **auth, **{"x-ladder-customer-token": t})
        for t in tokens
    ]
    control = [
        load.request(
            "POST",
            "/me",
            headers=auth | {"x-ladder-customer-token": t},
            port=bench.control.port,
        )
        for t in tokens
    ]
    await bench.paired(
        "me",
        {
            "ladder": (bench.ladder, _cycle(ladder)),
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
    auth = {"authorization": f"Bearer {bench.seeded.secret_key}"}
    combos = [
        (stage, tier)
        for stage in ("purchaser", "client", "advocate")
        for tier in bench.seeded.tier_ids.values()
    ]
    ladder = [
        bench.gql(
            SEARCH_QUERY,
            {"stage": stage.upper(), "tier": _global_id("Tier", tier)},
            **auth,
        )
        for stage, tier in combos
    ]
    control = [
        load.request(
            "GET",
            f"/customers?first=50&stage={stage}&tier={tier}&lapsed=true"
            "&sort=points_balance",
            headers=auth,
            port=bench.control.port,
        )
        for stage, tier in combos
    ]
    await bench.paired(
        "search",
        {
            "ladder": (bench.ladder, _cycle(ladder)),
            "control": (bench.control, _cycle(control)),
        },
        connections=1,
        check={"ladder": _ok, "control": _ok},
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
            sample = await bench.measure(
                server, iter(requests).__iter__, connections=16, count=per_run
            )
            credited = await _wait_for_credits(bench, refs)
            elapsed = time.perf_counter() - started
            sample.extra |= {"orders_credited": credited, "seconds": elapsed}
            sample.per_second = credited / elapsed
            samples[side].append(sample)
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
    """(6) Backfill of 5,000 orders from the fake Shopify API, checkpointed."""
    result = await backfill.run(
        PlatformName.SHOPIFY, bench.args.backfill_orders, bench.args.database
    )
    bench.results["backfill"] = result
    console.print(f"[bold]backfill[/]: {result['orders_per_second']} orders/s")


SCENARIOS = {
    "me": scenario_me,
    "list": scenario_list,
    "search": scenario_search,
    "redeem": scenario_redeem,
    "webhooks": scenario_webhooks,
    "hostile": scenario_hostile,
    "backfill": scenario_backfill,
}


# --- run -------------------------------------------------------------------


def _servers(url: str, pool: int) -> tuple[servers.Server, servers.Server]:
    ladder_env = {
        "LADDER_ENVIRONMENT": "production",
        "LADDER_DATABASE_URL": f"{url}?minsize={pool}&maxsize={pool}",
        "LADDER_SECRET_KEY": seed.SECRET_KEY,
        "LADDER_PUBLIC_URL": "https://ladder.bench.example",
        "LADDER_SHOPIFY_API_KEY": "bench",
        "LADDER_SHOPIFY_API_SECRET": seed.SHOPIFY_SECRET,
        "LADDER_RATE_LIMIT_PER_MINUTE": "0",
        "LADDER_MAINTENANCE_INTERVAL_SECONDS": "0",
    }
    ladder = servers.start(
        "ladder", "bench.ladder_app:app", ladder_env, ready_path="/readyz", factory=True
    )
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
    bench = Bench(args, seeded, seed.asyncpg_url(url), ladder, control)
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
    ):
        table.add_column(column)
    for name, result in report["scenarios"].items():
        if "ladder" not in result:
            continue
        ladder, control = result["ladder"], result["control"]
        table.add_row(
            name,
            f"{ladder['per_second']}/s",
            f"{control['per_second']}/s",
            f"{result['ratio']:.2f}",
            f"{ladder['p50_ms']} / {ladder['p99_ms']}",
            f"{ladder['cpu_ms_per_request']}",
        )
    return table


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
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    report = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(_table(report))
    console.print(f"hostile: {json.dumps(report['scenarios'].get('hostile', {}))}")
    console.print(f"memory: {json.dumps(report['memory'])}")
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    cli()

"""A throwaway PostgreSQL cluster, a real `ladder serve` process and an open-loop
load driver, for the tests that stop databases and send signals (R10, R11)."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx

from tests.factories import shopify

PG_BIN = Path(os.environ.get("LADDER_PG_BIN", "/usr/lib/postgresql/15/bin"))
REPO = Path(__file__).resolve().parents[2]
LADDER = Path(sys.executable).with_name("ladder")
SECRET_KEY = "reliability-test-secret-key-0123456789abcdef"
POOL = "minsize=1&maxsize=20"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Cluster:
    """A PostgreSQL cluster of our own in a temp dir: the tests stop it hard,
    which the machine's shared server must never be. Loopback TCP only."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ladder-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        # initdb refuses to run as root: run the cluster as the postgres user.
        self._owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._owner:
            shutil.chown(self.root, user="postgres")

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self._owner, *args], check=True, capture_output=True, timeout=timeout
        )

    def init(self) -> None:
        self._pg(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start and wait until it accepts connections (crash recovery included)."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories={self.root} -c max_connections=100 "
            # The tests kill PostgreSQL, never the machine: the WAL reaches the
            # kernel at commit, which is what survives a server crash.
            "-c fsync=off"
        )
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def is_running(self) -> bool:
        done = subprocess.run(
            [*self._owner, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return done.returncode == 0

    def stop_immediate(self) -> None:
        """The outage: every backend dies at once, no checkpoint (a crash)."""
        self._pg(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
        )

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            stop = ["-D", str(self.data), "-m", "immediate", "stop"]
            subprocess.run(
                [*self._owner, str(PG_BIN / "pg_ctl"), *stop],
                capture_output=True,
                timeout=30,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    async def connect(self, database: str = "postgres") -> asyncpg.Connection:
        return await asyncpg.connect(
            self.url(database).replace("postgres://", "postgresql://", 1)
        )

    async def create_database(self) -> str:
        name = f"ladder_{uuid.uuid4().hex[:10]}"
        admin = await self.connect()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return name


def run_ops(*args: str) -> dict[str, Any]:
    """tests.reliability.ops in a subprocess (see its docstring for why)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.ops", *args],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class LadderServer:
    """`ladder serve` as production runs it: its own process, real uvicorn."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("LADDER_")}
        env.update(
            LADDER_DATABASE_URL=f"{database_url}?{POOL}",
            LADDER_SECRET_KEY=SECRET_KEY,
            LADDER_ENVIRONMENT="production",
            LADDER_PUBLIC_URL=self.base_url,
            LADDER_RATE_LIMIT_PER_MINUTE="0",  # the load is one API key
            # Keep the background loop busy through the outage: it must survive too.
            LADDER_MAINTENANCE_INTERVAL_SECONDS="2",
        )
        self._log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            [str(LADDER), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"ladder serve exited:\n{self.log_tail()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"ladder serve not ready in {within}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        """Never leave it running: SIGTERM, then SIGKILL if it hangs."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=15)
        finally:
            self._log.close()


# --- the workload -----------------------------------------------------------

ADJUST = """mutation($i: PointsAdjustInput!) {
  pointsAdjust(input: $i) { transaction { id points } userErrors { code message } }
}"""
UPSERT = """mutation($i: CustomerUpsertInput!) {
  customerUpsert(input: $i) { customer { id } userErrors { code message } }
}"""
READ = "query($id: ID!) { customer(id: $id) { id pointsBalance pointsPending } }"
KINDS = ("webhook", "adjust", "upsert", "read")
SHOPIFY_CUSTOMERS = 5
ORDER_POINTS = 100  # shopify.order(): 2 x 50.00 EUR at 1 point per euro


@dataclass(frozen=True)
class Call:
    """One request and the effect it asks for, so it can be checked and re-sent."""

    kind: str
    key: str  # the delivery's event id, the adjustment's reason, the external id
    path: str
    body: bytes
    headers: dict[str, str]
    points: int = 0


def webhook_call(tag: str, n: int, first_order: int = 1_000_000) -> Call:
    payload = shopify.order(
        first_order + n,
        customer_id=9000 + n % SHOPIFY_CUSTOMERS,
        email=f"buyer{n % SHOPIFY_CUSTOMERS}@example.com",
    )
    raw = shopify.body(payload)
    event = f"{tag}-evt-{n}"
    return Call(
        "webhook",
        event,
        "/webhooks/shopify",
        raw,
        shopify.headers("orders/paid", raw, event_id=event),
        ORDER_POINTS,
    )


def graphql_call(
    kind: str, key: str, query: str, variables: dict[str, Any], secret: str
) -> Call:
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {secret}"}
    return Call(kind, key, "/graphql", body, headers, variables.get("points", 0))


def mixed_calls(
    tag: str, count: int, secret: str, customers: Sequence[str]
) -> list[Call]:
    """Webhooks, points adjustments, customer upserts and reads, in turn."""
    calls = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        customer = customers[n % len(customers)]
        if kind == "webhook":
            calls.append(webhook_call(tag, n))
        elif kind == "adjust":
            reason = f"{tag} adjust {n}"
            points = n % 7 + 1
            variables = {
                "customerId": customer,
                "points": points,
                "reason": reason,
                "idempotencyKey": f"{tag}-adj-{n}",
            }
            call = graphql_call(kind, reason, ADJUST, {"i": variables}, secret)
            calls.append(
                Call(call.kind, call.key, call.path, call.body, call.headers, points)
            )
        elif kind == "upsert":
            external = f"{tag}-up-{n}"
            variables = {"externalId": external, "email": f"{external}@example.com"}
            calls.append(graphql_call(kind, external, UPSERT, {"i": variables}, secret))
        else:
            calls.append(graphql_call(kind, customer, READ, {"id": customer}, secret))
    return calls


@dataclass
class Outcome:
    call: Call
    started: float  # seconds since the run's t0
    ended: float
    status: int | None = None  # None: the socket failed
    retry_after: str | None = None
    body: Any = None
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def graphql_problems(self) -> list[Any]:
        """Top-level and payload errors of a GraphQL answer (none for webhooks)."""
        if self.call.path != "/graphql" or not isinstance(self.body, dict):
            return []
        problems = list(self.body.get("errors") or [])
        for payload in (self.body.get("data") or {}).values():
            if isinstance(payload, dict):
                problems.extend(payload.get("userErrors") or [])
        return problems


async def send(client: httpx.AsyncClient, call: Call, t0: float) -> Outcome:
    outcome = Outcome(call, started=time.monotonic() - t0, ended=0.0)
    try:
        response = await client.post(call.path, content=call.body, headers=call.headers)
        outcome.status = response.status_code
        outcome.retry_after = response.headers.get("retry-after")
        try:
            outcome.body = response.json()
        except ValueError:
            outcome.body = response.text[:200]
    except httpx.TransportError as error:
        outcome.error = type(error).__name__
    outcome.ended = time.monotonic() - t0
    return outcome


async def open_loop(
    client: httpx.AsyncClient, calls: Sequence[Call], rate: float, t0: float
) -> list[Outcome]:
    """Send call n at t0 + n/rate whatever the answers (an open loop, like real
    traffic), then wait for every answer (bounded by the client's timeout)."""
    tasks = []
    for n, call in enumerate(calls):
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(client, call, t0)))
    return list(await asyncio.gather(*tasks))


@dataclass
class Probes:
    """Liveness and readiness polled every `period` seconds, as a kubelet would."""

    # (sent, answered, path, status); times in seconds since t0
    samples: list[tuple[float, float, str, int | None]] = field(default_factory=list)

    async def run(
        self, base_url: str, t0: float, stop: asyncio.Event, period: float = 0.2
    ) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=1.5) as client:
            for _ in range(int(120 / period)):  # bounded even if never stopped
                if stop.is_set():
                    return
                for path in ("/healthz", "/readyz"):
                    sent = time.monotonic() - t0
                    try:
                        status: int | None = (await client.get(path)).status_code
                    except httpx.TransportError:
                        status = None
                    self.samples.append((sent, time.monotonic() - t0, path, status))
                await asyncio.sleep(period)

    def of(self, path: str) -> list[tuple[float, float, int | None]]:
        return [
            (sent, got, status) for sent, got, p, status in self.samples if p == path
        ]


# --- what the database holds ------------------------------------------------

INVARIANT_VIOLATIONS = """
SELECT count(*) FROM customers c
WHERE c.points_balance + c.points_pending <> (
    SELECT coalesce(sum(t.points), 0) FROM points_transactions t
    WHERE t.customer_id = c.id
)"""


@dataclass
class Stored:
    deliveries: Counter[str]  # event key -> rows
    unprocessed: set[str]  # event keys stored but not processed
    errors: dict[str, str]  # event key -> why its processing failed or skipped
    adjustments: Counter[str]  # reason -> ledger entries
    adjusted_points: int
    upserted: set[str]  # external ids
    orders: int
    earn_entries: int
    earned_points: int
    ledger_total: int
    invariant_violations: int  # customers whose cached balance != their entries


async def stored(db: asyncpg.Connection) -> Stored:
    deliveries = await db.fetch(
        "SELECT event_key, processed_at IS NOT NULL AS done, last_error"
        " FROM webhook_deliveries"
    )
    adjustments = await db.fetch(
        "SELECT reason, points FROM points_transactions WHERE kind = 'adjust'"
    )
    earn = await db.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(points), 0) AS total"
        " FROM points_transactions WHERE kind = 'earn'"
    )
    assert earn is not None
    return Stored(
        deliveries=Counter(r["event_key"] for r in deliveries),
        unprocessed={r["event_key"] for r in deliveries if not r["done"]},
        errors={r["event_key"]: r["last_error"] for r in deliveries if r["last_error"]},
        adjustments=Counter(r["reason"] for r in adjustments),
        adjusted_points=sum(r["points"] for r in adjustments),
        upserted={
            r["external_id"]
            for r in await db.fetch("SELECT external_id FROM customer_identities")
        },
        orders=await db.fetchval("SELECT count(*) FROM orders"),
        earn_entries=earn["n"],
        earned_points=earn["total"],
        ledger_total=await db.fetchval(
            "SELECT coalesce(sum(points), 0) FROM points_transactions"
        ),
        invariant_violations=await db.fetchval(INVARIANT_VIOLATIONS),
    )


def missing_writes(outcomes: Sequence[Outcome], facts: Stored) -> list[Outcome]:
    """Acknowledged writes whose effect is not in the database."""
    present = {
        "webhook": set(facts.deliveries),
        "adjust": set(facts.adjustments),
        "upsert": facts.upserted,
    }
    return [
        o
        for o in outcomes
        if o.acknowledged
        and o.call.kind in present
        and o.call.key not in present[o.call.kind]
    ]


async def wait_processed(db: asyncpg.Connection, within: float = 10) -> set[str]:
    """Let background webhook processing finish; the keys still unprocessed."""
    deadline = time.monotonic() + within
    while True:
        left = {
            r["event_key"]
            for r in await db.fetch(
                "SELECT event_key FROM webhook_deliveries WHERE processed_at IS NULL"
            )
        }
        if not left or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.2)

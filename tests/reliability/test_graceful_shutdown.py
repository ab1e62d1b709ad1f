"""R11: SIGTERM under steady load (research/reliability.md §7).

`ladder serve` takes 50 requests/s, each on a fresh connection, while a few
pointsAdjust requests are provably in flight: they wait on a customer row this
test holds locked, as seen in pg_stat_activity. Then SIGTERM. Every request sent
before the signal must succeed, the held ones included once the lock goes; the
process must exit in time and leave no half-applied transaction behind.
"""

import asyncio
import base64
import logging
import signal
import subprocess
import time
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.reliability.conftest import Served
from tests.reliability.harness import (
    ADJUST,
    Cluster,
    Outcome,
    Stored,
    graphql_call,
    mixed_calls,
    open_loop,
    send,
    stored,
    wait_processed,
)

pytestmark = pytest.mark.postgres
logger = logging.getLogger("ladder.reliability")

RATE = 50.0
LOAD_SECONDS = 4.0
# Half-way between two sends (one every 20 ms), so no request races the signal.
SIGNAL_AT = 2.01
HELD = 5  # requests kept in flight across the signal
HOLD_AFTER_SIGNAL = 1.0
EXIT_WITHIN = 15.0


def _uuid(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def _blocked_by(db: asyncpg.Connection, holder: int) -> int:
    """Backends waiting on the holder, directly or behind another waiter (the
    second waiter on a row queues behind the first)."""
    rows = await db.fetch(
        "SELECT pid, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock'"
    )
    blocked = {holder}
    for _ in rows:  # each pass adds at least one pid, or nothing will change
        more = {r["pid"] for r in rows if blocked & set(r["blockers"])} - blocked
        if not more:
            break
        blocked |= more
    return len(blocked) - 1


async def test_sigterm_finishes_what_it_accepted(
    cluster: Cluster, served: Served
) -> None:
    server = served.server
    *loaded, locked = (
        served.customers
    )  # the last customer is kept for the held requests
    calls = mixed_calls("r11", int(RATE * LOAD_SECONDS), served.secret_key, loaded)
    held_calls = [
        graphql_call(
            "adjust",
            f"r11 held {n}",
            ADJUST,
            {
                "i": {
                    "customerId": locked,
                    "points": 10,
                    "reason": f"r11 held {n}",
                    "idempotencyKey": f"r11-held-{n}",
                }
            },
            served.secret_key,
        )
        for n in range(HELD)
    ]
    db = await cluster.connect(served.database)
    lock = await cluster.connect(served.database)
    # A fresh connection per request: "sent before the signal" then means the
    # server had the request, with no keep-alive race on idle connections.
    async with httpx.AsyncClient(
        base_url=server.base_url,
        timeout=20,
        headers={"connection": "close"},
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        t0 = time.monotonic()
        load = asyncio.create_task(open_loop(client, calls, RATE, t0))
        holding = lock.transaction()
        await holding.start()
        await lock.execute(
            "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", _uuid(locked)
        )
        holder = lock.get_server_pid()
        held = [asyncio.create_task(send(client, c, t0)) for c in held_calls]
        try:
            # when every held request is inside the server, waiting on the row
            for _ in range(100):
                if await _blocked_by(db, holder) >= HELD:
                    break
                await asyncio.sleep(0.05)
            in_flight = await _blocked_by(db, holder)
            await asyncio.sleep(max(0.0, t0 + SIGNAL_AT - time.monotonic()))
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic() - t0
            await asyncio.sleep(HOLD_AFTER_SIGNAL)
        finally:
            await holding.commit()  # let the held requests finish
            await lock.close()
        held_outcomes = list(await asyncio.gather(*held))
        outcomes = await load
    try:
        code = await asyncio.to_thread(server.process.wait, EXIT_WITHIN + 5)
    except subprocess.TimeoutExpired:
        code = None
    exited = time.monotonic() - t0 - signalled
    unprocessed = await wait_processed(db, within=1)
    facts = await stored(db)
    await db.close()

    before = [o for o in outcomes if o.started < signalled]
    after = [o for o in outcomes if o.started >= signalled]
    figures = {
        "requests": len(outcomes),
        "before_signal": Counter(o.status for o in before),
        "after_signal": Counter(o.status or o.error for o in after),
        "held_in_flight": in_flight,
        "held_statuses": Counter(o.status for o in held_outcomes),
        "exit_s": round(exited, 2),
        "exit_code": code,
    }
    logger.warning("R11 %s", figures)  # shown with -rA / --log-cli-level
    log = server.log_tail()

    # then the held requests were really in flight when the signal came
    assert in_flight == HELD, figures
    # and 0 failures among what was sent before it: the held ones included
    assert len(before) >= RATE * SIGNAL_AT / 2, figures
    assert [o for o in [*before, *held_outcomes] if not _succeeded(o)] == [], log
    # after it, no new work was half-taken: success or a refused connection
    assert [o for o in after if o.status is not None and not _succeeded(o)] == []
    # the process exited by itself, in time (uvicorn re-raises the SIGTERM)
    assert code in (0, -signal.SIGTERM), log
    assert exited <= EXIT_WITHIN, figures
    _assert_no_half_applied([*outcomes, *held_outcomes], facts, unprocessed)


def _succeeded(outcome: Outcome) -> bool:
    return outcome.acknowledged and not outcome.graphql_problems()


def _assert_no_half_applied(
    outcomes: list[Outcome], facts: Stored, unprocessed: set[str]
) -> None:
    acknowledged = {
        kind: {o.call.key for o in outcomes if o.call.kind == kind and o.acknowledged}
        for kind in ("webhook", "adjust", "upsert")
    }
    # exactly the acknowledged writes are stored: none lost, none applied unanswered
    assert set(facts.deliveries) == acknowledged["webhook"]
    assert set(facts.adjustments) == acknowledged["adjust"]
    assert set(facts.adjustments.values()) <= {1}
    assert {k for k in facts.upserted if k.startswith("r11-")} == acknowledged["upsert"]
    # webhook work that ran after its answer finished before the exit
    assert (unprocessed, facts.errors) == (set(), {})
    assert facts.orders == facts.earn_entries == len(acknowledged["webhook"])
    # cached balances equal the ledger for every customer
    assert facts.invariant_violations == 0

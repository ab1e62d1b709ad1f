"""Instructions Ladder's process executes per order, counted by valgrind's
callgrind: a gauge of Ladder's own CPU cost that the machine's phase does not
move.

    .venv/bin/python -m bench.instructions
    .venv/bin/python -m bench.instructions --scenarios webhooks --sizes 100,300

On this shared machine, wall time and CPU seconds drift by a third within an
hour (docs/performance.md), more than most single changes buy. The
instructions a run executes do not: the same run counts the same within
0.2%. Each scenario runs under callgrind at two sizes, at once; the
difference in instructions over the difference in size is the cost of one
more order, with the constant (imports, migrations, start-up) cancelled.

- `backfill`: `python -m bench.backfill --orders N`. The fake API answers from
  its own process, which is not counted; nor is PostgreSQL.
Only user-space instructions are counted: the system calls that send and
receive a statement, where most of a round trip's cost lies, are not. A
change that saves round trips shows in `bench.backfill`'s CPU per order and
in statement counts, hardly here.

- `webhooks`: N signed Shopify `orders/paid` deliveries of returning buyers,
  each applied before its answer, handed to Ladder's ASGI app in process with
  no HTTP client or server around it, against the bench database (`make
  bench` seeds it; the orders stay in it, as `bench.statements`' do).

Needs valgrind. It runs Python some 60 times slower: the defaults take about
six minutes on two cores.
"""

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api import runtime
from api.app import create_app
from bench import seed
from bench.__main__ import _order_webhook

ROOT = Path(__file__).resolve().parent.parent
_COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")
DEFAULT_SIZES = {"backfill": (200, 1000), "webhooks": (100, 600)}


def counted(command: list[str], out_dir: Path) -> subprocess.Popen[str]:
    """`command` started under callgrind, its instructions summed at exit."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("bench.instructions needs valgrind (Debian's package valgrind)")
    return subprocess.Popen(
        [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/callgrind.out.%p",
            *command,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def instructions_of(process: subprocess.Popen[str]) -> int:
    _, errors = process.communicate()
    found = _COLLECTED.search(errors)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"the counted run failed:\n{errors[-3000:]}")
    return int(found.group(1).replace(",", ""))


def command_for(scenario: str, size: int, args: argparse.Namespace) -> list[str]:
    if scenario == "backfill":
        return [
            sys.executable, "-m", "bench.backfill",
            "--orders", str(size), "--database", args.database,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "bench.instructions",
        "--drive-webhooks", str(size), "--database", args.database,
        "--name", args.name,
    ]  # fmt: skip


def measure(
    scenario: str, sizes: tuple[int, int], args: argparse.Namespace
) -> dict[str, Any]:
    small, large = sizes
    with tempfile.TemporaryDirectory() as out:
        runs = [counted(command_for(scenario, n, args), Path(out)) for n in sizes]
        totals = [instructions_of(run) for run in runs]
    per_order = (totals[1] - totals[0]) / (large - small)
    return {
        "sizes": list(sizes),
        "instructions": totals,
        "instructions_per_order": round(per_order),
        "millions_per_order": round(per_order / 1e6, 3),
        "constant_millions": round((totals[0] - per_order * small) / 1e6, 1),
    }


# --- the webhooks driver, run under callgrind ---------------------------------


async def drive_webhooks(count: int, base_url: str, name: str) -> None:
    """`count` orders/paid deliveries straight into the ASGI app."""
    url = seed.database_url(base_url, name)
    settings = seed.settings_for(url).model_copy(
        update={"rate_limit_per_minute": 0, "maintenance_interval_seconds": 0}
    )
    app = create_app(settings)
    first = time.time_ns() // 1000
    async with app.router.lifespan_context(app):
        for n in range(count):
            # Buyers apart from the other size's run, which goes at once.
            buyer = 1_000_000 + 1 + (count + n) % 50_000
            raw = _order_webhook(first + n, buyer, port=0)
            head, body = raw.split(b"\r\n\r\n", 1)
            headers = []
            for line in head.decode().split("\r\n")[1:]:
                key, value = line.split(": ", 1)
                headers.append((key.lower().encode(), value.encode()))
            status, answer = await _post(app, "/webhooks/shopify", headers, body)
            if status != 200 or json.loads(answer) != {"status": "accepted"}:
                raise RuntimeError(f"delivery refused: {status} {answer!r}")


async def _post(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    """One request through the ASGI interface, as uvicorn would hand it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    answered = asyncio.Event()
    read = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not read:
            read = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                answered.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", default="backfill,webhooks")
    parser.add_argument(
        "--sizes", default="", help="two sizes, e.g. 200,400 (per scenario if unset)"
    )
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--name", default="ladder_bench")
    parser.add_argument("--drive-webhooks", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive_webhooks is not None:
        runtime.run(drive_webhooks(args.drive_webhooks, args.database, args.name))
        return
    report = {}
    for scenario in args.scenarios.split(","):
        if scenario not in DEFAULT_SIZES:
            sys.exit(f"no scenario {scenario!r}: one of {', '.join(DEFAULT_SIZES)}")
        sizes = DEFAULT_SIZES[scenario]
        if args.sizes:
            small, large = (int(n) for n in args.sizes.split(","))
            sizes = (small, large)
        report[scenario] = measure(scenario, sizes, args)
        print(scenario, json.dumps(report[scenario]), flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The `ladder` command, run as a user runs it (a separate process)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.stores import service as stores
from api.stores.errors import AuthError
from api.stores.models import Store

ROOT = Path(__file__).resolve().parent.parent


def ladder(
    *args: str, database_url: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LADDER_DATABASE_URL": database_url.split("?", 1)[0]}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


async def test_migrate_is_idempotent(database_url: str, db_clean: None) -> None:
    for _ in range(2):
        result = ladder("migrate", database_url=database_url)
        assert result.returncode == 0, result.stderr


async def test_store_create_prints_working_keys(
    database_url: str, db_clean: None
) -> None:
    result = ladder(
        "store",
        "create",
        "--name",
        "Cli Shop",
        "--currency",
        "eur",
        "--origin",
        "https://cli.example.com",
        database_url=database_url,
    )
    assert result.returncode == 0, result.stderr
    keys = json.loads(result.stdout)
    assert set(keys) == {"store_id", "secret_key", "publishable_key"}
    secret = await stores.authenticate(keys["secret_key"])
    public = await stores.authenticate(keys["publishable_key"])
    assert str(secret.store.id) == str(public.store.id) == keys["store_id"]
    assert (secret.store.currency, secret.is_secret, public.is_secret) == (
        "EUR",
        True,
        False,
    )
    assert public.allowed_origins == ("https://cli.example.com",)


async def test_store_create_with_bad_input_is_one_line(
    database_url: str, db_clean: None
) -> None:
    result = ladder(
        "store",
        "create",
        "--name",
        "Bad",
        "--currency",
        "EURO",
        database_url=database_url,
    )
    assert "ISO 4217" in _one_error_line(result)
    assert await Store.all().count() == 0


async def test_store_create_with_bad_origin_writes_nothing(
    database_url: str, db_clean: None
) -> None:
    result = ladder(
        "store",
        "create",
        "--name",
        "Orphan",
        "--currency",
        "EUR",
        "--origin",
        "not-an-origin",
        database_url=database_url,
    )
    assert "not an origin" in _one_error_line(result)
    assert await Store.all().count() == 0


async def test_rotate_key(database_url: str, db_clean: None) -> None:
    created = json.loads(
        ladder(
            "store",
            "create",
            "--name",
            "R",
            "--currency",
            "USD",
            database_url=database_url,
        ).stdout
    )
    rotated = ladder(
        "store",
        "rotate-key",
        "--store",
        created["store_id"],
        "--kind",
        "secret",
        database_url=database_url,
    )
    assert rotated.returncode == 0, rotated.stderr
    new_key = json.loads(rotated.stdout)["key"]
    assert (await stores.authenticate(new_key)).is_secret
    with pytest.raises(AuthError):
        await stores.authenticate(created["secret_key"])


@pytest.mark.parametrize(
    "args",
    [
        ("store", "rotate-key", "--store", "not-a-uuid"),
        ("store", "rotate-key", "--store", "00000000-0000-4000-8000-000000000000"),
    ],
)
async def test_rotate_key_errors_are_one_line(
    args: tuple[str, ...], database_url: str, db_clean: None
) -> None:
    _one_error_line(ladder(*args, database_url=database_url))


def test_unknown_database_scheme_is_one_line() -> None:
    result = ladder("migrate", database_url="mysql://root@127.0.0.1/x")
    assert "LADDER_DATABASE_URL" in _one_error_line(result)


async def test_demo_seeds_once_and_reissues_keys(
    database_url: str, db_clean: None
) -> None:
    first = json.loads(ladder("demo", database_url=database_url).stdout)
    second = json.loads(ladder("demo", database_url=database_url).stdout)
    assert first["store_id"] == second["store_id"]
    assert first["secret_key"] != second["secret_key"]
    principal = await stores.authenticate(second["secret_key"])
    assert principal.store.name == "Ladder Demo Store"
    assert await Store.all().count() == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_with_the_printed_key(tmp_path: Path) -> None:
    # A real uvicorn process: the ORM context must reach request tasks.
    port = _free_port()
    env = {
        **os.environ,
        "LADDER_DATABASE_URL": f"sqlite://{tmp_path}/serve.sqlite3",
        "PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--demo"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    try:
        key = None
        while key is None:
            line = process.stdout.readline()
            assert line, (
                "ladder serve exited before printing the demo keys: " + "".join(printed)
            )
            printed.append(line)
            if match := re.search(r"Secret key\s+(sk_[A-Za-z0-9_-]{43})", line):
                key = match.group(1)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("ladder serve did not answer within 60 s")
        typename = httpx.post(f"{url}/graphql", json={"query": "{ __typename }"})
        demo = httpx.post(
            f"{url}/graphql",
            json={
                "query": "{ store { name } customers(first: 10) { edges { node { id } } } }"
            },
            headers={"authorization": f"Bearer {key}"},
        )
        assert typename.json() == {"data": {"__typename": "Query"}}
        assert demo.json()["data"]["store"] == {"name": "Ladder Demo Store"}
        assert len(demo.json()["data"]["customers"]["edges"]) == 5
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    # uvicorn drains, then re-raises SIGTERM so supervisors see why it stopped.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output

"""Fixtures for the reliability tests: a throwaway cluster for the session and,
per test, a seeded database with `ladder serve` running on it."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from tests.reliability.harness import PG_BIN, SECRET_KEY, Cluster, LadderServer, run_ops

SEEDED_CUSTOMERS = 4


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"needs PostgreSQL server binaries in {PG_BIN} (LADDER_PG_BIN)")
    own = Cluster()
    try:
        own.init()
        own.start()
        yield own
    finally:
        own.destroy()


@dataclass
class Served:
    server: LadderServer
    database: str
    secret_key: str
    customers: list[str]  # global ids of customers to adjust


@pytest.fixture
async def served(cluster: Cluster) -> AsyncIterator[Served]:
    if not cluster.is_running():  # a failed test may have left it stopped
        cluster.start()
    database = await cluster.create_database()
    seeded = run_ops("seed", cluster.url(database), SECRET_KEY, str(SEEDED_CUSTOMERS))
    server = LadderServer(cluster.url(database), cluster.root / f"{database}.log")
    try:
        await server.wait_ready()
        yield Served(server, database, seeded["secret_key"], seeded["customers"])
    finally:
        server.close()

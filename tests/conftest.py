"""Test wiring: one database per run (SQLite by default, PostgreSQL on request).

`LADDER_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB` runs the whole suite on
PostgreSQL: a fresh `ladder_test_<random>` database is created next to DB,
migrated, and dropped at the end. Without it, a temporary SQLite file is used.
Each backend runs in its own process (tortoise cannot mix them in one).
"""

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models

from api import db
from api.app import create_app
from api.settings import Environment, Settings
from api.stores.service import IssuedKeys
from tests.factories.stores import make_store
from tests.graphql import GraphQLClient
from tests.security.log_privacy import RECORDER as LOG_PRIVACY

POSTGRES_URL = os.environ.get("LADDER_TEST_DATABASE_URL", "").strip()
ON_POSTGRES = bool(POSTGRES_URL)
# Pool big enough for the concurrency tests (they fire up to 50 requests at once).
POOL = "minsize=1&maxsize=60"


def pytest_report_header() -> str:
    backend = "PostgreSQL" if ON_POSTGRES else "SQLite"
    return f"ladder database backend: {backend}"


def pytest_configure(config: pytest.Config) -> None:
    # R14: every log record of the run is scanned for seeded personal data.
    LOG_PRIVACY.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    LOG_PRIVACY.uninstall()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if LOG_PRIVACY.leaks and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(LOG_PRIVACY.summary())
    if LOG_PRIVACY.leaks:
        terminalreporter.write_line(LOG_PRIVACY.report(), red=True, bold=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set LADDER_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url.replace("postgresql://", "postgres://", 1))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated database of our own for the whole run, dropped afterwards."""
    if not ON_POSTGRES:
        path: Path = tmp_path_factory.mktemp("db") / "ladder.sqlite3"
        yield f"sqlite://{path}"
        return
    name = f"ladder_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin(_with_database(POSTGRES_URL, urlsplit(POSTGRES_URL).path[1:]))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(POSTGRES_URL, name) + f"?{POOL}"
    finally:
        admin = await _admin(
            _with_database(POSTGRES_URL, urlsplit(POSTGRES_URL).path[1:])
        )
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        secret_key=SecretStr("test-only-secret-key-0123456789abcdef"),
    )


@pytest.fixture(scope="session")
async def orm(settings: Settings) -> AsyncIterator[None]:
    """Migrations applied (as in production), then the ORM opened for the run."""
    await db.migrate(settings)
    await Tortoise.init(
        config=db.tortoise_config(settings.database_url), _enable_global_fallback=True
    )
    yield
    await Tortoise.close_connections()


@pytest.fixture
async def db_clean(orm: None) -> AsyncIterator[None]:
    """Each test starts from empty tables (truncation works with concurrency too)."""
    yield
    await truncate_all_models()


@pytest.fixture
async def app(settings: Settings, db_clean: None) -> AsyncIterator[Starlette]:
    application = create_app(settings, manage_orm=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver"
    ) as c:
        yield c


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
async def store(db_clean: None) -> IssuedKeys:
    return await make_store(name="Store A")


@pytest.fixture
async def other_store(db_clean: None) -> IssuedKeys:
    return await make_store(name="Store B")

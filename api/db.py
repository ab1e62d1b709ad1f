"""Database wiring: the Tortoise config, migrations and the drift check."""

from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate as tortoise_migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from api.settings import Settings

APP_LABEL = "ladder"

# Every module holding models; one app label, one migrations package.
MODEL_MODULES = [
    "api.stores.models",
    "api.customers.models",
    "api.idempotency.models",
    "api.program.models",
    "api.ledger.models",
    "api.ladder.models",
    "api.tiers.models",
    "api.rewards.models",
    "api.orders.models",
    "api.connections.models",
    "api.inbox.models",
    "api.privacy.models",
]


# asyncpg pool size per process unless the URL sets `maxsize`. Tortoise's own
# default (5) queues a busy worker behind its pool: each webhook holds one
# connection for its whole transaction.
DEFAULT_POOL_SIZE = 20


def with_pool_size(database_url: str) -> str:
    """The URL with Ladder's default pool size, unless it sets its own."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return database_url
    if "maxsize=" in database_url:
        return database_url
    joiner = "&" if "?" in database_url else "?"
    return f"{database_url}{joiner}maxsize={DEFAULT_POOL_SIZE}"


async def keep_session(connection: object) -> None:
    """asyncpg's pool reset, minus its query.

    By default asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` each time a connection goes back to the pool: one
    more round trip for every statement run outside a transaction. Ladder keeps
    no session state (no session SET, LISTEN, cursor or advisory lock), and
    asyncpg still rolls back a transaction left open before this runs.
    """


def connection_config(database_url: str) -> dict[str, Any]:
    """Tortoise's connection entry: the URL expanded, with Ladder's clients
    (`api/core/engines`) and, on PostgreSQL, the pool's
    `keep_session` (a URL can carry neither)."""
    config = expand_db_url(with_pool_size(database_url))
    if "file_path" in config["credentials"]:
        config["engine"] = "api.core.engines.sqlite"
    else:
        config["engine"] = "api.core.engines.asyncpg"
        config["credentials"]["reset"] = keep_session
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for a database URL (the same models on every backend)."""
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "api.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the folder of an embedded SQLite file so a fresh checkout just runs."""
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://").split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def migrate(settings: Settings) -> None:
    """Apply every pending migration to the configured database."""
    ensure_sqlite_dir(settings.database_url)
    try:
        await tortoise_migrate(config=tortoise_config(settings.database_url))
    finally:
        await Tortoise.close_connections()


async def pending_model_changes() -> list[str]:
    """Names of migrations `makemigrations` would write; empty when models match."""
    config = tortoise_config("sqlite://:memory:")
    await Tortoise.init(config=config)
    try:
        if Tortoise.apps is None:
            raise RuntimeError("Tortoise did not load the apps")
        writers = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
        return [f"{w.app_label}.{w.name}" for w in writers]
    finally:
        await Tortoise.close_connections()


# For the `tortoise` CLI (`tortoise -c api.db.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")

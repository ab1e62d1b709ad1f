"""Database wiring: the pool size a PostgreSQL URL gets."""

from api.db import tortoise_config


def _url(configured: str) -> str:
    return str(tortoise_config(configured)["connections"]["default"])


def test_postgres_pools_default_to_twenty_connections() -> None:
    assert _url("postgres://u@h/db") == "postgres://u@h/db?maxsize=20"
    assert _url("postgres://u@h/db?ssl=true") == "postgres://u@h/db?ssl=true&maxsize=20"


def test_an_operators_pool_size_wins_and_sqlite_has_no_pool() -> None:
    assert _url("postgres://u@h/db?maxsize=7") == "postgres://u@h/db?maxsize=7"
    assert _url("sqlite://.ladder/ladder.sqlite3") == "sqlite://.ladder/ladder.sqlite3"

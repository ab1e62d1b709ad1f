"""Database wiring: the pool size a PostgreSQL URL gets."""

from api.db import keep_session, tortoise_config, with_pool_size


def _url(configured: str) -> str:
    return with_pool_size(configured)


def test_postgres_pools_default_to_twenty_connections() -> None:
    assert _url("postgres://u@h/db") == "postgres://u@h/db?maxsize=20"
    assert _url("postgres://u@h/db?ssl=true") == "postgres://u@h/db?ssl=true&maxsize=20"


def test_an_operators_pool_size_wins_and_sqlite_has_no_pool() -> None:
    assert _url("postgres://u@h/db?maxsize=7") == "postgres://u@h/db?maxsize=7"
    assert _url("sqlite://.ladder/ladder.sqlite3") == "sqlite://.ladder/ladder.sqlite3"


def test_postgres_connections_skip_the_reset_round_trip() -> None:
    connection = tortoise_config("postgres://u@h:5432/db")["connections"]["default"]
    assert connection["credentials"]["reset"] is keep_session
    assert int(connection["credentials"]["maxsize"]) == 20
    assert connection["engine"] == "api.core.engines.asyncpg"
    sqlite = tortoise_config("sqlite://.ladder/ladder.sqlite3")["connections"]
    assert sqlite["default"]["engine"] == "api.core.engines.sqlite"
    assert sqlite["default"]["credentials"]["file_path"] == ".ladder/ladder.sqlite3"
    assert "reset" not in sqlite["default"]["credentials"]

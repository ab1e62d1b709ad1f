"""Hand-written reads for the hottest paths, through tortoise's own connections.

A QuerySet costs 240-320 µs of CPU per statement to build and map; asyncpg
directly costs 35-40 µs (`python -m bench.orm`). Paths that run on every
request use these helpers with plain SQL. They share tortoise's pool, its
current transaction and its statement log (so statement counts stay honest).

SQL is written for PostgreSQL, with `$1, $2, ...` placeholders; on SQLite they
become `?1, ?2, ...`, UUIDs and enums are passed as text (as tortoise stores
them) and row locks (`locking`) are left out, as tortoise does.
"""

import re
from collections.abc import Mapping, Sequence
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.models import Model

_PLACEHOLDER = re.compile(r"\$(\d+)")
M = TypeVar("M", bound=Model)


def _client() -> BaseDBAsyncClient:
    return get_connection("default")


async def fetch_one(sql: str, *args: Any) -> Mapping[str, Any] | None:
    """The first row of a read, or None."""
    rows = await fetch_all(sql, *args)
    return rows[0] if rows else None


async def fetch_all(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """Every row of a read, as mappings from column name to value."""
    client = _client()
    if client.capabilities.dialect == "postgres":
        async with client.acquire_connection() as connection:
            client.log.debug("%s: %s", sql, args)
            return await connection.fetch(sql, *args)  # type: ignore[no-any-return]
    values = [_sqlite_value(arg) for arg in args]
    return await client.execute_query_dict(_PLACEHOLDER.sub(r"?\1", sql), values)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def is_postgres() -> bool:
    return _client().capabilities.dialect == "postgres"


def locking(clause: str = "FOR UPDATE") -> str:
    """A row-lock clause to end a SELECT with; SQLite locks the whole database
    for a write transaction and has none."""
    return f" {clause}" if is_postgres() else ""


@cache
def columns(model: type[Model], table_alias: str, prefix: str = "") -> str:
    """The model's columns for a SELECT list, each named `prefix + column`."""
    return ", ".join(
        f"{table_alias}.{column} AS {prefix}{column}"
        for column in model._meta.db_fields
    )


def model_from(model: type[M], row: Mapping[str, Any], prefix: str = "") -> M:
    """A model instance from a row read with `columns` (tortoise's own row
    mapping, which converts each backend's values as its QuerySets do)."""
    return model._init_from_db(
        **{column: row[prefix + column] for column in model._meta.db_fields}
    )


async def fetch_model(
    model: type[M], where: str, *args: Any, lock: str | None = None
) -> M | None:
    """The first row of the model's table (alias `t`) matching `where`, as a
    model; `lock` adds a row lock on PostgreSQL (e.g. "FOR UPDATE")."""
    found = await fetch_models(model, where, *args, lock=lock)
    return found[0] if found else None


async def fetch_models(
    model: type[M], where: str, *args: Any, order_by: str = "", lock: str | None = None
) -> list[M]:
    """Every row of the model's table (alias `t`) matching `where`, as models."""
    query = f"SELECT {columns(model, 't')} FROM {model._meta.db_table} t WHERE {where}"  # noqa: S608 - names from the model, conditions from the caller's constants
    if order_by:
        query += f" ORDER BY {order_by}"
    if lock:
        query += locking(lock)
    return [model_from(model, row) for row in await fetch_all(query, *args)]

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
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.fields import DatetimeField, Field
from tortoise.models import Model

from api.core.instances import bare

_PLACEHOLDER = re.compile(r"\$(\d+)")
M = TypeVar("M", bound=Model)
P = TypeVar("P", bound=Model)


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
    return await client.execute_query_dict(_for_sqlite(sql), values)


def _for_sqlite(sql: str) -> str:
    """`$1, $2, ...` placeholders as SQLite's `?1, ?2, ...`."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def is_postgres() -> bool:
    return _client().capabilities.dialect == "postgres"


def any_of(column: str, values: Sequence[str], *, at: int) -> tuple[str, list[Any]]:
    """`column` equal to one of the text `values`, with its arguments numbered
    from `$at`: one array on PostgreSQL (one statement text whatever the
    count), a list of placeholders on SQLite."""
    if is_postgres():
        return f"{column} = ANY(${at}::text[])", [list(values)]
    marks = ", ".join(f"${n}" for n in range(at, at + len(values)))
    return f"{column} IN ({marks})", list(values)


def locking(clause: str = "FOR UPDATE") -> str:
    """A row-lock clause to end a SELECT with; SQLite locks the whole database
    for a write transaction and has none."""
    return f" {clause}" if is_postgres() else ""


def columns(
    model: type[Model],
    table_alias: str,
    prefix: str = "",
    fields: tuple[str, ...] | None = None,
) -> str:
    """The model's columns for a SELECT list, each named `prefix + column`;
    only those of `fields` (field names) when given."""
    if fields is None:
        return _all_columns(model, table_alias, prefix)
    return _some_columns(model, table_alias, prefix, fields)


# Whole rows: a few shapes, kept for good. `fields` may come from a request's
# selection (a page reads the columns its fields show): those are bounded
# apart, so a caller cycling selections cannot push the hot shapes out.
@cache
def _all_columns(model: type[Model], table_alias: str, prefix: str) -> str:
    return _column_list(model, table_alias, prefix, None)


@lru_cache(maxsize=256)
def _some_columns(
    model: type[Model], table_alias: str, prefix: str, fields: tuple[str, ...]
) -> str:
    return _column_list(model, table_alias, prefix, fields)


def _column_list(
    model: type[Model],
    table_alias: str,
    prefix: str,
    fields: tuple[str, ...] | None,
) -> str:
    wanted = _columns_of(model, fields)
    return ", ".join(
        f"{table_alias}.{column} AS {prefix}{column}"
        for column in _db_columns(model)
        if wanted is None or column in wanted
    )


def _db_columns(model: type[Model]) -> tuple[str, ...]:
    # In the model's field order, not `_meta.db_fields` (a set): the same
    # statement text in every process, as the server's logs and statistics
    # group it.
    _check_set_up(model)
    return tuple(dict.fromkeys(model._meta.fields_db_projection.values()))


def _check_set_up(model: type[Model]) -> None:
    """Refuse a model tortoise has not set up: its link columns (store_id,
    customer_id) are not fields yet, and the statements and mappers built
    from it here are kept for good."""
    if not model._meta._inited:
        raise RuntimeError(f"{model.__name__} is used before Tortoise.init")


def _columns_of(
    model: type[Model], fields: tuple[str, ...] | None
) -> frozenset[str] | None:
    if fields is None:
        return None
    projection = model._meta.fields_db_projection
    return frozenset(projection[name] for name in fields)


def model_from(
    model: type[M],
    row: Mapping[str, Any],
    prefix: str = "",
    fields: tuple[str, ...] | None = None,
) -> M:
    """A model instance from a row read with `columns`, converted exactly as
    tortoise's `Model._init_from_db` converts each backend's values. With
    `fields`, a partial instance as tortoise's `.only()` gives: the others
    are not set (reading one raises AttributeError) and it cannot be saved
    whole."""
    mapped: M = _mapper(model, prefix, fields)(row)
    return mapped


def _mapper(
    model: type[M], prefix: str, fields: tuple[str, ...] | None = None
) -> Callable[[Mapping[str, Any]], M]:
    if fields is None:
        return _whole_row_mapper(model, prefix)
    return _partial_row_mapper(model, prefix, fields)


@cache  # as `_all_columns`
def _whole_row_mapper(model: type[M], prefix: str) -> Callable[[Mapping[str, Any]], M]:
    return _row_mapper(model, prefix, None)


@lru_cache(maxsize=256)  # as `_some_columns`
def _partial_row_mapper(
    model: type[M], prefix: str, fields: tuple[str, ...]
) -> Callable[[Mapping[str, Any]], M]:
    return _row_mapper(model, prefix, fields)


def _row_mapper(
    model: type[M], prefix: str, fields: tuple[str, ...] | None
) -> Callable[[Mapping[str, Any]], M]:
    """`Model._init_from_db` unrolled for one model: the same attributes and
    conversions, without a keyword dict and a call per column. A page of 100
    customers maps in about half the time. tests/api/core/test_sql.py checks
    it against tortoise's own mapping for every model."""
    _check_set_up(model)
    meta = model._meta
    wanted = _columns_of(model, fields)

    def chosen(key: str) -> bool:
        return wanted is None or key in wanted

    native = [
        (prefix + key, name) for key, name, _ in meta.db_native_fields if chosen(key)
    ]
    plain = [
        (prefix + key, name, f.field_type)
        for key, name, f in meta.db_default_fields
        if chosen(key)
    ]
    converted = [
        (prefix + key, name, _converter(f))
        for key, name, f in meta.db_complex_fields
        if chosen(key)
    ]
    custom_pk = meta.db_pk_column not in meta.generated_db_fields
    partial = wanted is not None

    def build(row: Mapping[str, Any]) -> M:
        instance = bare(model, saved=True, partial=partial, custom_pk=custom_pk)
        values = instance.__dict__
        for key, name in native:
            values[name] = row[key]
        for key, name, kind in plain:
            value = row[key]
            values[name] = None if value is None else kind(value)
        for key, name, convert in converted:
            values[name] = convert(row[key])
        return instance

    return build


def _converter(field: Field[Any]) -> Callable[[Any], Any]:
    """The field's to_python_value; for timezone-aware datetimes (what asyncpg
    returns) the conversion it would make, without its checks per value."""
    convert = field.to_python_value
    enum_type = getattr(field, "enum_type", None)
    if isinstance(enum_type, type) and issubclass(enum_type, Enum):
        return _to_member(enum_type, convert)
    if not isinstance(field, DatetimeField) or not timezone.get_use_tz():
        return convert
    zone = timezone.get_default_timezone()
    # Ladder's zone is UTC, and asyncpg's datetimes are UTC already: moving
    # them to tortoise's UTC object changes no field of theirs and was a tenth
    # of a customer page's CPU (eight per row).
    already = UTC if getattr(zone, "key", None) in _UTC_KEYS else None

    def to_zone(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is not None:
            return value if value.tzinfo is already else value.astimezone(zone)
        return convert(value)

    return to_zone


_UTC_KEYS = frozenset({"UTC", "Etc/UTC"})


def _to_member(
    enum_type: type[Enum], convert: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """An enum field's conversion: the member by its value, from the table
    `enum_type(value)` looks in first (a call to it was a third of a customer
    row's mapping); anything else (None, an unknown value) as tortoise does."""
    members = dict(enum_type._value2member_map_)

    def to_member(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            return convert(value)

    return to_member


async def fetch_model(
    model: type[M], where: str, *args: Any, lock: str | None = None
) -> M | None:
    """The first row of the model's table (alias `t`) matching `where`, as a
    model; `lock` adds a row lock on PostgreSQL (e.g. "FOR UPDATE")."""
    found = await fetch_models(model, where, *args, lock=lock)
    return found[0] if found else None


async def fetch_models(
    model: type[M],
    where: str,
    *args: Any,
    order_by: str = "",
    lock: str | None = None,
    fields: tuple[str, ...] | None = None,
) -> list[M]:
    """Every row of the model's table (alias `t`) matching `where`, as models
    (partial ones with only `fields`, when given: see `model_from`)."""
    query = f"SELECT {columns(model, 't', fields=fields)} FROM {model._meta.db_table} t WHERE {where}"  # noqa: S608 - names from the model, conditions from the caller's constants
    if order_by:
        query += f" ORDER BY {order_by}"
    if lock:
        query += locking(lock)
    build = _mapper(model, "", fields)
    return [build(row) for row in await fetch_all(query, *args)]


async def update_returning(
    model: type[M], assignments: str, where: str, *args: Any
) -> list[M]:
    """UPDATE the model's rows matching `where` and return them as they are
    now, in one statement (a row lock and a write where a locked read and a
    later UPDATE took two). SQLite has RETURNING since 3.35, which tortoise
    already needs there."""
    table = model._meta.db_table
    query = f"UPDATE {table} SET {assignments} WHERE {where} RETURNING {columns(model, table)}"  # noqa: S608 - names from the model, clauses from the caller's constants
    return [model_from(model, row) for row in await fetch_all(query, *args)]


@dataclass(frozen=True)
class Write:
    """One INSERT or UPDATE and its arguments, numbered from $1 (`insert`,
    `update`), run with `write`."""

    sql: str
    args: tuple[Any, ...]
    inserts: Model | None = None


@dataclass(frozen=True)
class Read(Write):
    """A SELECT that rides last in `write`'s round trip; its rows land in
    `rows`. On PostgreSQL it sees the database as it was before the writes
    (one statement, one snapshot), on SQLite as it is after them: it must
    not read what they change."""

    rows: list[Mapping[str, Any]] = field(default_factory=list)


@cache
def _insert_sql(model: type[Model]) -> tuple[str, tuple[str, ...]]:
    into, fields = _insert_into(model)
    values = ", ".join(f"${n}" for n in range(1, len(fields) + 1))
    return f"{into} VALUES ({values})", fields


@cache
def _insert_into(model: type[Model]) -> tuple[str, tuple[str, ...]]:
    """`INSERT INTO "table" (columns)` and the fields of those columns."""
    _check_set_up(model)
    if model._meta.generated_db_fields:  # its new id would have to be read back
        raise TypeError(f"{model.__name__} has database-generated columns")
    # In the model's field order: the same text in every process.
    fields, names = zip(*model._meta.fields_db_projection.items(), strict=True)
    columns = ", ".join(f'"{c}"' for c in names)
    return f'INSERT INTO "{model._meta.db_table}" ({columns})', fields


def insert(instance: Model, converted: Mapping[str, Any] | None = None) -> Write:
    """The INSERT of a new instance, its values converted as tortoise's
    `create` converts them (defaults, `auto_now_add`). `converted` gives
    values already in the database's form, by field (the JSON text a webhook
    arrived as, not its parsed payload encoded again)."""
    query, fields = _insert_sql(type(instance))
    fields_map = instance._meta.fields_map
    given = converted or {}
    args = tuple(
        given[name]
        if name in given
        else fields_map[name].to_db_value(getattr(instance, name), instance)
        for name in fields
    )
    return Write(query, args, inserts=instance)


def update(instance: Model, fields: Sequence[str]) -> Write:
    """The UPDATE of some of a saved instance's fields, converted as
    tortoise's `save(update_fields=...)` converts them (`auto_now`). A field
    named twice (callers' lists meet) is set once."""
    fields = tuple(dict.fromkeys(fields))
    meta = instance._meta
    fields_map, projection = meta.fields_map, meta.fields_db_projection
    assignments = ", ".join(
        f'"{projection[name]}" = ${n}' for n, name in enumerate(fields, start=1)
    )
    args = tuple(
        fields_map[name].to_db_value(getattr(instance, name), instance)
        for name in fields
    )
    pk = meta.pk.to_db_value(instance.pk, instance)
    query = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.db_pk_column}" = ${len(fields) + 1}'  # noqa: S608 - names from the model
    return Write(query, (*args, pk))


def _renumbered(query: str, offset: int) -> str:
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", query)


async def write(*writes: Write) -> None:
    """Run the writes in order, in one round trip on PostgreSQL: one statement
    whose data-modifying WITH clauses hold all but the last. They must touch
    different rows. Foreign keys between them hold (PostgreSQL checks them at
    the end of the statement), and the change-version triggers fire as for
    separate statements. Tortoise's `create` and `save` cost about four times
    the CPU of the statement itself. The last may be a `Read`, which then
    costs no round trip of its own."""
    client = _client()
    *changes, last = writes or (None,)
    if any(isinstance(each, Read) for each in changes):
        raise ValueError("only the last of the writes may be a read")
    if client.capabilities.dialect != "postgres":
        for each in changes:
            await client.execute_query(_for_sqlite(each.sql), list(each.args))
        if isinstance(last, Read):
            last.rows[:] = await fetch_all(last.sql, *last.args)
        elif last is not None:
            await client.execute_query(_for_sqlite(last.sql), list(last.args))
    elif writes:
        _, rows = await client.execute_query(*_combined(writes))
        if isinstance(last, Read):
            last.rows[:] = rows
    _saved(writes)


def _combined(writes: Sequence[Write]) -> tuple[str, list[Any]]:
    """One statement: all but the last write in WITH clauses, then the last."""
    return _combined_sql(_shapes(writes)), _args(writes)


def _shapes(writes: Sequence[Write]) -> tuple[tuple[str, int], ...]:
    return tuple((each.sql, len(each.args)) for each in writes)


def _args(writes: Sequence[Write]) -> list[Any]:
    return [arg for each in writes for arg in each.args]


@lru_cache(maxsize=512)
def _combined_sql(shapes: tuple[tuple[str, int], ...]) -> str:
    # Kept: the same few shapes come back on every order (renumbering them
    # was an eighth of a payment's ledger write).
    (*first, last), _ = _numbered(shapes)
    if not first:
        return last
    return f"WITH {_with_clauses(first)} {last}"


def _numbered(shapes: tuple[tuple[str, int], ...]) -> tuple[list[str], int]:
    """Each statement's placeholders numbered after those before it, and how
    many arguments they take in all."""
    parts: list[str] = []
    offset = 0
    for query, arguments in shapes:
        parts.append(_renumbered(query, offset))
        offset += arguments
    return parts, offset


def _with_clauses(parts: Sequence[str]) -> str:
    return ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts))


def _saved(writes: Sequence[Write]) -> None:
    for each in writes:
        if each.inserts is not None:
            each.inserts._saved_in_db = True


async def insert_unless_exists(
    instance: Model,
    converted: Mapping[str, Any] | None = None,
    *,
    first: Sequence[Write] = (),
) -> bool:
    """Insert a new model instance unless its row would break a unique key;
    True when it was inserted. One statement (`INSERT ... ON CONFLICT DO
    NOTHING`) where `create` in a savepoint, with the IntegrityError caught,
    took three round trips. Like any INSERT on PostgreSQL, it waits for a
    concurrent insert of the same key to commit or roll back before deciding.
    `first`: writes run before it, whatever it decides (in the same statement
    on PostgreSQL, as `write` runs them)."""
    client = _client()
    statement = insert(instance, converted)
    if client.capabilities.dialect == "postgres":
        query, args = _combined([*first, statement])
        # asyncpg's status "INSERT 0 n" is misread by tortoise's execute_query.
        inserted = await client.execute_insert(
            f"{query} ON CONFLICT DO NOTHING RETURNING 1", args
        )
    else:
        await write(*first)
        inserted, _ = await client.execute_query(
            _for_sqlite(f"{statement.sql} ON CONFLICT DO NOTHING"),
            list(statement.args),
        )
    _saved(first)
    instance._saved_in_db = bool(inserted)
    return instance._saved_in_db


async def lock_or_insert(instance: M, where: str, *args: Any) -> tuple[M | None, bool]:
    """The row of the instance's table (alias `t`) matching `where`, locked
    FOR UPDATE, or else `instance` inserted: (the row, False) or (instance,
    True). One statement on PostgreSQL where a locked read, then an insert,
    took two for every new row. (None, False) when neither happened: a
    concurrent insert of the same key committed in between; read it again.
    `where` numbers its arguments from $1."""
    model = type(instance)
    if not is_postgres():
        found = await fetch_model(model, where, *args, lock="FOR UPDATE")
        if found is not None:
            return found, False
        return (
            (instance, True) if await insert_unless_exists(instance) else (None, False)
        )
    statement = insert(instance)
    query = _lock_or_insert_sql(model, where, len(args))
    rows = await fetch_all(query, *args, *statement.args)
    if not rows:
        return None, False
    if rows[0]["made"]:
        instance._saved_in_db = True
        return instance, True
    return model_from(model, rows[0]), False


@cache
def _lock_or_insert_sql(model: type[Model], where: str, arguments: int) -> str:
    inserting, _ = _insert_sql(model)
    return (
        f"WITH found AS (SELECT {columns(model, 't')} FROM {model._meta.db_table} t"  # noqa: S608 - names from the model, conditions from the caller's constants
        f" WHERE {where} FOR UPDATE),"
        f" made AS ({_renumbered(inserting, arguments)} ON CONFLICT DO NOTHING"
        " RETURNING 1)"
        f" {_found_or_made(model)}"
    )


async def lock_or_insert_after(
    gate: Model, first: Sequence[Write], instance: M, where: str, *args: Any
) -> tuple[bool, M | None, bool]:
    """`insert_unless_exists(gate, first=first)`, then, only if `gate` was
    inserted, `lock_or_insert(instance, where, *args)`: one statement on
    PostgreSQL where they took two (a new customer with their identity, then
    their first order). (inserted, row, created): `row` and `created` as
    `lock_or_insert` gives them. When `gate` was not inserted, `first` ran
    all the same and nothing of `instance`'s table was read, locked or
    written: (False, None, False)."""
    if not is_postgres():
        if not await insert_unless_exists(gate, first=first):
            return False, None, False
        return (True, *await lock_or_insert(instance, where, *args))
    writes = [*first, insert(gate)]
    query = _lock_or_insert_after_sql(_shapes(writes), type(instance), where, len(args))
    row = (await fetch_all(query, *_args(writes), *args, *insert(instance).args))[0]
    _saved(first)
    gate._saved_in_db = bool(row["gated"])
    if not gate._saved_in_db:
        return False, None, False
    if row["made"] is None:  # a concurrent insert committed: read it again
        return True, None, False
    if row["made"]:
        instance._saved_in_db = True
        return True, instance, True
    return True, model_from(type(instance), row), False


@lru_cache(maxsize=64)
def _lock_or_insert_after_sql(
    shapes: tuple[tuple[str, int], ...], model: type[Model], where: str, arguments: int
) -> str:
    (*first, gate), offset = _numbered(shapes)
    clauses = [
        *([_with_clauses(first)] if first else []),
        f"gate AS ({gate} ON CONFLICT DO NOTHING RETURNING 1)",
    ]
    where = _renumbered(where, offset)
    offset += arguments
    _, fields = _insert_into(model)
    values = ", ".join(f"${offset + n}" for n in range(1, len(fields) + 1))
    # `EXISTS` on the gate is an InitPlan, run before the child's table is
    # read: when the gate's key was taken, nothing of the child is locked
    # (the caller locks the key's owner first, then the child).
    gated = "EXISTS (SELECT 1 FROM gate)"
    return (
        f"WITH {', '.join(clauses)},"  # noqa: S608 - names from the models, conditions from the callers' constants
        f" {_found_and_made(model, where, gated, values, f'WHERE {gated}')}"
        f" SELECT {gated} AS gated, o.* FROM (SELECT 1) one"
        f" LEFT JOIN ({_found_or_made(model)}) o ON true"
    )


def _found_and_made(
    model: type[Model], where: str, condition: str, values: str, source: str
) -> str:
    """The `found` and `made` clauses of a lock-or-insert under a condition:
    the row matching `where` locked, else the row of `values` (selected
    `source`) inserted, both only when `condition` holds."""
    into, _ = _insert_into(model)
    return (
        f"found AS (SELECT {_all_columns(model, 't', '')}"  # noqa: S608 - names from the models, conditions from the callers' constants
        f" FROM {model._meta.db_table} t WHERE ({where}) AND {condition} FOR UPDATE),"
        f" made AS ({into} SELECT {values} {source} ON CONFLICT DO NOTHING RETURNING 1)"
    )


def _found_or_made(model: type[Model]) -> str:
    """The row `found` locked (made false), or a row of nulls when `made`
    inserted one (made true): what `lock_or_insert` statements answer."""
    names = ", ".join(f"found.{column}" for column in _db_columns(model))
    nulls = ", ".join("NULL" for _ in _db_columns(model))
    return (
        f"SELECT {names}, false AS made FROM found"  # noqa: S608 - names from the model
        f" UNION ALL SELECT {nulls}, true FROM made"
    )


@dataclass(frozen=True)
class Parent(Generic[P]):
    """A SELECT of at most one row, locked (`FOR UPDATE OF ...`), its columns
    named `prefix + column` (see `columns`) and numbered from $1: the row
    `lock_or_insert_under` locks before its child."""

    model: type[P]
    sql: str
    args: tuple[Any, ...]
    prefix: str


async def lock_or_insert_under(
    parent: Parent[P], instance: M, link: str, where: str, *args: Any
) -> tuple[P | None, M | None, bool]:
    """`lock_or_insert` under a parent row, in one statement (PostgreSQL
    only): the parent locked first, then the child matching `where` locked,
    or else `instance` inserted with its `link` field set to the parent's id.
    (parent, child, created) as `lock_or_insert` gives them; (None, None,
    False) when there is no parent, and then nothing is locked or written.
    (parent, None, False) when the child was inserted by a transaction that
    committed after this statement began: its snapshot, taken before it
    waited for the parent, does not see the row, so the caller reads it again
    (the parent is locked). That is the usual way here, not a rare race: the
    transaction that held the parent inserts the same child. Where a read of
    the parent, then `lock_or_insert`, took two."""
    if not is_postgres():
        raise RuntimeError("lock_or_insert_under runs on PostgreSQL only")
    model = type(instance)
    # The link is read from the parent's row, not converted from the instance.
    statement = insert(instance, {link: None})
    values = tuple(
        value
        for name, value in zip(_insert_into(model)[1], statement.args, strict=True)
        if name != link
    )
    query = _lock_or_insert_under_sql(
        parent.model,
        parent.sql,
        len(parent.args),
        parent.prefix,
        model,
        link,
        where,
        len(args),
    )
    rows = await fetch_all(query, *parent.args, *args, *values)
    if not rows:
        return None, None, False
    row = rows[0]
    above = model_from(parent.model, row, parent.prefix)
    if row["made"] is None:
        return above, None, False
    if row["made"]:
        setattr(instance, link, above.pk)
        instance._saved_in_db = True
        return above, instance, True
    return above, model_from(model, row), False


@cache
def _lock_or_insert_under_sql(
    parent_model: type[Model],
    parent_sql: str,
    parent_arguments: int,
    prefix: str,
    model: type[Model],
    link: str,
    where: str,
    arguments: int,
) -> str:
    _, fields = _insert_into(model)
    if link not in fields:
        raise ValueError(f"{model.__name__} has no field {link}")
    child_columns = {*_db_columns(model), "made"}
    if not prefix or {prefix + c for c in _db_columns(parent_model)} & child_columns:
        raise ValueError(f"prefix {prefix!r} names the parent's columns as the child's")
    offset = parent_arguments + arguments
    picked: list[str] = []
    for name in fields:
        if name == link:
            picked.append(f"p.{prefix}{parent_model._meta.db_pk_column}")
        else:
            offset += 1
            picked.append(f"${offset}")
    # The child's lock waits on the parent's: `EXISTS` on the parent is an
    # InitPlan, run before the child's table is read, so the two rows are
    # always locked parent first, as the separate statements locked them.
    # `ON true` allows only a nested loop, with the parent outside.
    found_and_made = _found_and_made(
        model,
        _renumbered(where, parent_arguments),
        "EXISTS (SELECT 1 FROM p)",
        ", ".join(picked),
        "FROM p",
    )
    return (
        f"WITH p AS ({parent_sql}), {found_and_made}"  # noqa: S608 - names from the models, conditions from the callers' constants
        f" SELECT p.*, o.* FROM p LEFT JOIN ({_found_or_made(model)}) o ON true"
    )


class Rows(Generic[M]):
    """The rows of a model's table (alias `t`) matching `where`, in a fixed
    order, read a page at a time: what a connection needs (a slice and a
    count) without a QuerySet per request. `where` numbers its arguments from
    $1; the page bounds come after them. With `fields`, pages hold partial
    models (see `model_from`)."""

    def __init__(
        self,
        model: type[M],
        where: str,
        args: Sequence[Any],
        *,
        order_by: str,
        fields: tuple[str, ...] | None = None,
    ):
        self.model, self.where, self.args, self.order_by = model, where, args, order_by
        self.fields = fields

    def __getitem__(self, page: slice) -> Awaitable[list[M]]:
        start, stop = page.start or 0, page.stop
        if page.step is not None or stop is None or start < 0 or stop < start:
            raise ValueError("Rows are read in pages: rows[start:stop]")
        n = len(self.args)
        return fetch_models(
            self.model,
            self.where,
            *self.args,
            stop - start,
            start,
            order_by=f"{self.order_by} LIMIT ${n + 1} OFFSET ${n + 2}",
            fields=self.fields,
        )

    async def count(self) -> int:
        query = f"SELECT COUNT(*) AS n FROM {self.model._meta.db_table} t WHERE {self.where}"  # noqa: S608 - names from the model, conditions from the caller's constants
        row = await fetch_one(query, *self.args)
        return int(row["n"]) if row else 0

    def __await__(self) -> Generator[Any, None, list[M]]:
        """Every row."""
        return fetch_models(
            self.model,
            self.where,
            *self.args,
            order_by=self.order_by,
            fields=self.fields,
        ).__await__()

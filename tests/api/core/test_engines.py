"""A transaction that fails to begin gives back what it took (api/core/engines):
SQLite's one connection, a PostgreSQL pool connection."""

import asyncio
import contextlib
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from api.core import sql
from api.stores.models import Store
from api.stores.service import IssuedKeys


def _wrapper_class() -> type[Any]:
    """The class whose `begin` a transaction of this backend runs."""
    context: Any = connections.get("default")._in_transaction()
    return type(getattr(context, "client", None) or context.connection)


def _connections_in_use() -> int:
    """PostgreSQL: the pool's connections taken and not given back (SQLite: 0)."""
    pool = getattr(connections.get("default"), "_pool", None)
    return 0 if pool is None else pool.get_size() - pool.get_idle_size()


async def test_a_transaction_cancelled_while_it_begins_leaves_the_database_usable(
    store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Store.all().count()  # the pool is up
    wrapper = _wrapper_class()
    begun = asyncio.Event()
    begin = wrapper.begin

    async def slow_begin(self: Any) -> None:
        await begin(self)  # BEGIN went through; the task is cancelled after it
        begun.set()
        await asyncio.sleep(30)

    monkeypatch.setattr(wrapper, "begin", slow_begin)

    async def transaction() -> None:
        async with in_transaction():
            raise AssertionError("never entered")

    task = asyncio.create_task(transaction())
    await begun.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    # The connection is back (SQLite's is no longer locked: this would hang)
    # and holds no open transaction (a new one can begin and commit).
    assert await asyncio.wait_for(Store.all().count(), 5) == 1
    if not sql.is_postgres():  # SQLite's one connection holds no transaction
        assert not connections.get("default")._connection.in_transaction
    async with in_transaction():
        await Store.filter(id=store.store.id).update(name="Renamed")
    assert (await Store.get(id=store.store.id)).name == "Renamed"
    assert _connections_in_use() == 0


async def test_a_transaction_whose_begin_fails_gives_its_connection_back(
    store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Store.all().count()
    wrapper = _wrapper_class()

    async def failing_begin(self: Any) -> None:
        raise ConnectionResetError("lost while beginning")

    monkeypatch.setattr(wrapper, "begin", failing_begin)
    async with asyncio.timeout(5):  # SQLite's lock kept: the second one hangs
        for _ in range(3):
            with pytest.raises(ConnectionResetError):
                async with in_transaction():
                    pass
    monkeypatch.undo()
    assert await asyncio.wait_for(Store.all().count(), 5) == 1
    assert _connections_in_use() == 0

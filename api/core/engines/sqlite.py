"""The SQLite engine: Tortoise's client, its transactions undone when they
fail to begin (see the package docs)."""

import contextlib

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections


class _Transaction(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            try:
                raw = self.connection._connection
                if raw is not None:
                    # The BEGIN may have run in aiosqlite's thread all the same;
                    # ROLLBACK is queued behind it (a no-op with no transaction).
                    # Its own failure (a closed connection) must not replace
                    # the one being raised.
                    with contextlib.suppress(Exception):
                        await raw.rollback()
            finally:
                if hasattr(self, "token"):
                    get_connections().reset(self.token)
                self._trxlock.release()
            raise
        return self.connection  # type: ignore[no-any-return]


class Client(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return _Transaction(SqliteTransactionWrapper(self), self._lock)


client_class = Client

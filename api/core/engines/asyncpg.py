"""The PostgreSQL engine: Tortoise's asyncpg client, its transactions giving
their pool connection back when they fail to begin (see the package docs)."""

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections


class _Transaction(TransactionContextPooled):
    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        try:
            self.token = get_connections().set(self.connection_name, self.client)
            await self.client.begin()
        except BaseException:
            try:
                if hasattr(self, "token"):
                    get_connections().reset(self.token)
            finally:
                # asyncpg rolls back a transaction left open on release.
                await pool.release(self.client._connection)
            raise
        return self.client


class Client(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return _Transaction(TransactionWrapper(self), self._pool_init_lock)


client_class = Client

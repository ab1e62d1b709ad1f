"""The query plan of a statement, on either database, for tests that check
an index leads it."""

from typing import Any

from tortoise.transactions import in_transaction

from api.core import sql


async def plan(query: str, *args: Any) -> str:
    """The plan as text; on PostgreSQL with sequential scans off, as a table
    as small as a test's would be read whole."""
    async with in_transaction():
        if sql.is_postgres():
            await sql.fetch_all("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        rows = await sql.fetch_all(explain + query, *args)
    return str([dict(row) for row in rows])

"""Planner statistics for tables filled in bulk (PostgreSQL).

Autovacuum analyzes a table about a minute after enough of it changed. A
backfill into a new database outruns it: without statistics the planner took
the orders index on (store_id, paid_at) for an order's lookup by its platform
reference and scanned every order of the store, so each event cost more than
the last (`python -m bench.backfill --without-statistics` shows the server's
CPU per order without this). PostgreSQL's advice for bulk loads is to ANALYZE after them
("Populating a Database", §14.4.9); a backfill does it as it goes, on the
tables that changed most since their last analysis.
"""

import logging
from collections.abc import Sequence

from tortoise.connection import get_connection
from tortoise.exceptions import OperationalError
from tortoise.models import Model

from api.core import sql

logger = logging.getLogger("ladder.sync")

# Analyzed once at least this many of its rows changed since its last
# analysis, and at least half as many as it holds now: as a table doubles,
# not on every page (a large table's analysis samples 30,000 rows).
CHANGED_ROWS = 500


async def analyze_grown(
    models: Sequence[type[Model]], *, changed_rows: int = CHANGED_ROWS
) -> list[str]:
    """ANALYZE the models' tables that grew as above; their names. Nothing on
    SQLite. Only tables the database role owns: for others PostgreSQL skips
    the analysis with a warning, and the check would ask again every time.
    The counts come from the statistics collector, which sees other sessions'
    changes within about a second: a check that misses them now finds them at
    the next call. A failure is logged, not raised: statistics help the
    planner, and a backfill's committed pages must not fail for them."""
    if not sql.is_postgres():
        return []
    tables = [model._meta.db_table for model in models]
    try:
        rows = await sql.fetch_all(
            "SELECT s.relname FROM pg_stat_user_tables s"
            " JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.schemaname = current_schema()"
            " AND s.relname = ANY($1::text[])"
            " AND s.n_mod_since_analyze >= $2"
            " AND s.n_mod_since_analyze * 2 >= s.n_live_tup"
            " AND pg_has_role(c.relowner, 'USAGE')"
            " ORDER BY s.relname",
            tables,
            changed_rows,
        )
        grown = [str(row["relname"]) for row in rows]  # names from the models
        if grown:
            names = ", ".join(f'"{table}"' for table in grown)
            await get_connection("default").execute_script(f"ANALYZE {names}")
    except OperationalError:
        logger.warning("planner statistics not refreshed", exc_info=True)
        return []
    return grown

"""Reads the change versions (migration 0008) that make cached reads exact."""

from uuid import UUID

from api.core import sql


async def of_customer(store_id: UUID, customer_id: UUID) -> int | None:
    """The customer's version; None when the customer is not the store's."""
    row = await sql.fetch_one(
        "SELECT cache_version FROM customers WHERE id = $1 AND store_id = $2",
        customer_id,
        store_id,
    )
    return int(row["cache_version"]) if row else None


async def of_store(store_id: UUID) -> int | None:
    """The store's programme version as committed; None where versions are not
    kept (SQLite), and when the current transaction changed the programme (its
    version is not committed yet and may roll back: nothing may be cached
    under it)."""
    if not sql.is_postgres():
        return None
    row = await sql.fetch_one(
        "SELECT config_version, xmin::text::bigint"
        " = pg_current_xact_id_if_assigned()::text::bigint % 4294967296 AS mine"
        " FROM stores WHERE id = $1",
        store_id,
    )
    if row is None or row["mine"]:
        return None
    return int(row["config_version"])

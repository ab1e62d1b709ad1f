"""Reads the change versions (migration 0008) that make cached reads exact."""

from uuid import UUID

from api.core import sql


async def customer_and_store(
    store_id: UUID, customer_id: UUID
) -> tuple[int, int] | None:
    """The customer's and its store's versions, read together; None when the
    customer is not the store's."""
    row = await sql.fetch_one(
        "SELECT c.cache_version, s.config_version FROM customers c"
        " JOIN stores s ON s.id = c.store_id WHERE c.id = $1 AND c.store_id = $2",
        customer_id,
        store_id,
    )
    if row is None:
        return None
    return int(row["cache_version"]), int(row["config_version"])


async def of_store(store_id: UUID) -> int | None:
    """The store's programme version; None where versions are not kept (SQLite)."""
    if not sql.is_postgres():
        return None
    row = await sql.fetch_one(
        "SELECT config_version FROM stores WHERE id = $1", store_id
    )
    return int(row["config_version"]) if row else None

"""Batch loading of what hangs off customers (one query per page, not per row)."""

from dataclasses import dataclass, field
from uuid import UUID

from strawberry.dataloader import DataLoader

from api.customers.models import CustomerIdentity


async def _identities(keys: list[UUID]) -> list[list[CustomerIdentity]]:
    found: dict[UUID, list[CustomerIdentity]] = {key: [] for key in keys}
    # Keys are customer ids already scoped to the caller's store by the query
    # that produced them, so no row of another store can come back.
    rows = await CustomerIdentity.filter(customer_id__in=keys).order_by("created_at")
    for row in rows:
        found[row.customer_id].append(row)  # type: ignore[index]
    return [found[key] for key in keys]


@dataclass
class CustomerLoaders:
    identities: DataLoader[UUID, list[CustomerIdentity]] = field(
        default_factory=lambda: DataLoader(load_fn=_identities)
    )

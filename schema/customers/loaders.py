"""Batch loading of what hangs off customers (one query per page, not per row)."""

from functools import partial
from uuid import UUID

from strawberry.dataloader import DataLoader

from api.customers import service
from api.customers.models import CustomerIdentity
from api.stores.models import Store


class CustomerLoaders:
    """Loaders scoped to the caller's store: keys of another store find nothing."""

    def __init__(self, store: Store | None):
        # A function of the store, not a bound method: a loader holding its
        # owner is a reference cycle, left for the garbage collector's pauses.
        self.identities: DataLoader[UUID, list[CustomerIdentity]] = DataLoader(
            load_fn=partial(_identities, store)
        )


async def _identities(
    store: Store | None, keys: list[UUID]
) -> list[list[CustomerIdentity]]:
    if store is None:
        return [[] for _ in keys]
    found = await service.identities_by_customer(store, keys)
    return [found[key] for key in keys]

"""Batch loading of what hangs off customers (one query per page, not per row)."""

from uuid import UUID

from strawberry.dataloader import DataLoader

from api.customers import service
from api.customers.models import CustomerIdentity
from api.stores.models import Store


class CustomerLoaders:
    """Loaders scoped to the caller's store: keys of another store find nothing."""

    def __init__(self, store: Store | None):
        self.store = store
        self.identities: DataLoader[UUID, list[CustomerIdentity]] = DataLoader(
            load_fn=self._identities
        )

    async def _identities(self, keys: list[UUID]) -> list[list[CustomerIdentity]]:
        if self.store is None:
            return [[] for _ in keys]
        found = await service.identities_by_customer(self.store, keys)
        return [found[key] for key in keys]

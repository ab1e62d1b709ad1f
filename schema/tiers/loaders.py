"""All of a store's tiers, loaded once per request (a store has at most 20)."""

from uuid import UUID

from strawberry.dataloader import DataLoader

from api.stores.models import Store
from api.tiers import service
from api.tiers.models import Tier


class TierLoaders:
    def __init__(self, store: Store | None):
        self.store = store
        self.by_id: DataLoader[UUID, Tier | None] = DataLoader(load_fn=self._by_id)

    async def _by_id(self, keys: list[UUID]) -> list[Tier | None]:
        if self.store is None:
            return [None for _ in keys]
        tiers = {tier.id: tier for tier in await service.list_tiers(self.store)}
        return [tiers.get(key) for key in keys]

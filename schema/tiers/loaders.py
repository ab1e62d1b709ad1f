"""All of a store's tiers, loaded once per request (a store has at most 20):
those of the store's programme kept per change version while it is current
(api/program/snapshot.py), not read and mapped again."""

import asyncio
from collections.abc import Awaitable
from typing import Any
from uuid import UUID

from api.customers.models import Customer
from api.program import snapshot
from api.stores.models import Store
from api.tiers import service
from api.tiers.models import Tier


class TierLoaders:
    def __init__(self, store: Store | None):
        self.store = store
        # The store's version read at authentication, set for queries only
        # (schema/context.py): a mutation may change the programme before
        # its payload reads the tiers.
        self.read_at: int | None = None
        # Set by `preload`: lists read tiers from here without a coroutine per row.
        self.known: dict[UUID, Tier] | None = None
        # The GraphQL objects built from `known`, so a page builds each once.
        self.shown: dict[UUID, Any] = {}
        self._loading: asyncio.Future[dict[UUID, Tier]] | None = None
        # Keyed by the row object, not the id: a later mutation in the same
        # document reads a fresh row, so its payload never sees stale progress.
        self._progress: dict[
            int, tuple[Customer, asyncio.Future[service.Progress]]
        ] = {}

    async def preload(self) -> None:
        """Load the store's tiers now, so `known` answers every row of a page."""
        if self.known is None:
            self.known = await self._all()

    def _all(self) -> Awaitable[dict[UUID, Tier]]:
        # One query per request, however many resolvers ask at the same time
        # (`me` asks through `tier` and through tier progress concurrently).
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
        # Shielded: graphql-core cancels a failed field's siblings, and that
        # must not cancel the shared load under the other resolvers.
        return asyncio.shield(self._loading)

    def progress(self, customer: Customer) -> Awaitable[service.Progress]:
        """The customer's tier progress, worked out once per row (`me` asks for
        it in `tierProgress` and again in `nudges`)."""
        known = self._progress.get(id(customer))
        if known is None:
            # The row is kept with its future so its id() cannot be reused.
            known = (customer, asyncio.ensure_future(self._work_out_progress(customer)))
            self._progress[id(customer)] = known
        return asyncio.shield(known[1])

    async def _work_out_progress(self, customer: Customer) -> service.Progress:
        if self.store is None:  # pragma: no cover - customers come with a store
            raise RuntimeError("tier progress without a store")
        await self.preload()
        return await service.progress(
            self.store, customer, store_tiers=list((self.known or {}).values())
        )

    async def _load(self) -> dict[UUID, Tier]:
        if self.store is None:
            return {}
        tiers = await snapshot.tiers_of(self.store, read_at=self.read_at)
        return {tier.id: tier for tier in tiers}

    async def get(self, tier_id: UUID) -> Tier | None:
        """One of the store's tiers, read with all of them (once per request)."""
        await self.preload()
        return (self.known or {}).get(tier_id)

"""The store's programme (tiers, active rules and campaigns), read once per
change rather than once per order.

Every order reads the whole programme. It changes rarely, and every change
moves the store's change version (migration 0008), so a process keeps the
latest programme it read per store and serves it while the version it was
read at is still current: one small read instead of three queries. On SQLite
(no versions) it is read every time.

The tiers are shared ORM rows: read them, never save them.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from cachetools import LRUCache

from api.core import sql
from api.program import service as program
from api.program.rules import CampaignTerms, EarnRule, RuleKind
from api.stores.models import Store
from api.tiers import service as tiers
from api.tiers.models import Tier
from api.versions import service as versions


@dataclass(frozen=True, slots=True)
class Programme:
    tiers: tuple[Tier, ...]  # by rank
    rules: tuple[EarnRule, ...]  # active, oldest first
    campaigns: tuple[CampaignTerms, ...]  # active

    def rules_of(self, kind: RuleKind) -> list[EarnRule]:
        return [rule for rule in self.rules if rule.kind is kind]

    def campaigns_at(self, at: datetime) -> list[CampaignTerms]:
        return [c for c in self.campaigns if c.starts_at <= at < c.ends_at]


_latest: LRUCache[UUID, tuple[int, Programme]] = LRUCache(maxsize=1024)


async def of(store: Store, *, read_at: int | None = None) -> Programme:
    """The store's programme as it is now.

    `read_at`: the store's version as the caller read it with the store row,
    outside any transaction that changed the programme, when nothing it does
    can change the programme before it is done (a GraphQL query, an order
    webhook): a programme kept at that version is served without reading the
    version again. A change committed by others since is one the caller
    could have missed by running a moment earlier."""
    version = read_at if read_at is not None else await versions.of_store(store.id)
    if version is not None:
        cached = _latest.get(store.id)
        if cached is not None and cached[0] == version:
            return cached[1]
    programme = await _read(store)
    # Kept only if nothing changed while reading: then it is the programme at
    # `version`, and a later change moves the version past it.
    if version is not None and await versions.of_store(store.id) == version:
        _latest[store.id] = (version, programme)
    return programme


async def tiers_of(store: Store, *, read_at: int | None = None) -> tuple[Tier, ...]:
    """The store's tiers by rank: those of the kept programme (one small read
    while it is current, none when `read_at` names it: see `of`); SQLite,
    which keeps no versions, reads the tiers alone rather than the whole
    programme."""
    if not sql.is_postgres():
        return tuple(await tiers.list_tiers(store))
    return (await of(store, read_at=read_at)).tiers


async def _read(store: Store) -> Programme:
    return Programme(
        tiers=tuple(await tiers.list_tiers(store)),
        rules=tuple(await program.active_rules(store)),
        campaigns=tuple(await program.active_campaigns(store)),
    )

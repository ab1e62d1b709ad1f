import strawberry

from api.tiers import service
from schema.context import Info
from schema.core.permissions import IsAuthenticated, caller
from schema.tiers.types import Tier


@strawberry.type
class TierQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The store's tiers, lowest rank first (public: storefronts show them).",
    )
    async def tiers(self, info: Info) -> list[Tier]:
        return [Tier.from_row(t) for t in await service.list_tiers(caller(info).store)]

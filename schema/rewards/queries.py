from collections.abc import AsyncIterable
from typing import Annotated

import strawberry
from strawberry import relay

from api.core.clock import utc_now
from api.rewards import models, service
from schema.context import Info
from schema.core.permissions import IsAuthenticated, caller
from schema.core.relay import PageSizeGuard
from schema.rewards.types import Reward


@strawberry.type(description="Rewards, cheapest first, a page at a time.")
class RewardConnection(PageSizeGuard, relay.ListConnection[Reward]):
    @classmethod
    def resolve_node(
        cls, node: models.Reward, *, info: Info, **kwargs: object
    ) -> Reward:
        return Reward.from_row(node, caller(info).store.currency)


@strawberry.type
class RewardQuery:
    @relay.connection(
        RewardConnection,
        permission_classes=[IsAuthenticated],
        description="The rewards catalogue, cheapest first (public).",
    )
    def rewards(
        self,
        info: Info,
        available: Annotated[
            bool,
            strawberry.argument(
                description="Only rewards on offer now (active, in their window, in "
                "stock). Publishable keys always get only these."
            ),
        ] = True,
    ) -> AsyncIterable[Reward]:
        principal = caller(info)
        only_available = available or not principal.is_secret
        return service.catalogue(  # type: ignore[no-any-return]
            principal.store, available_at=utc_now() if only_available else None
        )

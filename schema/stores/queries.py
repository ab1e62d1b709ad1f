import strawberry

from schema.context import Info
from schema.core.permissions import IsAuthenticated, caller
from schema.stores.types import Store


@strawberry.type
class StoreQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The store the API key belongs to.",
    )
    def store(self, info: Info) -> Store | None:
        return Store.from_row(caller(info).store)

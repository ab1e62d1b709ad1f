"""An order source of fixed pages, and a connection of a custom platform to
ingest them with."""

from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.orders.events import OrderEvent
from api.platforms import OrderPage, PlatformName
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories.program import make_spend_rule
from tests.plugins.shopify.fake_admin import TOKEN


class Pages:
    """An order source of fixed pages; its cursor is the number of pages read."""

    def __init__(self, pages: list[list[OrderEvent]]):
        self.pages = pages

    async def orders_page(self, *, cursor: str | None, **_: object) -> OrderPage:
        n = int(cursor or 0)
        return OrderPage(
            events=self.pages[n],
            orders_seen=len(self.pages[n]),
            cursor=str(n + 1),
            has_next=n + 1 < len(self.pages),
            updated_until=None,
        )


async def custom_connection(issued: IssuedKeys, settings: Settings) -> Connection:
    await make_spend_rule(issued.store)
    connection = await connections.connect(
        issued.store,
        platform=PlatformName.SHOPIFY,
        shop_ref="pages.myshopify.com",
        vault=Vault(settings.vault_key()),
        access_token=TOKEN,
    )
    await connection.fetch_related("store")
    return connection

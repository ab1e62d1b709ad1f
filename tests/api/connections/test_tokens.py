from datetime import UTC, datetime

from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.platforms import PlatformName
from api.settings import Settings
from api.stores.service import IssuedKeys
from plugins.shopify.client import exchange_code
from plugins.shopify.connector import ShopifyConnector
from tests.plugins.shopify.fake_admin import API_KEY, API_SECRET, SHOP, FakeShopifyAdmin


async def test_expiring_token_is_refreshed_and_both_tokens_saved(
    store: IssuedKeys, settings: Settings
) -> None:
    # given an expiring offline token that has run out
    fake = FakeShopifyAdmin(0)
    vault = Vault(settings.vault_key())
    connector = ShopifyConnector(api_key=API_KEY, api_secret=API_SECRET)
    async with fake.http() as http:
        grant = await exchange_code(
            http,
            shop=SHOP,
            api_key=API_KEY,
            api_secret=API_SECRET,
            code=fake.issue_code(),
        )
        assert grant.refresh_token is not None
        connection = await connections.connect(
            store.store,
            platform=PlatformName.SHOPIFY,
            shop_ref=SHOP,
            vault=vault,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            token_expires_at=datetime(2020, 1, 1, tzinfo=UTC),
        )
        # when Ladder needs the token
        token = await connections.access_token(connection, vault, connector, http)
    # then it was refreshed, and the new pair is stored (encrypted)
    assert token is not None and token != grant.access_token
    saved = connections.credentials(await Connection.get(id=connection.id), vault)
    assert saved.access_token == token
    assert saved.refresh_token not in (None, grant.refresh_token)
    assert saved.expires_at is not None and saved.expires_at > datetime(
        2020, 1, 1, tzinfo=UTC
    )


async def test_valid_token_is_used_as_is(store: IssuedKeys, settings: Settings) -> None:
    vault = Vault(settings.vault_key())
    connection = await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=SHOP,
        vault=vault,
        access_token="shpat_forever",
    )
    token = await connections.access_token(
        connection, vault, ShopifyConnector(), http=None
    )
    assert token == "shpat_forever"

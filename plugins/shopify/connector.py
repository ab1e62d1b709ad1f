"""The Shopify connector the app registers: webhook topics -> neutral facts."""

from collections.abc import Mapping
from typing import Any

from api.platforms import Fact, PlatformClient, PlatformName, TokenSet
from plugins.shopify import mapping

DEFAULT_API_VERSION = "2026-04"
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update"})
PRIVACY_TOPICS = frozenset(
    {"customers/data_request", "customers/redact", "shop/redact"}
)


class ShopifyConnector:
    platform = PlatformName.SHOPIFY

    def __init__(
        self,
        api_version: str = DEFAULT_API_VERSION,
        *,
        api_key: str = "",
        api_secret: str = "",
    ):
        self.api_version = api_version
        self.api_key = api_key
        self.api_secret = api_secret

    async def refresh(
        self, http: Any, *, shop_ref: str, refresh_token: str
    ) -> TokenSet:
        from plugins.shopify.client import refresh_access_token

        grant = await refresh_access_token(
            http,
            shop=shop_ref,
            api_key=self.api_key,
            api_secret=self.api_secret,
            refresh_token=refresh_token,
        )
        return TokenSet(grant.access_token, grant.refresh_token, grant.expires_at)

    def client(self, http: Any, *, shop_ref: str, access_token: str) -> PlatformClient:
        from plugins.shopify.client import ShopifyAdmin

        return ShopifyAdmin(
            http, shop=shop_ref, access_token=access_token, api_version=self.api_version
        )

    def facts(
        self, topic: str, payload: Mapping[str, Any], *, currency: str
    ) -> list[Fact]:
        """What a webhook states; [] for topics Ladder does not use."""
        body = dict(payload)
        if topic in CUSTOMER_TOPICS:
            return [mapping.customer_profile(body)]
        if topic in PRIVACY_TOPICS:
            return [mapping.privacy_request(topic, body)]
        if topic == "app/uninstalled":
            return [mapping.app_uninstalled(body)]
        return list(mapping.to_events(topic, body, currency=currency))


connector = ShopifyConnector()

"""The Shopify connector the app registers: webhook topics -> neutral facts."""

from collections.abc import Mapping
from typing import Any

from api.platforms import Fact, PlatformName
from plugins.shopify import mapping

CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update"})
PRIVACY_TOPICS = frozenset(
    {"customers/data_request", "customers/redact", "shop/redact"}
)


class ShopifyConnector:
    platform = PlatformName.SHOPIFY

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

"""The WooCommerce connector the app registers: webhook topics -> neutral facts."""

from collections.abc import Mapping
from typing import Any

from api.core.clock import utc_now
from api.platforms import (
    Fact,
    PlatformCallError,
    PlatformClient,
    PlatformName,
    TokenSet,
)
from plugins.woocommerce import mapping

CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})


def split_keys(access_token: str) -> tuple[str, str]:
    """The stored credential is `consumer_key:consumer_secret` (encrypted at rest)."""
    key, _, secret = access_token.partition(":")
    return key, secret


class WooCommerceConnector:
    platform = PlatformName.WOOCOMMERCE

    def client(self, http: Any, *, shop_ref: str, access_token: str) -> PlatformClient:
        from plugins.woocommerce.client import WooCommerceAPI

        key, secret = split_keys(access_token)
        return WooCommerceAPI(
            http, site_url=shop_ref, consumer_key=key, consumer_secret=secret
        )

    async def refresh(
        self, http: Any, *, shop_ref: str, refresh_token: str
    ) -> TokenSet:
        raise PlatformCallError("WooCommerce REST keys do not expire", retryable=False)

    def facts(
        self, topic: str, payload: Mapping[str, Any], *, currency: str
    ) -> list[Fact]:
        """What a webhook states; [] for topics Ladder does not use."""
        body = dict(payload)
        if topic in CUSTOMER_TOPICS:
            return [mapping.customer_profile(body)]
        # order.deleted carries only the id: the time it reached us dates it.
        return list(
            mapping.to_events(topic, body, currency=currency, deleted_at=utc_now())
        )


connector = WooCommerceConnector()

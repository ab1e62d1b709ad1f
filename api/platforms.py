"""Platform-neutral contracts between the domain and the platform plugins.

Plugins turn platform payloads into these facts (and into `OrderEvent`s, in
api.orders.events); the domain decides what they mean. Importing this module
pulls in no service and no model.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, TypeAlias

from api.orders.events import OrderEvent


class PlatformName(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


@dataclass(frozen=True)
class PlatformCustomer:
    """A customer as the platform knows them (customers/create, /update)."""

    platform: str
    external_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    marketing_consent: bool | None = None
    birthday: date | None = None


@dataclass(frozen=True)
class PrivacyRequest:
    """A platform's privacy obligation for one customer or a whole shop."""

    kind: str  # "customer_data_request", "customer_redact", "shop_redact"
    shop_ref: str
    customer_external_id: str | None = None
    customer_email: str | None = None
    request_ref: str | None = None


@dataclass(frozen=True)
class AppUninstalled:
    """The shop removed the app: stop calling it."""

    shop_ref: str


Fact: TypeAlias = OrderEvent | PlatformCustomer | PrivacyRequest | AppUninstalled


class UnsupportedPayloadError(Exception):
    """The payload does not have the shape the platform documents."""


class Connector(Protocol):
    """What a platform plugin offers the domain: facts from its webhooks."""

    platform: PlatformName

    def facts(
        self, topic: str, payload: Mapping[str, Any], *, currency: str
    ) -> list[Fact]:
        """The facts a webhook states; empty for topics Ladder ignores.

        `currency` is the store's, for payloads that omit the shop's money.
        """
        ...

"""Platform-neutral contracts between the domain and the platform plugins.

Plugins turn platform payloads into these facts (and into `OrderEvent`s, in
api.orders.events); the domain decides what they mean. Importing this module
pulls in no service and no model.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


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

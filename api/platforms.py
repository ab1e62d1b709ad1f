"""Platform-neutral contracts between the domain and the platform plugins.

Plugins turn platform payloads into these facts (and into `OrderEvent`s, in
api.orders.events); the domain decides what they mean. Importing this module
pulls in no service and no model.
"""

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeAlias, runtime_checkable

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
    """What a platform plugin offers the domain: facts from its webhooks, and an
    API client for its order history and discount codes."""

    platform: PlatformName

    def client(
        self, http: Any, *, shop_ref: str, access_token: str
    ) -> "PlatformClient":
        """An API client for one shop, on the app's shared HTTP client."""
        ...

    async def refresh(
        self, http: Any, *, shop_ref: str, refresh_token: str
    ) -> "TokenSet":
        """New tokens for an expiring access token (raises PlatformCallError)."""
        ...

    def facts(
        self, topic: str, payload: Mapping[str, Any], *, currency: str
    ) -> list[Fact]:
        """The facts a webhook states; empty for topics Ladder ignores.

        `currency` is the store's, for payloads that omit the shop's money.
        """
        ...


@dataclass(frozen=True)
class OrderPage:
    """One page of a platform's order history, as neutral events."""

    events: list[OrderEvent]
    orders_seen: int
    # Resume after this page (None: from the start of `since`).
    cursor: str | None
    has_next: bool
    # The newest `updated_at` among the page's orders.
    updated_until: datetime | None


class OrderSource(Protocol):
    """A platform's order history, oldest change first (backfill, reconcile)."""

    async def orders_page(
        self, *, since: datetime | None, cursor: str | None, page_size: int
    ) -> OrderPage: ...


@runtime_checkable
class PagesAhead(Protocol):
    """An order source that reads its pages ahead on its own: Shopify asks for
    the next page while it completes this one (nested connections)."""

    def orders_pages(
        self,
        *,
        since: datetime | None,
        cursor: str | None,
        page_size: int,
        max_pages: int | None,
    ) -> AsyncGenerator[OrderPage, None]: ...


async def order_pages(
    source: OrderSource,
    *,
    since: datetime | None,
    cursor: str | None,
    page_size: int,
    max_pages: int | None = None,
) -> AsyncGenerator[OrderPage, None]:
    """The source's pages from `cursor` on, until the last or `max_pages`
    (none is asked for beyond it); a caller that stops sooner closes the
    iterator, which drops what was read ahead."""
    if isinstance(source, PagesAhead):
        pages = source.orders_pages(
            since=since, cursor=cursor, page_size=page_size, max_pages=max_pages
        )
        try:
            async for page in pages:
                yield page
        finally:
            await pages.aclose()
        return
    while True:
        page = await source.orders_page(since=since, cursor=cursor, page_size=page_size)
        yield page
        if not page.has_next:
            return
        cursor = page.cursor


class PlatformCallError(Exception):
    """A platform API call failed; `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class DiscountCodeRequest:
    """A redeemed reward, to be made a real discount code on the platform."""

    code: str
    title: str
    kind: str  # api.rewards.models.RewardKind value
    currency: str
    value_minor: int | None = None
    percent: int | None = None
    product_ref: str | None = None
    min_order_minor: int | None = None
    customer_external_id: str | None = None
    ends_at: datetime | None = None


class DiscountCodePusher(Protocol):
    async def create_discount_code(self, request: DiscountCodeRequest) -> str:
        """Create the code on the platform; returns the platform's id for it.

        Raises PlatformCallError. Creating a code that already exists succeeds
        (returns the existing id), so retries are safe.
        """
        ...


class PlatformClient(OrderSource, DiscountCodePusher, Protocol):
    """Everything Ladder asks of a platform's API for one shop."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None

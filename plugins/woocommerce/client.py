"""The WooCommerce REST API (wc/v3), as Ladder uses it: the order history
(backfill and reconcile), refunds, reward coupons, webhooks and the key check
of the install callback.

Facts behind every choice are in platforms.md (`../shared/research/`, §8 REST
API v3, §9 app authentication).

Base URL and authentication (§8). Every call goes to
`{site_url}/wp-json/wc/v3/...` (pretty permalinks are required). Over HTTPS
the consumer key and secret travel as HTTP Basic credentials. Over plain HTTP
WooCommerce only accepts OAuth 1.0a "one-legged" signing in the query string:
`oauth_consumer_key`, `oauth_nonce`, `oauth_signature_method=HMAC-SHA1`,
`oauth_timestamp` (within 15 minutes of the store's clock) and
`oauth_signature`, keyed with `consumer_secret&` (no token), no
`oauth_version`, the body unsigned. Keys and values are percent-encoded as RFC
5849 §3.6 says (RFC 3986 unreserved characters kept, everything else `%XX`).
The signature base string is built exactly as WooCommerce's
`WC_REST_Authentication::check_oauth_signature` rebuilds it:
`METHOD&enc(url)&` + the sorted, encoded `key%3Dvalue` pairs joined by `%26`.
RFC 5849 §3.4.1.1 would encode the already encoded pairs once more; the two
agree for values made of unreserved characters only, but not for
`modified_after` (its colons), so the client follows the server.

Retries (as the Shopify client): HTTP 429 and 503 wait `Retry-After` (1 s
without one); other 5xx, 408 and transport errors back off exponentially; after
`max_retries` retries PlatformCallError(retryable=True). 401/403 (keys refused
or lacking permission), 404 and every other error are
PlatformCallError(retryable=False); `WooCommerceAPIError` carries the HTTP
status and WooCommerce's error `code`.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from api.core.money import to_major
from api.orders.events import OrderEvent
from api.platforms import (
    DiscountCodeRequest,
    OrderPage,
    PlatformCallError,
    UnsupportedPayloadError,
)
from plugins.woocommerce import mapping

logger = logging.getLogger("ladder.woocommerce")

API_PATH = "/wp-json/wc/v3"
# `per_page` is at most 100 on every collection (platforms.md §8).
MAX_PAGE = 100
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 300.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# Every backfill order maps as the state-based topic would (mapping module docs).
BACKFILL_TOPIC = "order.updated"
# Each page re-reads this many orders of the previous one (see orders_page).
PAGE_OVERLAP = 10
# `modified_after` is exclusive and whole seconds; read this much before `since`.
SINCE_OVERLAP = timedelta(seconds=60)
# WooCommerce HTML-decodes webhook secrets before signing: keep them plain.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9]{16,}")
CODE_EXISTS = "woocommerce_rest_coupon_code_already_exists"

Sleep = Callable[[float], Awaitable[None]]


def normalize_site_url(url: str) -> str:
    """The store's URL as `scheme://host[:port][/path]`, no trailing slash;
    ValueError unless it is an absolute http(s) URL without query or fragment."""
    if not isinstance(url, str):
        raise ValueError(f"not a store URL: {url!r}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) store URL: {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"a store URL has no query, fragment or user: {url!r}")
    return f"{scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def retry_after(response: httpx.Response) -> float:
    """`Retry-After` in seconds (a number or an HTTP date); 1 s without one."""
    value = response.headers.get("Retry-After")
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# --- OAuth 1.0a one-legged --------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 5849 §3.6: UTF-8, then `%XX` (upper case) for all but A-Z a-z 0-9 -._~"""
    return quote(value, safe="-._~")


def signature_base_string(
    method: str, url: str, params: Iterable[tuple[str, str]]
) -> str:
    """The string WooCommerce signs: `METHOD&enc(url)&k%3Dv%26k%3Dv...`, the
    pairs sorted by encoded key then value (see the module docs)."""
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    joined = "%26".join(f"{k}%3D{v}" for k, v in pairs)
    return f"{method.upper()}&{percent_encode(url)}&{joined}"


def oauth_signature(
    method: str, url: str, params: Iterable[tuple[str, str]], consumer_secret: str
) -> str:
    """Base64 HMAC-SHA1 of the base string, keyed with `consumer_secret&`."""
    base = signature_base_string(method, url, params)
    key = f"{consumer_secret}&".encode()
    digest = hmac.new(key, base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_query(
    method: str,
    url: str,
    params: Mapping[str, str],
    *,
    consumer_key: str,
    consumer_secret: str,
    timestamp: int,
    nonce: str,
) -> str:
    """The query string of an OAuth 1.0a one-legged request: the request's own
    parameters plus the oauth_* ones, every key and value percent-encoded."""
    signed = dict(params)
    signed.update(
        {
            "oauth_consumer_key": consumer_key,
            "oauth_nonce": nonce,
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": str(timestamp),
        }
    )
    signed["oauth_signature"] = oauth_signature(
        method, url, signed.items(), consumer_secret
    )
    return "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in signed.items()
    )


# --- errors -----------------------------------------------------------------------


class WooCommerceAPIError(PlatformCallError):
    """WooCommerce answered with an error: its HTTP status and error `code`."""

    def __init__(
        self, message: str, *, retryable: bool, status: int, code: str | None = None
    ):
        super().__init__(message, retryable=retryable)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class _Retry:
    reason: str
    wait: float | None = None  # None: exponential backoff


def _error_body(response: httpx.Response) -> tuple[str | None, str]:
    """WooCommerce's `{"code", "message", "data": {"status"}}`, as (code, message)."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    if isinstance(body, Mapping):
        code = body.get("code")
        message = body.get("message")
        return (
            code if isinstance(code, str) else None,
            str(message) if message is not None else "",
        )
    return None, str(body)[:200]


# --- helpers ----------------------------------------------------------------------


def modified_after(since: datetime | None, overlap: timedelta) -> str | None:
    """`since - overlap` as WooCommerce's naive GMT ISO time (with
    `dates_are_gmt=true`); None for the whole history."""
    if since is None:
        return None
    moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC) - overlap
    return moment.replace(microsecond=0, tzinfo=None).isoformat()


def gmt_time(value: Any) -> datetime | None:
    """A `*_gmt` field (ISO 8601 without an offset, UTC) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _gmt_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def _amount(minor: int, currency: str) -> str:
    return str(to_major(minor, currency))


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _page_number(cursor: str | None) -> int:
    if cursor is None:
        return 1
    try:
        page = int(cursor)
    except ValueError:
        page = 0
    if page < 1:
        raise PlatformCallError(
            f"not a WooCommerce page cursor: {cursor!r}", retryable=False
        )
    return page


def _order_key(order: Mapping[str, Any]) -> tuple[str, str]:
    return str(order.get("id")), str(order.get("date_modified_gmt"))


# --- the client -------------------------------------------------------------------


class WooCommerceAPI:
    """One store's REST API: an `OrderSource` and a `DiscountCodePusher`.

    `sleep`, `clock` (seconds since the epoch, for OAuth timestamps) and `nonce`
    are injectable so tests run on a fake clock. The keys are never logged and
    not in `repr`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        site_url: str,
        consumer_key: str,
        consumer_secret: str,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 5,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] | None = None,
        page_overlap: int = PAGE_OVERLAP,
        since_overlap: timedelta = SINCE_OVERLAP,
    ) -> None:
        self.site_url = normalize_site_url(site_url)
        self.base_url = f"{self.site_url}{API_PATH}"
        self.oauth = self.site_url.startswith("http://")
        self.max_retries = max(0, max_retries)
        self.page_overlap = max(0, page_overlap)
        self.since_overlap = since_overlap
        self._http = http
        self._key = consumer_key
        self._secret = consumer_secret
        self._sleep = sleep
        self._clock = clock
        self._nonce = nonce or (lambda: secrets.token_hex(16))
        # The last page served: (modified_after, page size, page number) and
        # its orders' (id, date_modified_gmt), so the next page's overlap is
        # not served twice by the same client.
        self._last_page: tuple[tuple[str | None, int, int], set[tuple[str, str]]]
        self._last_page = ((None, 0, 0), set())

    def __repr__(self) -> str:
        auth = "oauth1" if self.oauth else "basic"
        return f"WooCommerceAPI(site_url={self.site_url!r}, auth={auth!r})"

    # --- transport --------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """One call to `{base}{path}`, retried as the module docs say; returns
        the 2xx response (raises PlatformCallError otherwise)."""
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        retries = 0
        backoffs = 0
        while True:
            outcome = await self._send(method, path, query, json)
            if not isinstance(outcome, _Retry):
                return outcome
            if retries >= self.max_retries:
                raise PlatformCallError(
                    f"WooCommerce {method} {path}: {outcome.reason}, "
                    f"still after {retries + 1} attempts",
                    retryable=True,
                )
            retries += 1
            wait = outcome.wait
            if wait is None:
                wait = min(BACKOFF_CAP, BACKOFF_BASE * 2**backoffs)
                backoffs += 1
            logger.info(
                "woocommerce %s %s: %s, retrying in %.2f s",
                self.site_url,
                path,
                outcome.reason,
                wait,
            )
            await self._sleep(wait)

    async def _send(
        self, method: str, path: str, query: dict[str, str], json: Any
    ) -> httpx.Response | _Retry:
        url = f"{self.base_url}{path}"
        headers = {"Accept": "application/json"}
        try:
            if self.oauth:
                signed = signed_query(
                    method,
                    url,
                    query,
                    consumer_key=self._key,
                    consumer_secret=self._secret,
                    timestamp=int(self._clock()),
                    nonce=self._nonce(),
                )
                response = await self._http.request(
                    method, f"{url}?{signed}", json=json, headers=headers
                )
            else:
                response = await self._http.request(
                    method,
                    url,
                    params=query,
                    json=json,
                    headers=headers,
                    auth=httpx.BasicAuth(self._key, self._secret),
                )
        except httpx.TransportError as error:
            return _Retry(f"unreachable ({type(error).__name__})")
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status in (429, 503):
            return _Retry(f"HTTP {status}", retry_after(response))
        if status >= 500 or status == 408:
            return _Retry(f"HTTP {status}")
        code, message = _error_body(response)
        if status in (401, 403):
            what = "refused the API keys" if status == 401 else "denied access"
            text = f"WooCommerce {what} (HTTP {status}, {code}): {message}"
        elif status == 404:
            text = f"WooCommerce has no {path} (HTTP 404, {code}): {message}"
        else:
            text = f"WooCommerce answered HTTP {status} ({code}): {message}"
        raise WooCommerceAPIError(text, retryable=False, status=status, code=code)

    async def get_json(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, httpx.Response]:
        response = await self.request("GET", path, params=params)
        return _body(response, path), response

    # --- OrderSource ------------------------------------------------------------

    async def orders_page(
        self,
        *,
        since: datetime | None,
        cursor: str | None,
        page_size: int = MAX_PAGE,
    ) -> OrderPage:
        """Orders changed since `since`, oldest change first, as events.

        `GET /orders?orderby=modified&order=asc&modified_after=..&dates_are_gmt=true
        &status=any&per_page=..&offset=..`; every order maps through
        `mapping.order_events("order.updated", order)`, its current state, as a
        webhook of it would. The cursor is the next page's number as text;
        `has_next` comes from `X-WP-Total`; `updated_until` is the newest
        `date_modified_gmt` of the page. `page_size` is capped at 100.

        Page numbers over a moving set shift: an order changed during the crawl
        leaves its place for the end (ordered by modified time ascending, it is
        read again there), and every later order moves one place up, so the one
        at the next page's start would slide onto the page already read and be
        missed. So page N starts `page_overlap` orders before page N-1 ended
        (`offset`, not `page`): the orders that slid back are read on the next
        page; the repeated ones are dropped when this client served the previous
        page itself (a resumed run in a new process reads them twice, which the
        idempotent ingest absorbs). More than `page_overlap` such changes
        between two page reads can still skip an order. `modified_after` is
        exclusive and in whole seconds, so the window starts `since_overlap`
        before `since`: a re-read from the checkpoint's modified time repeats
        its last orders rather than missing one saved in the same second. Trashed orders are not in
        `status=any` (WooCommerce leaves trash out); `order.deleted` reports them.
        """
        page = _page_number(cursor)
        size = max(1, min(page_size, MAX_PAGE))
        overlap = min(self.page_overlap, (size - 1) // 2)
        stride = size - overlap
        offset = (page - 1) * stride
        after = modified_after(since, self.since_overlap)
        body, response = await self.get_json(
            "/orders",
            {
                "per_page": size,
                "offset": offset,
                "orderby": "modified",
                "order": "asc",
                "modified_after": after,
                "dates_are_gmt": "true" if after is not None else None,
                "status": "any",
            },
        )
        if not isinstance(body, list):
            raise PlatformCallError(
                "WooCommerce returned no order list", retryable=False
            )
        orders = [order for order in body if isinstance(order, dict)]
        total = _int_header(response, "X-WP-Total")
        if total is not None:
            has_next = offset + len(body) < total and len(body) > 0
        else:
            has_next = len(body) >= size

        previous, keys = self._last_page
        seen = keys if previous == (after, size, page - 1) else set()
        self._last_page = ((after, size, page), {_order_key(o) for o in orders})

        events: list[OrderEvent] = []
        served = 0
        updated_until: datetime | None = None
        for order in orders:
            modified = gmt_time(order.get("date_modified_gmt"))
            if modified is not None and (
                updated_until is None or modified > updated_until
            ):
                updated_until = modified
            if _order_key(order) in seen:
                continue
            served += 1
            try:
                events.extend(mapping.order_events(BACKFILL_TOPIC, order))
            except UnsupportedPayloadError as error:
                logger.warning(
                    "woocommerce order %s skipped: %s", order.get("id"), error
                )
        return OrderPage(
            events=events,
            orders_seen=served,
            cursor=str(page + 1),
            has_next=has_next,
            updated_until=updated_until,
        )

    async def order(self, order_id: int | str) -> dict[str, Any]:
        """`GET /orders/{id}`: one order as its webhooks carry it."""
        body, _ = await self.get_json(f"/orders/{_id(order_id)}")
        if not isinstance(body, dict):
            raise PlatformCallError("WooCommerce returned no order", retryable=False)
        return body

    async def refunds(self, order_id: int | str) -> list[dict[str, Any]]:
        """`GET /orders/{id}/refunds`: the order's refunds with their line items
        (negative quantities and totals; none for an amount-only refund)."""
        return await self._all(f"/orders/{_id(order_id)}/refunds")

    async def _all(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a collection, 100 a page, following `X-WP-TotalPages`."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body, response = await self.get_json(
                path, {**(params or {}), "per_page": MAX_PAGE, "page": page}
            )
            if not isinstance(body, list):
                raise PlatformCallError(
                    f"WooCommerce returned no list for {path}", retryable=False
                )
            items.extend(item for item in body if isinstance(item, dict))
            pages = _int_header(response, "X-WP-TotalPages")
            if pages is None:
                if len(body) < MAX_PAGE:
                    return items
            elif page >= pages:
                return items
            page += 1

    # --- DiscountCodePusher -----------------------------------------------------

    async def create_discount_code(self, request: DiscountCodeRequest) -> str:
        """The reward as a single-use coupon (`POST /coupons`); returns its id.

        Per reward kind:
        - fixed_amount, store_credit: `fixed_cart`, `amount` the value;
        - percentage: `percent`, `amount` the percent (1-100);
        - free_shipping: `fixed_cart` of 0 with `free_shipping: true` (the
          store's free shipping method must allow "a valid free shipping
          coupon");
        - free_product: `percent` 100 on `product_ids` [the product] (a numeric
          WooCommerce product or variation id), one item
          (`limit_usage_to_x_items: 1`);
        - custom: no coupon (PlatformCallError, not retryable).
        All: `usage_limit` 1, `usage_limit_per_user` 1, `individual_use`,
        `description` the title, `minimum_amount` from `min_order_minor`,
        `date_expires` the expiry in UTC (an explicit `Z`, which WooCommerce
        honours over the site's timezone) and `email_restrictions` [the
        customer's email]: `customer_external_id` is WooCommerce's customer id,
        so the email is read from `GET /customers/{id}` (an id with an `@` is
        taken as the email, of a guest); without one the code is for any buyer.
        A code already on the store (a retried call; WooCommerce compares codes
        case-insensitively) returns the existing coupon's id.
        """
        payload = self._coupon_basics(request)
        payload.update(_coupon_value(request))
        email = await self._customer_email(request.customer_external_id)
        if email:
            payload["email_restrictions"] = [email]
        try:
            response = await self.request("POST", "/coupons", json=payload)
        except WooCommerceAPIError as error:
            if error.code == CODE_EXISTS:
                return await self._existing_coupon(request.code)
            raise
        coupon = _body(response, "/coupons")
        if not isinstance(coupon, Mapping) or not coupon.get("id"):
            raise PlatformCallError("WooCommerce returned no coupon", retryable=False)
        return str(coupon["id"])

    @staticmethod
    def _coupon_basics(request: DiscountCodeRequest) -> dict[str, Any]:
        if request.kind == "custom":
            raise PlatformCallError(
                "no platform code for custom rewards", retryable=False
            )
        if not request.code.strip():
            raise PlatformCallError("a coupon needs a code", retryable=False)
        payload: dict[str, Any] = {
            "code": request.code,
            "description": request.title,
            "individual_use": True,
            "usage_limit": 1,
            "usage_limit_per_user": 1,
        }
        if request.min_order_minor:
            payload["minimum_amount"] = _amount(
                request.min_order_minor, request.currency
            )
        if request.ends_at is not None:
            payload["date_expires"] = _gmt_text(request.ends_at) + "Z"
        return payload

    async def _customer_email(self, customer_ref: str | None) -> str | None:
        ref = (customer_ref or "").strip()
        if "@" in ref:
            return ref
        if not ref.isdigit() or int(ref) == 0:
            return None
        try:
            body, _ = await self.get_json(f"/customers/{int(ref)}")
        except WooCommerceAPIError as error:
            if error.status == 404:
                logger.warning(
                    "woocommerce customer %s not found: code for any buyer", ref
                )
                return None
            raise
        email = body.get("email") if isinstance(body, Mapping) else None
        if not isinstance(email, str) or not email.strip():
            billing = body.get("billing") if isinstance(body, Mapping) else None
            email = billing.get("email") if isinstance(billing, Mapping) else None
        return email.strip() if isinstance(email, str) and email.strip() else None

    async def _existing_coupon(self, code: str) -> str:
        body, _ = await self.get_json("/coupons", {"code": code})
        wanted = code.strip().lower()
        if isinstance(body, list):
            for coupon in body:
                if (
                    isinstance(coupon, Mapping)
                    and str(coupon.get("code", "")).lower() == wanted
                    and coupon.get("id")
                ):
                    return str(coupon["id"])
        raise PlatformCallError(
            f"WooCommerce says coupon {code} exists but cannot find it",
            retryable=True,
        )

    # --- webhooks and keys ------------------------------------------------------

    async def create_webhooks(
        self, delivery_url: str, secret: str, topics: Sequence[str]
    ) -> list[int]:
        """An active webhook per topic (`order.updated`, `customer.created`...)
        to `delivery_url`, signed with `secret`; returns their ids in the
        topics' order.

        A webhook the store already has for the same topic and URL (a reinstall,
        or one WooCommerce disabled after failed deliveries) is updated instead
        (`PUT /webhooks/{id}` with the new secret and `status: active`), so
        there stays one per topic. The secret must be 16+ letters and digits:
        WooCommerce HTML-decodes it before signing (platforms.md §7).
        """
        if not SECRET_PATTERN.fullmatch(secret):
            raise ValueError("a webhook secret is 16 or more letters and digits")
        existing: dict[tuple[str, str], int] = {}
        for hook in await self._all("/webhooks"):
            key = (str(hook.get("topic")), str(hook.get("delivery_url")))
            if isinstance(hook.get("id"), int) and key not in existing:
                existing[key] = hook["id"]
        ids: list[int] = []
        for topic in topics:
            found = existing.get((topic, delivery_url))
            settings = {"secret": secret, "status": "active"}
            if found is not None:
                response = await self.request(
                    "PUT", f"/webhooks/{found}", json=settings
                )
            else:
                response = await self.request(
                    "POST",
                    "/webhooks",
                    json={
                        "name": f"Ladder {topic}",
                        "topic": topic,
                        "delivery_url": delivery_url,
                        **settings,
                    },
                )
            hook = _body(response, "/webhooks")
            if not isinstance(hook, Mapping) or not isinstance(hook.get("id"), int):
                raise PlatformCallError(
                    "WooCommerce returned no webhook", retryable=False
                )
            ids.append(hook["id"])
        return ids

    async def verify_keys(self) -> bool:
        """Whether the store accepts these keys: one cheap authenticated read
        (`GET /orders?per_page=1`, which the reconcile needs anyway), as the
        unsigned wc-auth callback must be checked before its keys are kept
        (platforms.md §9). False when they are refused (401/403) or the URL has
        no WooCommerce REST API (404); PlatformCallError when the store cannot
        tell now (unreachable, 5xx: retryable)."""
        try:
            await self.get_json("/orders", {"per_page": 1})
        except WooCommerceAPIError as error:
            if error.status in (401, 403, 404):
                logger.info("woocommerce %s refused the keys: %s", self.site_url, error)
                return False
            raise
        return True


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _id(value: int | str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise PlatformCallError(f"not a WooCommerce id: {value!r}", retryable=False)
    return number


def _body(response: httpx.Response, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PlatformCallError(
            f"WooCommerce {path} answered without JSON (are pretty permalinks on?)",
            retryable=False,
        ) from None


def _coupon_value(request: DiscountCodeRequest) -> dict[str, Any]:
    kind = request.kind
    if kind in ("fixed_amount", "store_credit"):
        if not request.value_minor or request.value_minor <= 0:
            raise PlatformCallError(
                f"a {kind} reward needs a positive value", retryable=False
            )
        return {
            "discount_type": "fixed_cart",
            "amount": _amount(request.value_minor, request.currency),
        }
    if kind == "percentage":
        percent = request.percent
        if percent is None or not 0 < percent <= 100:
            raise PlatformCallError(
                f"a percentage reward needs 1-100 %, not {percent}", retryable=False
            )
        return {"discount_type": "percent", "amount": str(percent)}
    if kind == "free_shipping":
        return {"discount_type": "fixed_cart", "amount": "0", "free_shipping": True}
    if kind == "free_product":
        ref = (request.product_ref or "").strip()
        if not ref.isdigit() or int(ref) == 0:
            raise PlatformCallError(
                f"a free product reward needs a WooCommerce product id, not {ref!r}",
                retryable=False,
            )
        return {
            "discount_type": "percent",
            "amount": "100",
            "product_ids": [int(ref)],
            "limit_usage_to_x_items": 1,
        }
    raise PlatformCallError(
        f"no WooCommerce coupon for reward kind {kind!r}", retryable=False
    )

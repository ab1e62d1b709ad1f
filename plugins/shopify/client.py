"""The Shopify Admin API, as Ladder uses it: OAuth tokens, the order history
(backfill), reward discount codes and webhook subscriptions.

Facts behind every choice are in platforms.md (`../shared/research/`):
§3 OAuth, §4 GraphQL backfill and rate limits, §6 discount codes.

Rate limits (§4). Each response carries `extensions.cost` with the leaky
bucket's `throttleStatus`. The client
- paces: before a query whose cost it can foresee, it sleeps until the bucket
  (as last reported, refilled at `restoreRate` since) holds that cost;
- on `THROTTLED` waits `(requestedQueryCost - currentlyAvailable) / restoreRate`
  (at least MIN_THROTTLE_WAIT) and retries;
- on HTTP 429 and 503 waits `Retry-After` (1 s without one) and retries, like
  Shopify's own client; other 5xx, transport errors and Shopify's
  INTERNAL_SERVER_ERROR are retried with exponential backoff;
- gives up after `max_retries` retries with PlatformCallError(retryable=True);
  401/403 and any other error are PlatformCallError(retryable=False).

Query size. A query may cost at most 1000 points (MAX_COST_EXCEEDED above that)
and never more than the bucket holds, and a connection costs about `first`
times its node: 250 orders with their line items cost far more. So the page
size asked for is an upper bound; the client learns each query's cost per item
from `requestedQueryCost` (or the MAX_COST_EXCEEDED error) and sends the largest
page that fits. For very large histories Shopify recommends bulk operations.
"""

import asyncio
import logging
import re
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from api.core import tasks
from api.core.money import to_major
from api.orders.events import OrderEvent
from api.platforms import (
    DiscountCodeRequest,
    OrderPage,
    PlatformCallError,
    UnsupportedPayloadError,
)
from plugins.shopify import mapping
from plugins.shopify.graphql_orders import (
    NODE_FRAGMENTS,
    ORDER_FIELDS,
    REFUND_CONNECTIONS,
    REFUND_FIELDS,
    rest_order,
)

logger = logging.getLogger("ladder.shopify")

API_VERSION = "2025-10"
# Shopify's cap on one query's requested cost (platforms.md §4, ⚠ not
# re-verified there); a MAX_COST_EXCEEDED error tells the real one.
MAX_QUERY_COST = 1000.0
# Connections return at most 250 nodes; input arrays hold at most 250 items.
MAX_PAGE = 250
MIN_THROTTLE_WAIT = 0.5
# Follow-up queries of one page (orders with more line items) in flight at
# once; the cost bucket paces them like any other query.
FOLLOW_UPS_AT_ONCE = 4
# Added to every computed wait: the bucket is compared in floating point, and a
# wait that leaves it a hair short costs another refusal and MIN_THROTTLE_WAIT.
PACE_MARGIN = 0.05
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 300.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# Orders whose change we report: the state-based topic (mapping module docs).
BACKFILL_TOPIC = "orders/updated"

# Anchored, as Shopify's security checks require (platforms.md §3).
SHOP_DOMAIN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com")

Sleep = Callable[[float], Awaitable[None]]


def valid_shop(shop: str) -> str:
    """The shop's `*.myshopify.com` host name; ValueError for anything else."""
    if not isinstance(shop, str) or not SHOP_DOMAIN.fullmatch(shop):
        raise ValueError(f"not a myshopify.com shop domain: {shop!r}")
    return shop.lower()


# --- cost and throttling --------------------------------------------------------


@dataclass(frozen=True)
class QueryCost:
    """`extensions.cost` of a GraphQL response."""

    requested: float | None
    actual: float | None
    maximum_available: float
    currently_available: float
    restore_rate: float


def parse_cost(body: Mapping[str, Any]) -> QueryCost | None:
    """The cost block of a response body, or None when it has none."""
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
    if not isinstance(cost, Mapping) or not isinstance(status, Mapping):
        return None
    try:
        return QueryCost(
            requested=_number(cost.get("requestedQueryCost")),
            actual=_number(cost.get("actualQueryCost")),
            maximum_available=float(status["maximumAvailable"]),
            currently_available=float(status["currentlyAvailable"]),
            restore_rate=float(status["restoreRate"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def error_codes(body: Mapping[str, Any]) -> set[str]:
    """`errors[].extensions.code` of a response body."""
    errors = body.get("errors")
    codes = set()
    if isinstance(errors, list):
        for error in errors:
            extensions = error.get("extensions") if isinstance(error, Mapping) else None
            if isinstance(extensions, Mapping) and isinstance(
                extensions.get("code"), str
            ):
                codes.add(extensions["code"])
    return codes


def is_throttled(body: Mapping[str, Any]) -> bool:
    return "THROTTLED" in error_codes(body)


def throttle_wait(cost: QueryCost | None) -> float:
    """Seconds until the bucket holds the refused query's cost (platforms.md §4)."""
    if cost is None or cost.requested is None or cost.restore_rate <= 0:
        return MIN_THROTTLE_WAIT
    missing = cost.requested - cost.currently_available
    return max(MIN_THROTTLE_WAIT, missing / cost.restore_rate + PACE_MARGIN)


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


class QueryCostError(PlatformCallError):
    """The query asks for more than one query may cost: waiting cannot help."""

    def __init__(self, message: str, *, cost: float, limit: float):
        super().__init__(message, retryable=False)
        self.cost = cost
        self.limit = limit


@dataclass(frozen=True)
class _Retry:
    reason: str
    wait: float | None = None  # None: exponential backoff


# --- queries --------------------------------------------------------------------

ORDERS_QUERY = (
    """
query LadderOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { ...LadderOrder }
  }
}
"""
    + ORDER_FIELDS
)

REFUNDS_QUERY = (
    """
query LadderRefunds($ids: [ID!]!) {
  nodes(ids: $ids) { ...LadderRefund }
}
"""
    + REFUND_FIELDS
)


def _more_query(owner_type: str, connection: str) -> str:
    """The next page of one nested connection of one node."""
    fragment_name, fragment = NODE_FRAGMENTS[connection]
    return (
        f"""
query LadderMore($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on {owner_type} {{
      {connection}(first: $first, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ ...{fragment_name} }}
      }}
    }}
  }}
}}
"""
        + fragment
    )


_USER_ERRORS = "userErrors { field code message }"

BASIC_CODE_MUTATION = f"""
mutation LadderBasicCode($input: DiscountCodeBasicInput!) {{
  discountCodeBasicCreate(basicCodeDiscount: $input) {{
    codeDiscountNode {{ id }}
    {_USER_ERRORS}
  }}
}}
"""

FREE_SHIPPING_CODE_MUTATION = f"""
mutation LadderFreeShippingCode($input: DiscountCodeFreeShippingInput!) {{
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $input) {{
    codeDiscountNode {{ id }}
    {_USER_ERRORS}
  }}
}}
"""

CODE_BY_CODE_QUERY = """
query LadderCodeByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}
"""

WEBHOOK_MUTATION = """
mutation LadderWebhook(
  $topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id }
    userErrors { field message }
  }
}
"""

WEBHOOKS_QUERY = """
query LadderWebhooks($topics: [WebhookSubscriptionTopic!], $after: String) {
  webhookSubscriptions(first: 100, topics: $topics, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id uri }
  }
}
"""


def search_since(since: datetime | None) -> str | None:
    """`updated_at:>='2026-01-01T00:00:00Z'` (inclusive: a boundary order is read
    again, which the idempotent ingest absorbs); None for the whole history."""
    if since is None:
        return None
    moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return f"updated_at:>='{text.replace('+00:00', 'Z')}'"


def webhook_topic(topic: str) -> str:
    """`orders/paid` -> `ORDERS_PAID` (WebhookSubscriptionTopic); enums pass."""
    return topic.strip().replace("/", "_").upper()


def _gid(kind: str, ref: str) -> str:
    return ref if ref.startswith("gid://") else f"gid://shopify/{kind}/{ref}"


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if isinstance(connection, list):
        return [node for node in connection if isinstance(node, dict)]
    if isinstance(connection, Mapping) and isinstance(connection.get("nodes"), list):
        return [node for node in connection["nodes"] if isinstance(node, dict)]
    return []


def _page_info(connection: Any) -> tuple[bool, str | None]:
    info = connection.get("pageInfo") if isinstance(connection, Mapping) else None
    if not isinstance(info, Mapping):
        return False, None
    return bool(info.get("hasNextPage")), info.get("endCursor")


# --- the client -----------------------------------------------------------------


class ShopifyAdmin:
    """One shop's Admin API: an `OrderSource` and a `DiscountCodePusher`.

    `sleep` and `clock` are injectable so tests wait on a fake clock. The
    token is never logged and not in `repr`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        shop: str,
        access_token: str,
        api_version: str,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 5,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.shop = valid_shop(shop)
        self.api_version = api_version
        self.endpoint = f"https://{self.shop}/admin/api/{api_version}/graphql.json"
        self.max_retries = max(0, max_retries)
        self._http = http
        self._token = access_token
        self._sleep = sleep
        self._clock = clock
        self._now = now or (lambda: datetime.now(UTC))
        self.last_cost: QueryCost | None = None
        self._cost_seen_at = 0.0
        self._cost_limit = MAX_QUERY_COST
        # Requested cost per item (order, refund, line...) of each sized query,
        # and the last (item count, requested cost) seen for it.
        self._unit_cost: dict[str, float] = {}
        self._last_sized: dict[str, tuple[int, float]] = {}
        # Last requested cost of each fixed query text.
        self._query_cost: dict[str, float] = {}
        # Expected cost of the queries sent and not yet answered.
        self._in_flight = 0.0
        self._pacing = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ShopifyAdmin(shop={self.shop!r}, api_version={self.api_version!r})"

    # --- transport --------------------------------------------------------------

    async def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        expected_cost: float | None = None,
    ) -> dict[str, Any]:
        """Run one query or mutation; returns its `data` (see the module docs).

        `expected_cost` (else the query's last requested cost) paces the call.
        """
        payload = {"query": query, "variables": dict(variables or {})}
        retries = 0
        backoffs = 0
        while True:
            expected = (
                expected_cost
                if expected_cost is not None
                else self._query_cost.get(query)
            )
            # Paced one query at a time, each reserving its cost until it is
            # answered: queries sent at once (a page's follow-ups, the next
            # page) must not each count on the same points of the bucket.
            async with self._pacing:
                await self._pace(expected)
                self._in_flight += expected or 0.0
            try:
                outcome = await self._send(payload, query)
            finally:
                self._in_flight -= expected or 0.0
            if not isinstance(outcome, _Retry):
                return outcome
            if retries >= self.max_retries:
                raise PlatformCallError(
                    f"Shopify Admin API: {outcome.reason}, "
                    f"still after {retries + 1} attempts",
                    retryable=True,
                )
            retries += 1
            wait = outcome.wait
            if wait is None:
                wait = min(BACKOFF_CAP, BACKOFF_BASE * 2**backoffs)
                backoffs += 1
            logger.info(
                "shopify %s: %s, retrying in %.2f s", self.shop, outcome.reason, wait
            )
            await self._sleep(wait)

    async def _send(
        self, payload: Mapping[str, Any], query: str
    ) -> dict[str, Any] | _Retry:
        try:
            response = await self._http.post(
                self.endpoint,
                json=payload,
                headers={
                    "X-Shopify-Access-Token": self._token,
                    "Accept": "application/json",
                },
            )
        except httpx.TransportError as error:
            return _Retry(f"unreachable ({type(error).__name__})")
        status = response.status_code
        if status in (401, 403):
            raise PlatformCallError(
                f"Shopify refused the access token (HTTP {status})", retryable=False
            )
        if status in (429, 503):
            return _Retry(f"HTTP {status}", retry_after(response))
        if status >= 500:
            return _Retry(f"HTTP {status}")
        if status != 200:
            raise PlatformCallError(
                f"Shopify answered HTTP {status}: {response.text[:200]}",
                retryable=False,
            )
        try:
            body = response.json()
        except ValueError:
            return _Retry("an unreadable response")
        if not isinstance(body, dict):
            return _Retry("an unreadable response")
        cost = parse_cost(body)
        if cost is not None:
            self._note_cost(cost, query)
        if body.get("errors"):
            return self._graphql_errors(body, cost)
        data = body.get("data")
        if not isinstance(data, dict):
            raise PlatformCallError("Shopify returned no data", retryable=False)
        return data

    def _graphql_errors(self, body: dict[str, Any], cost: QueryCost | None) -> _Retry:
        errors = body["errors"]
        codes = error_codes(body)
        if "THROTTLED" in codes:
            if (
                cost is not None
                and cost.requested is not None
                and cost.requested > cost.maximum_available
            ):
                raise QueryCostError(
                    f"query cost {cost.requested:g} exceeds the bucket "
                    f"({cost.maximum_available:g})",
                    cost=cost.requested,
                    limit=cost.maximum_available,
                )
            return _Retry("throttled", throttle_wait(cost))
        if "MAX_COST_EXCEEDED" in codes:
            extensions = next(
                e["extensions"]
                for e in errors
                if isinstance(e, Mapping)
                and isinstance(e.get("extensions"), Mapping)
                and e["extensions"].get("code") == "MAX_COST_EXCEEDED"
            )
            limit = float(extensions.get("maxCost") or self._cost_limit)
            requested = float(extensions.get("cost") or 2 * limit)
            raise QueryCostError(
                f"query cost {requested:g} exceeds the single query limit {limit:g}",
                cost=requested,
                limit=limit,
            )
        if "INTERNAL_SERVER_ERROR" in codes:
            return _Retry("internal error")
        if isinstance(errors, list):
            messages = "; ".join(
                str(e.get("message", e)) if isinstance(e, Mapping) else str(e)
                for e in errors
            )
        else:
            messages = str(errors)
        raise PlatformCallError(f"Shopify GraphQL error: {messages}", retryable=False)

    def _note_cost(self, cost: QueryCost, query: str) -> None:
        self.last_cost = cost
        self._cost_seen_at = self._clock()
        if cost.requested is not None and cost.actual is not None:
            self._query_cost[query] = cost.requested

    def available_now(self) -> float | None:
        """Points the bucket holds now, from the last status and the clock."""
        status = self.last_cost
        if status is None:
            return None
        elapsed = max(0.0, self._clock() - self._cost_seen_at)
        return min(
            status.maximum_available,
            status.currently_available + elapsed * status.restore_rate,
        )

    async def _pace(self, expected_cost: float | None) -> None:
        status = self.last_cost
        available = self.available_now()
        if expected_cost is None or status is None or available is None:
            return
        available -= self._in_flight
        if expected_cost > status.maximum_available or status.restore_rate <= 0:
            return  # can never fit: Shopify will say so
        if available < expected_cost:
            wait = (expected_cost - available) / status.restore_rate + PACE_MARGIN
            await self._sleep(wait)

    # --- queries sized to fit ---------------------------------------------------

    def _fit(self, kind: str, wanted: int) -> int:
        unit = self._unit_cost.get(kind)
        if not unit:
            return wanted
        limit = self._cost_limit
        if self.last_cost is not None:
            limit = min(limit, self.last_cost.maximum_available)
        return max(1, min(wanted, int(limit // unit)))

    async def _sized(
        self,
        kind: str,
        query: str,
        variables: Callable[[int], dict[str, Any]],
        wanted: int,
    ) -> tuple[dict[str, Any], int]:
        """Run a query over `n` items with the largest `n <= wanted` that fits."""
        count = self._fit(kind, wanted)
        while True:
            try:
                data = await self.graphql(
                    query, variables(count), expected_cost=self._expected(kind, count)
                )
            except QueryCostError as error:
                if count <= 1:
                    raise
                self._unit_cost[kind] = error.cost / count
                self._cost_limit = min(self._cost_limit, error.limit)
                count = max(1, min(count - 1, self._fit(kind, wanted)))
                continue
            if self.last_cost is not None and self.last_cost.requested:
                self._unit_cost[kind] = self.last_cost.requested / count
                self._last_sized[kind] = (count, self.last_cost.requested)
            return data, count

    def _expected(self, kind: str, count: int) -> float | None:
        last = self._last_sized.get(kind)
        if last is not None and last[0] == count:
            return last[1]
        unit = self._unit_cost.get(kind)
        return unit * count if unit else None

    # --- OrderSource ------------------------------------------------------------

    async def orders_page(
        self,
        *,
        since: datetime | None,
        cursor: str | None,
        page_size: int = MAX_PAGE,
    ) -> OrderPage:
        """The next orders by `updated_at`, oldest change first, as events.

        Every order maps through `mapping.order_events("orders/updated", ...)`,
        so its state (paid, refunded, cancelled, test) comes through as a
        webhook of it would. The page holds at most `page_size` orders, fewer
        when more would exceed the query cost limit.
        """
        search = search_since(since)
        return await self._completed(
            await self._orders(search, cursor, page_size), cursor
        )

    async def orders_pages(
        self,
        *,
        since: datetime | None,
        cursor: str | None,
        page_size: int = MAX_PAGE,
        max_pages: int | None = None,
    ) -> AsyncGenerator[OrderPage, None]:
        """`orders_page` after `orders_page` until the last (or `max_pages`),
        each page's successor asked for as soon as its cursor is known: while
        this page's line items and refunds are completed, not after."""
        search = search_since(since)
        upcoming = asyncio.ensure_future(self._orders(search, cursor, page_size))
        taken = 0
        try:
            while True:
                connection = await upcoming
                taken += 1
                has_next, end_cursor = _page_info(connection)
                if has_next and end_cursor is None:
                    raise PlatformCallError(
                        "Shopify said more orders follow but gave no cursor",
                        retryable=True,
                    )
                has_next = has_next and taken != max_pages
                if has_next:
                    upcoming = asyncio.ensure_future(
                        self._orders(search, end_cursor, page_size)
                    )
                page = await self._completed(connection, cursor)
                yield page
                if not has_next:
                    return
                cursor = page.cursor
        finally:
            if not upcoming.done():
                upcoming.cancel()
            elif not upcoming.cancelled():
                upcoming.exception()  # read ahead for nothing: its failure too

    async def _orders(
        self, search: str | None, cursor: str | None, page_size: int
    ) -> Mapping[str, Any]:
        """One `orders` connection, as many orders as fit the cost limit."""
        wanted = max(1, min(page_size, MAX_PAGE))
        data, _ = await self._sized(
            "orders",
            ORDERS_QUERY,
            lambda n: {"first": n, "after": cursor, "query": search},
            wanted,
        )
        connection = data.get("orders")
        if not isinstance(connection, Mapping):
            raise PlatformCallError("Shopify returned no orders", retryable=False)
        return connection

    async def _completed(
        self, connection: Mapping[str, Any], cursor: str | None
    ) -> OrderPage:
        """The page of an `orders` connection, its orders completed."""
        nodes = _nodes(connection)
        has_next, end_cursor = _page_info(connection)
        # The follow-ups are independent: asked for at once, each Shopify
        # answer's latency is paid once per page rather than once per query.
        async with tasks.together() as group:
            group.create_task(self._complete_line_items(nodes))
            group.create_task(self._complete_refunds(nodes))
        events: list[OrderEvent] = []
        updated_until: datetime | None = None
        for node in nodes:
            try:
                events.extend(mapping.order_events(BACKFILL_TOPIC, rest_order(node)))
            except UnsupportedPayloadError as error:
                logger.warning("shopify order %s skipped: %s", node.get("id"), error)
            updated = _timestamp(node.get("updatedAt"))
            if updated is not None and (
                updated_until is None or updated > updated_until
            ):
                updated_until = updated
        return OrderPage(
            events=events,
            orders_seen=len(nodes),
            cursor=end_cursor or cursor,
            has_next=has_next,
            updated_until=updated_until,
        )

    async def _drain(
        self, owner: dict[str, Any], owner_type: str, connection: str
    ) -> None:
        """Fetch the rest of `owner[connection]` when it said it has more."""
        first_page = owner.get(connection)
        collected = _nodes(first_page)
        has_next, after = _page_info(first_page)
        if not has_next:
            return
        query = _more_query(owner_type, connection)
        owner_id = owner["id"]
        while has_next:

            def variables(n: int, after: str | None = after) -> dict[str, Any]:
                return {"id": owner_id, "first": n, "after": after}

            data, _ = await self._sized(
                f"{owner_type}.{connection}", query, variables, MAX_PAGE
            )
            node = data.get("node")
            page = node.get(connection) if isinstance(node, Mapping) else None
            if not isinstance(page, Mapping):
                raise PlatformCallError(
                    f"Shopify lost {owner_type} {owner.get('id')}", retryable=True
                )
            collected.extend(_nodes(page))
            has_next, after = _page_info(page)
        owner[connection] = {"nodes": collected}

    async def _complete_line_items(self, orders: list[dict[str, Any]]) -> None:
        slots = asyncio.Semaphore(FOLLOW_UPS_AT_ONCE)

        async def drain(order: dict[str, Any]) -> None:
            async with slots:
                await self._drain(order, "Order", "lineItems")

        async with tasks.together() as group:
            for order in orders:
                group.create_task(drain(order))

    async def _complete_refunds(self, orders: list[dict[str, Any]]) -> None:
        """Replace each order's refund ids by the full refunds (REFUND_FIELDS)."""
        ids = [
            refund["id"]
            for order in orders
            for refund in _nodes(order.get("refunds"))
            if isinstance(refund.get("id"), str)
        ]
        full: dict[str, dict[str, Any]] = {}
        start = 0
        while start < len(ids):

            def batch(n: int, offset: int = start) -> dict[str, Any]:
                return {"ids": ids[offset : offset + n]}

            data, count = await self._sized(
                "refunds", REFUNDS_QUERY, batch, min(MAX_PAGE, len(ids) - start)
            )
            for refund in data.get("nodes") or []:
                if not isinstance(refund, dict) or not refund.get("id"):
                    continue
                for connection in REFUND_CONNECTIONS:
                    await self._drain(refund, "Refund", connection)
                full[refund["id"]] = refund
            start += count
        for order in orders:
            refunds = []
            for stub in _nodes(order.get("refunds")):
                refund = full.get(stub.get("id", ""))
                if refund is None:
                    logger.warning(
                        "shopify refund %s of order %s not found",
                        stub.get("id"),
                        order.get("id"),
                    )
                    continue
                refunds.append(refund)
            order["refunds"] = refunds

    # --- DiscountCodePusher -----------------------------------------------------

    async def create_discount_code(self, request: DiscountCodeRequest) -> str:
        """The reward as a one-use code for that customer; returns its node id.

        Per reward kind:
        - fixed_amount: `discountAmount {amount, appliesOnEachItem: false}` off
          the whole order;
        - percentage: `percentage` = percent / 100 (Shopify takes 0.0-1.0);
        - free_shipping: `discountCodeFreeShippingCreate`, every destination;
        - free_product: the product (gid://shopify/Product/.. or a bare id) or
          variant (a ProductVariant gid) in `items`; off by `value_minor` (one
          unit's worth, so one item free) when the reward has it, else 100 %;
        - store_credit: a fixed amount code (Shopify store credit accounts need
          another scope and an existing customer account);
        - custom: no code (PlatformCallError, not retryable): the merchant
          fulfils it by hand.
        All: `usageLimit: 1`, `appliesOncePerCustomer: true`, `startsAt` now,
        `endsAt` the expiry, `context.customers.add` the customer when known
        (else all buyers), `minimumRequirement.subtotal` when the reward has a
        minimum order. A code already on the shop (a retried call) returns the
        existing node's id.
        """
        kind = request.kind
        if kind == "custom":
            raise PlatformCallError(
                "no platform code for custom rewards", retryable=False
            )
        base = self._code_basics(request)
        if kind == "free_shipping":
            data = await self.graphql(
                FREE_SHIPPING_CODE_MUTATION,
                {"input": {**base, "destination": {"all": True}}},
            )
            result = data.get("discountCodeFreeShippingCreate")
        else:
            gets = self._customer_gets(request)
            data = await self.graphql(
                BASIC_CODE_MUTATION, {"input": {**base, "customerGets": gets}}
            )
            result = data.get("discountCodeBasicCreate")
        if not isinstance(result, Mapping):
            raise PlatformCallError("Shopify returned no discount", retryable=False)
        errors = [e for e in result.get("userErrors") or [] if isinstance(e, Mapping)]
        if errors:
            if any(_code_taken(e) for e in errors):
                return await self._existing_code(request.code)
            messages = "; ".join(str(e.get("message")) for e in errors)
            raise PlatformCallError(
                f"Shopify refused the discount code: {messages}", retryable=False
            )
        node = result.get("codeDiscountNode")
        if not isinstance(node, Mapping) or not node.get("id"):
            raise PlatformCallError("Shopify returned no discount id", retryable=False)
        return str(node["id"])

    def _code_basics(self, request: DiscountCodeRequest) -> dict[str, Any]:
        context: dict[str, Any] = (
            {"customers": {"add": [_gid("Customer", request.customer_external_id)]}}
            if request.customer_external_id
            else {"all": "ALL"}
        )
        base: dict[str, Any] = {
            "title": request.title,
            "code": request.code,
            "startsAt": _iso(self._now()),
            "endsAt": _iso(request.ends_at) if request.ends_at else None,
            "context": context,
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
        }
        if request.min_order_minor:
            minimum = to_major(request.min_order_minor, request.currency)
            base["minimumRequirement"] = {
                "subtotal": {"greaterThanOrEqualToSubtotal": str(minimum)}
            }
        return base

    def _customer_gets(self, request: DiscountCodeRequest) -> dict[str, Any]:
        kind = request.kind
        if kind in ("fixed_amount", "store_credit"):
            return {"value": self._amount_off(request), "items": {"all": True}}
        if kind == "percentage":
            percent = request.percent
            if percent is None or not 0 < percent <= 100:
                raise PlatformCallError(
                    f"a percentage reward needs 1-100 %, not {percent}",
                    retryable=False,
                )
            return {"value": {"percentage": percent / 100}, "items": {"all": True}}
        if kind == "free_product":
            ref = (request.product_ref or "").strip()
            if not ref:
                raise PlatformCallError(
                    "a free product reward needs its product", retryable=False
                )
            if ref.startswith("gid://shopify/ProductVariant/"):
                products: dict[str, Any] = {"productVariantsToAdd": [ref]}
            else:
                products = {"productsToAdd": [_gid("Product", ref)]}
            value = (
                self._amount_off(request)
                if request.value_minor
                else {"percentage": 1.0}
            )
            return {"value": value, "items": {"products": products}}
        raise PlatformCallError(
            f"no Shopify discount for reward kind {kind!r}", retryable=False
        )

    @staticmethod
    def _amount_off(request: DiscountCodeRequest) -> dict[str, Any]:
        if not request.value_minor or request.value_minor <= 0:
            raise PlatformCallError(
                f"a {request.kind} reward needs a positive value", retryable=False
            )
        amount = to_major(request.value_minor, request.currency)
        return {"discountAmount": {"amount": str(amount), "appliesOnEachItem": False}}

    async def _existing_code(self, code: str) -> str:
        data = await self.graphql(CODE_BY_CODE_QUERY, {"code": code})
        node = data.get("codeDiscountNodeByCode")
        if not isinstance(node, Mapping) or not node.get("id"):
            raise PlatformCallError(
                f"Shopify says code {code} is taken but cannot find it",
                retryable=True,
            )
        return str(node["id"])

    # --- webhooks ---------------------------------------------------------------

    async def register_webhooks(self, address: str, topics: Sequence[str]) -> list[str]:
        """Subscribe `address` to each topic (`orders/paid` or `ORDERS_PAID`);
        returns the subscription ids in the topics' order. A subscription that
        already exists ("address already taken") is found and its id returned.
        """
        ids = []
        for topic in topics:
            enum = webhook_topic(topic)
            data = await self.graphql(
                WEBHOOK_MUTATION,
                {"topic": enum, "subscription": {"uri": address, "format": "JSON"}},
            )
            result = data.get("webhookSubscriptionCreate")
            if not isinstance(result, Mapping):
                raise PlatformCallError("Shopify returned no webhook", retryable=False)
            errors = [
                e for e in result.get("userErrors") or [] if isinstance(e, Mapping)
            ]
            if errors and all(_address_taken(e) for e in errors):
                ids.append(await self._existing_webhook(enum, address))
                continue
            if errors:
                messages = "; ".join(str(e.get("message")) for e in errors)
                raise PlatformCallError(
                    f"Shopify refused the {topic} webhook: {messages}",
                    retryable=False,
                )
            subscription = result.get("webhookSubscription")
            if not isinstance(subscription, Mapping) or not subscription.get("id"):
                raise PlatformCallError("Shopify returned no webhook", retryable=False)
            ids.append(str(subscription["id"]))
        return ids

    async def _existing_webhook(self, topic: str, address: str) -> str:
        after: str | None = None
        while True:
            data = await self.graphql(
                WEBHOOKS_QUERY, {"topics": [topic], "after": after}
            )
            connection = data.get("webhookSubscriptions")
            for node in _nodes(connection):
                if node.get("uri") == address and node.get("id"):
                    return str(node["id"])
            has_next, after = _page_info(connection)
            if not has_next:
                raise PlatformCallError(
                    f"Shopify says {topic} is taken for {address} but lists no such "
                    "subscription",
                    retryable=False,
                )


def _code_taken(error: Mapping[str, Any]) -> bool:
    message = str(error.get("message") or "").lower()
    return error.get("code") == "TAKEN" or "must be unique" in message


def _address_taken(error: Mapping[str, Any]) -> bool:
    message = str(error.get("message") or "").lower()
    return "already been taken" in message or "already taken" in message


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- OAuth ----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenGrant:
    """An Admin API access token, and its refresh token when it expires.

    The tokens are left out of `repr`, so a logged grant shows no secret.
    """

    access_token: str = field(repr=False)
    scope: str
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.scope.split(",") if s.strip())


async def exchange_code(
    http: httpx.AsyncClient,
    *,
    shop: str,
    api_key: str,
    api_secret: str,
    code: str,
    expiring: bool = True,
    now: Callable[[], datetime] | None = None,
) -> TokenGrant:
    """The authorization-code grant's last step (platforms.md §3): an offline
    token, expiring (with a refresh token) unless `expiring=False`."""
    body = {
        "client_id": api_key,
        "client_secret": api_secret,
        "code": code,
        "expiring": "1" if expiring else "0",
    }
    return await _token_request(http, shop, body, now)


async def refresh_access_token(
    http: httpx.AsyncClient,
    *,
    shop: str,
    api_key: str,
    api_secret: str,
    refresh_token: str,
    now: Callable[[], datetime] | None = None,
) -> TokenGrant:
    """A new access token (and a new refresh token: persist both atomically)."""
    body = {
        "client_id": api_key,
        "client_secret": api_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return await _token_request(http, shop, body, now)


async def _token_request(
    http: httpx.AsyncClient,
    shop: str,
    body: Mapping[str, str],
    now: Callable[[], datetime] | None,
) -> TokenGrant:
    url = f"https://{valid_shop(shop)}/admin/oauth/access_token"
    moment = now() if now is not None else datetime.now(UTC)
    try:
        response = await http.post(
            url, json=dict(body), headers={"Accept": "application/json"}
        )
    except httpx.TransportError as error:
        raise PlatformCallError(
            f"Shopify token endpoint unreachable ({type(error).__name__})",
            retryable=True,
        ) from error
    status = response.status_code
    if status == 429 or status >= 500:
        raise PlatformCallError(
            f"Shopify token endpoint answered HTTP {status}", retryable=True
        )
    try:
        data = response.json()
    except ValueError:
        data = None
    if status != 200 or not isinstance(data, Mapping):
        reason = ""
        if isinstance(data, Mapping):
            reason = str(data.get("error_description") or data.get("error") or "")
        raise PlatformCallError(
            f"Shopify refused the token request (HTTP {status}) {reason}".strip(),
            retryable=False,
        )
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise PlatformCallError("Shopify returned no access token", retryable=False)

    def after(key: str) -> datetime | None:
        seconds = data.get(key)
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return moment + timedelta(seconds=seconds)
        return None

    refresh = data.get("refresh_token")
    return TokenGrant(
        access_token=token,
        scope=str(data.get("scope") or ""),
        expires_at=after("expires_in"),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_expires_at=after("refresh_token_expires_in"),
    )

"""ShopifyAdmin against the fake Admin API (fake_admin.py): paging, cost-based
throttling, retries, OAuth, discount codes and webhooks. No network, and no
real sleeping: the client's `sleep` advances the fake's clock.
"""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.orders.events import OrderEvent
from api.platforms import (
    DiscountCodePusher,
    DiscountCodeRequest,
    OrderSource,
    PlatformCallError,
)
from plugins.shopify import mapping
from plugins.shopify.client import (
    PACE_MARGIN,
    ShopifyAdmin,
    TokenGrant,
    exchange_code,
    is_throttled,
    parse_cost,
    refresh_access_token,
    search_since,
    throttle_wait,
    valid_shop,
)
from tests.plugins.shopify.fake_admin import (
    API_KEY,
    API_SECRET,
    AUTH_CODE,
    SCOPES,
    SHOP,
    FakeShopifyAdmin,
    rest_payload,
)

FIXTURES = (
    Path(__file__).resolve().parents[3].parent / "shared/fixtures/platforms/shopify"
)
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

# 2 + 5 x (1 order + (2 + 10 x 1 line)) = 67 points requested.
SMALL_QUERY = """
query { orders(first: 5, sortKey: UPDATED_AT) {
  nodes { id lineItems(first: 10) { nodes { id } } }
} }
"""


@pytest.fixture
async def http() -> AsyncIterator[Callable[[FakeShopifyAdmin], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(fake: FakeShopifyAdmin) -> httpx.AsyncClient:
        clients.append(fake.http())
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


def fixed_now() -> datetime:
    return NOW


async def all_pages(
    admin: ShopifyAdmin,
    *,
    since: datetime | None = None,
    cursor: str | None = None,
    page_size: int = 250,
    max_pages: int | None = None,
) -> tuple[list[OrderEvent], str | None, int]:
    events: list[OrderEvent] = []
    pages = 0
    last_until = None
    while True:
        page = await admin.orders_page(since=since, cursor=cursor, page_size=page_size)
        pages += 1
        events.extend(page.events)
        assert page.orders_seen <= page_size
        if page.updated_until is not None:
            assert last_until is None or page.updated_until >= last_until
            last_until = page.updated_until
        cursor = page.cursor
        if not page.has_next or (max_pages is not None and pages >= max_pages):
            return events, (cursor if page.has_next else None), pages


def first_seen(events: list[OrderEvent]) -> list[str]:
    refs: list[str] = []
    for event in events:
        if not refs or refs[-1] != event.order_ref:
            refs.append(event.order_ref)
    return refs


# --- contracts --------------------------------------------------------------------


async def test_implements_the_platform_contracts(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    source: OrderSource = admin
    pusher: DiscountCodePusher = admin
    assert source is admin and pusher is admin
    assert "shpat" not in repr(admin)
    with pytest.raises(ValueError, match="myshopify"):
        ShopifyAdmin(
            http(fake), shop="evil.example.com", access_token="t", api_version="x"
        )
    assert valid_shop("Ladder-Test.myshopify.com") == "ladder-test.myshopify.com"


def test_since_becomes_an_updated_at_search() -> None:
    assert search_since(None) is None
    aware = datetime(2026, 2, 1, 5, 0, 0, 123, tzinfo=UTC)
    assert search_since(aware) == "updated_at:>='2026-02-01T05:00:00Z'"
    naive = datetime(2026, 2, 1)  # noqa: DTZ001 - taken as UTC
    assert search_since(naive) == "updated_at:>='2026-02-01T00:00:00Z'"


# --- backfill paging ----------------------------------------------------------------


async def test_pages_5000_orders_each_once_in_updated_at_order(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=5000)
    admin = fake.admin(http(fake))
    events, cursor, pages = await all_pages(admin, page_size=250)

    expected_orders = fake.by_update()
    assert first_seen(events) == [str(o.id) for o in expected_orders]
    assert cursor is None
    # Exactly the events the REST payloads (webhooks) of the same orders give.
    expected: list[OrderEvent] = []
    for order in expected_orders:
        expected.extend(mapping.order_events("orders/updated", rest_payload(order)))
    assert events == expected
    # The mix was really exercised: ties on updated_at, line items and refund
    # lines beyond the first page, refunds, cancellations, test orders.
    updated = [o.updated_at for o in expected_orders]
    assert len(set(updated)) < len(updated)
    assert fake.calls["node"] > 0 and fake.calls["nodes"] > 0
    kinds = {e.kind.value for e in events}
    assert kinds == {"paid", "updated", "refunded", "cancelled"}
    assert any(e.extra.get("test") == "true" for e in events)
    # 250 per page cannot fit 1000 points: the client learnt the largest page
    # that does once, and never got THROTTLED (it paced instead).
    assert set(fake.page_sizes[1:]) == {10}
    assert pages == 500
    assert fake.max_cost_exceeded <= 3
    assert fake.throttled == 0


async def test_since_filters_and_an_interrupted_run_resumes(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=300)
    since = fake.by_update()[100].updated_at
    first_admin = fake.admin(http(fake))
    head, cursor, _ = await all_pages(first_admin, since=since, max_pages=3)
    assert cursor is not None
    # A new process resumes from the checkpointed cursor with the same window.
    second_admin = fake.admin(http(fake))
    tail, end, _ = await all_pages(second_admin, since=since, cursor=cursor)
    assert end is None
    wanted = [str(o.id) for o in fake.by_update() if o.updated_at >= since]
    assert first_seen(head + tail) == wanted
    assert len(wanted) >= 200


async def test_page_size_is_an_upper_bound(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=40)
    admin = fake.admin(http(fake))
    page = await admin.orders_page(since=None, cursor=None, page_size=3)
    assert (page.orders_seen, page.has_next) == (3, True)
    assert fake.max_cost_exceeded == 0
    page = await admin.orders_page(since=None, cursor=page.cursor, page_size=250)
    assert page.orders_seen == 10  # 10 x 97 points fit in 1000
    assert fake.max_cost_exceeded == 1
    page = await admin.orders_page(since=None, cursor=page.cursor, page_size=250)
    assert page.orders_seen == 10
    assert fake.max_cost_exceeded == 1  # learnt


async def test_a_bucket_smaller_than_the_query_shrinks_the_page(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=30, maximum_available=500)
    admin = fake.admin(http(fake))
    events, _, _ = await all_pages(admin)
    assert first_seen(events) == [str(o.id) for o in fake.by_update()]
    assert max(fake.page_sizes[-3:]) <= 5


async def test_empty_history(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=0)
    page = await fake.admin(http(fake)).orders_page(
        since=None, cursor=None, page_size=250
    )
    assert (page.events, page.orders_seen, page.has_next) == ([], 0, False)
    assert page.updated_until is None


# --- throttling -------------------------------------------------------------------


async def test_throttled_waits_the_computed_time_then_succeeds(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake))
    fake.set_available(7)
    data = await admin.graphql(SMALL_QUERY)
    assert len(data["orders"]["nodes"]) == 5
    assert fake.throttled == 1
    # (requestedQueryCost 67 - currentlyAvailable 7) / restoreRate 50 = 1.2 s.
    assert fake.sleeps == [pytest.approx(1.2 + PACE_MARGIN)]
    assert admin.last_cost is not None
    assert admin.last_cost.requested == 67


async def test_paces_before_sending_instead_of_being_throttled(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake))
    fake.set_available(70)
    await admin.graphql(SMALL_QUERY)
    assert admin.last_cost is not None
    left = admin.last_cost.currently_available
    assert left < 67
    await admin.graphql(SMALL_QUERY)
    assert fake.throttled == 0
    assert fake.sleeps == [pytest.approx((67 - left) / 50 + PACE_MARGIN)]


async def test_throttle_wait_has_a_floor(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake))
    fake.set_available(66)  # one point short: 0.02 s computed, 0.5 s waited
    await admin.graphql(SMALL_QUERY)
    assert fake.sleeps == [0.5]


async def test_orders_page_rides_out_a_bucket_emptied_elsewhere(http: Any) -> None:
    # Another app instance on the same store drained the bucket: this client's
    # last status is stale, Shopify says THROTTLED, the client waits and goes on.
    fake = FakeShopifyAdmin(orders=40)
    admin = fake.admin(http(fake))
    page = await admin.orders_page(since=None, cursor=None, page_size=250)
    fake.set_available(0)
    slept = len(fake.sleeps)
    second = await admin.orders_page(since=None, cursor=page.cursor, page_size=250)
    assert second.orders_seen == 10
    assert fake.throttled == 1
    # It paced for the bucket it believed in, was refused, then waited for the
    # rest: together the time the empty bucket needs to hold the page's 972.
    assert len(fake.sleeps) >= slept + 2
    assert sum(fake.sleeps[slept : slept + 2]) == pytest.approx(972 / 50 + PACE_MARGIN)


class _Overlapping(httpx.AsyncBaseTransport):
    """The fake behind a transport that yields before answering, as a network
    would, counting the requests in flight at once."""

    def __init__(self, fake: FakeShopifyAdmin):
        self.fake = fake
        self.in_flight = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await request.aread()
            for _ in range(3):
                await asyncio.sleep(0)
            return self.fake.handle(request)
        finally:
            self.in_flight -= 1


async def test_a_pages_follow_ups_are_asked_for_at_once() -> None:
    # The first page holds an order with more line items than the page query
    # reads and one with a refund: the two follow-ups go out together.
    fake = FakeShopifyAdmin(orders=200)
    transport = _Overlapping(fake)
    async with httpx.AsyncClient(transport=transport) as http:
        page = await fake.admin(http).orders_page(
            since=None, cursor=None, page_size=250
        )
    assert transport.most == 2
    # and the page is the one a client asking one query at a time gets
    async with fake.http() as http:
        one_by_one = await fake.admin(http).orders_page(
            since=None, cursor=None, page_size=250
        )
    assert page.events == one_by_one.events
    assert len({e.order_ref for e in page.events}) == page.orders_seen == 10


Query = Callable[[str, dict[str, Any]], bool]  # (query text, variables)


class _Holding(httpx.AsyncBaseTransport):
    """The fake, except that the queries `hold` picks wait until cancelled and
    those `refuse` picks are answered HTTP 400."""

    def __init__(
        self, fake: FakeShopifyAdmin, *, hold: Query, refuse: Query | None = None
    ):
        self.fake, self.hold, self.refuse = fake, hold, refuse
        self.cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        query, variables = body["query"], body.get("variables") or {}
        if self.refuse is not None and self.refuse(query, variables):
            return httpx.Response(400, json={"errors": "bad request"})
        if self.hold(query, variables):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        await asyncio.sleep(0)
        return self.fake.handle(request)


async def test_a_failed_follow_up_stops_the_others() -> None:
    # The first page's refunds query is refused while its line items are
    # still being read: the page fails, and the line-item query is cancelled
    # rather than left spending the shop's cost budget.
    fake = FakeShopifyAdmin(orders=200)
    transport = _Holding(
        fake,
        hold=lambda query, _: "query LadderMore" in query,
        refuse=lambda query, _: "query LadderRefunds" in query,
    )
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(PlatformCallError):
            await fake.admin(http).orders_page(since=None, cursor=None, page_size=250)
    assert transport.cancelled == 1


async def test_closing_the_pages_drops_the_page_read_ahead() -> None:
    fake = FakeShopifyAdmin(orders=200)
    transport = _Holding(  # the second page's query: it has a cursor
        fake,
        hold=lambda query, variables: (
            "query LadderOrders" in query and variables.get("after") is not None
        ),
    )
    async with httpx.AsyncClient(transport=transport) as http:
        pages = fake.admin(http).orders_pages(since=None, cursor=None, page_size=250)
        first = await anext(pages)
        assert first.has_next
        await asyncio.sleep(0.01)  # the second page's query is on its way
        await pages.aclose()
        await asyncio.sleep(0)  # its cancellation is delivered
    assert transport.cancelled == 1


async def test_queries_at_once_do_not_count_on_the_same_points() -> None:
    # The bucket holds one more query, not two: the second waits for it to
    # refill instead of being refused.
    fake = FakeShopifyAdmin(orders=20)
    async with httpx.AsyncClient(transport=_Overlapping(fake)) as http:
        admin = fake.admin(http)
        fake.set_available(139)
        await admin.graphql(SMALL_QUERY)  # 67 asked, 39 taken: 100 left
        await asyncio.gather(admin.graphql(SMALL_QUERY), admin.graphql(SMALL_QUERY))
    assert fake.throttled == 0
    # 100 - 67 reserved = 33: the second waits for the 34 points it lacks
    assert fake.sleeps == [pytest.approx(34 / 50 + PACE_MARGIN)]


async def test_queries_waiting_for_points_wait_one_behind_another() -> None:
    # Four queries at once on a bucket that holds one: the three that wait
    # must not all wake to the same refill. Waits here overlap in time, as on
    # a real clock (the fake's own sleep would add them up).
    fake = FakeShopifyAdmin(orders=20)

    async def overlapping_sleep(seconds: float) -> None:
        until = fake.now + seconds
        fake.sleeps.append(seconds)
        await asyncio.sleep(0)  # the other waiters start theirs meanwhile
        if fake.now < until:
            fake.advance(until - fake.now)

    async with httpx.AsyncClient(transport=_Overlapping(fake)) as http:
        admin = fake.admin(http, sleep=overlapping_sleep)
        fake.set_available(139)
        await admin.graphql(SMALL_QUERY)  # 67 asked, 39 taken: 100 left
        await asyncio.gather(*(admin.graphql(SMALL_QUERY) for _ in range(4)))
    assert fake.throttled == 0


# --- retries ----------------------------------------------------------------------


async def test_429_and_503_honour_retry_after(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake))
    fake.fail_next(429, retry_after="2")
    fake.fail_next(503)  # no header: 1 s
    fake.fail_next(503, retry_after="0.25")
    data = await admin.graphql(SMALL_QUERY)
    assert len(data["orders"]["nodes"]) == 5
    assert fake.sleeps == [2.0, 1.0, 0.25]
    assert fake.statuses == [429, 503, 503, 200]


async def test_persistent_503_gives_up_retryable(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake), max_retries=3)
    fake.fail_next(503, times=10)
    with pytest.raises(PlatformCallError) as raised:
        await admin.orders_page(since=None, cursor=None, page_size=5)
    assert raised.value.retryable is True
    assert fake.statuses == [503] * 4
    assert fake.sleeps == [1.0, 1.0, 1.0]


async def test_5xx_and_transport_errors_back_off_exponentially(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake))
    fake.fail_next(500)
    fake.fail_transport()
    fake.fail_next(502)
    fake.fail_next(
        200,
        body={
            "errors": [
                {
                    "message": "Internal error",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                }
            ]
        },
    )
    await admin.graphql(SMALL_QUERY)
    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_token_is_not_retryable(http: Any, status: int) -> None:
    fake = FakeShopifyAdmin(orders=20)
    admin = fake.admin(http(fake))
    if status == 401:
        fake.revoke()
    else:
        fake.fail_next(403, body={"errors": "User lacks access scope"})
    with pytest.raises(PlatformCallError) as raised:
        await admin.orders_page(since=None, cursor=None, page_size=5)
    assert raised.value.retryable is False
    assert fake.statuses == [status]
    assert fake.sleeps == []


async def test_graphql_errors_are_not_retryable(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=1)
    admin = fake.admin(http(fake))
    with pytest.raises(PlatformCallError, match="noSuchField") as raised:
        await admin.graphql("query { orders(first: 1) { nodes { noSuchField } } }")
    assert raised.value.retryable is False
    with pytest.raises(PlatformCallError, match="unsupported search term"):
        await admin.graphql(
            'query { orders(first: 1, query: "tag:vip") { nodes { id } } }'
        )


# --- the real payloads in ../shared -------------------------------------------------


def shared_fixture(name: str) -> dict[str, Any]:
    if not FIXTURES.is_dir():
        reason = f"../shared/fixtures not present: {FIXTURES} is missing"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def test_cost_of_the_real_responses() -> None:
    ok = shared_fixture("graphql-response-with-cost.json")
    cost = parse_cost(ok)
    assert cost is not None
    assert (cost.requested, cost.actual) == (1, 1)
    assert (cost.maximum_available, cost.currently_available, cost.restore_rate) == (
        1000.0,
        999,
        50.0,
    )
    assert not is_throttled(ok)
    throttled = shared_fixture("graphql-throttled-response.json")
    assert is_throttled(throttled)
    cost = parse_cost(throttled)
    assert cost is not None
    assert (cost.requested, cost.actual, cost.currently_available) == (752, None, 666)
    # (752 - 666) / 50 = 1.72 s.
    assert throttle_wait(cost) == pytest.approx(1.72 + PACE_MARGIN)


async def test_client_waits_on_the_real_throttled_response() -> None:
    throttled = shared_fixture("graphql-throttled-response.json")
    ok = shared_fixture("graphql-response-with-cost.json")
    answers = [throttled, ok]
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Shopify-Access-Token"] == "shpat_x"
        return httpx.Response(200, json=answers.pop(0))

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        admin = ShopifyAdmin(
            client,
            shop=SHOP,
            access_token="shpat_x",
            api_version="2025-10",
            sleep=sleep,
            clock=lambda: 0.0,
        )
        data = await admin.graphql("query { product(id: 1) { id title handle } }")
    assert data["product"]["handle"] == "aera-helmet"
    assert sleeps == [pytest.approx(1.72 + PACE_MARGIN)]
    assert admin.available_now() == 999


# --- OAuth --------------------------------------------------------------------------


async def test_code_exchange_and_refresh(http: Any) -> None:
    fake = FakeShopifyAdmin(orders=3)
    client = http(fake)
    grant = await exchange_code(
        client,
        shop=SHOP,
        api_key=API_KEY,
        api_secret=API_SECRET,
        code=AUTH_CODE,
        now=fixed_now,
    )
    assert fake.token_requests[-1] == {
        "client_id": API_KEY,
        "client_secret": API_SECRET,
        "code": AUTH_CODE,
        "expiring": "1",
    }
    assert grant.scope == SCOPES and "write_discounts" in grant.scopes
    assert grant.expires_at == NOW + timedelta(seconds=3600)
    assert grant.refresh_token is not None
    assert grant.refresh_expires_at == NOW + timedelta(days=90)
    assert grant.access_token not in repr(grant)
    assert grant.refresh_token not in repr(grant)
    admin = fake.admin(client, access_token=grant.access_token)
    assert (await admin.orders_page(since=None, cursor=None, page_size=5)).orders_seen

    # An hour later the token is refused; the refresh token gets a new pair.
    fake.advance(3601)
    with pytest.raises(PlatformCallError) as raised:
        await admin.orders_page(since=None, cursor=None, page_size=5)
    assert raised.value.retryable is False
    fresh = await refresh_access_token(
        client,
        shop=SHOP,
        api_key=API_KEY,
        api_secret=API_SECRET,
        refresh_token=grant.refresh_token,
        now=fixed_now,
    )
    assert fake.token_requests[-1]["grant_type"] == "refresh_token"
    assert fresh.access_token != grant.access_token
    assert fresh.refresh_token not in (None, grant.refresh_token)
    admin = fake.admin(client, access_token=fresh.access_token)
    assert (await admin.orders_page(since=None, cursor=None, page_size=5)).orders_seen


async def test_a_used_code_or_bad_secret_is_refused(http: Any) -> None:
    fake = FakeShopifyAdmin()
    client = http(fake)
    grant = await exchange_code(
        client, shop=SHOP, api_key=API_KEY, api_secret=API_SECRET, code=AUTH_CODE
    )
    assert isinstance(grant, TokenGrant)
    with pytest.raises(PlatformCallError, match="already used") as raised:
        await exchange_code(
            client, shop=SHOP, api_key=API_KEY, api_secret=API_SECRET, code=AUTH_CODE
        )
    assert raised.value.retryable is False
    with pytest.raises(PlatformCallError) as raised:
        await exchange_code(
            client,
            shop=SHOP,
            api_key=API_KEY,
            api_secret="wrong",
            code=fake.issue_code(),
        )
    assert raised.value.retryable is False
    assert "wrong" not in str(raised.value)


async def test_non_expiring_token_and_token_endpoint_failures(http: Any) -> None:
    fake = FakeShopifyAdmin()
    client = http(fake)
    grant = await exchange_code(
        client,
        shop=SHOP,
        api_key=API_KEY,
        api_secret=API_SECRET,
        code=fake.issue_code(),
        expiring=False,
    )
    assert (grant.expires_at, grant.refresh_token) == (None, None)
    fake.fail_next(503, endpoint="oauth")
    with pytest.raises(PlatformCallError) as raised:
        await exchange_code(
            client, shop=SHOP, api_key=API_KEY, api_secret=API_SECRET, code="c"
        )
    assert raised.value.retryable is True
    fake.fail_transport(endpoint="oauth")
    with pytest.raises(PlatformCallError) as raised:
        await refresh_access_token(
            client, shop=SHOP, api_key=API_KEY, api_secret=API_SECRET, refresh_token="r"
        )
    assert raised.value.retryable is True
    with pytest.raises(ValueError, match="myshopify"):
        await exchange_code(
            client, shop="shop.evil.com", api_key="k", api_secret="s", code="c"
        )


# --- discount codes ---------------------------------------------------------------


def reward(kind: str, **fields: Any) -> DiscountCodeRequest:
    values: dict[str, Any] = {
        "code": f"LADDER-{kind.upper()}",
        "title": f"Reward {kind}",
        "kind": kind,
        "currency": "USD",
        "customer_external_id": "7700000000000000042",
        "ends_at": datetime(2027, 5, 1, tzinfo=UTC),
    }
    values.update(fields)
    return DiscountCodeRequest(**values)


def created(fake: FakeShopifyAdmin, code: str) -> dict[str, Any]:
    return fake.discounts[code.lower()].input


async def test_fixed_amount_code_for_one_customer_and_one_use(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake), now=fixed_now)
    ref = await admin.create_discount_code(
        reward("fixed_amount", value_minor=1000, min_order_minor=5000)
    )
    assert ref.startswith("gid://shopify/DiscountCodeNode/")
    spec = created(fake, "LADDER-FIXED_AMOUNT")
    assert spec == {
        "title": "Reward fixed_amount",
        "code": "LADDER-FIXED_AMOUNT",
        "startsAt": "2026-05-01T12:00:00Z",
        "endsAt": "2027-05-01T00:00:00Z",
        "context": {
            "customers": {"add": ["gid://shopify/Customer/7700000000000000042"]}
        },
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "minimumRequirement": {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}},
        "customerGets": {
            "value": {
                "discountAmount": {"amount": "10.00", "appliesOnEachItem": False}
            },
            "items": {"all": True},
        },
    }


async def test_percentage_free_shipping_store_credit_and_free_product(
    http: Any,
) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    await admin.create_discount_code(reward("percentage", percent=15))
    assert created(fake, "LADDER-PERCENTAGE")["customerGets"] == {
        "value": {"percentage": 0.15},
        "items": {"all": True},
    }

    await admin.create_discount_code(reward("free_shipping"))
    assert fake.calls["discountCodeFreeShippingCreate"] == 1
    spec = created(fake, "LADDER-FREE_SHIPPING")
    assert spec["destination"] == {"all": True}
    assert (spec["usageLimit"], spec["appliesOncePerCustomer"]) == (1, True)
    assert "customerGets" not in spec

    await admin.create_discount_code(
        reward("store_credit", value_minor=2500, currency="JPY")
    )
    assert created(fake, "LADDER-STORE_CREDIT")["customerGets"]["value"] == {
        "discountAmount": {"amount": "2500", "appliesOnEachItem": False}
    }

    await admin.create_discount_code(
        reward("free_product", code="FREE-1", product_ref="632910392")
    )
    assert created(fake, "FREE-1")["customerGets"] == {
        "value": {"percentage": 1.0},
        "items": {"products": {"productsToAdd": ["gid://shopify/Product/632910392"]}},
    }
    variant = "gid://shopify/ProductVariant/808950810"
    await admin.create_discount_code(
        reward("free_product", code="FREE-2", product_ref=variant, value_minor=1999)
    )
    assert created(fake, "FREE-2")["customerGets"] == {
        "value": {"discountAmount": {"amount": "19.99", "appliesOnEachItem": False}},
        "items": {"products": {"productVariantsToAdd": [variant]}},
    }


async def test_a_code_without_a_known_customer_is_for_all_buyers(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    await admin.create_discount_code(
        reward("fixed_amount", value_minor=500, customer_external_id=None, ends_at=None)
    )
    spec = created(fake, "LADDER-FIXED_AMOUNT")
    assert spec["context"] == {"all": "ALL"}
    assert spec["endsAt"] is None
    assert spec["usageLimit"] == 1


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (reward("custom"), "no platform code for custom rewards"),
        (reward("percentage", percent=0), "1-100"),
        (reward("fixed_amount"), "positive value"),
        (reward("free_product"), "needs its product"),
        (reward("mystery"), "no Shopify discount"),
    ],
)
async def test_rewards_without_a_code_fail_for_good(
    http: Any, request_: DiscountCodeRequest, message: str
) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    with pytest.raises(PlatformCallError, match=message) as raised:
        await admin.create_discount_code(request_)
    assert raised.value.retryable is False
    assert fake.graphql_requests == 0


async def test_creating_an_existing_code_returns_its_id(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    first = await admin.create_discount_code(reward("percentage", percent=10))
    # A retry (say the first response was lost), in another case even.
    again = await admin.create_discount_code(
        reward("percentage", percent=10, code="ladder-percentage")
    )
    assert again == first
    assert len(fake.discounts) == 1
    assert fake.calls["codeDiscountNodeByCode"] == 1


async def test_a_retried_create_after_a_lost_response_is_idempotent(
    http: Any,
) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    request = reward("fixed_amount", value_minor=700)
    ref = await admin.create_discount_code(request)
    fake.fail_next(503)
    assert await admin.create_discount_code(request) == ref


async def test_other_user_errors_are_not_retryable(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    with pytest.raises(PlatformCallError, match="title can't be blank") as raised:
        await admin.create_discount_code(reward("percentage", percent=5, title=""))
    assert raised.value.retryable is False


# --- webhooks -----------------------------------------------------------------------


async def test_register_webhooks_is_idempotent(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    address = "https://ladder.example.com/webhooks/shopify"
    topics = ["orders/paid", "refunds/create", "APP_UNINSTALLED"]
    ids = await admin.register_webhooks(address, topics)
    assert len(set(ids)) == 3
    assert [(w.topic, w.uri) for w in fake.webhooks] == [
        ("ORDERS_PAID", address),
        ("REFUNDS_CREATE", address),
        ("APP_UNINSTALLED", address),
    ]
    # Installing again: "Address for this topic has already been taken".
    assert await admin.register_webhooks(address, topics) == ids
    assert len(fake.webhooks) == 3
    assert fake.calls["webhookSubscriptions"] == 3


async def test_a_refused_webhook_address_fails(http: Any) -> None:
    fake = FakeShopifyAdmin()
    admin = fake.admin(http(fake))
    with pytest.raises(PlatformCallError, match="not supported") as raised:
        await admin.register_webhooks("http://insecure.example.com", ["orders/paid"])
    assert raised.value.retryable is False
    with pytest.raises(PlatformCallError):  # not a WebhookSubscriptionTopic
        await admin.register_webhooks("https://x.example.com", ["customers/redact"])

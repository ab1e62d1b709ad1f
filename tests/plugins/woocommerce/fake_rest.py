"""A fake WooCommerce REST API (wc/v3): an `httpx.MockTransport` handler that
behaves like the real one where Ladder depends on it (platforms.md §8, §9).

    fake = FakeWooCommerce(orders=1000)
    http = fake.http()                  # httpx.AsyncClient on the fake
    api = fake.api(http)                # WooCommerceAPI on the fake clock

What it does:
- Routes under `{site_url}/wp-json/wc/v3`; anything else is WordPress's 404
  `rest_no_route`.
- Authentication as `WC_REST_Authentication`: over HTTPS (`https=True`) HTTP
  Basic (or `consumer_key`/`consumer_secret` in the query); over plain HTTP
  only OAuth 1.0a one-legged query signing, verified by recomputing the
  signature the way the PHP code does (decoded `$_GET` minus
  `oauth_signature`, keys sorted with strcmp, keys and values rawurlencoded,
  joined by `%3D` / `%26`, `METHOD&rawurlencode(url)&...`, HMAC-SHA1 or
  HMAC-SHA256 keyed with `consumer_secret&`), with the 15-minute timestamp
  window and single-use nonces on the fake wall clock.
- `GET /orders`: `per_page` 1-100 (else 400 `rest_invalid_param`, as WP REST
  validates it), `page`, `offset` (wins over `page`), `orderby`
  (date/id/modified/...; ties by id), `order`, `after`/`before`/
  `modified_after`/`modified_before` (exclusive, read as GMT only with
  `dates_are_gmt=true`, else in the site's timezone, UTC-3 here), `status`
  (`any` = every status but trash), `customer`; headers `X-WP-Total`,
  `X-WP-TotalPages` and `Link` (first/prev/next/last).
- `GET /orders/{id}`, `GET /orders/{id}/refunds` (paged), `GET /customers/{id}`,
  `POST /coupons` (codes lower-cased and unique: 400
  `woocommerce_rest_coupon_code_already_exists`), `GET /coupons?code=`,
  `POST /webhooks` (a ping recorded per creation), `GET /webhooks`,
  `PUT /webhooks/{id}`, `GET /system_status`.
- Failures on demand: `fail_next(status=503, times=2, retry_after="2")`,
  `fail_transport(times=1)`; `revoke()` makes the keys unknown (401).
- Counters for assertions: `calls` ("GET /orders"...), `statuses`, `sleeps`,
  `queries` (each request's parameters without the oauth_* ones).

The orders are generated deterministically in the documented JSON shape
(rest-order-727-retrieve.json): statuses processing / completed / refunded /
cancelled / pending / on-hold / failed / trash / checkout-draft, guests
(`customer_id` 0, known by billing email), coupons, line items with and
without tax, shipping, fees (some negative), `refunds[]` summaries with negative
totals backed by full refunds (line refunds with negative quantities and
totals, amount-only refunds, full refunds), and `date_modified_gmt` values with
ties. `touch` changes an order during a crawl.
"""

import base64
import hashlib
import hmac
import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import httpx

from plugins.woocommerce.client import WooCommerceAPI

SITE_URL = "https://shop.example.com"
CONSUMER_KEY = "ck_4f6d1c0b8e2a4b7c9d3e5f60718293a4b5c6d7e8"
CONSUMER_SECRET = "cs_9a8b7c6d5e4f30211f2e3d4c5b6a79881726354f"
BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# The site's timezone: non-`_gmt` dates and non-GMT date filters use it.
SITE_OFFSET = timedelta(hours=-3)
# The fake wall clock (OAuth timestamps) starts at 2026-09-21.
WALL_START = 1_790_000_000.0
OAUTH_WINDOW = 15 * 60
CENT = Decimal("0.01")
TAX_RATE = Decimal("0.0825")
API_PATH = "/wp-json/wc/v3"

STATUS_WEIGHTS = {
    "processing": 30,
    "completed": 30,
    "refunded": 5,
    "cancelled": 6,
    "pending": 8,
    "on-hold": 7,
    "failed": 6,
    "trash": 4,
    "checkout-draft": 4,
}
ORDER_STATUSES = frozenset(STATUS_WEIGHTS) | {"ready-for-pickup"}
ORDERBY = frozenset({"date", "id", "include", "title", "slug", "modified"})
WEBHOOK_TOPIC = re.compile(
    r"(?:(?:coupon|customer|order|product)\.(?:created|updated|deleted|restored)"
    r"|product\.published|action\.(?:woocommerce|wc)_\w+)"
)
# rest_parse_date's pattern (wp-includes/rest-api.php).
REST_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::\d{2})?)?$"
)
# WC_Data::set_date_prop: an explicit offset wins over the site's timezone.
OFFSET_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})$"
)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def gmt(moment: datetime | None) -> str | None:
    """WooCommerce's date format: ISO 8601 without an offset."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def local(moment: datetime | None) -> str | None:
    return gmt(moment + SITE_OFFSET) if moment is not None else None


def rawurlencode(value: str) -> str:
    """PHP's rawurlencode: everything but A-Z a-z 0-9 - _ . ~ as %XX."""
    return quote(value, safe="-_.~")


def _links(site_url: str, path: str, collection: str) -> dict[str, Any]:
    base = f"{site_url}{API_PATH}"
    return {
        "self": [{"href": f"{base}{path}"}],
        "collection": [{"href": f"{base}{collection}"}],
    }


# --- generated data -----------------------------------------------------------------


def customer_body(customer_id: int, site_url: str = SITE_URL) -> dict[str, Any]:
    """A registered customer, shaped as rest-customer-retrieve.json."""
    first, last = f"Member{customer_id}", "Doe"
    email = f"member{customer_id}@example.com"
    created = BASE_TIME - timedelta(days=30, minutes=customer_id)
    address = {
        "first_name": first,
        "last_name": last,
        "company": "",
        "address_1": f"{customer_id} Market St",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
    }
    return {
        "id": customer_id,
        "date_created": local(created),
        "date_created_gmt": gmt(created),
        "date_modified": local(created),
        "date_modified_gmt": gmt(created),
        "email": email,
        "first_name": first,
        "last_name": last,
        "role": "customer",
        "username": f"member{customer_id}",
        "billing": {**address, "email": email, "phone": "(555) 555-5555"},
        "shipping": address,
        "is_paying_customer": True,
        "avatar_url": "https://secure.gravatar.com/avatar/0?s=96",
        "meta_data": [],
        "_links": _links(site_url, f"/customers/{customer_id}", "/customers"),
    }


@dataclass
class _Line:
    id: int
    name: str
    product_id: int
    variation_id: int
    quantity: int
    price: Decimal
    subtotal: Decimal
    total: Decimal
    subtotal_tax: Decimal
    total_tax: Decimal


def _line_body(line: _Line) -> dict[str, Any]:
    taxes = (
        [
            {
                "id": 75,
                "total": money(line.total_tax),
                "subtotal": money(line.subtotal_tax),
            }
        ]
        if line.total_tax
        else []
    )
    return {
        "id": line.id,
        "name": line.name,
        "product_id": line.product_id,
        "variation_id": line.variation_id,
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": money(line.subtotal),
        "subtotal_tax": money(line.subtotal_tax),
        "total": money(line.total),
        "total_tax": money(line.total_tax),
        "taxes": taxes,
        "meta_data": [],
        "sku": f"SKU-{line.product_id}",
        "price": float(line.price),
    }


class _Ids:
    def __init__(self, start: int) -> None:
        self.value = start

    def next(self, rng: random.Random | None = None) -> int:
        self.value += rng.randint(1, 3) if rng is not None else 1
        return self.value


def generate_orders(
    count: int, *, seed: int = 7, site_url: str = SITE_URL
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """`count` orders (REST v3 JSON) and each order's full refunds."""
    rng = random.Random(seed)
    ids = _Ids(700)
    item_ids = _Ids(300)
    refund_ids = _Ids(900_000)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    orders: list[dict[str, Any]] = []
    refunds: dict[int, list[dict[str, Any]]] = {}
    for index in range(count):
        order_id = ids.next(rng)
        status = rng.choices(statuses, weights)[0]
        created = BASE_TIME + timedelta(minutes=7 * index, seconds=rng.randint(0, 59))
        currency = "EUR" if index % 17 == 5 else "USD"
        taxed = rng.random() < 0.6
        # Lines and a percentage coupon on a fifth of the orders.
        coupon: tuple[str, Decimal] | None = None
        if rng.random() < 0.2:
            coupon = rng.choice(
                [("save10", Decimal("0.10")), (f"ldr-{index}", Decimal("0.15"))]
            )
        lines: list[_Line] = []
        for _ in range(rng.randint(1, 4)):
            product = rng.randint(11, 40)
            price = Decimal(rng.randint(500, 8000)) / 100
            quantity = rng.randint(1, 3)
            subtotal = _q(price * quantity)
            total = _q(subtotal * (1 - coupon[1])) if coupon else subtotal
            lines.append(
                _Line(
                    id=item_ids.next(),
                    name=f"Product {product}",
                    product_id=product,
                    variation_id=product * 10 + 1 if product % 5 == 0 else 0,
                    quantity=quantity,
                    price=price,
                    subtotal=subtotal,
                    total=total,
                    subtotal_tax=_q(subtotal * TAX_RATE) if taxed else Decimal(0),
                    total_tax=_q(total * TAX_RATE) if taxed else Decimal(0),
                )
            )
        shipping = rng.choice([Decimal(0), Decimal("5.00"), Decimal("12.50")])
        shipping_tax = _q(shipping * TAX_RATE) if taxed else Decimal(0)
        fees: list[tuple[str, Decimal]] = []
        if rng.random() < 0.1:
            fees.append(
                rng.choice(
                    [("Gift wrap", Decimal("3.00")), ("Adjustment", Decimal("-2.00"))]
                )
            )
        items_total = sum((line.total for line in lines), Decimal(0))
        cart_tax = sum((line.total_tax for line in lines), Decimal(0))
        fee_total = sum((amount for _, amount in fees), Decimal(0))
        total = items_total + cart_tax + shipping + shipping_tax + fee_total
        discount = sum((line.subtotal - line.total for line in lines), Decimal(0))

        # Customer: a third are guests.
        guest = rng.random() < 0.33
        customer_id = 0 if guest else rng.randint(10, 59)
        email = (
            f"guest{index}@example.net" if guest else f"member{customer_id}@example.com"
        )

        paid_at: datetime | None = None
        completed_at: datetime | None = None
        modified = created + timedelta(seconds=rng.randint(0, 30))
        if status in ("processing", "completed", "refunded") or (
            status == "trash" and rng.random() < 0.5
        ):
            paid_at = created + timedelta(seconds=rng.randint(5, 40))
            modified = paid_at
        if status in ("completed", "refunded"):
            completed_at = (paid_at or created) + timedelta(hours=rng.randint(1, 72))
            modified = completed_at
            if index % 41 == 3:
                paid_at = None  # a completed manual order: never "payment_complete"
        if status in ("cancelled", "failed", "on-hold", "trash"):
            modified = created + timedelta(minutes=rng.randint(1, 600))

        order_refunds: list[dict[str, Any]] = []
        if status == "refunded":
            order_refunds.append(
                _refund(
                    refund_ids.next(),
                    lines,
                    lines,
                    modified,
                    shipping + shipping_tax + fee_total,
                    total,
                )
            )
        elif status == "completed" and rng.random() < 0.2:
            when = modified + timedelta(hours=rng.randint(1, 200))
            if rng.random() < 0.5:
                line = rng.choice(lines)
                order_refunds.append(
                    _refund(refund_ids.next(), [line], lines, when, Decimal(0), None)
                )
            else:
                amount = min(Decimal("10.00"), _q(total / 2))
                order_refunds.append(_amount_refund(refund_ids.next(), amount, when))
            if rng.random() < 0.3:
                when = when + timedelta(minutes=rng.randint(1, 90))
                order_refunds.append(
                    _amount_refund(refund_ids.next(), Decimal("1.50"), when)
                )
            modified = when
        # Some snapshots share a second, as orders saved together do.
        if index % 13 == 0 and orders:
            previous = datetime.fromisoformat(orders[-1]["date_modified_gmt"]).replace(
                tzinfo=UTC
            )
            if previous > created:
                modified = previous
        modified = modified.replace(microsecond=0)
        refunds[order_id] = order_refunds

        address = {
            "first_name": "Guest" if guest else f"Member{customer_id}",
            "last_name": "Doe",
            "company": "",
            "address_1": "969 Market",
            "address_2": "",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94103",
            "country": "US",
        }
        orders.append(
            {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": f"wc_order_{order_id:x}fake",
                "created_via": "checkout",
                "version": "9.8.0",
                "status": status,
                "currency": currency,
                "date_created": local(created),
                "date_created_gmt": gmt(created),
                "date_modified": local(modified),
                "date_modified_gmt": gmt(modified),
                "discount_total": money(discount),
                "discount_tax": money(_q(discount * TAX_RATE) if taxed else Decimal(0)),
                "shipping_total": money(shipping),
                "shipping_tax": money(shipping_tax),
                "cart_tax": money(cart_tax),
                "total": money(total),
                "total_tax": money(cart_tax + shipping_tax),
                "prices_include_tax": False,
                "customer_id": customer_id,
                "customer_ip_address": "",
                "customer_user_agent": "",
                "customer_note": "",
                "billing": {**address, "email": email, "phone": "(555) 555-5555"},
                "shipping": address,
                "payment_method": "stripe" if paid_at or completed_at else "bacs",
                "payment_method_title": "Card" if paid_at else "Direct Bank Transfer",
                "transaction_id": f"ch_{order_id}" if paid_at else "",
                "date_paid": local(paid_at),
                "date_paid_gmt": gmt(paid_at),
                "date_completed": local(completed_at),
                "date_completed_gmt": gmt(completed_at),
                "cart_hash": "",
                "meta_data": [],
                "line_items": [_line_body(line) for line in lines],
                "tax_lines": (
                    [
                        {
                            "id": item_ids.next(),
                            "rate_code": "US-CA-STATE TAX",
                            "rate_id": 75,
                            "label": "State Tax",
                            "compound": False,
                            "tax_total": money(cart_tax),
                            "shipping_tax_total": money(shipping_tax),
                            "meta_data": [],
                        }
                    ]
                    if taxed
                    else []
                ),
                "shipping_lines": (
                    [
                        {
                            "id": item_ids.next(),
                            "method_title": "Flat Rate",
                            "method_id": "flat_rate",
                            "total": money(shipping),
                            "total_tax": money(shipping_tax),
                            "taxes": [],
                            "meta_data": [],
                        }
                    ]
                    if shipping
                    else []
                ),
                "fee_lines": [
                    {
                        "id": item_ids.next(),
                        "name": name,
                        "tax_class": "",
                        "tax_status": "none",
                        "total": money(amount),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                    }
                    for name, amount in fees
                ],
                "coupon_lines": (
                    [
                        {
                            "id": item_ids.next(),
                            "code": coupon[0],
                            "discount": money(discount),
                            "discount_tax": money(
                                _q(discount * TAX_RATE) if taxed else Decimal(0)
                            ),
                            "meta_data": [],
                        }
                    ]
                    if coupon
                    else []
                ),
                "refunds": [
                    {"id": r["id"], "reason": r["reason"], "total": "-" + r["amount"]}
                    for r in reversed(
                        order_refunds
                    )  # newest first, as WooCommerce lists
                ],
                "_links": {
                    **_links(site_url, f"/orders/{order_id}", "/orders"),
                    **(
                        {
                            "customer": [
                                {
                                    "href": f"{site_url}{API_PATH}/customers/{customer_id}"
                                }
                            ]
                        }
                        if customer_id
                        else {}
                    ),
                },
            }
        )
    return orders, refunds


def _refund(
    refund_id: int,
    returned: list[_Line],
    lines: list[_Line],
    when: datetime,
    extra: Decimal,
    amount: Decimal | None,
) -> dict[str, Any]:
    """A line refund: one unit of each returned line (all of them for a full
    refund, `amount` given), with negative quantities and totals."""
    full = amount is not None
    items: list[dict[str, Any]] = []
    money_back = extra if full else Decimal(0)
    for line in returned:
        quantity = line.quantity if full else 1
        total = line.total if full else _q(line.total / line.quantity)
        tax = line.total_tax if full else _q(line.total_tax / line.quantity)
        subtotal = line.subtotal if full else _q(line.subtotal / line.quantity)
        money_back += total + tax
        items.append(
            {
                "id": refund_id * 10 + len(items),
                "name": line.name,
                "product_id": line.product_id,
                "variation_id": line.variation_id,
                "quantity": -quantity,
                "tax_class": "",
                "subtotal": money(-subtotal),
                "subtotal_tax": money(-tax),
                "total": money(-total),
                "total_tax": money(-tax),
                "taxes": [],
                "meta_data": [
                    {
                        "id": refund_id + 1,
                        "key": "_refunded_item_id",
                        "value": str(line.id),
                    }
                ],
                "sku": f"SKU-{line.product_id}",
                "price": -float(line.price),
            }
        )
    return _refund_body(
        refund_id, amount if amount is not None else money_back, when, items
    )


def _amount_refund(refund_id: int, amount: Decimal, when: datetime) -> dict[str, Any]:
    return _refund_body(refund_id, amount, when, [])


def _refund_body(
    refund_id: int, amount: Decimal, when: datetime, items: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "date_created": local(when),
        "date_created_gmt": gmt(when),
        "amount": money(amount),
        "reason": "" if items else "Goodwill",
        "refunded_by": 1,
        "refunded_payment": bool(items),
        "meta_data": [],
        "line_items": items,
    }


# --- the fake -----------------------------------------------------------------------


@dataclass
class _Failure:
    status: int
    retry_after: str | None = None
    body: Any = None
    transport: bool = False


@dataclass
class FakeWebhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str


class _ReplyError(Exception):
    """Raised by a route to answer at once (errors)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _error(status: int, code: str, message: str, **data: Any) -> _ReplyError:
    return _ReplyError(
        httpx.Response(
            status,
            json={"code": code, "message": message, "data": {"status": status, **data}},
        )
    )


def _invalid_param(name: str, reason: str) -> _ReplyError:
    return _error(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        params={name: reason},
    )


class FakeWooCommerce:
    """One store's REST API; see the module docs."""

    def __init__(
        self,
        orders: int | list[dict[str, Any]] = 0,
        *,
        site_url: str = SITE_URL,
        https: bool | None = None,
        consumer_key: str = CONSUMER_KEY,
        consumer_secret: str = CONSUMER_SECRET,
        refunds: Mapping[int, list[dict[str, Any]]] | None = None,
        seed: int = 7,
    ) -> None:
        if https is None:
            https = site_url.startswith("https://")
        elif not https and site_url.startswith("https://"):
            site_url = "http://" + site_url.removeprefix("https://")
        elif https and site_url.startswith("http://"):
            site_url = "https://" + site_url.removeprefix("http://")
        self.site_url = site_url.rstrip("/")
        self.https = https
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.keys: dict[str, str] = {consumer_key: consumer_secret}
        if isinstance(orders, int):
            generated, generated_refunds = generate_orders(
                orders, seed=seed, site_url=self.site_url
            )
            self.orders: dict[int, dict[str, Any]] = {o["id"]: o for o in generated}
            self.refunds: dict[int, list[dict[str, Any]]] = generated_refunds
        else:
            self.orders = {int(o["id"]): o for o in orders}
            self.refunds = {int(k): list(v) for k, v in (refunds or {}).items()}
        self.customers: dict[int, dict[str, Any]] = {
            cid: customer_body(cid, self.site_url) for cid in range(10, 60)
        }
        self.coupons: dict[str, dict[str, Any]] = {}
        self.webhooks: list[FakeWebhook] = []
        self.pings: list[tuple[int, str]] = []
        self._serial = 5000
        # Clocks: `sleeps` only move the wall clock (OAuth timestamps).
        self.wall = WALL_START
        self.sleeps: list[float] = []
        self.nonces: set[str] = set()
        self._failures: list[_Failure] = []
        # Counters.
        self.calls: Counter[str] = Counter()
        self.statuses: list[int] = []
        self.queries: list[tuple[str, str, dict[str, str]]] = []
        self.requests = 0

    # --- wiring ---------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def api(self, http: httpx.AsyncClient, **overrides: Any) -> WooCommerceAPI:
        """A WooCommerceAPI for this store on the fake clock (no real sleeping)."""
        options: dict[str, Any] = {
            "site_url": self.site_url,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "sleep": self.sleep,
            "clock": self.time,
        }
        options.update(overrides)
        return WooCommerceAPI(http, **options)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.wall += max(0.0, seconds)

    def time(self) -> float:
        return self.wall

    # --- knobs ----------------------------------------------------------------

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` requests with `status` (before any auth)."""
        for _ in range(times):
            self._failures.append(_Failure(status, retry_after, body))

    def fail_transport(self, *, times: int = 1) -> None:
        for _ in range(times):
            self._failures.append(_Failure(0, transport=True))

    def revoke(self) -> None:
        """The key was deleted (or its WordPress user was): every call is 401."""
        self.keys.clear()

    def touch(self, order_id: int, at: datetime | None = None, **changes: Any) -> None:
        """Change an order (as the shop would): new fields, a later modified time."""
        order = self.orders[order_id]
        latest = max(
            datetime.fromisoformat(o["date_modified_gmt"]).replace(tzinfo=UTC)
            for o in self.orders.values()
        )
        when = at or latest + timedelta(seconds=1)
        order.update(changes)
        order["date_modified_gmt"] = gmt(when)
        order["date_modified"] = local(when)

    def listed(self, status: str = "any") -> list[dict[str, Any]]:
        """The orders `status=any&orderby=modified&order=asc` lists, in order."""
        return self._sorted(self._with_status(status), "modified", "asc")

    def customer_email(self, customer_id: int) -> str:
        return str(self.customers[customer_id]["email"])

    # --- dispatch -------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self._failures:
            failure = self._failures.pop(0)
            if failure.transport:
                raise httpx.ConnectError("connection refused", request=request)
            headers = (
                {"Retry-After": failure.retry_after} if failure.retry_after else {}
            )
            body = (
                failure.body
                if failure.body is not None
                else {
                    "code": "http_error",
                    "message": f"HTTP {failure.status}",
                    "data": {"status": failure.status},
                }
            )
            self.statuses.append(failure.status)
            if isinstance(body, str):  # an HTML page (a proxy, plain permalinks)
                headers["Content-Type"] = "text/html; charset=UTF-8"
                return httpx.Response(failure.status, text=body, headers=headers)
            return httpx.Response(failure.status, json=body, headers=headers)
        try:
            response = self._route(request)
        except _ReplyError as reply:
            response = reply.response
        self.statuses.append(response.status_code)
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode()}"
        site = urlsplit(self.site_url)
        prefix = f"{site.path}{API_PATH}"
        path = url.path
        if origin != f"{site.scheme}://{site.netloc}" or not path.startswith(prefix):
            raise self._no_route()
        route = path[len(prefix) :] or "/"
        # PHP's $_GET: the decoded query ('+' is a space), the last value wins.
        params = dict(parse_qsl(url.query.decode(), keep_blank_values=True))
        self._authenticate(request, params)
        params = {k: v for k, v in params.items() if not k.startswith("oauth_")}
        params.pop("consumer_key", None)
        params.pop("consumer_secret", None)
        method = request.method
        self.queries.append((method, route, params))
        body = json.loads(request.content) if request.content else {}
        handlers: list[tuple[str, str, Callable[..., httpx.Response]]] = [
            ("GET", r"/orders", self._orders),
            ("GET", r"/orders/(\d+)", self._order),
            ("GET", r"/orders/(\d+)/refunds", self._order_refunds),
            ("GET", r"/customers/(\d+)", self._customer),
            ("GET", r"/coupons", self._coupons),
            ("POST", r"/coupons", self._create_coupon),
            ("GET", r"/webhooks", self._webhooks),
            ("POST", r"/webhooks", self._create_webhook),
            ("PUT", r"/webhooks/(\d+)", self._update_webhook),
            ("GET", r"/system_status", self._system_status),
        ]
        for verb, pattern, handler in handlers:
            match = re.fullmatch(pattern, route)
            if match and verb == method:
                name = re.sub(r"\(\\d\+\)", "{id}", pattern)
                self.calls[f"{method} {name}"] += 1
                return handler(params, body, *(int(g) for g in match.groups()))
        raise self._no_route()

    @staticmethod
    def _no_route() -> _ReplyError:
        return _error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        )

    # --- authentication -------------------------------------------------------

    def _authenticate(self, request: httpx.Request, params: Mapping[str, str]) -> None:
        if self.https:
            key, secret = params.get("consumer_key"), params.get("consumer_secret")
            header = request.headers.get("Authorization", "")
            if key is None and header.startswith("Basic "):
                try:
                    decoded = base64.b64decode(header[6:]).decode()
                except (ValueError, UnicodeDecodeError):
                    decoded = ""
                key, _, secret = decoded.partition(":")
            if not key:
                raise self._cannot(request.method)
            if key not in self.keys:
                raise _error(
                    401,
                    "woocommerce_rest_authentication_error",
                    "Consumer key is invalid.",
                )
            if not hmac.compare_digest(self.keys[key], secret or ""):
                raise _error(
                    401,
                    "woocommerce_rest_authentication_error",
                    "Consumer secret is invalid.",
                )
            return
        # Plain HTTP: WooCommerce ignores Basic credentials (is_ssl() is false).
        required = (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        )
        if any(not params.get(name) for name in required):
            raise self._cannot(request.method)
        key = params["oauth_consumer_key"]
        if key not in self.keys:
            raise _error(
                401, "woocommerce_rest_authentication_error", "Consumer key is invalid."
            )
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise _error(
                401,
                "woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.",
            )
        expected = self.php_signature(
            request.method, request.url.path, params, self.keys[key]
        )
        given = unquote(params["oauth_signature"].replace(" ", "+"))
        if not hmac.compare_digest(expected, given):
            raise _error(
                401,
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
            )
        try:
            timestamp = int(params["oauth_timestamp"])
        except ValueError:
            timestamp = 0
        if abs(timestamp - self.wall) > OAUTH_WINDOW:
            raise _error(
                401, "woocommerce_rest_authentication_error", "Invalid timestamp."
            )
        nonce = params["oauth_nonce"]
        if nonce in self.nonces:
            raise _error(
                401,
                "woocommerce_rest_authentication_error",
                "Invalid nonce - nonce has already been used.",
            )
        self.nonces.add(nonce)

    def php_signature(
        self, method: str, path: str, params: Mapping[str, str], secret: str
    ) -> str:
        """`check_oauth_signature`, line by line."""
        site = urlsplit(self.site_url)
        base_request_uri = rawurlencode(f"{site.scheme}://{site.netloc}{path}")
        signed = {k: v for k, v in params.items() if k != "oauth_signature"}
        ordered = sorted(signed.items(), key=lambda item: item[0].encode())  # strcmp
        query = "%26".join(f"{rawurlencode(k)}%3D{rawurlencode(v)}" for k, v in ordered)
        string_to_sign = f"{method.upper()}&{base_request_uri}&{query}"
        algorithm = (
            hashlib.sha256
            if params["oauth_signature_method"] == "HMAC-SHA256"
            else hashlib.sha1
        )
        digest = hmac.new(
            f"{secret}&".encode(), string_to_sign.encode(), algorithm
        ).digest()
        return base64.b64encode(digest).decode()

    @staticmethod
    def _cannot(method: str) -> _ReplyError:
        if method == "GET":
            return _error(
                401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
            )
        return _error(
            401,
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        )

    # --- collections ----------------------------------------------------------

    def _paged(
        self, route: str, params: Mapping[str, str], items: list[dict[str, Any]]
    ) -> httpx.Response:
        per_page = self._int(params, "per_page", 10, low=1, high=100)
        page = self._int(params, "page", 1, low=1)
        offset = (
            self._int(params, "offset", None, low=0) if "offset" in params else None
        )
        start = offset if offset is not None else (page - 1) * per_page
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        if offset is None and page > max(pages, 1):
            raise _error(
                400,
                "woocommerce_rest_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base = f"{self.site_url}{API_PATH}{route}"
        keep = {k: v for k, v in params.items() if k not in ("page", "offset")}

        def link(number: int, rel: str) -> str:
            return f'<{base}?{urlencode({**keep, "page": number})}>; rel="{rel}"'

        links = []
        if pages:
            links.append(link(1, "first"))
            if page > 1:
                links.append(link(min(page - 1, pages), "prev"))
            if page < pages:
                links.append(link(page + 1, "next"))
            links.append(link(pages, "last"))
        if links:
            headers["Link"] = ", ".join(links)
        return httpx.Response(
            200, json=items[start : start + per_page], headers=headers
        )

    @staticmethod
    def _int(
        params: Mapping[str, str],
        name: str,
        default: int | None,
        *,
        low: int | None = None,
        high: int | None = None,
    ) -> int:
        raw = params.get(name)
        if raw is None:
            assert default is not None
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _invalid_param(name, f"{name} is not of type integer.") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise _invalid_param(
                name, f"{name} must be between {low} (inclusive) and {high} (inclusive)"
            )
        return value

    def _date_param(self, params: Mapping[str, str], name: str) -> datetime | None:
        raw = params.get(name)
        if raw is None:
            return None
        if not REST_DATE.match(raw):
            raise _invalid_param(name, "Invalid date.")
        moment = datetime.fromisoformat(raw.replace(" ", "T").replace("t", "T"))
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
        if params.get("dates_are_gmt") in ("true", "1"):
            return moment.replace(tzinfo=UTC)
        return (moment - SITE_OFFSET).replace(tzinfo=UTC)  # site-local time

    def _with_status(self, status: str) -> list[dict[str, Any]]:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        for name in wanted:
            if name != "any" and name not in ORDER_STATUSES:
                raise _invalid_param(
                    "status",
                    f"status[0] is not one of any, {', '.join(sorted(ORDER_STATUSES))}.",
                )
        if "any" in wanted:
            return [o for o in self.orders.values() if o["status"] != "trash"]
        return [o for o in self.orders.values() if o["status"] in wanted]

    @staticmethod
    def _sorted(
        orders: list[dict[str, Any]], orderby: str, order: str
    ) -> list[dict[str, Any]]:
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "modified": lambda o: (o["date_modified_gmt"], o["id"]),
            "date": lambda o: (o["date_created_gmt"], o["id"]),
        }
        key = keys.get(orderby, lambda o: o["id"])
        return sorted(orders, key=key, reverse=order == "desc")

    def _orders(self, params: Mapping[str, str], body: Any) -> httpx.Response:
        orderby = params.get("orderby", "date")
        if orderby not in ORDERBY:
            raise _invalid_param(
                "orderby",
                "orderby is not one of date, id, include, title, slug, modified.",
            )
        order = params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise _invalid_param("order", "order is not one of asc, desc.")
        orders = self._with_status(params.get("status", "any"))
        filters: list[tuple[str, str, Callable[[datetime, datetime], bool]]] = [
            ("after", "date_created_gmt", lambda v, b: v > b),
            ("before", "date_created_gmt", lambda v, b: v < b),
            ("modified_after", "date_modified_gmt", lambda v, b: v > b),
            ("modified_before", "date_modified_gmt", lambda v, b: v < b),
        ]
        for name, field, test in filters:
            bound = self._date_param(params, name)
            if bound is not None:
                orders = [
                    o
                    for o in orders
                    if test(datetime.fromisoformat(o[field]).replace(tzinfo=UTC), bound)
                ]
        if "customer" in params:
            customer = self._int(params, "customer", 0, low=0)
            orders = [o for o in orders if o["customer_id"] == customer]
        return self._paged("/orders", params, self._sorted(orders, orderby, order))

    def _order(
        self, params: Mapping[str, str], body: Any, order_id: int
    ) -> httpx.Response:
        if order_id not in self.orders:
            raise _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return httpx.Response(200, json=self.orders[order_id])

    def _order_refunds(
        self, params: Mapping[str, str], body: Any, order_id: int
    ) -> httpx.Response:
        if order_id not in self.orders:
            raise _error(
                404, "woocommerce_rest_shop_order_invalid_id", "Invalid order ID."
            )
        refunds = [
            {
                **refund,
                "_links": {
                    **_links(
                        self.site_url,
                        f"/orders/{order_id}/refunds/{refund['id']}",
                        f"/orders/{order_id}/refunds",
                    ),
                    "up": [{"href": f"{self.site_url}{API_PATH}/orders/{order_id}"}],
                },
            }
            for refund in sorted(
                self.refunds.get(order_id, []), key=lambda r: r["id"], reverse=True
            )
        ]
        return self._paged(f"/orders/{order_id}/refunds", params, refunds)

    def _customer(
        self, params: Mapping[str, str], body: Any, customer_id: int
    ) -> httpx.Response:
        if customer_id not in self.customers:
            raise _error(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
        return httpx.Response(200, json=self.customers[customer_id])

    # --- coupons --------------------------------------------------------------

    def _coupons(self, params: Mapping[str, str], body: Any) -> httpx.Response:
        coupons = list(self.coupons.values())
        if "code" in params:
            coupons = [
                c for c in coupons if c["code"] == params["code"].strip().lower()
            ]
        return self._paged("/coupons", params, sorted(coupons, key=lambda c: -c["id"]))

    def _create_coupon(self, params: Mapping[str, str], body: Any) -> httpx.Response:
        if not isinstance(body, dict):
            raise _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        code = str(body.get("code") or "").strip().lower()  # wc_format_coupon_code
        if not code:
            raise _error(
                400,
                "woocommerce_rest_empty_coupon_code",
                "The coupon code cannot be empty.",
            )
        discount_type = body.get("discount_type", "fixed_cart")
        if discount_type not in ("percent", "fixed_cart", "fixed_product"):
            raise _invalid_param(
                "discount_type",
                "discount_type is not one of percent, fixed_cart, fixed_product.",
            )
        for name in ("amount", "minimum_amount", "maximum_amount"):
            if name in body and not isinstance(body[name], str):
                raise _invalid_param(name, f"{name} is not of type string.")
        for name in ("usage_limit", "usage_limit_per_user", "limit_usage_to_x_items"):
            if name in body and not isinstance(body[name], int):
                raise _invalid_param(name, f"{name} is not of type integer.")
        emails = body.get("email_restrictions", [])
        if not isinstance(emails, list) or not all(
            isinstance(e, str) and EMAIL.fullmatch(e) for e in emails
        ):
            raise _invalid_param(
                "email_restrictions", "email_restrictions[0] is not a valid email."
            )
        if code in self.coupons:
            raise _error(
                400,
                "woocommerce_rest_coupon_code_already_exists",
                "The coupon code already exists",
            )
        expires_gmt: datetime | None = None
        if body.get("date_expires") is not None:
            raw = str(body["date_expires"])
            match = OFFSET_DATE.match(raw)
            if not REST_DATE.match(raw):
                raise _invalid_param("date_expires", "Invalid date.")
            moment = datetime.fromisoformat(raw)
            if match is not None and moment.tzinfo is not None:
                expires_gmt = moment.astimezone(UTC)
            else:
                expires_gmt = (moment.replace(tzinfo=None) - SITE_OFFSET).replace(
                    tzinfo=UTC
                )
        self._serial += 1
        now = datetime.fromtimestamp(self.wall, UTC)
        coupon = {
            "id": self._serial,
            "code": code,
            "amount": money(Decimal(body.get("amount") or "0")),
            "date_created": local(now),
            "date_created_gmt": gmt(now),
            "date_modified": local(now),
            "date_modified_gmt": gmt(now),
            "discount_type": discount_type,
            "description": body.get("description", ""),
            "date_expires": local(expires_gmt),
            "date_expires_gmt": gmt(expires_gmt),
            "usage_count": 0,
            "individual_use": bool(body.get("individual_use", False)),
            "product_ids": body.get("product_ids", []),
            "excluded_product_ids": body.get("excluded_product_ids", []),
            "usage_limit": body.get("usage_limit"),
            "usage_limit_per_user": body.get("usage_limit_per_user"),
            "limit_usage_to_x_items": body.get("limit_usage_to_x_items"),
            "free_shipping": bool(body.get("free_shipping", False)),
            "product_categories": [],
            "excluded_product_categories": [],
            "exclude_sale_items": bool(body.get("exclude_sale_items", False)),
            "minimum_amount": money(Decimal(body.get("minimum_amount") or "0")),
            "maximum_amount": money(Decimal(body.get("maximum_amount") or "0")),
            "email_restrictions": emails,
            "used_by": [],
            "meta_data": [],
            "_links": _links(self.site_url, f"/coupons/{self._serial}", "/coupons"),
        }
        self.coupons[code] = coupon
        return httpx.Response(201, json=coupon)

    # --- webhooks and status --------------------------------------------------

    def _webhook_body(self, hook: FakeWebhook) -> dict[str, Any]:
        resource, _, event = hook.topic.partition(".")
        return {
            "id": hook.id,
            "name": hook.name,
            "status": hook.status,
            "topic": hook.topic,
            "resource": resource,
            "event": event,
            "hooks": [f"woocommerce_{event}_{resource}"],
            "delivery_url": hook.delivery_url,
            "date_created": local(BASE_TIME),
            "date_created_gmt": gmt(BASE_TIME),
            "date_modified": local(BASE_TIME),
            "date_modified_gmt": gmt(BASE_TIME),
            "_links": _links(self.site_url, f"/webhooks/{hook.id}", "/webhooks"),
        }

    def _webhooks(self, params: Mapping[str, str], body: Any) -> httpx.Response:
        hooks = [
            self._webhook_body(h) for h in sorted(self.webhooks, key=lambda h: -h.id)
        ]
        return self._paged("/webhooks", params, hooks)

    def _check_webhook(self, body: Mapping[str, Any]) -> None:
        topic = body.get("topic")
        if topic is not None and not (
            isinstance(topic, str) and WEBHOOK_TOPIC.fullmatch(topic)
        ):
            raise _error(
                400,
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            )
        url = body.get("delivery_url")
        if url is not None and not (
            isinstance(url, str) and re.match(r"https?://\S+$", url)
        ):
            raise _invalid_param("delivery_url", "delivery_url is not a valid URL.")
        status = body.get("status")
        if status is not None and status not in ("active", "paused", "disabled"):
            raise _invalid_param(
                "status", "status is not one of active, paused, disabled."
            )

    def _create_webhook(self, params: Mapping[str, str], body: Any) -> httpx.Response:
        if not isinstance(body, dict) or not body.get("topic"):
            raise _error(
                400,
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            )
        if not body.get("delivery_url"):
            raise _error(
                400, "rest_missing_callback_param", "Missing parameter(s): delivery_url"
            )
        self._check_webhook(body)
        self._serial += 1
        hook = FakeWebhook(
            id=self._serial,
            name=str(body.get("name") or f"Webhook created on {gmt(BASE_TIME)}"),
            topic=body["topic"],
            delivery_url=body["delivery_url"],
            secret=str(body.get("secret") or "generated-" + str(self._serial)),
            status=str(body.get("status") or "active"),
        )
        self.webhooks.append(hook)
        self.pings.append((hook.id, hook.delivery_url))  # deliver_ping(): webhook_id=N
        return httpx.Response(201, json=self._webhook_body(hook))

    def _update_webhook(
        self, params: Mapping[str, str], body: Any, hook_id: int
    ) -> httpx.Response:
        hook = next((h for h in self.webhooks if h.id == hook_id), None)
        if hook is None:
            raise _error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        if not isinstance(body, dict):
            raise _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        self._check_webhook(body)
        for name in ("name", "topic", "delivery_url", "secret", "status"):
            if body.get(name) is not None:
                setattr(hook, name, body[name])
        return httpx.Response(200, json=self._webhook_body(hook))

    def _system_status(self, params: Mapping[str, str], body: Any) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "environment": {
                    "home_url": self.site_url,
                    "site_url": self.site_url,
                    "version": "9.8.0",
                },
                "settings": {"currency": "USD", "api_enabled": True},
            },
        )

"""Shopify webhook bodies: only the fields Ladder reads (pydantic, extra="ignore").

The body of a webhook is the REST resource of its topic, without a wrapper
(platforms.md §1, §5). Money is a decimal string with a `*_set` twin holding
`shop_money` and `presentment_money`; Ladder reads shop money.

Ids are 64-bit integers. Anything that went through a JavaScript
`JSON.parse` may have rounded them (SOURCES.md warning 1: `id`
820982911946154500 next to `admin_graphql_api_id` ...508), so the numeric tail
of `admin_graphql_api_id` is the canonical id whenever it is present.
"""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    model_validator,
)

from api.platforms import UnsupportedPayloadError


class ShopifyPayloadError(UnsupportedPayloadError):
    """A body that is not the Shopify resource we expected (or cannot be mapped)."""


_GID = re.compile(r"gid://shopify/[A-Za-z]+/(\d+)(?:\?.*)?")


def gid_tail(gid: str | None) -> str | None:
    """`gid://shopify/Order/820982911946154508` -> `820982911946154508`."""
    if not gid:
        return None
    match = _GID.fullmatch(gid.strip())
    return match.group(1) if match else None


def _coerce_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("an id cannot be a boolean")
    if isinstance(value, int):
        return str(value)
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value == value.to_integral()
    ):
        return str(int(value))
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("an id must be a whole number")
        return str(int(value))  # already rounded upstream; the gid wins when present
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        tail = gid_tail(text)
        if tail is not None:
            return tail
        if text.isdigit():
            return text
    raise ValueError(f"not a Shopify id: {value!r}")


def _coerce_money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("money cannot be a boolean")
    if isinstance(value, float):
        value = repr(value)  # the shortest text of the float, never its binary value
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _aware(value: datetime) -> datetime:
    # Shopify always sends an offset; a naive time is taken as UTC, never local.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _text(value: Any) -> Any:
    # Redacted or absent personal data arrives as null or "": both mean unknown.
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


Id = Annotated[str | None, BeforeValidator(_coerce_id)]
Money = Annotated[Decimal, BeforeValidator(_coerce_money)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
Text = Annotated[str | None, BeforeValidator(_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MoneyAmount(_Model):
    amount: Money
    currency_code: str | None = None


class MoneyBag(_Model):
    shop_money: MoneyAmount
    presentment_money: MoneyAmount | None = None


def _shop(bag: MoneyBag | None, bare: Decimal | None) -> Decimal:
    """Shop money: the `*_set` twin first, else the bare field (also shop money)."""
    if bag is not None:
        return bag.shop_money.amount
    return bare if bare is not None else Decimal(0)


class DiscountAllocation(_Model):
    amount: Money | None = None
    amount_set: MoneyBag | None = None

    @property
    def shop_amount(self) -> Decimal:
        return _shop(self.amount_set, self.amount)


class TaxLine(_Model):
    price: Money | None = None
    price_set: MoneyBag | None = None

    @property
    def shop_amount(self) -> Decimal:
        return _shop(self.price_set, self.price)


class LineItem(_Model):
    id: Id = None
    admin_graphql_api_id: str | None = None
    price: Money | None = None
    price_set: MoneyBag | None = None
    quantity: int = 0
    # "The line item's quantity, minus the removed quantity" (edits and refunds).
    # Absent in old payloads: then nothing was removed.
    current_quantity: int | None = None
    gift_card: bool = False
    discount_allocations: list[DiscountAllocation] = []
    tax_lines: list[TaxLine] = []

    @property
    def keys(self) -> frozenset[str]:
        """Every spelling of this line's id (refund lines may carry a rounded one)."""
        return frozenset(k for k in (self.id, gid_tail(self.admin_graphql_api_id)) if k)

    @property
    def shop_price(self) -> Decimal:
        return _shop(self.price_set, self.price)


class DiscountCode(_Model):
    code: str
    amount: Money | None = None
    type: str | None = None


class EmailMarketingConsent(_Model):
    state: str | None = None


class Customer(_Model):
    """A customer: the `customers/*` body, or `order.customer`."""

    id: Id = None
    admin_graphql_api_id: str | None = None
    email: Text = None
    first_name: Text = None
    last_name: Text = None
    email_marketing_consent: EmailMarketingConsent | None = None
    # Deprecated in favour of email_marketing_consent; still in older payloads.
    accepts_marketing: bool | None = None

    @property
    def ref(self) -> str | None:
        return gid_tail(self.admin_graphql_api_id) or self.id


class RefundedLine(_Model):
    """`refund_line_items[].line_item`: the order line the refund line returns."""

    id: Id = None
    admin_graphql_api_id: str | None = None
    gift_card: bool = False


class RefundLineItem(_Model):
    id: Id = None
    line_item_id: Id = None
    quantity: int = 0
    subtotal: Money | None = None
    subtotal_set: MoneyBag | None = None
    total_tax: Money | None = None
    total_tax_set: MoneyBag | None = None
    line_item: RefundedLine | None = None

    @property
    def line_keys(self) -> frozenset[str]:
        keys = {self.line_item_id}
        if self.line_item is not None:
            keys |= {self.line_item.id, gid_tail(self.line_item.admin_graphql_api_id)}
        return frozenset(k for k in keys if k)

    @property
    def shop_subtotal(self) -> Decimal:
        return _shop(self.subtotal_set, self.subtotal)

    @property
    def shop_tax(self) -> Decimal:
        return _shop(self.total_tax_set, self.total_tax)

    @property
    def shop_currency(self) -> str | None:
        return self.subtotal_set.shop_money.currency_code if self.subtotal_set else None


class Transaction(_Model):
    kind: str | None = None
    status: str | None = None
    amount: Money | None = None
    # The currency the money moved in: the presentment currency of the order.
    currency: str | None = None


class OrderAdjustment(_Model):
    kind: str | None = None
    amount: Money | None = None
    amount_set: MoneyBag | None = None
    tax_amount: Money | None = None
    tax_amount_set: MoneyBag | None = None

    @property
    def shop_amount(self) -> Decimal:
        return _shop(self.amount_set, self.amount)

    @property
    def shop_tax(self) -> Decimal:
        return _shop(self.tax_amount_set, self.tax_amount)

    @property
    def shop_currency(self) -> str | None:
        return self.amount_set.shop_money.currency_code if self.amount_set else None


class RefundShippingLine(_Model):
    subtotal_amount_set: MoneyBag | None = None
    tax_amount_set: MoneyBag | None = None

    @property
    def shop_amount(self) -> Decimal:
        return _shop(self.subtotal_amount_set, None) + _shop(self.tax_amount_set, None)


class Refund(_Model):
    """A refund: the `refunds/create` body, or an entry of `order.refunds`."""

    id: Id = None
    admin_graphql_api_id: str | None = None
    order_id: Id = None
    created_at: Timestamp
    processed_at: Timestamp | None = None
    refund_line_items: list[RefundLineItem] = []
    transactions: list[Transaction] = []
    order_adjustments: list[OrderAdjustment] = []
    refund_shipping_lines: list[RefundShippingLine] = []

    @model_validator(mode="after")
    def _has_ids(self) -> "Refund":
        if not self.ref:
            raise ValueError("a refund needs its id or admin_graphql_api_id")
        return self

    @property
    def ref(self) -> str:
        return gid_tail(self.admin_graphql_api_id) or self.id or ""


class Order(_Model):
    """An order: the `orders/*` body (REST Order resource)."""

    id: Id = None
    admin_graphql_api_id: str | None = None
    name: Text = None
    email: Text = None
    currency: str
    presentment_currency: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp
    processed_at: Timestamp | None = None
    cancelled_at: Timestamp | None = None
    financial_status: str | None = None
    test: bool = False
    taxes_included: bool = False
    total_price: Money | None = None
    total_price_set: MoneyBag | None = None
    line_items: list[LineItem] = []
    discount_codes: list[DiscountCode] = []
    customer: Customer | None = None
    refunds: list[Refund] = []

    @model_validator(mode="after")
    def _has_ids(self) -> "Order":
        if not self.ref:
            raise ValueError("an order needs its id or admin_graphql_api_id")
        return self

    @property
    def ref(self) -> str:
        return gid_tail(self.admin_graphql_api_id) or self.id or ""

    @property
    def shop_total(self) -> Decimal:
        return _shop(self.total_price_set, self.total_price)


class OrderDeleted(_Model):
    """The `orders/delete` body: only `{"id": ...}`."""

    id: Id


class Shop(_Model):
    """The `app/uninstalled` body (Shop resource); most fields may be null."""

    id: Id = None
    name: Text = None
    email: Text = None
    domain: Text = None
    myshopify_domain: Text = None
    currency: str | None = None


class PrivacyCustomer(_Model):
    id: Id = None
    email: Text = None
    phone: Text = None


class DataRequest(_Model):
    id: Id = None


class PrivacyPayload(_Model):
    """`customers/data_request`, `customers/redact` and `shop/redact` bodies.

    [doc] shopify.dev/docs/apps/build/compliance/privacy-law-compliance
    """

    shop_id: Id = None
    shop_domain: Text = None
    customer: PrivacyCustomer | None = None
    orders_requested: list[Id] = []
    orders_to_redact: list[Id] = []
    data_request: DataRequest | None = None


Raw = bytes | str | Mapping[str, Any]
M = TypeVar("M", bound=_Model)


def parse(model: type[M], body: "Raw | M", *, wrapper: str | None = None) -> M:
    """Validate a body (raw JSON bytes/text, a decoded mapping, or a model).

    Raw JSON keeps 64-bit ids exact (Python integers). A REST
    single-resource response (`{"order": {...}}`) is unwrapped when `wrapper`
    names its key. Any failure is one `ShopifyPayloadError`.
    """
    if isinstance(body, model):
        return body
    try:
        # Integers stay exact (64-bit ids survive) and numbers with a fraction
        # become Decimal, never float.
        data: Any = (
            json.loads(body, parse_float=Decimal)
            if isinstance(body, bytes | str)
            else body
        )
        if not isinstance(data, Mapping):
            raise ShopifyPayloadError(f"not a Shopify {model.__name__}: not an object")
        if wrapper and "id" not in data and isinstance(data.get(wrapper), Mapping):
            data = data[wrapper]
        return model.model_validate(dict(data))
    except (ValidationError, ValueError, TypeError) as error:
        raise ShopifyPayloadError(f"not a Shopify {model.__name__}: {error}") from error


def parse_order(body: "Raw | Order") -> Order:
    return parse(Order, body, wrapper="order")


def parse_refund(body: "Raw | Refund") -> Refund:
    return parse(Refund, body, wrapper="refund")


def parse_customer(body: "Raw | Customer") -> Customer:
    return parse(Customer, body, wrapper="customer")


def parse_privacy(body: "Raw | PrivacyPayload") -> PrivacyPayload:
    return parse(PrivacyPayload, body)


def parse_shop(body: "Raw | Shop") -> Shop:
    return parse(Shop, body, wrapper="shop")


def parse_order_deleted(body: "Raw | OrderDeleted") -> OrderDeleted:
    return parse(OrderDeleted, body)

"""WooCommerce webhook and REST bodies: only the fields Ladder reads.

Pydantic models with extra="ignore". An `order.*` webhook body is the REST v3
order (`GET /wp-json/wc/v3/orders/<id>`, `_links` included), built at delivery
time; `customer.*` bodies are the REST customer; `order.deleted` is only
`{"id": <id>}` (platforms.md §7 "Topics"). Refunds come from
`/orders/<id>/refunds` (platforms.md §8 "Refund JSON").

Money is a decimal string ("29.35"; refund lines and `refunds[].total` are
negative) read as Decimal, never float. Dates are ISO 8601 without an offset:
`*_gmt` fields are UTC, the others site-local, so only `*_gmt` is read
(platforms.md §8 "Order JSON").
"""

import json
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


class WooCommercePayloadError(UnsupportedPayloadError):
    """A body that is not the WooCommerce resource we expected."""


def _coerce_id(value: Any) -> str | None:
    # WordPress ids are positive integers; 0 means "none" wherever WooCommerce
    # uses it (customer_id 0 is a guest, parent_id 0 no parent, variation_id 0
    # no variation: platforms.md §8 "Order JSON").
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("an id cannot be a boolean")
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value == value.to_integral()
    ):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"not a WooCommerce id: {value!r}")
        return str(value) if value else None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isdigit() and text.isascii():
            return str(int(text)) if int(text) else None
    raise ValueError(f"not a WooCommerce id: {value!r}")


def _coerce_money(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError("money cannot be a boolean")
    if isinstance(value, float):
        value = repr(value)  # the shortest text of the float, never its binary value
    if isinstance(value, str) and not value.strip():
        return Decimal(0)  # WooCommerce leaves unset totals as ""
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _gmt(value: Any) -> Any:
    # An empty date is absent (WooCommerce writes null, some plugins "").
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _aware(value: datetime | None) -> datetime | None:
    # `*_gmt` values carry no offset and are UTC, never server-local time.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _text(value: Any) -> Any:
    # Absent personal data arrives as "" or null: both mean unknown.
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _status(value: Any) -> Any:
    # REST returns statuses without WordPress's `wc-` post-status prefix;
    # tolerate it anyway, and any case.
    if isinstance(value, str):
        return value.strip().lower().removeprefix("wc-")
    return value


Id = Annotated[str | None, BeforeValidator(_coerce_id)]
Money = Annotated[Decimal, BeforeValidator(_coerce_money)]
GmtTime = Annotated[datetime | None, BeforeValidator(_gmt), AfterValidator(_aware)]
Text = Annotated[str | None, BeforeValidator(_text)]
Status = Annotated[str, BeforeValidator(_status)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Billing(_Model):
    email: Text = None
    first_name: Text = None
    last_name: Text = None


class LineItem(_Model):
    """`line_items[]`: `subtotal` is before discounts, `total` after them; both
    exclude tax, which is in `subtotal_tax` / `total_tax` ([doc] `_orders.md`)."""

    id: Id = None
    product_id: Id = None
    quantity: int = 0
    subtotal: Money = Decimal(0)
    subtotal_tax: Money = Decimal(0)
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)


class ShippingLine(_Model):
    id: Id = None
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)


class FeeLine(_Model):
    """`fee_lines[]`: fees can be negative (platforms.md §8 "Order JSON")."""

    id: Id = None
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)


class CouponLine(_Model):
    id: Id = None
    code: Text = None
    discount: Money = Decimal(0)
    discount_tax: Money = Decimal(0)


class RefundSummary(_Model):
    """`refunds[]` of an order: only the id and a negative `total`.

    Current code emits `reason`; the docs example spells it `refund`
    (SOURCES.md, rest-orders-list.json). Neither is read.
    """

    id: Id
    total: Money = Decimal(0)
    reason: Text = None

    @model_validator(mode="after")
    def _has_id(self) -> "RefundSummary":
        if not self.id:
            raise ValueError("a refund needs its id")
        return self


class Order(_Model):
    """An order: the `order.*` webhook body, or one REST v3 order."""

    id: Id
    number: Text = None
    status: Status
    currency: str
    date_created_gmt: GmtTime = None
    date_modified_gmt: GmtTime
    date_paid_gmt: GmtTime = None
    date_completed_gmt: GmtTime = None
    customer_id: Id = None
    billing: Billing | None = None
    payment_method: Text = None
    prices_include_tax: bool = False
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)
    shipping_total: Money = Decimal(0)
    discount_total: Money = Decimal(0)
    line_items: list[LineItem] = []
    shipping_lines: list[ShippingLine] = []
    fee_lines: list[FeeLine] = []
    coupon_lines: list[CouponLine] = []
    refunds: list[RefundSummary] = []

    @model_validator(mode="after")
    def _complete(self) -> "Order":
        if not self.id:
            raise ValueError("an order needs its id")
        if self.date_modified_gmt is None:
            raise ValueError("an order needs its date_modified_gmt")
        if not self.currency.strip():
            raise ValueError("an order needs its currency")
        return self

    @property
    def ref(self) -> str:
        return self.id or ""

    @property
    def modified_at(self) -> datetime:
        # Checked by the validator; the property keeps the type exact.
        if self.date_modified_gmt is None:  # pragma: no cover
            raise WooCommercePayloadError("an order needs its date_modified_gmt")
        return self.date_modified_gmt

    @property
    def email(self) -> str | None:
        return self.billing.email if self.billing is not None else None


class OrderDeleted(_Model):
    """The `order.deleted` body: only `{"id": <id>}`."""

    id: Id

    @model_validator(mode="after")
    def _has_id(self) -> "OrderDeleted":
        if not self.id:
            raise ValueError("a deleted order needs its id")
        return self


class RefundLineItem(_Model):
    """`line_items[]` of a refund: `quantity`, `subtotal` and `total` are
    negative; the order line it returns is in `meta_data` `_refunded_item_id`
    (platforms.md §8 "Refund JSON")."""

    id: Id = None
    product_id: Id = None
    quantity: int = 0
    subtotal: Money = Decimal(0)
    total: Money = Decimal(0)
    total_tax: Money = Decimal(0)


class Refund(_Model):
    """A REST refund (`/orders/<id>/refunds[/<refund_id>]`, or `/refunds`)."""

    id: Id
    # Set by `GET /refunds` (all orders, WooCommerce 9.0+); absent per order.
    parent_id: Id = None
    date_created_gmt: GmtTime
    amount: Money = Decimal(0)
    reason: Text = None
    line_items: list[RefundLineItem] = []

    @model_validator(mode="after")
    def _complete(self) -> "Refund":
        if not self.id:
            raise ValueError("a refund needs its id")
        if self.date_created_gmt is None:
            raise ValueError("a refund needs its date_created_gmt")
        return self

    @property
    def created_at(self) -> datetime:
        if self.date_created_gmt is None:  # pragma: no cover - validated
            raise WooCommercePayloadError("a refund needs its date_created_gmt")
        return self.date_created_gmt


class Customer(_Model):
    """A customer: the `customer.*` webhook body (REST v3 customer)."""

    id: Id = None
    email: Text = None
    first_name: Text = None
    last_name: Text = None
    username: Text = None
    role: Text = None
    date_modified_gmt: GmtTime = None
    billing: Billing | None = None


Raw = bytes | str | Mapping[str, Any]
M = TypeVar("M", bound=_Model)


def parse(model: type[M], body: "Raw | M") -> M:
    """Validate a body (raw JSON bytes/text, a decoded mapping, or a model).

    Numbers with a fraction become Decimal, never float. Any failure is one
    `WooCommercePayloadError`.
    """
    if isinstance(body, model):
        return body
    try:
        data: Any = (
            json.loads(body, parse_float=Decimal)
            if isinstance(body, bytes | str)
            else body
        )
        if not isinstance(data, Mapping):
            raise WooCommercePayloadError(
                f"not a WooCommerce {model.__name__}: not an object"
            )
        return model.model_validate(dict(data))
    except (ValidationError, ValueError, TypeError) as error:
        raise WooCommercePayloadError(
            f"not a WooCommerce {model.__name__}: {error}"
        ) from error


def parse_order(body: "Raw | Order") -> Order:
    return parse(Order, body)


def parse_order_deleted(body: "Raw | OrderDeleted") -> OrderDeleted:
    return parse(OrderDeleted, body)


def parse_refund(body: "Raw | Refund") -> Refund:
    return parse(Refund, body)


def parse_customer(body: "Raw | Customer") -> Customer:
    return parse(Customer, body)

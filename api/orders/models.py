from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store

if TYPE_CHECKING:
    from api.customers.models import Customer


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class Order(Model):
    """What Ladder knows of one order, and the points it gave and took back."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="orders", db_index=False
    )
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "ladder.Customer", related_name="orders", db_index=False
    )
    platform = fields.CharField(max_length=16)
    order_ref = fields.CharField(max_length=128)
    name = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(OrderStatus, max_length=24)
    currency = fields.CharField(max_length=3)
    eligible_minor = fields.BigIntField()
    refunded_minor = fields.BigIntField(default=0)
    # All the customer paid, for pro-rata amount-only refunds (0: unknown).
    total_minor = fields.BigIntField(db_default=0, default=0)
    points_earned = fields.IntField(default=0)
    points_reversed = fields.IntField(default=0)
    # Points a refund should have taken back but the customer had already spent.
    points_unrecovered = fields.IntField(default=0)
    discount_codes: fields.Field[list[str]] = fields.JSONField(default=list)
    placed_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    # The platform's updated_at of the newest snapshot applied: older ones change nothing.
    snapshot_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    store_id: object
    customer_id: object

    class Meta:
        table = "orders"
        unique_together = (("store_id", "platform", "order_ref"),)
        indexes = (("store_id", "customer_id", "paid_at"), ("store_id", "paid_at"))


class OrderRefund(Model):
    """One refund applied to an order (its ref makes repeats harmless)."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="order_refunds", db_index=False
    )
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "ladder.Order", related_name="refunds", db_index=False
    )
    refund_ref = fields.CharField(max_length=128)
    refunded_minor = fields.BigIntField()
    points_reversed = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object
    order_id: object

    class Meta:
        table = "order_refunds"
        unique_together = (("store_id", "order_id", "refund_ref"),)


# What an event can change on a stored order; its identity, customer,
# currency and placing time never change.
CHANGING = (
    "status",
    "name",
    "eligible_minor",
    "refunded_minor",
    "total_minor",
    "points_earned",
    "points_reversed",
    "points_unrecovered",
    "discount_codes",
    "paid_at",
    "snapshot_at",
    "updated_at",
)

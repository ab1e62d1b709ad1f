from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store

if TYPE_CHECKING:
    from api.customers.models import Customer


class RewardKind(StrEnum):
    FIXED_AMOUNT = "fixed_amount"  # value_minor off the order
    PERCENTAGE = "percentage"  # percent off the order
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"  # product_ref, free
    STORE_CREDIT = "store_credit"  # value_minor to spend later
    CUSTOM = "custom"  # a gift the merchant fulfils by hand


class Reward(Model):
    """An entry of the rewards catalogue, bought with points."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="rewards", db_index=False
    )
    name = fields.CharField(max_length=100)
    description = fields.CharField(max_length=500, default="")
    kind = fields.CharEnumField(RewardKind, max_length=16)
    cost_points = fields.IntField()
    value_minor = fields.BigIntField(null=True)
    percent = fields.IntField(null=True)
    product_ref = fields.CharField(max_length=255, null=True)
    min_order_minor = fields.BigIntField(null=True)
    # Lowest tier (by rank) allowed to redeem; null: everyone.
    min_tier_rank = fields.IntField(null=True)
    stock = fields.IntField(null=True, description="Left to give (null: unlimited)")
    per_customer_limit = fields.IntField(null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    store_id: object

    class Meta:
        table = "rewards"
        indexes = (("store_id", "active", "cost_points"),)


class RedemptionStatus(StrEnum):
    ISSUED = "issued"  # code handed out, not used yet
    USED = "used"  # seen in a later order
    CANCELLED = "cancelled"  # points returned


class Redemption(Model):
    """Points spent on a reward, and the code that claims it."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="redemptions", db_index=False
    )
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "ladder.Customer", related_name="redemptions", db_index=False
    )
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "ladder.Reward", related_name="redemptions", db_index=False
    )
    code = fields.CharField(max_length=32)
    points_spent = fields.IntField()
    status = fields.CharEnumField(
        RedemptionStatus, max_length=16, default=RedemptionStatus.ISSUED
    )
    used_order_ref = fields.CharField(max_length=128, null=True)
    # The code on the store's platform (Shopify discount code, WooCommerce coupon):
    # null without a connected platform, else pending -> created, or failed.
    platform_code_status = fields.CharField(max_length=16, null=True)
    platform_code_ref = fields.CharField(max_length=255, null=True)
    platform_attempts = fields.IntField(db_default=0, default=0)
    platform_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)

    store_id: object
    customer_id: object
    reward_id: object

    class Meta:
        table = "redemptions"
        unique_together = (("store_id", "code"),)
        indexes = (
            ("store_id", "customer_id", "reward_id"),
            ("store_id", "platform_code_status"),
        )

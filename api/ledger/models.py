from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store

if TYPE_CHECKING:
    from api.customers.models import Customer


class TransactionKind(StrEnum):
    EARN = "earn"  # points for an order or an action
    BONUS = "bonus"  # a campaign's fixed bonus
    REDEEM = "redeem"  # spent on a reward
    ADJUST = "adjust"  # set by the merchant, with a reason
    EXPIRE = "expire"  # a lot reached its expiry date
    REVERSE = "reverse"  # taken back after a refund or cancellation, or a cancelled redemption returned


class PointsTransaction(Model):
    """One entry of the append-only points ledger. Never edited: corrected by new entries."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="points_transactions", db_index=False
    )
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "ladder.Customer", related_name="points_transactions", db_index=False
    )
    kind = fields.CharEnumField(TransactionKind, max_length=16)
    points = fields.IntField(description="Signed: positive credits, negative debits")
    reason = fields.CharField(max_length=255)
    # What caused it: ("order", id), ("redemption", id), ("action", "birthday:2026") ...
    source_type = fields.CharField(max_length=32, default="")
    source_id = fields.CharField(max_length=128, default="")
    rule_id = fields.UUIDField(null=True)
    campaign_id = fields.UUIDField(null=True)
    details: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    idempotency_key = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object
    customer_id: object

    class Meta:
        table = "points_transactions"
        unique_together = (("store_id", "idempotency_key"),)
        indexes = (
            ("store_id", "customer_id", "created_at"),
            ("store_id", "source_type", "source_id"),
        )


class PointsLot(Model):
    """Points credited together: they become available, are spent and expire together."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="points_lots", db_index=False
    )
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "ladder.Customer", related_name="points_lots", db_index=False
    )
    origin: fields.ForeignKeyRelation[PointsTransaction] = fields.ForeignKeyField(
        "ladder.PointsTransaction", related_name="lots", db_index=False
    )
    order_id = fields.UUIDField(null=True)
    points = fields.IntField()
    remaining = fields.IntField()
    available_at = fields.DatetimeField()
    # True while its points count as pending on the customer (not yet spendable).
    pending = fields.BooleanField()
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object
    customer_id: object
    origin_id: object

    class Meta:
        table = "points_lots"
        indexes = (
            ("store_id", "customer_id", "remaining"),
            ("store_id", "pending", "available_at"),
            ("store_id", "expires_at"),
        )

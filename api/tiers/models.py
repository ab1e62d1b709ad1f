from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store

if TYPE_CHECKING:
    from api.customers.models import Customer


class Tier(Model):
    """A rung of the tier ladder: reach the threshold, get the multiplier and perks."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="tiers", db_index=False
    )
    name = fields.CharField(max_length=100)
    # Higher rank = better tier; the qualifying threshold grows with it.
    rank = fields.IntField()
    # Spend in minor units, or points earned, per the programme's tier basis.
    threshold = fields.BigIntField()
    multiplier = fields.DecimalField(max_digits=6, decimal_places=2, default=1)
    perks: fields.Field[list[str]] = fields.JSONField(default=list)
    description = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object

    class Meta:
        table = "tiers"
        unique_together = (("store_id", "rank"),)


class TierChangeReason(StrEnum):
    QUALIFIED = "qualified"  # reached a higher threshold: immediate upgrade
    DOWNGRADED = "downgraded"  # fell short at the end of the period
    MANUAL = "manual"  # set by the merchant (override)
    OVERRIDE_CLEARED = "override_cleared"  # back to what the customer qualifies for


class TierChange(Model):
    """One move between tiers, kept forever (tier history)."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="tier_changes", db_index=False
    )
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "ladder.Customer", related_name="tier_changes", db_index=False
    )
    from_tier_id = fields.UUIDField(null=True)
    to_tier_id = fields.UUIDField(null=True)
    reason = fields.CharEnumField(TierChangeReason, max_length=24)
    note = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object
    customer_id: object

    class Meta:
        table = "tier_changes"
        indexes = (("store_id", "customer_id", "created_at"),)

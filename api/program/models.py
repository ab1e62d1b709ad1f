from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.core.money import Rounding
from api.program.rules import CapPeriod, RuleKind
from api.stores.models import Store


class EarningRule(Model):
    """How customers earn: per unit of spend, or a fixed bonus for an action."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="earning_rules", db_index=False
    )
    kind = fields.CharEnumField(RuleKind, max_length=24)
    name = fields.CharField(max_length=100)
    active = fields.BooleanField(default=True)
    points = fields.IntField(default=0)
    points_per_unit = fields.DecimalField(max_digits=12, decimal_places=4, default=0)
    rounding = fields.CharEnumField(Rounding, max_length=16, default=Rounding.DOWN)
    cap_points = fields.IntField(null=True)
    cap_period = fields.CharEnumField(CapPeriod, max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    store_id: object

    class Meta:
        table = "earning_rules"
        indexes = (("store_id", "kind"),)


class Campaign(Model):
    """A time-boxed promotion: a multiplier and/or a fixed bonus, maybe per tier."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="campaigns", db_index=False
    )
    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    multiplier = fields.DecimalField(max_digits=6, decimal_places=2, default=1)
    bonus_points = fields.IntField(default=0)
    tier_ids: fields.Field[list[str]] = fields.JSONField(default=list)
    kinds: fields.Field[list[str]] = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object

    class Meta:
        table = "campaigns"
        indexes = (("store_id", "ends_at"),)

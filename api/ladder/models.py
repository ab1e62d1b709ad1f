from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store

if TYPE_CHECKING:
    from api.customers.models import Customer


class Stage(StrEnum):
    """The rungs of the loyalty ladder, lowest first."""

    PROSPECT = "prospect"
    CANDIDATE = "candidate"
    PURCHASER = "purchaser"
    CLIENT = "client"
    ADVOCATE = "advocate"


class StageChange(Model):
    """One move on the loyalty ladder, with its time and cause."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="stage_changes", db_index=False
    )
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "ladder.Customer", related_name="stage_changes", db_index=False
    )
    from_stage = fields.CharEnumField(Stage, max_length=16, null=True)
    to_stage = fields.CharEnumField(Stage, max_length=16)
    cause = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object
    customer_id: object

    class Meta:
        table = "stage_changes"
        indexes = (("store_id", "customer_id", "created_at"),)

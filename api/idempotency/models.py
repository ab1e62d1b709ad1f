from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store


class IdempotencyRecord(Model):
    """The first result of a write a client may repeat: a repeat returns it."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="idempotency_records", db_index=False
    )
    key = fields.CharField(max_length=200)
    operation = fields.CharField(max_length=64)
    # Hash of the request's input: the same key with other input is refused.
    fingerprint = fields.CharField(max_length=64)
    result: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object

    class Meta:
        table = "idempotency_records"
        unique_together = (("store_id", "key"),)

from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store


class PrivacyRequestRecord(Model):
    """A privacy request received from a platform and what was done about it."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="privacy_requests", db_index=True
    )
    kind = fields.CharField(max_length=32)
    shop_ref = fields.CharField(max_length=255)
    request_ref = fields.CharField(max_length=128, null=True)
    customer_id = fields.UUIDField(null=True)
    # For data requests: everything Ladder holds about the customer.
    export: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)
    outcome = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object

    class Meta:
        table = "privacy_requests"

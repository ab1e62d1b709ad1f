from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.platforms import PlatformName
from api.stores.models import Store


class WebhookDelivery(Model):
    """A verified webhook, stored before it is answered (the durable queue).

    Deliveries with the platform's event id are unique, so a re-delivery is
    recognised and answered without a second effect.
    """

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="webhook_deliveries", db_index=False
    )
    platform = fields.CharEnumField(PlatformName, max_length=16)
    shop_ref = fields.CharField(max_length=255)
    topic = fields.CharField(max_length=64)
    # The platform's event id (Shopify X-Shopify-Event-Id); null when it has none.
    event_key = fields.CharField(max_length=128, null=True)
    payload: fields.Field[dict[str, object]] = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)

    store_id: object

    class Meta:
        table = "webhook_deliveries"
        unique_together = (("platform", "shop_ref", "topic", "event_key"),)
        # The redrive's index is partial, on deliveries not processed yet
        # (migration 0011: tortoise cannot declare `IS NULL` conditions). The
        # retention's purge reads the oldest by `received_at` (migration 0012,
        # in SQL so it can be built CONCURRENTLY beforehand).
        # Nothing leads with store_id: deleting a store (no path does yet)
        # would read the whole inbox.

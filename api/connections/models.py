from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.platforms import PlatformName
from api.stores.models import Store


class Connection(Model):
    """A store's link to its shop on a platform, with its (encrypted) credentials."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="connections", db_index=True
    )
    platform = fields.CharEnumField(PlatformName, max_length=16)
    # The shop's address: x.myshopify.com, or the WooCommerce site URL.
    shop_ref = fields.CharField(max_length=255)
    # Credentials, encrypted with the server's secret key (api.core.crypto).
    access_token: fields.Field[str | None] = fields.TextField(null=True)  # type: ignore[assignment]
    refresh_token: fields.Field[str | None] = fields.TextField(null=True)  # type: ignore[assignment]
    token_expires_at = fields.DatetimeField(null=True)
    # Signs this shop's webhooks when it is not the app's own secret (custom apps).
    webhook_secret: fields.Field[str | None] = fields.TextField(null=True)  # type: ignore[assignment]
    scopes = fields.CharField(max_length=500, default="")
    active = fields.BooleanField(default=True)
    # Test orders (Shopify `test: true`) earn nothing unless the store opts in.
    include_test_orders = fields.BooleanField(default=False)
    # Backfill checkpoint: resume after this cursor / updated-at.
    sync_cursor = fields.CharField(max_length=500, null=True)
    synced_until = fields.DatetimeField(null=True)
    # Last reconcile run (WooCommerce never retries webhooks: a schedule catches up).
    reconciled_at = fields.DatetimeField(null=True)
    installed_at = fields.DatetimeField(auto_now_add=True)
    uninstalled_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    store_id: object

    class Meta:
        table = "connections"
        # One shop belongs to one store.
        unique_together = (("platform", "shop_ref"),)

from enum import StrEnum
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model


class KeyKind(StrEnum):
    """Secret keys act for the store (server to server), publishable keys are public."""

    SECRET = "secret"
    PUBLISHABLE = "publishable"


class Store(Model):
    """The tenant: one merchant's loyalty programme."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    name = fields.CharField(max_length=200)
    currency = fields.CharField(max_length=3, description="ISO 4217 code")
    timezone = fields.CharField(max_length=64, description="IANA zone name")
    program_settings: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    # Signs customer tokens; replacing it revokes every token issued before.
    token_secret = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stores"


class ApiKey(Model):
    """A credential for one store. Only a SHA-256 hash of the key is kept."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="api_keys", db_index=True
    )
    kind = fields.CharEnumField(KeyKind, max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    # The first characters, so people can tell keys apart in lists and logs.
    prefix = fields.CharField(max_length=16)
    # Browser origins a publishable key may be used from (CORS); empty = none.
    allowed_origins: fields.Field[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    store_id: object

    class Meta:
        table = "api_keys"

from enum import StrEnum
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from api.stores.models import Store


class Platform(StrEnum):
    """Where a customer's external id comes from."""

    CUSTOM = "custom"
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


class Customer(Model):
    """A person known to a store, enrolled in its programme or not (yet)."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="customers", db_index=False
    )
    # Personal data: every column below up to `birthday` is wiped on erasure.
    email = fields.CharField(max_length=254, null=True)
    first_name = fields.CharField(max_length=100, null=True)
    last_name = fields.CharField(max_length=100, null=True)
    birthday = fields.DateField(null=True)
    marketing_consent = fields.BooleanField(default=False)
    enrolled = fields.BooleanField(default=False)
    enrolled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Set when the customer's personal data was erased; the row stays so the
    # ledger keeps balancing, but the customer is gone from every query.
    erased_at = fields.DatetimeField(null=True)

    store_id: object
    identities: fields.ReverseRelation["CustomerIdentity"]

    class Meta:
        table = "customers"
        indexes = (("store_id", "created_at"), ("store_id", "email"))


class CustomerIdentity(Model):
    """A customer's id on one platform (their own site, Shopify, WooCommerce)."""

    id = fields.UUIDField(primary_key=True, default=uuid4)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "ladder.Store", related_name="customer_identities", db_index=False
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "ladder.Customer", related_name="identities", db_index=True
    )
    platform = fields.CharEnumField(Platform, max_length=16)
    external_id = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    store_id: object
    customer_id: object

    class Meta:
        table = "customer_identities"
        # Idempotency of customerUpsert rests on this constraint.
        unique_together = (("store_id", "platform", "external_id"),)

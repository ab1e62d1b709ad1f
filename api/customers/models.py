from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from tortoise import fields
from tortoise.models import Model

from api.ladder.models import Stage
from api.stores.models import Store

# `Customer.lots_due_at` when no open lot can ever fall due (none, or none
# with a hold or an expiry); a new customer has no lots.
NOTHING_DUE = datetime(9999, 12, 31, tzinfo=UTC)

if TYPE_CHECKING:
    from api.tiers.models import Tier


# Every customer column that holds personal data: erasure empties them all, and a
# test scans them after erasing (add new personal columns here).
PERSONAL_FIELDS = ("email", "first_name", "last_name", "birthday", "birthday_md")


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
    # month * 100 + day of the birthday, so a daily job finds today's birthdays by index.
    birthday_md = fields.SmallIntField(null=True)
    marketing_consent = fields.BooleanField(default=False)
    enrolled = fields.BooleanField(default=False)
    enrolled_at = fields.DatetimeField(null=True)
    # Points, cached from the ledger in the same transaction as each entry:
    # balance (spendable) + pending == sum of the customer's ledger entries.
    points_balance = fields.IntField(db_default=0, default=0)
    points_pending = fields.IntField(db_default=0, default=0)
    points_lifetime = fields.IntField(db_default=0, default=0)
    # No open lot can need settling (a hold ending, points expiring) before
    # this time, so orders and redemptions skip reading the lots until then.
    # Null: not known (rows from before it existed), so the lots are read.
    lots_due_at = fields.DatetimeField(null=True, default=NOTHING_DUE)
    # Tier: current rung, when it is reviewed next, and whether the merchant fixed it.
    tier: fields.ForeignKeyNullableRelation["Tier"] = fields.ForeignKeyField(
        "ladder.Tier",
        related_name="customers",
        null=True,
        on_delete=fields.SET_NULL,
        db_index=False,
    )
    tier_review_at = fields.DatetimeField(null=True)
    tier_locked = fields.BooleanField(db_default=False, default=False)
    # Loyalty ladder: the rung, and the facts it is derived from.
    stage = fields.CharEnumField(
        Stage, max_length=16, db_default=Stage.PROSPECT.value, default=Stage.PROSPECT
    )
    stage_changed_at = fields.DatetimeField(null=True)
    paid_orders = fields.IntField(db_default=0, default=0)
    advocacy_signals = fields.IntField(db_default=0, default=0)
    last_order_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Set when the customer's personal data was erased; the row stays so the
    # ledger keeps balancing, but the customer is gone from every query.
    erased_at = fields.DatetimeField(null=True)

    store_id: object
    tier_id: UUID | None
    identities: fields.ReverseRelation["CustomerIdentity"]

    class Meta:
        table = "customers"
        indexes = (
            ("store_id", "created_at"),
            ("store_id", "email"),
            ("store_id", "stage"),
            # Back-office filters: a tier, then a rung. Not last_order_at: every
            # paid order writes it, and an index on it would cost those updates.
            ("store_id", "tier_id", "stage"),
            ("store_id", "birthday_md"),
        )


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

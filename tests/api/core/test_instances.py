"""`instances.new` makes what tortoise's `Model(**values)` makes, for every model."""

import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from tortoise import Tortoise
from tortoise.models import Model
from tortoise.transactions import in_transaction

from api.connections import service as connections
from api.core.crypto import Vault
from api.core.instances import new
from api.customers.models import Customer
from api.db import APP_LABEL
from api.inbox import service as inbox
from api.ledger.models import PointsTransaction
from api.orders.events import OrderEventKind
from api.orders.models import Order
from api.orders.service import ingest
from api.platforms import PlatformName
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.api.core.test_sql import _comparable
from tests.factories.program import order_event, seed_everything


def _values(instance: Model) -> dict[str, Any]:
    """A stored row as the values of its fields (no relations)."""
    return {key: getattr(instance, key) for key in instance._meta.fields_db_projection}


def _made_by(field_default: Any) -> bool:
    return callable(field_default)


async def test_new_makes_what_tortoise_makes_for_every_model(
    store: IssuedKeys, settings: Settings
) -> None:
    await seed_everything(store, email="ada@example.com")
    await _seed_the_rest(store, settings)
    compared: set[str] = set()
    for model in Tortoise.apps[APP_LABEL].values():
        for stored in await model.all():
            values = _values(stored)
            # As they are, and as text where a field converts text (ids,
            # enums, decimals): each given value goes through its field.
            for given in (values, _as_text(values)):
                ours, theirs = new(model, **given), model(**given)
                assert _comparable(ours) == _comparable(theirs), model.__name__
                assert _types(ours) == _types(theirs), model.__name__
            # Only what has no default given: the defaults are the same too,
            # except those made by a function (a new id), alike in type.
            fields = model._meta.fields_map
            required = {
                key: value
                for key, value in values.items()
                if fields[key].default is None and not fields[key].has_db_default()
            }
            ours, theirs = new(model, **required), model(**required)
            made = {key for key, field in fields.items() if _made_by(field.default)}
            assert _without(ours, made) == _without(theirs, made), model.__name__
            assert _types(ours) == _types(theirs), model.__name__
            compared.add(model.__name__)
    # every model `new` makes on a hot path, among the rest
    made_by_new = {
        "Customer",
        "CustomerIdentity",
        "Order",
        "OrderRefund",
        "PointsLot",
        "PointsTransaction",
        "StageChange",
        "WebhookDelivery",
    }
    assert made_by_new <= compared and len(compared) >= 15, compared


@pytest.mark.usefixtures("orm")
def test_new_refuses_none_for_a_field_that_needs_a_value() -> None:
    for make in (new, _tortoise):
        with pytest.raises(ValueError, match="order_ref is non nullable"):
            make(Order, order_ref=None)


@pytest.mark.usefixtures("orm")
def test_defaults_made_by_a_function_are_made_for_each_instance() -> None:
    first, second = new(PointsTransaction), new(PointsTransaction)
    first.details["note"] = "mine"
    assert second.details == {}
    assert first.id != second.id


@pytest.mark.usefixtures("store")
async def test_a_relation_given_as_an_object_takes_tortoises_path(
    store: IssuedKeys,
) -> None:
    stored = await seed_everything(store, email="ada@example.com")
    customer = await Customer.get(id=stored.customer.id)
    made = new(Order, customer=customer, order_ref="1001")
    assert made.customer_id == customer.id
    assert made.customer is customer


async def _seed_the_rest(store: IssuedKeys, settings: Settings) -> None:
    """A refund and a webhook delivery, which `seed_everything` does not store."""
    refund = order_event(
        OrderEventKind.REFUNDED,
        ref="order-b",
        customer="b-secret-id",
        refund_ref="r-1",
        refunded=5_000,
    )
    async with in_transaction():
        await ingest(store.store, refund)
    await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref="instances.myshopify.com",
        vault=Vault(settings.vault_key()),
        access_token="shpat_test",
        webhook_secret="secret",
    )
    connection = await connections.find(PlatformName.SHOPIFY, "instances.myshopify.com")
    assert connection is not None
    await inbox.record(connection, topic="orders/paid", event_key="e-1", payload={})


def _as_text(values: dict[str, Any]) -> dict[str, Any]:
    def text(value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, (UUID, Decimal)):
            return str(value)
        return value

    return {key: text(value) for key, value in values.items()}


def _tortoise(model: type[Model], /, **values: Any) -> Model:
    return model(**values)


def _types(instance: Model) -> dict[str, type]:
    return {key: type(value) for key, value in instance.__dict__.items()}


def _without(instance: Model, keys: set[str]) -> dict[str, Any]:
    compared: Callable[[Model], dict[str, Any]] = _comparable
    return {key: value for key, value in compared(instance).items() if key not in keys}


def test_nothing_is_kept_from_before_tortoise_sets_the_models_up() -> None:
    # Before Tortoise.init a model's link columns (store_id, customer_id) are
    # not fields yet; a fresh process shows whether `new` remembered that.
    code = """
import asyncio, uuid
from tortoise import Tortoise
from api import db
from api.core.instances import new
from api.orders.models import Order

new(Order, order_ref="early")
store_id, customer_id = uuid.uuid4(), uuid.uuid4()

async def main():
    await Tortoise.init(config=db.tortoise_config("sqlite://:memory:"))
    made = new(Order, store_id=store_id, customer_id=customer_id, order_ref="1")
    assert (made.store_id, made.customer_id) == (store_id, customer_id), vars(made)
    await Tortoise.close_connections()

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr

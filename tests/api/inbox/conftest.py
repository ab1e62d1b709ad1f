"""The inbox's tests: a shop whose facts are applied by `tests.factories.inbox`'s rules."""

import pytest

from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.inbox import service as inbox
from api.orders.errors import OrderError, OrderErrorCode
from api.platforms import PlatformName
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer


@pytest.fixture
async def shop(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Connection:
    async def apply(
        connection: Connection, fact: object, programme_version: int | None
    ) -> None:
        kind, _, name = str(fact).rpartition(":")
        await make_customer(
            connection.store, external_id=name, email=None, first_name=name
        )
        if kind == "refuse":
            raise OrderError(OrderErrorCode.INVALID, f"{name} refused")
        if kind == "later":
            raise OrderError(OrderErrorCode.NOT_FOUND, "Unknown order.")

    monkeypatch.setattr(inbox, "_apply", apply)
    await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref="facts.myshopify.com",
        vault=Vault(settings.vault_key()),
        access_token="shpat_test",
        webhook_secret="secret",
    )
    found = await connections.find(PlatformName.SHOPIFY, "facts.myshopify.com")
    assert found is not None  # found with its store, as the webhook endpoint does
    return found

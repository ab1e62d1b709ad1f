"""Processing a stored delivery: every fact applied once, a fact refused for
good leaves no writes behind and is recorded, one that can succeed later is
retried."""

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.customers.models import Customer
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from api.orders.errors import OrderError, OrderErrorCode
from api.platforms import Connector, PlatformName
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer


class _Facts:
    """A connector whose payload lists its facts: names of customers to create;
    "refuse:x" creates x, then refuses for good; "later:x" creates x, then
    refuses until its order arrives."""

    def facts(
        self, topic: str, payload: Mapping[str, Any], *, currency: str
    ) -> list[object]:
        return list(payload["facts"])


@pytest.fixture
async def shop(
    store: IssuedKeys, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Connection:
    async def apply(connection: Connection, fact: object) -> None:
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


async def _process(shop: Connection, *facts: str) -> tuple[bool, WebhookDelivery]:
    delivery = await inbox.record(
        shop, topic="orders/paid", event_key="evt-1", payload={"facts": facts}
    )
    assert delivery is not None
    connectors: Mapping[PlatformName, Connector] = {PlatformName.SHOPIFY: _Facts()}  # type: ignore[dict-item]
    done = await inbox.process(delivery.id, connectors, shop)
    return done, await WebhookDelivery.get(id=delivery.id)


async def _customers() -> list[str]:
    return sorted(str(c.first_name) for c in await Customer.all())


async def test_a_single_fact_applies_and_the_delivery_is_done(shop: Connection) -> None:
    done, delivery = await _process(shop, "ada")
    assert done
    assert (delivery.processed_at is not None, delivery.attempts) == (True, 1)
    assert delivery.last_error is None
    assert await _customers() == ["ada"]


async def test_a_single_refused_fact_leaves_no_writes_and_is_recorded(
    shop: Connection,
) -> None:
    done, delivery = await _process(shop, "refuse:bob")
    assert done  # refused for good: not retried
    assert (delivery.processed_at is not None, delivery.attempts) == (True, 1)
    assert delivery.last_error == "skipped invalid: bob refused"
    assert await _customers() == []
    # Processing it again changes nothing.
    assert await inbox.process(delivery.id, {}, shop)
    assert (await WebhookDelivery.get(id=delivery.id)).attempts == 1


async def test_a_refused_fact_among_several_spoils_no_other(shop: Connection) -> None:
    done, delivery = await _process(shop, "ada", "refuse:bob", "cy")
    assert done
    assert delivery.processed_at is not None
    assert delivery.last_error == "skipped invalid: bob refused"
    assert await _customers() == ["ada", "cy"]


@pytest.mark.parametrize("facts", [("later:dan",), ("ada", "later:dan")])
async def test_a_fact_that_can_succeed_later_keeps_the_delivery_for_retry(
    shop: Connection, facts: tuple[str, ...]
) -> None:
    done, delivery = await _process(shop, *facts)
    assert not done
    assert (delivery.processed_at, delivery.attempts) == (None, 1)
    assert delivery.last_error is not None and "Unknown order" in delivery.last_error
    assert await _customers() == []  # nothing of the delivery stays


@pytest.mark.postgres
async def test_concurrent_claims_of_one_delivery_apply_it_once(
    shop: Connection,
) -> None:
    delivery = await inbox.record(
        shop, topic="orders/paid", event_key="evt-1", payload={"facts": ["ada"]}
    )
    assert delivery is not None
    connectors: Mapping[PlatformName, Connector] = {PlatformName.SHOPIFY: _Facts()}  # type: ignore[dict-item]
    # The background task and a redrive at once: the later claim waits for
    # the first to commit, then finds the delivery done.
    done = await asyncio.gather(
        *(inbox.process(delivery.id, connectors, shop) for _ in range(5))
    )
    assert done == [True] * 5
    assert await _customers() == ["ada"]
    assert (await WebhookDelivery.get(id=delivery.id)).attempts == 1

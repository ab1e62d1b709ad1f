"""Processing a stored delivery: every fact applied once, a fact refused for
good leaves no writes behind and is recorded, one that can succeed later is
retried."""

import asyncio

import pytest

from api.connections.models import Connection
from api.customers.models import Customer
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from tests.factories.inbox import connectors
from tests.plans import plan


async def _process(shop: Connection, *facts: str) -> tuple[bool, WebhookDelivery]:
    delivery = await inbox.record(
        shop, topic="orders/paid", event_key="evt-1", payload={"facts": facts}
    )
    assert delivery is not None
    done = await inbox.process(delivery.id, connectors(), shop)
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
    # The background task and a redrive at once: the later claim waits for
    # the first to commit, then finds the delivery done.
    done = await asyncio.gather(
        *(inbox.process(delivery.id, connectors(), shop) for _ in range(5))
    )
    assert done == [True] * 5
    assert await _customers() == ["ada"]
    assert (await WebhookDelivery.get(id=delivery.id)).attempts == 1


async def test_the_redrive_reads_only_the_pending_deliveries_index(
    shop: Connection,
) -> None:
    """Most deliveries are stored done: the redrive's index holds the others,
    and its query is led by it (on both databases)."""
    query = inbox.due_for_redrive(200).sql(params_inline=True)
    assert "webhook_deliveries_pending" in await plan(query)

"""Receiving a delivery: stored and applied in one transaction, and on any
failure stored as processing would leave it, so an answered delivery is never
lost and never applied twice."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from api.connections.models import Connection
from api.core import sql
from api.customers.models import Customer
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from tests.factories.inbox import connectors


@pytest.fixture(autouse=True)
def facts_apply_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The harness's facts are names: applied before the answer, as orders are.
    monkeypatch.setattr(inbox, "APPLIED_AT_ONCE", (str,))


async def _receive(
    shop: Connection, *facts: str, key: str = "evt-1"
) -> inbox.Receipt | None:
    return await inbox.receive(
        shop,
        connectors(),
        topic="orders/paid",
        event_key=key,
        payload={"facts": list(facts)},
    )


def _failing_call(
    call: Callable[..., Awaitable[Any]],
    failing: int,
    error: Exception,
    *,
    after: float = 0,
    counted: Callable[..., bool] = lambda *args: True,
) -> Callable[..., Awaitable[Any]]:
    """`call`, except that its `failing`-th call (of those `counted`) raises
    `error` (`after` seconds in)."""
    calls = 0

    async def wrapped(*args: Any) -> Any:
        nonlocal calls
        if counted(*args):
            calls += 1
            if calls == failing:
                await asyncio.sleep(after)
                raise error
        return await call(*args)

    return wrapped


async def _customers() -> list[str]:
    return sorted(str(c.first_name) for c in await Customer.all())


async def test_a_delivery_is_stored_done_with_its_effect(shop: Connection) -> None:
    receipt = await _receive(shop, "ada")
    assert receipt is not None and not receipt.pending
    stored = await WebhookDelivery.get(id=receipt.delivery.id)
    assert (stored.processed_at is not None, stored.attempts) == (True, 1)
    assert stored.last_error is None
    assert await _customers() == ["ada"]
    # the same event again: nothing stored, nothing applied
    assert await _receive(shop, "ada") is None
    assert (await WebhookDelivery.all().count(), await _customers()) == (1, ["ada"])


async def test_a_refused_delivery_is_stored_done_with_the_reason_only(
    shop: Connection,
) -> None:
    receipt = await _receive(shop, "refuse:bob")
    assert receipt is not None and not receipt.pending
    stored = await WebhookDelivery.get(id=receipt.delivery.id)
    assert (stored.processed_at is not None, stored.attempts) == (True, 1)
    assert stored.last_error == "skipped invalid: bob refused"
    assert await _customers() == []  # undone with the transaction


async def test_a_refused_fact_among_several_is_noted_and_spoils_no_other(
    shop: Connection,
) -> None:
    receipt = await _receive(shop, "ada", "refuse:bob", "cy")
    assert receipt is not None
    stored = await WebhookDelivery.get(id=receipt.delivery.id)
    assert stored.processed_at is not None
    assert stored.last_error == "skipped invalid: bob refused"
    assert await _customers() == ["ada", "cy"]


async def test_a_delivery_that_can_succeed_later_is_kept_for_the_redrive(
    shop: Connection,
) -> None:
    receipt = await _receive(shop, "later:dan")
    assert receipt is not None and not receipt.pending
    stored = await WebhookDelivery.get(id=receipt.delivery.id)
    assert (stored.processed_at, stored.attempts) == (None, 1)
    assert stored.last_error is not None and "Unknown order" in stored.last_error
    assert await _customers() == []
    assert await _receive(shop, "later:dan") is None  # a repeat is a duplicate


async def test_facts_that_cannot_be_read_are_stored_for_processing(
    shop: Connection,
) -> None:
    receipt = await inbox.receive(
        shop,
        connectors(),
        topic="orders/paid",
        event_key="evt-1",
        payload={"no facts": True},  # the connector raises KeyError
    )
    assert receipt is not None and receipt.pending
    stored = await WebhookDelivery.get(id=receipt.delivery.id)
    assert (stored.processed_at, stored.attempts) == (None, 0)
    # processing it records why, for the redrive
    assert not await inbox.process(stored.id, connectors(), shop)
    again = await WebhookDelivery.get(id=stored.id)
    assert again.attempts == 1
    assert again.last_error is not None and again.last_error.startswith("KeyError")


async def test_a_failure_that_cannot_be_stored_raises_and_leaves_nothing(
    shop: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # processing fails, then the database goes away before the delivery can
    # be stored on its own: the caller answers 503 and the platform retries
    insert = sql.insert_unless_exists
    second_insert_fails = _failing_call(
        insert,
        2,
        ConnectionRefusedError(111, "refused"),
        # the delivery's inserts, not the customer's identity
        counted=lambda instance, *_: isinstance(instance, WebhookDelivery),
    )
    monkeypatch.setattr(sql, "insert_unless_exists", second_insert_fails)
    with pytest.raises(ConnectionRefusedError):
        await _receive(shop, "later:dan")
    monkeypatch.setattr(sql, "insert_unless_exists", insert)  # back up
    assert (await WebhookDelivery.all().count(), await _customers()) == (0, [])
    receipt = await _receive(shop, "ada")  # the platform's retry
    assert receipt is not None and await _customers() == ["ada"]


@pytest.mark.postgres
async def test_a_duplicate_waiting_on_a_failed_first_delivery_applies_it(
    shop: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two deliveries of one event at once: the second's insert waits for the
    # first's transaction; the first fails and is undone, so the second
    # applies the event, and the first, storing its failure, finds it done.
    # the second is waiting on the key by the time the first fails
    first_fails = _failing_call(
        inbox._apply, 1, RuntimeError("first attempt fails"), after=0.3
    )
    monkeypatch.setattr(inbox, "_apply", first_fails)
    first = asyncio.ensure_future(_receive(shop, "ada"))
    await asyncio.sleep(0.1)
    second = await _receive(shop, "ada")
    assert await first is None  # a duplicate by the time it stored its failure
    assert second is not None and not second.pending
    stored = await WebhookDelivery.get()
    assert (stored.processed_at is not None, stored.attempts) == (True, 1)
    assert stored.last_error is None
    assert await _customers() == ["ada"]

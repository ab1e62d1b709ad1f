"""Fail closed, in process and on both backends: each place the database can fail
(authentication, a resolver, a commit, the webhook inbox, work after the answer)
gets 503 + Retry-After with a typed code, and nothing else is swallowed.

The R10 test shows the same against a real crash; these pin every path down
deterministically, since a crash only hits some of them by chance.
"""

from typing import Any

import asyncpg
import httpx
import pytest
from graphql import GraphQLError
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from api.app import platform_connectors
from api.connections import service as connections
from api.connections.models import Connection
from api.core import sql
from api.core.crypto import Vault
from api.customers.models import Customer
from api.http.unavailable import DatabaseUnavailableError, is_database_unavailable
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from api.ledger import service as ledger
from api.ledger.models import PointsTransaction
from api.orders import service as orders
from api.platforms import PlatformName
from api.settings import Settings
from api.stores import service as stores
from api.stores.service import IssuedKeys
from tests.factories import shopify
from tests.factories.customers import make_customer
from tests.factories.program import make_spend_rule
from tests.graphql import global_id

ADJUST = """mutation($i: PointsAdjustInput!) {
  pointsAdjust(input: $i) { transaction { id } userErrors { code } }
}"""
DOWN = [
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    OSError("Multiple exceptions: [Errno 111] ..., [Errno 99] ..."),
    TimeoutError(),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.InterfaceError("cannot call Transaction.rollback(): connection is closed"),
    DBConnectionError("Can't establish connection"),
]


def _raise(error: BaseException) -> Any:
    async def fail(*args: object, **kwargs: object) -> Any:
        raise error

    return fail


def _wrapped(error: BaseException) -> BaseException:
    """As tortoise and strawberry hand it on: inside other exceptions."""
    try:
        try:
            raise error
        except BaseException as inner:
            raise OperationalError("query failed") from inner
    except OperationalError as outer:
        return GraphQLError("boom", original_error=outer)


@pytest.mark.parametrize("error", DOWN, ids=lambda e: type(e).__name__)
def test_unreachable_database_errors_are_recognised(error: BaseException) -> None:
    assert is_database_unavailable(error)
    assert is_database_unavailable(_wrapped(error))
    assert is_database_unavailable(ExceptionGroup("g", [ValueError(), error]))  # type: ignore[type-var]


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("bug"),
        IntegrityError("duplicate key"),
        OperationalError("syntax error"),
        asyncpg.InterfaceError("another operation is in progress"),
        FileNotFoundError(2, "No such file"),
        asyncpg.UniqueViolationError("duplicate"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_failures_are_not_outages(error: BaseException) -> None:
    assert not is_database_unavailable(error)
    assert not is_database_unavailable(_wrapped(error))


def test_a_platform_that_cannot_be_reached_is_not_a_database_outage() -> None:
    # httpx chains the socket's error, as it does when a shop is unreachable
    platform_down = httpx.ConnectError("shop unreachable")
    platform_down.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert not is_database_unavailable(platform_down)
    assert not is_database_unavailable(_wrapped(platform_down))


def _assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "errors": [
            {
                "message": "The service cannot reach its database; retry later.",
                "extensions": {"code": "SERVICE_UNAVAILABLE", "retryAfterSeconds": 5},
            }
        ]
    }


async def _adjust(client: httpx.AsyncClient, key: str, customer: Customer) -> Any:
    variables = {
        "i": {
            "customerId": global_id("Customer", customer.id),
            "points": 5,
            "reason": "goodwill",
            "idempotencyKey": "k-1",
        }
    }
    return await client.post(
        "/graphql",
        json={"query": ADJUST, "variables": variables},
        headers={"authorization": f"Bearer {key}"},
    )


async def test_a_resolver_that_cannot_reach_the_database_is_503_not_a_masked_200(
    client: httpx.AsyncClient, store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_customer(store.store)
    monkeypatch.setattr(ledger, "adjust", _raise(ConnectionResetError(104, "reset")))
    _assert_503(await _adjust(client, store.secret_key, customer))
    monkeypatch.undo()
    # and the retry, once it is back, applies the change once
    again = await _adjust(client, store.secret_key, customer)
    assert (again.status_code, again.json()["data"]["pointsAdjust"]["userErrors"]) == (
        200,
        [],
    )
    assert await PointsTransaction.filter(customer_id=customer.id).count() == 1


async def test_authentication_that_cannot_reach_the_database_is_503(
    client: httpx.AsyncClient, store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        stores, "authenticate", _raise(asyncpg.CannotConnectNowError("starting up"))
    )
    response = await client.post(
        "/graphql",
        json={"query": "{ store { name } }"},
        headers={"authorization": f"Bearer {store.secret_key}"},
    )
    _assert_503(response)


async def test_bugs_stay_masked_and_200(
    client: httpx.AsyncClient, store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await make_customer(store.store)
    monkeypatch.setattr(ledger, "adjust", _raise(RuntimeError("a bug")))
    response = await _adjust(client, store.secret_key, customer)
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == (
        "INTERNAL_SERVER_ERROR"
    )


@pytest.fixture
async def shop(store: IssuedKeys, settings: Settings) -> Connection:
    await make_spend_rule(store.store)
    return await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=shopify.SHOP,
        vault=Vault(settings.vault_key()),
        access_token="shpat_test",
        webhook_secret=shopify.SECRET,
    )


async def _deliver(client: httpx.AsyncClient, event_id: str) -> httpx.Response:
    raw = shopify.body(shopify.order())
    return await client.post(
        "/webhooks/shopify",
        content=raw,
        headers=shopify.headers("orders/paid", raw, event_id=event_id),
    )


@pytest.mark.parametrize(
    "where", ["find_with_programme_version", "insert_unless_exists"]
)
async def test_a_webhook_that_cannot_be_stored_is_503_and_its_retry_counts_once(
    client: httpx.AsyncClient,
    shop: Connection,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    # the shop's lookup fails, or the delivery's INSERT (tried twice: with its
    # processing, then on its own)
    target = connections if where.startswith("find") else sql
    monkeypatch.setattr(target, where, _raise(ConnectionRefusedError(111, "refused")))
    _assert_503(await _deliver(client, "evt-1"))
    monkeypatch.undo()
    assert await WebhookDelivery.all().count() == 0
    # Shopify retries the same event
    assert (await _deliver(client, "evt-1")).json() == {"status": "accepted"}
    assert (await _deliver(client, "evt-1")).json() == {"status": "duplicate"}
    assert await PointsTransaction.all().count() == 1


async def test_an_order_whose_processing_fails_is_kept_for_the_redrive(
    client: httpx.AsyncClient, shop: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # orders are applied before the answer; this one fails half-way, after
    # its order row was written
    ingest = orders.ingest

    async def fail_after_writing(*args: Any, **kwargs: Any) -> Any:
        await ingest(*args, **kwargs)
        raise DatabaseUnavailableError

    monkeypatch.setattr(orders, "ingest", fail_after_writing)
    response = await _deliver(client, "evt-1")
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    monkeypatch.undo()
    delivery = await WebhookDelivery.get()
    # stored for the redrive, with nothing of its processing
    assert (delivery.processed_at, delivery.attempts) == (None, 1)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("DatabaseUnavailableError")
    assert await PointsTransaction.all().count() == 0
    assert await inbox.process(delivery.id, platform_connectors())
    assert await PointsTransaction.all().count() == 1
    assert (await _deliver(client, "evt-1")).json() == {"status": "duplicate"}


async def test_processing_that_fails_after_the_answer_keeps_the_delivery(
    client: httpx.AsyncClient, shop: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a privacy request is stored, answered 200, then the database goes away
    await _deliver(client, "evt-1")
    monkeypatch.setattr(inbox, "process", _raise(DatabaseUnavailableError()))
    payload = {
        "shop_id": 1,
        "shop_domain": shopify.SHOP,
        "customer": {"id": 7001, "email": "buyer@example.com", "phone": None},
        "orders_to_redact": [5001],
    }
    raw = shopify.body(payload)
    response = await client.post(
        "/webhooks/shopify",
        content=raw,
        headers=shopify.headers("customers/redact", raw, event_id="evt-2"),
    )
    assert (response.status_code, response.json()) == (200, {"status": "accepted"})
    monkeypatch.undo()
    delivery = await WebhookDelivery.get(event_key="evt-2")
    assert (delivery.processed_at, delivery.attempts) == (None, 0)  # for the redrive
    assert await inbox.process(delivery.id, platform_connectors())
    assert (await Customer.get()).erased_at is not None

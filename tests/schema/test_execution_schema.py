"""Ladder's whole schema answers the same with the executor's shortcuts as with
strawberry's own executor, over a store with one of everything: every field of
customers, orders, ledger, redemptions, rewards, tiers and programme."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema as schema_module
from api.app import create_app
from api.settings import Settings
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.factories.program import seed_everything
from tests.graphql import global_id

CUSTOMER_FIELDS = """
  id email firstName lastName birthday marketingConsent isEnrolled enrolledAt
  pointsBalance pointsPending pointsLifetime stage stageChangedAt lastOrderAt
  paidOrders createdAt updatedAt externalIds { platform id } tier { id name rank }
  isLapsed
  orders(first: 5) { pageInfo { hasNextPage endCursor } edges { cursor node {
    id platform orderRef name status eligible { amountMinor currency }
    refunded { amountMinor currency } pointsEarned pointsReversed
    pointsUnrecovered discountCodes placedAt paidAt } } }
  pointsTransactions(first: 5) { edges { node {
    id kind points reason sourceType sourceId ruleId campaignId createdAt } } }
  redemptions(first: 5) { edges { node {
    id code rewardId rewardName pointsSpent status usedOrderRef createdAt usedAt
    cancelledAt platformCodeStatus platformCodeError } } }
"""
DOCUMENTS = {
    "list": "{ customers(first: 10) { pageInfo { hasNextPage hasPreviousPage "
    "startCursor endCursor } edges { cursor node { " + CUSTOMER_FIELDS + " } } } }",
    "one": "query($id: ID!) { customer(id: $id) { "
    + CUSTOMER_FIELDS
    + """
        tierProgress { currentTier { name } nextTier { name } metric amountToNext
                       reviewAt amountToKeep }
        tierHistory { fromTierId toTierId reason note createdAt }
        stageHistory { fromStage toStage cause createdAt }
        pointsLots { id points remaining earnedAt availableAt isPending expiresAt reason }
        nudges { type data } } }""",
    "programme": """{
        store { id name currency timezone }
        tiers { id name rank threshold multiplier perks description }
        campaigns { id name startsAt endsAt multiplier bonusPoints tierIds kinds isActive }
        rewards(first: 10, available: false) { edges { node {
          id name description kind costPoints percent productRef minTierRank stock
          perCustomerLimit startsAt endsAt isActive } } } }""",
    # A field refused in lists: the same error at the same path.
    "refused": "{ customers(first: 2) { edges { node { email nudges { type } } } } }",
    "aliases": "{ a: customers(first: 3, reverse: false) { edges { node { x: email "
    "id y: id tier { n: name } } } } b: customers(first: 1) { edges { node { id } } } }",
}


@pytest.fixture
async def reference_app(
    settings: Settings, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Starlette]:
    """The same app on strawberry's own executor and resolvers."""
    monkeypatch.setattr(
        schema_module, "LadderExecutionContext", StrawberryGraphQLCoreExecutionContext
    )
    monkeypatch.setattr(schema_module, "lean_resolvers", lambda _: 0)
    reference = create_app(settings, manage_orm=False)
    async with reference.router.lifespan_context(reference):
        yield reference


async def _ask(app: Starlette, key: str, document: str, variables: Any) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        answer = await client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {key}"},
        )
    body = answer.json()
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return answer.status_code, body


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_the_schema_answers_the_same_without_shortcuts(
    name: str, app: Starlette, reference_app: Starlette, store: IssuedKeys
) -> None:
    everything = await seed_everything(store, email="ada@example.com")
    for n in range(3):
        await make_customer(
            store.store, external_id=f"x-{n}", email=f"x{n}@example.com"
        )
    variables = {"id": global_id("Customer", everything.customer.id)}
    got = await _ask(app, store.secret_key, DOCUMENTS[name], variables)
    expected = await _ask(reference_app, store.secret_key, DOCUMENTS[name], variables)
    assert got == expected
    status, body = got
    assert status == 200
    if name == "refused":
        assert [e["path"] for e in body["errors"]] == [
            ["customers", "edges", 0, "node", "nudges"]
        ]
    else:
        assert "errors" not in body, body["errors"]

"""A request's objects are freed by reference counting when it ends.

Objects caught in a reference cycle wait for the garbage collector instead, and
under load its young-generation passes over them stopped the worker for 15-30
ms at a time (the p99 of storefront `me`, docs/performance.md). Two cycles were
made on every request: graphql-core's resolver helpers bound to their executor,
and a DataLoader bound to the loaders object holding it.
"""

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from api.stores.service import IssuedKeys
from tests.factories.program import make_reward, make_spend_rule, make_tier
from tests.graphql import GraphQLClient

ENROL = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { customer { id } userErrors { code } } }"""
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {id: $id}) { token } }"""
ORDER = """mutation($input: OrderRecordInput!) {
  orderRecord(input: $input) { applied pointsEarned userErrors { code } } }"""
LIST = """{ customers(first: 10) { edges { node { id email pointsBalance stage
  tier { name } externalIds { id } } } } }"""
ME = """{ me { pointsBalance tier { name } tierProgress { amountToNext }
  nudges { type } } rewards(first: 5) { edges { node { name } } } }"""
# Whose objects a leak would be: the service, its schema and the GraphQL stack.
OURS = ("api.", "schema.", "graphql.", "strawberry.", "tortoise.")


@contextmanager
def unreachable() -> Iterator[Counter[str]]:
    """Types of the objects the collector found unreachable in the block."""
    found: Counter[str] = Counter()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.update(
            f"{type(o).__module__}.{type(o).__qualname__}"
            for o in gc.garbage
            if type(o).__module__.startswith(OURS)
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_requests_leave_no_reference_cycles(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store)
    await make_tier(store.store, "Bronze", 0, 0)
    await make_tier(store.store, "Silver", 1, 20_000)
    await make_reward(store.store, name="Coffee", cost=100)
    enrolled = await gql(
        ENROL,
        {"input": {"externalId": "42", "email": "sam@example.com", "enroll": True}},
        key=store.secret_key,
    )
    customer_id = enrolled.data["customerUpsert"]["customer"]["id"]
    token = (await gql(TOKEN, {"id": customer_id}, key=store.secret_key)).data[
        "customerTokenCreate"
    ]["token"]

    async def every_kind(n: int) -> None:
        order = {
            "kind": "PAID",
            "orderRef": f"o-{n}",
            "customer": {"externalId": "42"},
            "currency": store.store.currency,
            "eligibleMinor": 2_500,
            "occurredAt": "2026-11-23T10:00:00Z",
            "idempotencyKey": f"o-{n}-paid",
        }
        answers = [
            await gql(ORDER, {"input": order}, key=store.secret_key),
            await gql(LIST, key=store.secret_key),
            await gql(ME, key=store.publishable_key, token=token),
        ]
        for answer in answers:
            assert answer.status == 200 and not answer.errors, answer.body

    await every_kind(0)  # caches and first-use state are not garbage
    with unreachable() as garbage:
        for n in range(1, 4):
            await every_kind(n)
    assert garbage == Counter()

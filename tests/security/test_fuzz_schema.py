"""R15: schemathesis fuzzes every root query and mutation of the live schema.

Each operation gets `LADDER_FUZZ_EXAMPLES` generated documents (30 in CI; the
nightly profile sets 300), sent in-process through httpx's ASGI transport with
a secret key of a store seeded with one of everything. `ID` arguments are
drawn half from the seeded store's real ids, so resolvers reach real rows
instead of stopping at "not found". Pass figure: 0 responses with a 5xx or a
GraphQL server error (schemathesis's `not_a_server_error`, which counts
`INTERNAL_SERVER_ERROR`, i.e. a masked bug) and 0 responses that break the
GraphQL response shape (`response_schema_conformance` plus our own check of the
GraphQL-over-HTTP envelope).

How it runs on the async ORM: like tests/api/ledger/test_invariants.py, the
test is sync, and each request runs to completion on pytest-asyncio's session
loop (the loop the ORM's connections belong to). schemathesis's own ASGI
runner would start a second loop in a thread, which asyncpg's pool refuses.
"""

import asyncio
import os
from typing import Any

import httpx
import pytest
import schemathesis.graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes

from api.stores.service import IssuedKeys
from schema import sdl
from tests.factories.program import seed_everything
from tests.graphql import global_id

EXAMPLES = int(os.environ.get("LADDER_FUZZ_EXAMPLES", "30"))

# The real ids of the store under test; filled per test, read at draw time.
SEEDED_IDS: list[str] = []


def _ids() -> st.SearchStrategy[Any]:
    seeded = st.integers(min_value=0).map(
        lambda i: nodes.String(SEEDED_IDS[i % len(SEEDED_IDS)] if SEEDED_IDS else "")
    )
    return st.one_of(seeded, st.text().map(nodes.String))


schemathesis.graphql.scalar("ID", _ids())
schemathesis.graphql.scalar(
    "Decimal",
    st.decimals(allow_nan=False, allow_infinity=False, places=4)
    .map(str)
    .map(nodes.String),
)
SCHEMA = schemathesis.graphql.from_file(sdl())


def _operations() -> dict[str, Any]:
    found = {}
    for loaded in SCHEMA.get_all_operations():
        assert isinstance(loaded, Ok), loaded  # the schema must load whole
        found[loaded.ok().label] = loaded.ok()
    return found


OPERATIONS = _operations()
ENVELOPE = {"data", "errors", "extensions"}


@pytest.fixture(scope="session")
async def session_loop() -> asyncio.AbstractEventLoop:
    """The loop the ORM was opened on (pytest-asyncio's session loop)."""
    return asyncio.get_running_loop()


def test_every_root_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) == 32  # 11 queries + 21 mutations; grows with the schema
    assert {label.split(".")[0] for label in OPERATIONS} == {"Query", "Mutation"}


def _check_envelope(response: httpx.Response) -> None:
    """GraphQL over HTTP: a JSON object with data and/or a non-empty errors list
    whose entries each carry a string message."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) <= ENVELOPE and body.keys() & {"data", "errors"}
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"]
        assert all(isinstance(e.get("message"), str) for e in body["errors"])
    if "data" not in body:
        assert body["errors"]


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_fuzz_operation(
    label: str,
    session_loop: asyncio.AbstractEventLoop,
    client: httpx.AsyncClient,
    store: IssuedKeys,
) -> None:
    seeded = session_loop.run_until_complete(
        seed_everything(store, email="fuzz@example.com")
    )
    SEEDED_IDS[:] = [
        global_id("Store", store.store.id),
        global_id("Customer", seeded.customer.id),
        global_id("Tier", seeded.tier.id),
        global_id("Reward", seeded.reward.id),
        global_id("Redemption", seeded.redemption.id),
        global_id("EarningRule", seeded.rule.id),
        global_id("Campaign", seeded.campaign.id),
    ]
    operation = OPERATIONS[label]
    auth = {"authorization": f"Bearer {store.secret_key}"}
    statuses: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        # The store and client are made once per operation, on purpose.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        response = session_loop.run_until_complete(
            client.post("/graphql", json={"query": case.body}, headers=auth)
        )
        statuses.append(response.status_code)
        _check_envelope(response)
        case.validate_response(
            response, checks=[not_a_server_error, response_schema_conformance]
        )

    try:
        fuzz()
    finally:
        SEEDED_IDS.clear()
    # Hypothesis stops early only when it has tried every document there is.
    assert statuses
    assert max(statuses) < 500

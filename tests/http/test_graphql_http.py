"""GraphQL over HTTP: status codes, limits and production hardening."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.http.graphql import LadderGraphQL
from api.settings import Environment, Settings
from api.stores.service import IssuedKeys
from schema import build_schema

JSON = {"content-type": "application/json"}
GRAPHQL_RESPONSE = {
    "content-type": "application/json",
    "accept": "application/graphql-response+json",
}


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b'{"query": ', headers=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Unable to parse request body as JSON",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


async def test_missing_query_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"variables": {}}, headers=JSON)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("_case", "body", "message"),
    [
        ("unknown field", {"query": "{ nope }"}, "Cannot query field 'nope'"),
        ("syntax", {"query": "{ store { "}, "Syntax Error"),
        (
            "wrong variable type",
            {
                "query": "query($f: Int) { customers(first: $f) { edges { cursor } } }",
                "variables": {"f": "ten"},
            },
            "Int cannot represent non-integer value",
        ),
        (
            "too many aliases",
            {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"},
            "aliases found",
        ),
        (
            "too many tokens",
            {"query": "{ " + " ".join("__typename" for _ in range(2100)) + " }"},
            "more than 2000 tokens",
        ),
    ],
)
async def test_bad_documents(
    _case: str, body: dict[str, object], message: str, client: httpx.AsyncClient
) -> None:
    legacy = await client.post("/graphql", json=body, headers=JSON)
    modern = await client.post("/graphql", json=body, headers=GRAPHQL_RESPONSE)
    # application/json clients get 200 with errors; graphql-response+json ones get 400.
    assert legacy.status_code == 200
    assert modern.status_code == 400
    assert modern.headers["content-type"] == "application/graphql-response+json"
    for response in (legacy, modern):
        body_out = response.json()
        assert "data" not in body_out  # nothing ran
        assert message.lower() in body_out["errors"][0]["message"].lower()


async def test_too_deep_is_rejected_before_running(
    settings: Settings, db_clean: None, store: IssuedKeys
) -> None:
    # Ladder's own types nest 5 deep at most, so lower the limit to exercise it.
    app = create_app(
        settings.model_copy(update={"max_query_depth": 3}), manage_orm=False
    )
    deep = "{ customers(first: 1) { edges { node { externalIds { id } } } } }"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.post(
            "/graphql",
            json={"query": deep},
            headers={**GRAPHQL_RESPONSE, "authorization": f"Bearer {store.secret_key}"},
        )
    assert response.status_code == 400
    assert (
        "exceeds maximum operation depth of 3"
        in response.json()["errors"][0]["message"]
    )


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    query = "{ __typename }" + " " * 200_000
    response = await client.post("/graphql", json={"query": query}, headers=JSON)
    assert response.status_code == 413


async def test_get_queries_work_and_get_mutations_do_not(
    client: httpx.AsyncClient, store: IssuedKeys
) -> None:
    auth = {"authorization": f"Bearer {store.secret_key}"}
    query = await client.get(
        "/graphql", params={"query": "{ store { name } }"}, headers=auth
    )
    mutation = await client.get(
        "/graphql",
        params={
            "query": 'mutation { storeUpdate(input: {name: "x"}) { store { name } } }'
        },
        headers=auth,
    )
    assert query.status_code == 200
    assert query.json() == {"data": {"store": {"name": "Store A"}}}
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    await store.store.refresh_from_db()
    assert store.store.name == "Store A"


async def test_bugs_are_masked(
    client: httpx.AsyncClient, store: IssuedKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.customers import service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError('relation "customers" leaked /srv/ladder/api/customers.py')

    monkeypatch.setattr(service, "search", broken)
    response = await client.post(
        "/graphql",
        json={"query": "{ customers(first: 1) { edges { cursor } } }"},
        headers={**JSON, "authorization": f"Bearer {store.secret_key}"},
    )
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    # The id lets an operator find the logged traceback (tests/security/).
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }
    assert "customers.py" not in response.text and "relation" not in response.text


async def test_graphiql_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def _client_for(
    settings: Settings, environment: Environment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"environment": environment}), manage_orm=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as c:
            yield c


@pytest.fixture
async def production(
    settings: Settings, db_clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(settings, Environment.PRODUCTION):
        yield client


@pytest.fixture
async def development(
    settings: Settings, db_clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for(settings, Environment.DEVELOPMENT):
        yield client


async def test_production_has_no_graphiql(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404


async def test_production_refuses_introspection(production: httpx.AsyncClient) -> None:
    response = await production.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=JSON
    )
    assert "data" not in response.json()
    assert "introspection" in response.json()["errors"][0]["message"].lower()


async def test_only_development_gives_field_suggestions(
    production: httpx.AsyncClient, development: httpx.AsyncClient
) -> None:
    body = {"query": "{ custome { id } }"}
    dev = await development.post("/graphql", json=body, headers=JSON)
    prod = await production.post("/graphql", json=body, headers=JSON)
    assert "Did you mean" in dev.text
    assert "Did you mean" not in prod.text
    assert "customer" not in prod.json()["errors"][0]["message"].replace("custome", "")


@pytest.mark.parametrize(
    "data",
    [
        {"data": {"customers": {"edges": [{"node": {"email": "zoë@example.com"}}]}}},
        {"data": {"nudge": {"points": 2**70, "ratio": 0.5, "none": None}}},
        {"data": {"1": [True, False], "list": []}},
    ],
    ids=["utf-8", "int past 64 bits", "plain"],
)
def test_answers_encode_as_json_whatever_their_values(
    settings: Settings, data: dict[str, object]
) -> None:
    view = LadderGraphQL(build_schema(), settings)
    encoded = view.encode_json(data)
    assert json.loads(encoded) == data


def test_answers_with_keys_that_are_not_text_encode_as_json_dumps_does(
    settings: Settings,
) -> None:
    view = LadderGraphQL(build_schema(), settings)
    assert json.loads(view.encode_json({"data": {1: "a", None: "b"}})) == {
        "data": {"1": "a", "null": "b"}
    }

"""R16: graphql-cop's detections, re-implemented against the production config.

graphql-cop (dolevf/graphql-cop) is not on PyPI, so each of its checks is
written here from its description, at graphql-cop's sizes or the R7 sizes
where those are bigger. Every attack is sent with a valid secret key (the worst
case: limits must hold for paying callers too) and must run no SQL beyond the
one key lookup of authentication; a request that carries no key runs none.
"""

import json

import pytest

from tests.security.conftest import Production, only_key_lookup

RESPONSE_JSON = "application/graphql-response+json"
UPDATE_NAME = 'mutation { storeUpdate(input: {name: "pwned"}) { store { name } } }'


def _rejected_before_running(sent, message: str) -> None:
    """A request error: one error, no `data` entry (nothing ran), and only the
    key lookup as SQL."""
    assert sent.response.status_code == 200
    assert "data" not in sent.body
    assert sent.messages == [message]
    assert only_key_lookup(sent.sql), sent.sql


async def _store_name(production: Production) -> str:
    await production.keys.store.refresh_from_db()
    return production.keys.store.name


# 1. Alias overloading: graphql-cop sends 100 aliases.
async def test_alias_overloading_is_rejected(production: Production) -> None:
    aliases = " ".join(f"a{i}: store {{ name }}" for i in range(100))
    sent = await production.post({"query": f"query cop {{ {aliases} }}"})
    _rejected_before_running(sent, "100 aliases found. Allowed: 15")


# 2. Batch queries: a JSON array of operations.
async def test_batched_operations_are_refused(production: Production) -> None:
    batch = [{"query": UPDATE_NAME}] * 10
    sent = await production.post(batch)
    assert sent.response.status_code == 400
    assert sent.body == {
        "errors": [
            {
                "message": "Batching is not enabled",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    assert only_key_lookup(sent.sql)
    assert await _store_name(production) == "Store A"


# 3. Directive overloading: graphql-cop's ten unknown directives, then 100
# known ones (the R7 size).
@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ("@aa" * 10, "Unknown directive '@aa'."),
        ("@skip(if: false)" * 100, "100 directives found; the limit is 50."),
        ("@include(if: true)" * 51, "51 directives found; the limit is 50."),
    ],
)
async def test_directive_overloading_gets_one_error(
    production: Production, directives: str, message: str
) -> None:
    sent = await production.post({"query": f"query cop {{ __typename {directives} }}"})
    # One error, not one per directive (graphql-cop counts ten for ten).
    _rejected_before_running(sent, message)
    assert sent.body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_directives_under_the_limit_still_work(production: Production) -> None:
    sent = await production.post({"query": "{ store @include(if: true) { name } }"})
    assert sent.body == {"data": {"store": {"name": "Store A"}}}


# 4. Field duplication: 1,000 repeated fields.
async def test_field_duplication_is_rejected(production: Production) -> None:
    sent = await production.post({"query": "query cop { " + "__typename " * 1000 + "}"})
    # graphql-core's overlapping-fields budget stops validation.
    _rejected_before_running(sent, "Validation aborted.")


async def test_duplicated_fields_under_the_token_limit_resolve_once(
    production: Production,
) -> None:
    once = await production.post({"query": "{ store { name } }"})
    many = await production.post({"query": "{ " + "store { name } " * 300 + "}"})
    assert many.body == once.body == {"data": {"store": {"name": "Store A"}}}
    # Fields with one response key merge: 300 copies cost what one does.
    assert len(many.sql) == len(once.sql)


# 5. Circular introspection (deeply nested __schema / __type).
async def test_circular_introspection_is_rejected(production: Production) -> None:
    nested = "fields { type { " * 8 + "name" + " } }" * 8
    sent = await production.post(
        {"query": f"query cop {{ __schema {{ types {{ {nested} }} }} }}"}
    )
    assert "data" not in sent.body
    assert "Maximum introspection depth exceeded" in sent.messages
    assert all(
        m == "Maximum introspection depth exceeded"
        or "introspection has been disabled" in m
        for m in sent.messages
    )
    assert only_key_lookup(sent.sql)


# 6. Introspection enabled.
@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Customer") { fields { name } } }',
    ],
)
async def test_introspection_is_disabled(production: Production, query: str) -> None:
    sent = await production.post({"query": query}, auth=False)
    assert "data" not in sent.body
    assert sent.messages[0].startswith("GraphQL introspection has been disabled")
    assert sent.sql == []


# 7. GraphiQL or another IDE served.
@pytest.mark.parametrize(
    "path", ["/graphql", "/graphiql", "/playground", "/altair", "/graphql/console"]
)
async def test_no_graphql_ide_is_served(production: Production, path: str) -> None:
    sent = await production.send("GET", path, headers={"accept": "text/html"})
    assert sent.response.status_code == 404
    assert "text/html" not in sent.response.headers["content-type"]
    assert "graphiql" not in sent.response.text.lower()


# 8. Field suggestions ("Did you mean ...").
async def test_no_field_suggestions(production: Production) -> None:
    sent = await production.post({"query": "{ stor { name } custmers { id } }"})
    assert sent.messages == [
        "Cannot query field 'stor' on type 'Query'.",
        "Cannot query field 'custmers' on type 'Query'.",
    ]
    assert "did you mean" not in sent.response.text.lower()


# 9. GET-based mutations (CSRF through a link or an <img>).
async def test_mutation_over_get_is_refused(production: Production) -> None:
    sent = await production.send(
        "GET", params={"query": UPDATE_NAME}, headers=production.auth
    )
    assert sent.response.status_code == 405
    assert sent.response.headers["allow"] == "POST"
    assert sent.messages == ["mutations are not allowed when using GET"]
    assert only_key_lookup(sent.sql)
    assert await _store_name(production) == "Store A"


async def test_get_queries_need_the_key_header(production: Production) -> None:
    # Queries over GET are allowed on purpose (cacheable reads). They are not a
    # CSRF channel: credentials travel only in the Authorization header, which
    # a cross-site page cannot set; cookies authenticate nothing.
    query = {"query": "{ store { name } }"}
    with_key = await production.send("GET", params=query, headers=production.auth)
    with_cookie = await production.send(
        "GET",
        params=query,
        headers={"cookie": f"authorization=Bearer {production.keys.secret_key}"},
    )
    assert with_key.body == {"data": {"store": {"name": "Store A"}}}
    assert with_cookie.body["data"] == {"store": None}
    assert [e["extensions"]["code"] for e in with_cookie.body["errors"]] == [
        "UNAUTHENTICATED"
    ]


# 10. POST-based CSRF: "simple" requests a cross-site form or fetch can send
# without a preflight (urlencoded, multipart, text/plain), and no content type.
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "query=" + UPDATE_NAME),
        ("text/plain", json.dumps({"query": UPDATE_NAME})),
        (
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; "
            f'name="operations"\r\n\r\n{json.dumps({"query": UPDATE_NAME})}\r\n--x--\r\n',
        ),
        (None, json.dumps({"query": UPDATE_NAME})),
    ],
)
async def test_simple_request_mutations_are_not_executed(
    production: Production, content_type: str | None, body: str
) -> None:
    headers = dict(production.auth)
    if content_type:
        headers["content-type"] = content_type
    sent = await production.send("POST", content=body.encode(), headers=headers)
    assert sent.response.status_code == 400
    assert sent.messages == ["Unsupported content type"]
    assert only_key_lookup(sent.sql)
    assert await _store_name(production) == "Store A"


# 11. Trace mode and debug information.
@pytest.mark.parametrize(
    "query", ["query cop { __typename }", "query cop { __typenam }", "query cop {"]
)
async def test_no_tracing_or_debug_details(production: Production, query: str) -> None:
    sent = await production.post({"query": query}, accept=RESPONSE_JSON)
    # Only the spec's keys, no `extensions` with tracing or timings.
    assert set(sent.body) <= {"data", "errors"}
    for error in sent.body.get("errors", []):
        assert set(error) <= {"message", "locations", "path", "extensions"}
        assert set(error.get("extensions", {})) <= {"code"}
    for word in ("tracing", "exception", "stacktrace", "duration", "Traceback"):
        assert word not in sent.response.text


# 12. Unhandled errors: malformed requests are client errors and never show
# a stack trace. (A bug inside a resolver: tests/security/test_error_masking.py.)
LEAKS = ("Traceback", 'File "', ".py", "Exception", "strawberry", "graphql.")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{", 400),
        (b'{"query": "query cop { __typename {}"}', 200),
        (b'{"query": 1}', 400),
        (b'{"query": "{ __typename }", "variables": "x"}', 400),
        (b'{"query": "{ __typename }", "operationName": ["x"]}', 400),
        (b'{"query": "\\ud800"}', 200),
        (b"[]", 400),
        # JSON, but not an object: strawberry called .get() on it and crashed.
        (b'"x"', 400),
        (b"1", 400),
        (b"null", 400),
    ],
)
async def test_malformed_requests_are_client_errors(
    production: Production, raw: bytes, status: int
) -> None:
    sent = await production.send(
        "POST",
        content=raw,
        headers={"content-type": "application/json", **production.auth},
    )
    assert sent.response.status_code == status
    assert "data" not in sent.body
    assert sent.body["errors"]
    for leak in LEAKS:
        assert leak not in sent.response.text
    assert only_key_lookup(sent.sql)

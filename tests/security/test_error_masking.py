"""R8: a bug reaches the client as one generic error plus a request id; the
traceback reaches only the log line, which names the same id."""

import logging
import re
from collections.abc import Callable

import asyncpg
import pytest
from tortoise.exceptions import OperationalError

from api.customers import service as customers
from api.http import graphql as graphql_view
from tests.security.conftest import Production

# Details an injected failure carries; none may reach the client.
SQL = 'SELECT "email_hash" FROM "ledger_entries" WHERE "store_id" = $1'
SECRET_DETAILS = (
    "Traceback",
    "SELECT",
    "ledger_entries",
    "email_hash",
    "/srv/ladder/api/ledger/service.py",
    ".py",
    "asyncpg",
    "tortoise",
    "KeyError",
    "OperationalError",
)
QUERY = "{ customers(first: 1) { edges { cursor } } }"
HEX_ID = re.compile(r"[0-9a-f]{32}")


def _db_error() -> Exception:
    cause = asyncpg.exceptions.UndefinedColumnError(
        f'column "email_hash" does not exist in {SQL} '
        "(/srv/ladder/api/ledger/service.py, asyncpg)"
    )
    error = OperationalError(cause)
    error.__cause__ = cause
    return error


FAILURES: dict[str, Callable[[], Exception]] = {
    "database error": _db_error,
    "KeyError": lambda: KeyError(
        "email_hash of ledger_entries (/srv/ladder/api/ledger/service.py)"
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_injected_failures_are_masked_with_a_request_id(
    production: Production,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise FAILURES[failure]()

    monkeypatch.setattr(customers, "search", broken)
    with caplog.at_level(logging.ERROR, logger="ladder.graphql"):
        sent = await production.post({"query": QUERY})

    assert sent.response.status_code == 200
    request_id = sent.response.headers["x-request-id"]
    assert HEX_ID.fullmatch(request_id)
    assert sent.body == {
        "data": None,
        "errors": [
            {
                "message": "Unexpected error.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["customers"],
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "requestId": request_id,
                },
            }
        ],
    }
    for detail in SECRET_DETAILS:
        assert detail not in sent.response.text

    # The operator's side: one line naming the id, with the full traceback.
    lines = [r for r in caplog.records if r.name == "ladder.graphql"]
    assert len(lines) == 1
    assert (
        lines[0].getMessage() == f"unexpected error at customers, request {request_id}"
    )
    assert lines[0].exc_info is not None
    logged = logging.Formatter().formatException(lines[0].exc_info)
    assert "Traceback" in logged and "email_hash" in logged and "broken" in logged


async def test_every_masked_error_of_a_request_shares_its_id(
    production: Production,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("x")

    monkeypatch.setattr(customers, "find_by_external_id", broken)
    with caplog.at_level(logging.ERROR, logger="ladder.graphql"):
        sent = await production.post(
            {
                "query": '{ a: customerByExternalId(externalId: "1") { id } '
                'b: customerByExternalId(externalId: "2") { id } }'
            }
        )
    request_id = sent.response.headers["x-request-id"]
    assert len(sent.body["errors"]) == 2
    assert {e["extensions"]["requestId"] for e in sent.body["errors"]} == {request_id}
    logged = sorted(
        r.getMessage() for r in caplog.records if r.name == "ladder.graphql"
    )
    assert logged == [
        f"unexpected error at a, request {request_id}",
        f"unexpected error at b, request {request_id}",
    ]


async def test_a_crash_outside_graphql_is_a_shaped_500_with_the_id(
    production: Production,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: object) -> None:
        raise KeyError("email_hash of ledger_entries")

    monkeypatch.setattr(graphql_view, "_authenticate", broken)
    with caplog.at_level(logging.ERROR, logger="ladder.http"):
        sent = await production.post({"query": "{ store { name } }"})

    request_id = sent.response.headers["x-request-id"]
    assert sent.response.status_code == 500
    assert sent.body == {
        "errors": [
            {
                "message": "Unexpected error.",
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "requestId": request_id,
                },
            }
        ]
    }
    for detail in SECRET_DETAILS:
        assert detail not in sent.response.text
    [line] = [r for r in caplog.records if r.name == "ladder.http"]
    assert line.getMessage() == f"unhandled error, request {request_id}"
    assert line.exc_info is not None


@pytest.mark.parametrize(
    ("sent_id", "kept"),
    [
        ("lb-7f3a9c2e-41d0", True),
        ("short", False),  # under 8 characters
        ("x" * 65, False),
        ("id-with-newline\nFAKE LOG LINE", False),
        ("id with spaces 123", False),
    ],
)
async def test_a_callers_request_id_is_kept_only_if_safe_to_log(
    production: Production, sent_id: str, kept: bool
) -> None:
    # httpx refuses raw newlines in headers; send bytes to get them through.
    sent = await production.send(
        "POST",
        json={"query": "{ __typename }"},
        headers=[(b"x-request-id", sent_id.encode())],
    )
    echoed = sent.response.headers["x-request-id"]
    assert (echoed == sent_id) is kept
    if not kept:
        assert HEX_ID.fullmatch(echoed)


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("POST", "/graphql", b'{"query": "{ __typename }"}', 200),
        ("POST", "/graphql", b"{", 400),
        ("GET", "/graphiql", b"", 404),
        ("PUT", "/graphql", b"", 405),
        ("POST", "/graphql", b" " * 200_000, 413),
        ("GET", "/healthz", b"", 200),
    ],
)
async def test_every_response_carries_a_request_id(
    production: Production, method: str, url: str, body: bytes, status: int
) -> None:
    sent = await production.send(
        method, url, content=body, headers={"content-type": "application/json"}
    )
    assert sent.response.status_code == status
    assert HEX_ID.fullmatch(sent.response.headers["x-request-id"])

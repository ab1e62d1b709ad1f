"""Client mistakes are logged as a code and a path: never the document, which
can hold a shopper's email written inline."""

import logging

import pytest

from tests.security.conftest import Production

EMAIL = "ada.lovelace@example.com"


@pytest.mark.parametrize(
    "query",
    [
        # an unknown field next to an inline email (strawberry logged the source)
        f'{{ customerByExternalId(externalId: "{EMAIL}") {{ id nope }} }}',
        # a wrongly typed literal: graphql-core quotes the value in its message
        f'{{ customers(first: "{EMAIL}") {{ edges {{ cursor }} }} }}',
    ],
)
async def test_request_errors_are_logged_without_the_document(
    production: Production, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        sent = await production.send(
            "POST", json={"query": query}, headers=production.auth
        )
    assert sent.response.status_code == 200
    assert sent.body["errors"], "the request must fail for the test to bite"
    logged = [r for r in caplog.records if not r.name.startswith("tortoise")]
    assert any("request error" in r.getMessage() for r in logged)
    assert not [r.getMessage() for r in logged if EMAIL in r.getMessage()]
    assert all(r.exc_info is None for r in logged if r.name == "strawberry.execution")

"""Admitted documents (schema/core/admission.py) skip the checks of their text
on later requests and answer exactly as the full path does."""

from collections.abc import Iterator
from typing import Any

import pytest
from strawberry.extensions import MaskErrors, ParserCache
from strawberry.extensions.base_extension import SchemaExtension

from api.customers import service as customers
from schema.core.admission import AdmittedDocuments, AdmittingSchema, check_split
from tests.security.conftest import Production

UPDATE = "mutation($n: String!) { storeUpdate(input: {name: $n}) { store { name } } }"
NAMED = "query A { store { name } } query B { store { currency } }"


def _admitted(production: Production) -> AdmittedDocuments:
    view: Any = production.client._transport.app.routes[0].endpoint  # type: ignore[attr-defined]
    admitted: AdmittedDocuments = view.schema.admitted
    return admitted


PAGE = "query($f: Int!) { customers(first: $f) { edges { cursor } } }"


@pytest.mark.parametrize(
    ("body", "admitted"),
    [
        ({"query": "{ store { name currency } }"}, True),
        ({"query": NAMED, "operationName": "B"}, True),
        ({"query": PAGE}, True),  # a valid document; the variable is missing
        ({"query": PAGE, "variables": {"f": 100_000}}, True),
        ({"query": "{ store { name } nope }"}, False),
        ({"query": "{ store { name "}, False),
    ],
    ids=["plain", "named", "missing variable", "page too big", "invalid", "syntax"],
)
async def test_a_second_request_answers_as_the_first(
    production: Production,
    monkeypatch: pytest.MonkeyPatch,
    body: dict[str, Any],
    admitted: bool,
) -> None:
    checked: list[str | None] = []
    full_path = AdmittingSchema._prepare_operation_async

    async def prepare(self: Any, context: Any, runner: Any) -> Any:
        checked.append(context.query)  # parsing and validation ran
        return await full_path(self, context, runner)

    monkeypatch.setattr(AdmittingSchema, "_prepare_operation_async", prepare)
    first = await production.post(body)
    second = await production.post(body)
    assert (second.response.status_code, second.body) == (
        first.response.status_code,
        first.body,
    )
    assert (body["query"] in _admitted(production)._documents) is admitted
    # An admitted text is checked once; any other, every time.
    assert len(checked) == (1 if admitted else 2)


async def test_nul_variables_are_refused_on_an_admitted_document(
    production: Production,
) -> None:
    ok = await production.post({"query": UPDATE, "variables": {"n": "Shop"}})
    assert ok.body == {"data": {"storeUpdate": {"store": {"name": "Shop"}}}}
    assert UPDATE in _admitted(production)._documents

    refused = await production.post({"query": UPDATE, "variables": {"n": "a\x00b"}})
    assert refused.body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    await production.keys.store.refresh_from_db()
    assert production.keys.store.name == "Shop"


async def test_an_unknown_operation_name_errs_on_an_admitted_document(
    production: Production,
) -> None:
    before = [
        await production.post({"query": NAMED, "operationName": "C"}),
        await production.post({"query": NAMED}),
    ]
    _admitted(production)._documents.clear()  # answered by the full path above
    await production.post({"query": NAMED, "operationName": "A"})
    assert NAMED in _admitted(production)._documents
    after = [
        await production.post({"query": NAMED, "operationName": "C"}),
        await production.post({"query": NAMED}),
    ]
    assert [s.body for s in after] == [s.body for s in before]
    assert after[0].messages == ['Unknown operation named "C".']


async def test_an_admitted_mutation_is_still_refused_over_get(
    production: Production,
) -> None:
    mutation = 'mutation { storeUpdate(input: {name: "x"}) { store { name } } }'
    await production.post({"query": mutation})
    sent = await production.send(
        "GET", params={"query": mutation}, headers=production.auth
    )
    assert sent.response.status_code == 405


async def test_bugs_are_masked_on_an_admitted_document(
    production: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "{ customers(first: 1) { edges { cursor } } }"
    assert (await production.post({"query": query})).body == {
        "data": {"customers": {"edges": []}}
    }

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("email_hash of ledger_entries")

    monkeypatch.setattr(customers, "search", broken)
    sent = await production.post({"query": query})
    error = sent.body["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "email_hash" not in sent.response.text


async def test_an_unreachable_database_is_503_on_an_admitted_document(
    production: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "{ customers(first: 1) { edges { cursor } } }"
    await production.post({"query": query})
    assert query in _admitted(production)._documents

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(customers, "search", down)
    sent = await production.post({"query": query})
    assert sent.response.status_code == 503
    assert sent.body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def test_admitted_documents_are_bounded() -> None:
    admitted = AdmittedDocuments(max_entries=2, max_length=10, max_characters=12)
    document: Any = object()
    for text in ("a", "b", "a", "c", "x" * 11):
        admitted.admit(text, document)
        admitted.get(text)
    # b was the least recently used of three; the long text is never kept.
    assert list(admitted._documents) == ["a", "c"]
    assert admitted.get("x" * 11) is None
    for text in ("y" * 10, "z" * 10):  # 20 characters: over the budget of 12
        admitted.admit(text, document)
    assert list(admitted._documents) == ["z" * 10]


class _ParsesAndExecutes(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        yield

    def on_execute(self) -> Iterator[None]:
        yield


def test_an_extension_that_acts_at_execution_cannot_be_skipped() -> None:
    check_split([ParserCache], [MaskErrors])
    with pytest.raises(TypeError, match="on_execute"):
        check_split([_ParsesAndExecutes], [MaskErrors])
    with pytest.raises(TypeError, match="on_parse"):
        check_split([ParserCache], [_ParsesAndExecutes])

"""PostgreSQL text cannot hold U+0000. R15's fuzzing found mutations failing
mid-way, as masked bugs, on such strings; they are now refused up front, alike
on both backends."""

import pytest

from tests.security.conftest import Production, only_key_lookup

UPDATE = "mutation($n: String!) { storeUpdate(input: {name: $n}) { store { name } } }"


@pytest.mark.parametrize(
    "body",
    [
        {"query": UPDATE, "variables": {"n": "a\x00b"}},
        {
            "query": 'mutation { storeUpdate(input: {name: "a\\u0000b"}) { store { name } } }'
        },
        {"query": UPDATE, "variables": {"n": "ok", "extra": [{"k\x00": 1}]}},
    ],
    ids=["variable", "literal", "nested key"],
)
async def test_nul_characters_are_refused_before_anything_runs(
    production: Production, body: dict[str, object]
) -> None:
    sent = await production.post(body)
    assert sent.response.status_code == 200
    assert sent.body == {
        "errors": [
            {
                "message": "Strings may not contain the NUL character (U+0000).",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ]
    }
    assert only_key_lookup(sent.sql)
    await production.keys.store.refresh_from_db()
    assert production.keys.store.name == "Store A"


async def test_other_control_characters_still_work(production: Production) -> None:
    sent = await production.post({"query": UPDATE, "variables": {"n": "a\tb\x01"}})
    assert sent.body == {"data": {"storeUpdate": {"store": {"name": "a\tb\x01"}}}}

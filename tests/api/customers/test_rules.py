from datetime import date

import pytest

from api.core.errors import MultipleDomainError
from api.customers import rules
from api.customers.errors import CustomerError, CustomerErrorCode

TODAY = date(2026, 6, 1)


def _clean(**values: object) -> dict[str, object]:
    return rules.clean_changes(rules.CustomerChanges(dict(values)), today=TODAY)


@pytest.mark.parametrize(
    ("_case", "given", "expected"),
    [
        (
            "email lower-cased and trimmed",
            {"email": " Ada@Example.COM "},
            {"email": "ada@example.com"},
        ),
        ("null clears", {"email": None}, {"email": None}),
        ("blank name becomes null", {"first_name": "   "}, {"first_name": None}),
        ("name trimmed", {"last_name": " Lovelace "}, {"last_name": "Lovelace"}),
        (
            "birthday kept",
            {"birthday": date(1990, 2, 28)},
            {"birthday": date(1990, 2, 28)},
        ),
        ("birthday today allowed", {"birthday": TODAY}, {"birthday": TODAY}),
        ("nothing given", {}, {}),
    ],
)
def test_clean_changes(
    _case: str, given: dict[str, object], expected: dict[str, object]
) -> None:
    assert _clean(**given) == expected


@pytest.mark.parametrize(
    ("_case", "given", "code", "field"),
    [
        (
            "no at sign",
            {"email": "ada.example.com"},
            CustomerErrorCode.INVALID_EMAIL,
            "email",
        ),
        (
            "no domain dot",
            {"email": "ada@example"},
            CustomerErrorCode.INVALID_EMAIL,
            "email",
        ),
        (
            "spaces",
            {"email": "a da@example.com"},
            CustomerErrorCode.INVALID_EMAIL,
            "email",
        ),
        (
            "future birthday",
            {"birthday": date(2026, 6, 2)},
            CustomerErrorCode.INVALID_BIRTHDAY,
            "birthday",
        ),
        (
            "ancient birthday",
            {"birthday": date(1899, 12, 31)},
            CustomerErrorCode.INVALID_BIRTHDAY,
            "birthday",
        ),
        (
            "long name",
            {"first_name": "x" * 101},
            CustomerErrorCode.INVALID,
            "firstName",
        ),
    ],
)
def test_bad_values(
    _case: str, given: dict[str, object], code: CustomerErrorCode, field: str
) -> None:
    with pytest.raises(CustomerError) as raised:
        _clean(**given)
    assert raised.value.code is code
    assert raised.value.field == field


def test_all_problems_reported_together() -> None:
    with pytest.raises(MultipleDomainError) as raised:
        _clean(email="nope", birthday=date(3000, 1, 1))
    assert [e.field for e in raised.value.errors] == ["email", "birthday"]


@pytest.mark.parametrize("bad", ["", "   ", "x" * 256])
def test_external_id_bounds(bad: str) -> None:
    with pytest.raises(CustomerError) as raised:
        rules.clean_external_id(bad)
    assert raised.value.field == "externalId"

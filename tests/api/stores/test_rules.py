import pytest

from api.stores import rules
from api.stores.errors import StoreError, StoreErrorCode


@pytest.mark.parametrize(("given", "expected"), [("eur", "EUR"), (" USD ", "USD")])
def test_currency_normalised(given: str, expected: str) -> None:
    assert rules.clean_currency(given) == expected


@pytest.mark.parametrize("bad", ["", "EURO", "E1R", "€"])
def test_currency_rejected(bad: str) -> None:
    with pytest.raises(StoreError) as raised:
        rules.clean_currency(bad)
    assert raised.value.code is StoreErrorCode.INVALID_CURRENCY
    assert raised.value.field == "currency"


@pytest.mark.parametrize(
    # a folder of zones, and a name too long for a file (found by the fuzzer)
    "bad",
    ["Mars/Olympus", "", "../etc/passwd", "America", "Ṱ̺̺̕o͞ " * 20],
)
def test_timezone_rejected(bad: str) -> None:
    with pytest.raises(StoreError) as raised:
        rules.clean_timezone(bad)
    assert raised.value.code is StoreErrorCode.INVALID_TIMEZONE


def test_origins_normalised_and_deduplicated() -> None:
    assert rules.clean_origins(
        [
            "https://Shop.Example.com/",
            "https://shop.example.com",
            "http://localhost:3000",
        ]
    ) == ["https://shop.example.com", "http://localhost:3000"]


@pytest.mark.parametrize(
    "bad",
    [
        "shop.example.com",
        "ftp://shop.example.com",
        "https://shop.example.com/path",
        "*",
    ],
)
def test_origin_rejected(bad: str) -> None:
    with pytest.raises(StoreError) as raised:
        rules.clean_origins([bad])
    assert raised.value.code is StoreErrorCode.INVALID_ORIGIN


def test_too_many_origins() -> None:
    with pytest.raises(StoreError):
        rules.clean_origins([f"https://s{i}.example.com" for i in range(21)])

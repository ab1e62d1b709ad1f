"""Money is integer minor units plus an ISO 4217 currency; never floats."""

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


class Rounding(StrEnum):
    """How fractional points become whole points."""

    DOWN = "down"
    NEAREST = "nearest"
    UP = "up"


_MODES = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.NEAREST: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units as a Decimal amount of the major unit (1999 EUR -> 19.99)."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def round_points(value: Decimal, rounding: Rounding) -> int:
    return int(value.to_integral_value(rounding=_MODES[rounding]))


def plain(value: Decimal | int | str) -> Decimal:
    """A Decimal without trailing zeros or exponent: 1.5000 -> 1.5, 10.00 -> 10."""
    normalized = Decimal(value).normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1))
    return normalized

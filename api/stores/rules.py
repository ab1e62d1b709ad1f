"""Validation of store settings (pure)."""

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.stores.errors import StoreError, StoreErrorCode

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_ORIGINS = 20


def clean_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 200:
        raise StoreError(
            StoreErrorCode.INVALID, "Name must be 1 to 200 characters.", field="name"
        )
    return cleaned


def clean_currency(currency: str) -> str:
    code = currency.strip().upper()
    if not _CURRENCY.match(code):
        raise StoreError(
            StoreErrorCode.INVALID_CURRENCY,
            "Currency must be a three-letter ISO 4217 code, such as EUR.",
            field="currency",
        )
    return code


def clean_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    # OSError: the name is looked up as a file (too long a name, a folder).
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise StoreError(
            StoreErrorCode.INVALID_TIMEZONE,
            "Timezone must be an IANA zone name, such as Europe/Paris.",
            field="timezone",
        ) from exc
    return timezone


def clean_origins(origins: list[str]) -> list[str]:
    """Origins as browsers send them: scheme://host[:port], no path, no trailing slash."""
    if len(origins) > MAX_ORIGINS:
        raise StoreError(
            StoreErrorCode.INVALID_ORIGIN,
            f"At most {MAX_ORIGINS} allowed origins.",
            field="allowedOrigins",
        )
    cleaned: list[str] = []
    for origin in origins:
        parts = urlsplit(origin.strip())
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise StoreError(
                StoreErrorCode.INVALID_ORIGIN,
                f"{origin!r} is not an origin such as https://shop.example.com.",
                field="allowedOrigins",
            )
        value = f"{parts.scheme}://{parts.netloc}".lower()
        if value not in cleaned:
            cleaned.append(value)
    return cleaned

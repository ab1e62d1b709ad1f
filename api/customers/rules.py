"""Validation and normalisation of customer data (pure)."""

import re
from dataclasses import dataclass, field
from datetime import date

from api.core.errors import DomainError, MultipleDomainError
from api.customers.errors import CustomerError, CustomerErrorCode

# Deliberately loose: one @, something on both sides, a dot in the domain.
# Storefronts and platforms have already validated the address for delivery.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EXTERNAL_ID = 255
MAX_NAME = 100
MAX_EMAIL = 254
EARLIEST_BIRTHDAY = date(1900, 1, 1)


@dataclass
class CustomerChanges:
    """The personal fields a caller set; fields left out stay as they are."""

    values: dict[str, object] = field(default_factory=dict)

    def set(self, name: str, value: object) -> None:
        self.values[name] = value


def clean_external_id(external_id: str, *, field_name: str = "externalId") -> str:
    cleaned = external_id.strip()
    if not 1 <= len(cleaned) <= MAX_EXTERNAL_ID:
        raise CustomerError(
            CustomerErrorCode.INVALID,
            f"External id must be 1 to {MAX_EXTERNAL_ID} characters.",
            field=field_name,
        )
    return cleaned


def normalize_email(email: str) -> str:
    return email.strip().lower()


def clean_changes(changes: CustomerChanges, *, today: date) -> dict[str, object]:
    """Validated, normalised column values; every problem is reported at once."""
    problems: list[DomainError] = []
    cleaned: dict[str, object] = {}
    for name, value in changes.values.items():
        if name == "email" and value is not None:
            email = normalize_email(str(value))
            if len(email) > MAX_EMAIL or not _EMAIL.match(email):
                problems.append(
                    CustomerError(
                        CustomerErrorCode.INVALID_EMAIL,
                        "Email is not a valid address.",
                        field="email",
                    )
                )
            value = email
        elif name in ("first_name", "last_name") and value is not None:
            text = str(value).strip()
            if len(text) > MAX_NAME:
                problems.append(
                    CustomerError(
                        CustomerErrorCode.INVALID,
                        f"Names are at most {MAX_NAME} characters.",
                        field=_camel(name),
                    )
                )
            value = text or None
        elif (name == "birthday" and value is not None) and (
            not isinstance(value, date) or not EARLIEST_BIRTHDAY <= value <= today
        ):
            problems.append(
                CustomerError(
                    CustomerErrorCode.INVALID_BIRTHDAY,
                    "Birthday must be a past date after 1900.",
                    field="birthday",
                )
            )
        cleaned[name] = value
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise MultipleDomainError(problems)
    return cleaned


def month_day(birthday: object) -> int | None:
    return birthday.month * 100 + birthday.day if isinstance(birthday, date) else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)

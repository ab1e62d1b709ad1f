"""The base of every expected (domain) failure.

Each feature defines a ``StrEnum`` of stable codes in its own ``errors.py``; the codes
are part of the public API: add new ones, never rename or reuse them.
"""

from enum import StrEnum


class DomainError(Exception):
    """An expected failure that clients can act on, reported as data, not as a bug."""

    def __init__(self, code: StrEnum, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class MultipleDomainError(DomainError):
    """Several input problems found at once, reported together."""

    def __init__(self, errors: list[DomainError]):
        if not errors:
            raise ValueError("MultipleDomainError needs at least one error")
        first = errors[0]
        super().__init__(first.code, first.message, field=first.field)
        self.errors = errors

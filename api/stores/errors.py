from enum import StrEnum

from api.core.errors import DomainError


class StoreErrorCode(StrEnum):
    INVALID = "invalid"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_TIMEZONE = "invalid_timezone"
    INVALID_ORIGIN = "invalid_origin"
    NOT_FOUND = "not_found"


class StoreError(DomainError):
    pass


class AuthCode(StrEnum):
    """Top-level GraphQL error codes; clients branch on these."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"


class AuthError(Exception):
    """The caller is not who they say (UNAUTHENTICATED) or may not do this (FORBIDDEN)."""

    def __init__(self, code: AuthCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

from enum import StrEnum

from api.core.errors import DomainError


class ConnectionErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    TAKEN = "taken"


class PlatformConnectionError(DomainError):
    pass

from enum import StrEnum

from api.core.errors import DomainError


class ProgramErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"


class ProgramError(DomainError):
    pass

from enum import StrEnum

from api.core.errors import DomainError


class IdempotencyErrorCode(StrEnum):
    INVALID_KEY = "invalid_key"
    KEY_REUSED = "key_reused"


class IdempotencyError(DomainError):
    pass

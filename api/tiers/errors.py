from enum import StrEnum

from api.core.errors import DomainError


class TierErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    DUPLICATE_RANK = "duplicate_rank"
    THRESHOLD_ORDER = "threshold_order"


class TierError(DomainError):
    pass

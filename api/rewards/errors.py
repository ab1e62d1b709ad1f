from enum import StrEnum

from api.core.errors import DomainError


class RewardErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    INACTIVE = "inactive"
    OUT_OF_STOCK = "out_of_stock"
    LIMIT_REACHED = "limit_reached"
    TIER_REQUIRED = "tier_required"
    INSUFFICIENT_POINTS = "insufficient_points"
    ALREADY_USED = "already_used"
    ALREADY_CANCELLED = "already_cancelled"


class RewardError(DomainError):
    pass

from enum import StrEnum

from api.core.errors import DomainError


class OrderErrorCode(StrEnum):
    INVALID = "invalid"
    CURRENCY_MISMATCH = "currency_mismatch"
    CUSTOMER_REQUIRED = "customer_required"
    NOT_FOUND = "not_found"


class OrderError(DomainError):
    pass

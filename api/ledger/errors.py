from enum import StrEnum

from api.core.errors import DomainError


class LedgerErrorCode(StrEnum):
    INVALID = "invalid"
    INSUFFICIENT_POINTS = "insufficient_points"
    NOT_FOUND = "not_found"


class LedgerError(DomainError):
    pass


class InsufficientPointsError(LedgerError):
    def __init__(self, needed: int, available: int):
        super().__init__(
            LedgerErrorCode.INSUFFICIENT_POINTS,
            f"Needs {needed} points; {available} are available to spend.",
            field="points",
        )
        self.needed = needed
        self.available = available

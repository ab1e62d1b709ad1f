from enum import StrEnum

from api.core.errors import DomainError


class CustomerErrorCode(StrEnum):
    INVALID = "invalid"
    INVALID_EMAIL = "invalid_email"
    INVALID_BIRTHDAY = "invalid_birthday"
    NOT_FOUND = "not_found"


class CustomerError(DomainError):
    pass


class CustomerNotFoundError(CustomerError):
    def __init__(self, field: str = "id"):
        super().__init__(CustomerErrorCode.NOT_FOUND, "No such customer.", field=field)

from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from api.stores import models
from schema.core.errors import UserError


@strawberry.type(
    description="The store whose key made the request: its public settings."
)
class Store(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="The store's display name.")
    currency: str = strawberry.field(
        description="ISO 4217 code; every amount of money in this store is in it."
    )
    timezone: str = strawberry.field(
        description="IANA zone used for calendar periods (birthdays, calendar-year tiers)."
    )

    @classmethod
    def from_row(cls, row: models.Store) -> Self:
        return cls(
            id=str(row.id), name=row.name, currency=row.currency, timezone=row.timezone
        )


@strawberry.enum(description="Why a store mutation failed.")
class StoreErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is malformed.")
    INVALID_CURRENCY = strawberry.enum_value(
        "invalid_currency", description="Not a three-letter ISO 4217 code."
    )
    INVALID_TIMEZONE = strawberry.enum_value(
        "invalid_timezone", description="Not an IANA timezone name."
    )
    INVALID_ORIGIN = strawberry.enum_value(
        "invalid_origin", description="Not an origin such as https://shop.example.com."
    )
    NOT_FOUND = strawberry.enum_value("not_found", description="No such store.")


@strawberry.type(description="A problem with the input of a store mutation.")
class StoreError(UserError):
    code: StoreErrorCode = strawberry.field(description="Stable code to branch on.")

from datetime import date, datetime
from enum import Enum
from typing import Self
from uuid import UUID

import strawberry
from strawberry import relay

from api.customers import models
from schema.context import Info
from schema.core.errors import UserError
from schema.core.relay import PageSizeGuard


@strawberry.enum(description="Where a customer's external id comes from.")
class Platform(Enum):
    CUSTOM = strawberry.enum_value(
        "custom", description="The store's own id, e.g. from a custom storefront."
    )
    SHOPIFY = strawberry.enum_value("shopify", description="A Shopify customer id.")
    WOOCOMMERCE = strawberry.enum_value(
        "woocommerce", description="A WooCommerce customer id."
    )


@strawberry.type(description="A customer's id on one platform.")
class ExternalId:
    platform: Platform = strawberry.field(
        description="The platform this id belongs to."
    )
    id: str = strawberry.field(description="The id, as the platform writes it.")


@strawberry.type(
    description="A person known to the store, enrolled in its programme or not."
)
class Customer(relay.Node):
    id: relay.NodeID[str]
    email: str | None = strawberry.field(
        description="Lower-cased email; null when unknown or redacted by the platform."
    )
    first_name: str | None = strawberry.field(description="Given name.")
    last_name: str | None = strawberry.field(description="Family name.")
    birthday: date | None = strawberry.field(
        description="Date of birth, for birthday rewards."
    )
    marketing_consent: bool = strawberry.field(
        description="Whether the customer agreed to receive marketing."
    )
    is_enrolled: bool = strawberry.field(
        description="Whether the customer joined the loyalty programme."
    )
    enrolled_at: datetime | None = strawberry.field(
        description="When the customer joined the programme (UTC)."
    )
    created_at: datetime = strawberry.field(description="When Ladder first knew them.")
    updated_at: datetime = strawberry.field(description="Last change to this record.")

    @strawberry.field(description="The customer's ids on the store's platforms.")
    async def external_ids(self, info: Info) -> list[ExternalId]:
        rows = await info.context.loaders.customers.identities.load(self.uuid)
        return [
            ExternalId(platform=Platform[row.platform.name], id=row.external_id)
            for row in rows
        ]

    @property
    def uuid(self) -> UUID:
        return UUID(self.id)

    @classmethod
    def from_row(cls, row: models.Customer) -> Self:
        return cls(
            id=str(row.id),
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            birthday=row.birthday,
            marketing_consent=row.marketing_consent,
            is_enrolled=row.enrolled,
            enrolled_at=row.enrolled_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="Customers, a page at a time (at most 100 per page).")
class CustomerConnection(PageSizeGuard, relay.ListConnection[Customer]):
    @classmethod
    def resolve_node(
        cls, node: models.Customer, *, info: Info, **kwargs: object
    ) -> Customer:
        return Customer.from_row(node)


@strawberry.enum(description="Why a customer mutation failed.")
class CustomerErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is malformed.")
    INVALID_EMAIL = strawberry.enum_value(
        "invalid_email", description="The email is not a valid address."
    )
    INVALID_BIRTHDAY = strawberry.enum_value(
        "invalid_birthday", description="The birthday is in the future or before 1900."
    )
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="No customer of this store has that id."
    )


@strawberry.type(description="A problem with the input of a customer mutation.")
class CustomerError(UserError):
    code: CustomerErrorCode = strawberry.field(description="Stable code to branch on.")

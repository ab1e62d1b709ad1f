from datetime import date

import strawberry

from api.customers.rules import CustomerChanges
from schema.customers.types import Platform


@strawberry.input(
    description="Personal fields of a customer; fields left out keep their value."
)
class CustomerFieldsInput:
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="Email address; null clears it."
    )
    first_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Given name, up to 100 characters."
    )
    last_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Family name, up to 100 characters."
    )
    birthday: date | None = strawberry.field(
        default=strawberry.UNSET, description="Date of birth (YYYY-MM-DD)."
    )
    marketing_consent: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether the customer agreed to marketing; null means false.",
    )

    def to_changes(self) -> CustomerChanges:
        changes = CustomerChanges()
        for name in ("email", "first_name", "last_name", "birthday"):
            value = getattr(self, name)
            if value is not strawberry.UNSET:
                changes.set(name, value)
        if self.marketing_consent is not strawberry.UNSET:
            changes.set("marketing_consent", bool(self.marketing_consent))
        return changes


@strawberry.input(description="Create or update the customer with this external id.")
class CustomerUpsertInput(CustomerFieldsInput):
    external_id: str = strawberry.field(
        description="The customer's id on the platform (1-255 characters). "
        "Calling again with the same id updates the same customer."
    )
    platform: Platform = strawberry.field(
        default=Platform.CUSTOM, description="Which platform the external id is from."
    )
    enroll: bool = strawberry.field(
        default=False, description="Also enrol the customer in the programme."
    )


@strawberry.input(description="Enrol a customer in the loyalty programme.")
class CustomerEnrollInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The customer to enrol. Required with a secret key; with a "
        "publishable key and a customer token, leave it out to enrol the shopper.",
    )


@strawberry.input(description="Erase a customer's personal data.")
class CustomerDeleteInput:
    id: strawberry.ID = strawberry.field(description="The customer to erase.")


@strawberry.input(
    description="Mint a token that identifies a shopper to the storefront API."
)
class CustomerTokenCreateInput:
    id: strawberry.ID = strawberry.field(description="The customer the token is for.")
    ttl_seconds: int | None = strawberry.field(
        default=None,
        description="Lifetime in seconds (default 3600, at most 30 days).",
    )


@strawberry.input(description="Change a customer's personal fields.")
class CustomerUpdateInput(CustomerFieldsInput):
    id: strawberry.ID = strawberry.field(description="The customer to change.")

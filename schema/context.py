"""What every resolver gets: the caller, per-request loaders and settings."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.settings import Settings
from api.stores.errors import AuthError
from api.stores.models import Store
from api.stores.service import Principal
from schema.customers.loaders import CustomerLoaders
from schema.tiers.loaders import TierLoaders


class Loaders:
    """Per-request DataLoaders, scoped to the caller's store: their caches must
    never outlive one request or cross stores."""

    def __init__(self, store: Store | None = None):
        self.customers = CustomerLoaders(store)
        self.tiers = TierLoaders(store)


@dataclass
class Context:
    settings: Settings
    # Set when the request carried valid credentials.
    principal: Principal | None = None
    # Set when it carried credentials that failed; resolvers then see nothing.
    auth_error: AuthError | None = None
    loaders: Loaders = field(default_factory=Loaders)

    def authenticated(self, principal: Principal) -> None:
        self.principal = principal
        self.loaders = Loaders(principal.store)


Info: TypeAlias = strawberry.Info[Context, None]


class QueriesKeepTheStoreVersion(SchemaExtension):
    """A query changes nothing, so the store's version read with the store row
    at authentication still names its programme throughout: the tiers a page
    shows come from the programme kept at that version, with no second read
    of the version (api/program/snapshot.py). Mutations read it afresh."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            execution.operation_type is OperationType.QUERY
            and isinstance(context, Context)
            and context.principal is not None
        ):
            context.loaders.tiers.read_at = context.principal.store_version
        yield

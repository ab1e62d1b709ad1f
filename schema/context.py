"""What every resolver gets: the caller, per-request loaders and settings."""

from dataclasses import dataclass, field
from typing import TypeAlias

import strawberry

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

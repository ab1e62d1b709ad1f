"""What every resolver gets: the caller, per-request loaders and settings."""

from dataclasses import dataclass, field
from typing import TypeAlias

import strawberry

from api.settings import Settings
from api.stores.errors import AuthError
from api.stores.service import Principal
from schema.customers.loaders import CustomerLoaders


@dataclass
class Loaders:
    """Per-request DataLoaders: their caches must never outlive one request."""

    customers: CustomerLoaders = field(default_factory=CustomerLoaders)


@dataclass
class Context:
    settings: Settings
    # Set when the request carried valid credentials.
    principal: Principal | None = None
    # Set when it carried credentials that failed; resolvers then see nothing.
    auth_error: AuthError | None = None
    loaders: Loaders = field(default_factory=Loaders)


Info: TypeAlias = strawberry.Info[Context, None]

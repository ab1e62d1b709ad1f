"""Who may call what. Tenant scoping is not here: every service takes the store."""

from typing import Any

from strawberry.permission import BasePermission

from api.stores.service import Principal
from schema.context import Info
from schema.core.errors import ApiError, forbidden, unauthenticated


def require_principal(info: Info) -> Principal:
    """The caller's principal, or the top-level error explaining why there is none."""
    context = info.context
    if context.auth_error is not None:
        raise ApiError(context.auth_error.code.value, context.auth_error.message)
    if context.principal is None:
        raise unauthenticated(
            "Send an API key as `Authorization: Bearer sk_...` or `pk_...`."
        )
    return context.principal


def require_secret(info: Info) -> Principal:
    principal = require_principal(info)
    if not principal.is_secret:
        raise forbidden(
            "This needs a secret key (sk_...); publishable keys are public."
        )
    return principal


class IsAuthenticated(BasePermission):
    """Any valid key of the store: secret or publishable."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        require_principal(info)
        return True


class IsSecretKey(BasePermission):
    """A secret key: full access to its own store."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        require_secret(info)
        return True


def caller(info: Info) -> Principal:
    """The principal, for resolvers already guarded by a permission class."""
    principal = info.context.principal
    if principal is None:  # pragma: no cover - guarded by permission classes
        raise unauthenticated()
    return principal

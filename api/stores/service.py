"""Stores (tenants), their API keys and the customer tokens they sign."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from uuid import UUID

from api.core import sql
from api.core.clock import utc_now
from api.stores import credentials, rules
from api.stores.errors import AuthCode, AuthError, StoreError, StoreErrorCode
from api.stores.models import ApiKey, KeyKind, Store


@dataclass(frozen=True)
class Principal:
    """Who is calling: a store's key, and the shopper when a customer token came too."""

    store: Store
    key_kind: KeyKind
    key_id: UUID
    allowed_origins: tuple[str, ...] = ()
    customer_id: UUID | None = None
    # The store's change version (migration 0008), read with the store row:
    # what a cached answer computed from this store row is valid for.
    # None on SQLite, which keeps no versions.
    store_version: int | None = None
    # The change version of the shopper the customer token names, read with
    # the key (PostgreSQL): (their id, their version, None when they are not
    # the store's). Worth anything only once the token is verified to name them.
    shopper_version: tuple[UUID, int | None] | None = None

    def version_of(self, customer_id: UUID) -> tuple[bool, int | None]:
        """(read, version) of a customer's change version, if read at authentication."""
        found = self.shopper_version
        if found is None or found[0] != customer_id:
            return False, None
        return True, found[1]

    @property
    def is_secret(self) -> bool:
        return self.key_kind is KeyKind.SECRET


@dataclass(frozen=True)
class IssuedKeys:
    """Keys in clear text: shown once, at creation, never again."""

    store: Store
    secret_key: str
    publishable_key: str


async def create_store(
    *,
    name: str,
    currency: str,
    timezone: str = "UTC",
    allowed_origins: list[str] | None = None,
) -> IssuedKeys:
    """A new store comes with one secret and one publishable key."""
    origins = rules.clean_origins(allowed_origins or [])
    store = await Store.create(
        name=rules.clean_name(name),
        currency=rules.clean_currency(currency),
        timezone=rules.clean_timezone(timezone),
        token_secret=credentials.generate_token_secret(),
    )
    secret_key = await _issue_key(store, KeyKind.SECRET)
    publishable_key = await _issue_key(
        store, KeyKind.PUBLISHABLE, allowed_origins=origins
    )
    return IssuedKeys(
        store=store, secret_key=secret_key, publishable_key=publishable_key
    )


async def get_store(store_id: UUID) -> Store:
    store = await Store.get_or_none(id=store_id)
    if store is None:
        raise StoreError(
            StoreErrorCode.NOT_FOUND, f"No store {store_id}.", field="store"
        )
    return store


async def rotate_key(
    store: Store, kind: KeyKind, *, allowed_origins: list[str] | None = None
) -> str:
    """Revoke every active key of this kind and issue a new one.

    A new publishable key keeps the allowed origins of the one it replaces unless
    new ones are given.
    """
    active = ApiKey.filter(store=store, kind=kind, revoked_at__isnull=True)
    if allowed_origins is None and kind is KeyKind.PUBLISHABLE:
        previous = await active.order_by("-created_at").first()
        allowed_origins = previous.allowed_origins if previous else []
    await active.update(revoked_at=utc_now())
    return await _issue_key(store, kind, allowed_origins=allowed_origins or [])


async def set_allowed_origins(store: Store, origins: list[str]) -> list[str]:
    """Browser origins the store's publishable keys accept."""
    cleaned = rules.clean_origins(origins)
    await ApiKey.filter(
        store=store, kind=KeyKind.PUBLISHABLE, revoked_at__isnull=True
    ).update(allowed_origins=cleaned)
    return cleaned


async def update_store(
    store: Store, *, name: str | None = None, timezone: str | None = None
) -> Store:
    """Rename the store or move it to another timezone; the currency is fixed."""
    if name is not None:
        store.name = rules.clean_name(name)
    if timezone is not None:
        store.timezone = rules.clean_timezone(timezone)
    await store.save()
    return store


@cache
def _authenticate_sql(postgres: bool, shopper: bool) -> str:
    # Built once the ORM is up: foreign-key columns exist only after init.
    versions = ""
    if postgres:
        versions = ", s.config_version AS store_version"
        if shopper:  # the `me` cache's other version, in the same round trip
            versions += (
                ", (SELECT c.cache_version FROM customers c"
                " WHERE c.id = $2 AND c.store_id = s.id) AS shopper_version"
            )
    return (
        f"SELECT {sql.columns(ApiKey, 'k', 'key_')}, {sql.columns(Store, 's')}{versions}"  # noqa: S608 - column names from the models
        " FROM api_keys k JOIN stores s ON s.id = k.store_id"
        " WHERE k.key_hash = $1 AND k.revoked_at IS NULL"
    )


async def authenticate(raw_key: str, *, shopper: UUID | None = None) -> Principal:
    """The principal for an API key; missing, unknown or revoked keys get nothing.

    `shopper`, the customer a token claims (not yet verified), has their change
    version read in the same statement on PostgreSQL (`Principal.version_of`).
    """
    if credentials.kind_of(raw_key) is None:
        raise AuthError(AuthCode.UNAUTHENTICATED, "Unknown API key.")
    postgres = sql.is_postgres()
    ahead = shopper if postgres else None  # SQLite keeps no versions
    args: tuple[object, ...] = (credentials.hash_key(raw_key),)
    if ahead is not None:
        args += (ahead,)
    # Every request runs this: hand-written SQL (api/core/sql.py).
    row = await sql.fetch_one(_authenticate_sql(postgres, ahead is not None), *args)
    if row is None:
        raise AuthError(AuthCode.UNAUTHENTICATED, "Unknown or revoked API key.")
    key = sql.model_from(ApiKey, row, "key_")
    return Principal(
        store=sql.model_from(Store, row),
        key_kind=key.kind,
        key_id=key.id,
        allowed_origins=tuple(key.allowed_origins),
        store_version=row.get("store_version"),
        shopper_version=None if ahead is None else (ahead, row["shopper_version"]),
    )


def identify_shopper(principal: Principal, token: str) -> Principal:
    """Attach the shopper named by a customer token signed by the principal's store."""
    store = principal.store
    try:
        claims = credentials.read_customer_token(
            token, secret=store.token_secret, store_id=store.id, now=utc_now()
        )
    except credentials.InvalidTokenError as exc:
        raise AuthError(AuthCode.UNAUTHENTICATED, str(exc).capitalize() + ".") from exc
    return replace(principal, customer_id=claims.customer_id)


def mint_customer_token(
    store: Store, customer_id: UUID, *, ttl: timedelta
) -> tuple[str, datetime]:
    """A token a storefront passes to identify this shopper, valid for `ttl`."""
    return credentials.mint_customer_token(
        secret=store.token_secret,
        store_id=store.id,
        customer_id=customer_id,
        now=utc_now(),
        ttl=ttl,
    )


async def revoke_customer_tokens(store: Store) -> None:
    """Invalidate every customer token the store has issued (after a leak)."""
    store.token_secret = credentials.generate_token_secret()
    await store.save(update_fields=["token_secret", "updated_at"])


async def _issue_key(
    store: Store, kind: KeyKind, *, allowed_origins: list[str] | None = None
) -> str:
    raw = credentials.generate_key(kind)
    await ApiKey.create(
        store=store,
        kind=kind,
        key_hash=credentials.hash_key(raw),
        prefix=credentials.display_prefix(raw),
        allowed_origins=rules.clean_origins(allowed_origins or []),
    )
    return raw

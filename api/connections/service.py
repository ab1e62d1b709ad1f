"""Platform connections: which shop feeds which store, with what credentials."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from api.connections.errors import ConnectionErrorCode, PlatformConnectionError
from api.connections.models import Connection
from api.core import sql
from api.core.clock import utc_now
from api.core.crypto import Vault
from api.platforms import Connector, PlatformName
from api.stores.models import Store


@dataclass(frozen=True)
class Credentials:
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None


async def connect(
    store: Store,
    *,
    platform: PlatformName,
    shop_ref: str,
    vault: Vault,
    access_token: str | None = None,
    refresh_token: str | None = None,
    token_expires_at: datetime | None = None,
    webhook_secret: str | None = None,
    scopes: str = "",
) -> Connection:
    """Link a shop to the store (or refresh the link of a reinstalled shop).

    A shop already linked to another store is refused: one shop feeds one store.
    """
    shop_ref = shop_ref.strip().lower()
    existing = await Connection.get_or_none(platform=platform, shop_ref=shop_ref)
    if existing is not None and existing.store_id != store.id:
        raise PlatformConnectionError(
            ConnectionErrorCode.TAKEN,
            "This shop is connected to another store.",
            field="shop",
        )
    connection = existing or Connection(
        store_id=store.id, platform=platform, shop_ref=shop_ref
    )
    connection.access_token = vault.encrypt(access_token) if access_token else None
    connection.refresh_token = vault.encrypt(refresh_token) if refresh_token else None
    connection.token_expires_at = token_expires_at
    connection.webhook_secret = (
        vault.encrypt(webhook_secret) if webhook_secret else None
    )
    connection.scopes = scopes
    connection.active = True
    connection.uninstalled_at = None
    await connection.save()
    return connection


@cache
def _find_sql(postgres: bool) -> str:
    # Built once the ORM is up: foreign-key columns exist only after init.
    version = ", s.config_version AS programme_version" if postgres else ""
    return (
        f"SELECT {sql.columns(Connection, 'c', 'c_')}, {sql.columns(Store, 's')}{version}"  # noqa: S608 - column names from the models
        " FROM connections c JOIN stores s ON s.id = c.store_id"
        " WHERE c.platform = $1 AND c.shop_ref = $2"
    )


async def find(platform: PlatformName, shop_ref: str) -> Connection | None:
    """The shop's connection, with its store."""
    found = await find_with_programme_version(platform, shop_ref)
    return found[0] if found else None


async def find_with_programme_version(
    platform: PlatformName, shop_ref: str
) -> tuple[Connection, int | None] | None:
    """The shop's connection, with its store, and the store's programme
    version (PostgreSQL; None on SQLite), so the delivery processed next need
    not read it again. Every webhook runs this: hand-written SQL."""
    row = await sql.fetch_one(
        _find_sql(sql.is_postgres()), platform, shop_ref.strip().lower()
    )
    if row is None:
        return None
    connection = sql.model_from(Connection, row, "c_")
    connection.store = sql.model_from(Store, row)
    return connection, row.get("programme_version")


async def for_store(store: Store, platform: PlatformName) -> Connection | None:
    return await Connection.get_or_none(
        store_id=store.id, platform=platform, active=True
    )


def webhook_secrets(
    connection: Connection, vault: Vault, app_secrets: list[str]
) -> list[str]:
    """Secrets a webhook from this shop may be signed with: its own, else the app's."""
    if connection.webhook_secret:
        return [vault.decrypt(connection.webhook_secret)]
    return list(app_secrets)


def credentials(connection: Connection, vault: Vault) -> Credentials:
    return Credentials(
        access_token=vault.decrypt(connection.access_token)
        if connection.access_token
        else None,
        refresh_token=vault.decrypt(connection.refresh_token)
        if connection.refresh_token
        else None,
        expires_at=connection.token_expires_at,
    )


async def save_tokens(
    connection: Connection,
    vault: Vault,
    *,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime | None,
) -> None:
    """Persist refreshed tokens at once: each refresh invalidates the previous pair."""
    connection.access_token = vault.encrypt(access_token)
    connection.refresh_token = vault.encrypt(refresh_token) if refresh_token else None
    connection.token_expires_at = expires_at
    await connection.save(
        update_fields=[
            "access_token",
            "refresh_token",
            "token_expires_at",
            "updated_at",
        ]
    )


async def uninstall(connection: Connection) -> None:
    """The shop removed the app: stop calling it; its data stays until shop redaction."""
    connection.active = False
    connection.uninstalled_at = utc_now()
    connection.access_token = None
    connection.refresh_token = None
    await connection.save()


async def save_checkpoint(
    connection_id: UUID, *, cursor: str | None, synced_until: datetime | None
) -> None:
    await Connection.filter(id=connection_id).update(
        sync_cursor=cursor, synced_until=synced_until
    )


REFRESH_AHEAD = timedelta(minutes=5)


async def access_token(
    connection: Connection, vault: Vault, connector: Connector, http: Any
) -> str | None:
    """The shop's access token, refreshed first when it is about to expire
    (Shopify's expiring offline tokens last an hour)."""
    current = credentials(connection, vault)
    expiring = (
        current.expires_at is not None
        and current.expires_at <= utc_now() + REFRESH_AHEAD
    )
    if not expiring or not current.refresh_token:
        return current.access_token
    tokens = await connector.refresh(
        http, shop_ref=connection.shop_ref, refresh_token=current.refresh_token
    )
    await save_tokens(
        connection,
        vault,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
    )
    return tokens.access_token


def site_ref(url: str) -> str:
    """A WooCommerce site as a shop reference: scheme://host[/path], no trailing /."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"

"""The composition root: create_app(settings) wires routes, ORM and HTTP client."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TypedDict

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from tortoise import Tortoise

from api.core.crypto import Vault
from api.db import tortoise_config
from api.http import (
    cors,
    health,
    request_id,
    shopify_install,
    unavailable,
    webhooks,
    woocommerce_install,
)
from api.http.graphql import LadderGraphQL
from api.maintenance import service as maintenance
from api.platforms import Connector, PlatformName
from api.settings import Environment, Settings
from plugins.shopify import connector as shopify_connector
from plugins.woocommerce import connector as woocommerce_connector
from schema import build_schema


class State(TypedDict):
    http: httpx.AsyncClient


def platform_connectors(
    settings: Settings | None = None,
) -> dict[PlatformName, Connector]:
    """The platform plugins, registered here and only here."""
    if settings is None:
        return {
            PlatformName.SHOPIFY: shopify_connector.ShopifyConnector(),
            PlatformName.WOOCOMMERCE: woocommerce_connector.connector,
        }
    shopify = shopify_connector.ShopifyConnector(
        settings.shopify_api_version,
        api_key=settings.shopify_api_key,
        api_secret=settings.shopify_api_secret.get_secret_value(),
    )
    return {
        PlatformName.SHOPIFY: shopify,
        PlatformName.WOOCOMMERCE: woocommerce_connector.connector,
    }


def create_app(
    settings: Settings,
    *,
    manage_orm: bool = True,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The ASGI app. Tests that own the ORM themselves pass manage_orm=False, and
    tests that fake a platform pass its transport."""
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_tokens=settings.max_query_tokens,
        max_aliases=settings.max_aliases,
        max_page_size=settings.max_page_size,
        introspection=settings.introspection_enabled,
        field_suggestions=settings.environment is Environment.DEVELOPMENT,
        # Its on_execute sees resolver errors before MaskErrors' on_operation
        # masks them, so the view can answer 503 for an unreachable database.
        extra_extensions=(unavailable.DatabaseErrorProbe,),
    )
    graphql = LadderGraphQL(schema, settings)
    vault = Vault(settings.vault_key())
    connectors = platform_connectors(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        if manage_orm:
            await Tortoise.init(
                config=tortoise_config(settings.database_url),
                _enable_global_fallback=True,  # requests run in other tasks than this
            )
        try:
            async with (
                httpx.AsyncClient(
                    timeout=httpx.Timeout(settings.http_timeout_seconds),
                    transport=http_transport,
                ) as http,
                _maintenance(manage_orm, http),
            ):
                app.state.http = http  # for endpoints that call platforms
                yield {"http": http}
        finally:
            if manage_orm:
                await Tortoise.close_connections()

    @asynccontextmanager
    async def _maintenance(
        enabled: bool, http: httpx.AsyncClient
    ) -> AsyncIterator[None]:
        """Time-driven work in the background of `ladder serve` (see settings)."""
        interval = settings.maintenance_interval_seconds
        if not enabled or interval <= 0:
            yield
            return
        task = asyncio.create_task(
            maintenance.run_forever(
                interval,
                maintenance.Platforms(
                    connectors=connectors,
                    http=http,
                    vault=vault,
                    reconcile_every=timedelta(
                        minutes=settings.woocommerce_reconcile_minutes
                    ),
                    inbox_retention=settings.inbox_retention(),
                ),
            )
        )
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Starlette(
        routes=[
            Route(
                "/graphql",
                graphql,
                methods=["GET", "POST"],
                max_body_size=settings.max_body_bytes,
            ),
            Route("/graphql", cors.preflight, methods=["OPTIONS"]),
            Route(
                "/webhooks/shopify",
                webhooks.shopify_endpoint(settings, vault, connectors),
                methods=["POST"],
                max_body_size=settings.max_webhook_bytes,
            ),
            Route("/shopify/install", shopify_install.install_endpoint(settings)),
            Route(
                "/shopify/callback", shopify_install.callback_endpoint(settings, vault)
            ),
            Route(
                "/webhooks/woocommerce",
                webhooks.woocommerce_endpoint(vault, connectors),
                methods=["POST"],
                max_body_size=settings.max_webhook_bytes,
            ),
            Route(
                "/woocommerce/install", woocommerce_install.install_endpoint(settings)
            ),
            Route(
                "/woocommerce/callback",
                woocommerce_install.callback_endpoint(settings, vault),
                methods=["POST"],
            ),
            Route("/woocommerce/installed", woocommerce_install.installed),
            Route("/healthz", health.healthz),
            Route("/readyz", health.readyz),
        ],
        middleware=[
            Middleware(request_id.RequestId),  # outermost: every answer gets the id
            Middleware(
                unavailable.FailClosed,
                retry_after_seconds=settings.unavailable_retry_after_seconds,
            ),
        ],
        lifespan=lifespan,
    )

"""Connecting a WooCommerce store (its app-authentication endpoint).

1. The merchant opens `ladder woocommerce install-url` for their store:
   /woocommerce/install?store=...&url=...&token=...
2. We redirect to the site's /wc-auth/v1/authorize (app name, scope read_write,
   an opaque signed install token as user_id, return and callback URLs).
3. WooCommerce POSTs the new REST keys to /woocommerce/callback. We check the
   install token, verify the keys against the store before keeping them, store
   them encrypted, create our webhooks with a per-store secret, answer 200, and
   import past orders in the background.
"""

import asyncio
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.connections import service as connections
from api.connections.models import Connection
from api.core.clock import utc_now
from api.core.crypto import Vault
from api.http.shopify_install import Endpoint
from api.platforms import PlatformCallError, PlatformName
from api.settings import Settings
from api.stores.models import Store
from api.sync import service as sync
from plugins.woocommerce.client import WooCommerceAPI
from plugins.woocommerce.signature import new_webhook_secret

logger = logging.getLogger("ladder.woocommerce")
LINK_TTL = timedelta(days=7)
WEBHOOK_TOPICS = [
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "customer.created",
    "customer.updated",
]


def _key(settings: Settings) -> str:
    return "woocommerce-install:" + settings.vault_key()


def install_link(settings: Settings, *, store_id: UUID, site_url: str) -> str:
    token = jwt.encode(
        {
            "store": str(store_id),
            "site": connections.site_ref(site_url),
            "exp": int((utc_now() + LINK_TTL).timestamp()),
        },
        _key(settings),
        algorithm="HS256",
    )
    query = urlencode({"store": str(store_id), "url": site_url, "token": token})
    return f"{settings.public_url.rstrip('/')}/woocommerce/install?{query}"


def _claims(settings: Settings, token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, _key(settings), algorithms=["HS256"])
    return claims


def install_endpoint(settings: Settings) -> Endpoint:
    async def install(request: Request) -> Response:
        token = request.query_params.get("token", "")
        try:
            claims = _claims(settings, token)
        except jwt.PyJWTError:
            return JSONResponse(
                {"error": "invalid or expired install link"}, status_code=400
            )
        public = settings.public_url.rstrip("/")
        query = urlencode(
            {
                "app_name": "Ladder",
                "scope": "read_write",
                "user_id": token,  # opaque to WooCommerce, signed by us
                "return_url": f"{public}/woocommerce/installed",
                "callback_url": f"{public}/woocommerce/callback",
            }
        )
        return RedirectResponse(f"{claims['site']}/wc-auth/v1/authorize?{query}", 302)

    return install


def callback_endpoint(settings: Settings, vault: Vault) -> Endpoint:
    background: set[asyncio.Task[Any]] = set()

    async def callback(request: Request) -> Response:
        try:
            body = await request.json()
            claims = _claims(settings, str(body["user_id"]))
            key, secret = str(body["consumer_key"]), str(body["consumer_secret"])
        except (ValueError, KeyError, TypeError, jwt.PyJWTError):
            return JSONResponse(
                {"error": "not a valid WooCommerce key delivery"}, status_code=400
            )
        store = await Store.get_or_none(id=claims["store"])
        if store is None:
            return JSONResponse({"error": "unknown store"}, status_code=400)
        site = str(claims["site"])
        api = WooCommerceAPI(
            request.app.state.http,
            site_url=site,
            consumer_key=key,
            consumer_secret=secret,
        )
        try:
            if not await api.verify_keys():
                return JSONResponse(
                    {"error": "the keys do not open this store"}, status_code=400
                )
        except PlatformCallError:
            return JSONResponse(
                {"error": "the store could not be reached"}, status_code=400
            )
        webhook_secret = new_webhook_secret()
        connection = await connections.connect(
            store,
            platform=PlatformName.WOOCOMMERCE,
            shop_ref=site,
            vault=vault,
            access_token=f"{key}:{secret}",
            webhook_secret=webhook_secret,
            scopes="read_write",
        )
        task = asyncio.create_task(
            _finish(settings, connection.id, api, webhook_secret)
        )
        background.add(task)
        task.add_done_callback(background.discard)
        return Response(status_code=200)

    return callback


async def _finish(
    settings: Settings, connection_id: UUID, api: WooCommerceAPI, secret: str
) -> None:
    """After answering WooCommerce: our webhooks, then the order history."""
    try:
        await api.create_webhooks(
            f"{settings.public_url.rstrip('/')}/webhooks/woocommerce",
            secret,
            WEBHOOK_TOPICS,
        )
        connection = await Connection.get(id=connection_id).prefetch_related("store")
        report = await sync.backfill(connection, api, page_size=100)
        logger.info("woocommerce backfill of %s: %s", connection.shop_ref, report)
    except Exception:  # the reconciler and `ladder sync woocommerce` catch up
        logger.exception("woocommerce install follow-up stopped")


async def installed(request: Request) -> Response:
    """Where WooCommerce sends the merchant after approving."""
    return HTMLResponse(
        "<!doctype html><title>Ladder is connected</title><h1>Ladder is connected</h1>"
        "<p>Orders, refunds and customers now flow into your loyalty programme. "
        "Past orders are being imported.</p>"
    )

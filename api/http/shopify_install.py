"""Installing Ladder on a Shopify shop (OAuth authorization-code grant).

1. The merchant opens the install link `ladder shopify install-url` printed for
   their store: /shopify/install?shop=...&store=...&token=...
2. We redirect to Shopify's authorize page with a signed, single-use `state`
   (its nonce also in a cookie, so only the browser that started can finish).
3. Shopify redirects back to /shopify/callback: we check the query HMAC, the
   state and the shop, exchange the code for a token, store it encrypted,
   register the webhooks we need, and start a backfill in the background.
"""

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.connections import service as connections
from api.core.clock import utc_now
from api.core.crypto import Vault
from api.platforms import PlatformName
from api.settings import Settings
from api.stores.models import Store
from api.sync import service as sync
from plugins.shopify import signature
from plugins.shopify.client import ShopifyAdmin, exchange_code

logger = logging.getLogger("ladder.shopify")
STATE_COOKIE = "ladder_shopify_state"
STATE_TTL = timedelta(minutes=10)
INSTALL_LINK_TTL = timedelta(days=7)
WEBHOOK_TOPICS = [
    "orders/paid",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    "customers/create",
    "customers/update",
    "app/uninstalled",
]

Endpoint = Callable[[Request], Awaitable[Response]]


def _signing_key(vault_key: str) -> str:
    return "shopify-install:" + vault_key


def install_link(settings: Settings, *, store_id: UUID, shop: str) -> str:
    """The link a merchant opens to connect their shop to this store."""
    token = jwt.encode(
        {
            "store": str(store_id),
            "shop": shop,
            "exp": int((utc_now() + INSTALL_LINK_TTL).timestamp()),
            "purpose": "install",
        },
        _signing_key(settings.vault_key()),
        algorithm="HS256",
    )
    query = urlencode({"shop": shop, "store": str(store_id), "token": token})
    return f"{settings.public_url.rstrip('/')}/shopify/install?{query}"


def _claims(settings: Settings, token: str, purpose: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, _signing_key(settings.vault_key()), algorithms=["HS256"]
    )
    if claims.get("purpose") != purpose:
        raise jwt.InvalidTokenError("wrong purpose")
    return claims


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{text}</p>",
        status_code=status,
    )


def install_endpoint(settings: Settings) -> Endpoint:
    async def install(request: Request) -> Response:
        shop = request.query_params.get("shop", "").strip().lower()
        if not signature.is_valid_shop_domain(shop):
            return _page(
                "Invalid shop", "Use the shop's address, like x.myshopify.com.", 400
            )
        try:
            claims = _claims(settings, request.query_params.get("token", ""), "install")
        except jwt.PyJWTError:
            return _page(
                "Invalid install link",
                "Ask for a new link: `ladder shopify install-url --store ... --shop ...`.",
                400,
            )
        if claims["shop"] != shop or claims["store"] != request.query_params.get(
            "store"
        ):
            return _page("Invalid install link", "This link is for another shop.", 400)
        if not settings.shopify_api_key or not settings.shopify_secrets():
            return _page(
                "Shopify app not configured",
                "Set LADDER_SHOPIFY_API_KEY and _SECRET.",
                503,
            )
        nonce = secrets.token_urlsafe(24)
        state = jwt.encode(
            {
                "store": claims["store"],
                "shop": shop,
                "nonce": nonce,
                "exp": int((utc_now() + STATE_TTL).timestamp()),
                "purpose": "state",
            },
            _signing_key(settings.vault_key()),
            algorithm="HS256",
        )
        query = urlencode(
            {
                "client_id": settings.shopify_api_key,
                "scope": settings.shopify_scopes,
                "redirect_uri": f"{settings.public_url.rstrip('/')}/shopify/callback",
                "state": state,
            }
        )
        response = RedirectResponse(
            f"https://{shop}/admin/oauth/authorize?{query}", 302
        )
        response.set_cookie(
            STATE_COOKIE,
            nonce,
            max_age=int(STATE_TTL.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=settings.public_url.startswith("https://"),
        )
        return response

    return install


def callback_endpoint(settings: Settings, vault: Vault) -> Endpoint:
    background: set[asyncio.Task[Any]] = set()

    async def callback(request: Request) -> Response:
        params = dict(request.query_params)
        shop = params.get("shop", "").strip().lower()
        secret = settings.shopify_api_secret.get_secret_value()
        if not secret or not signature.verify_query_hmac(params, secret):
            return _page("Refused", "The request is not signed by Shopify.", 401)
        if not signature.is_valid_shop_domain(shop):
            return _page("Refused", "Not a Shopify shop address.", 400)
        try:
            state = _claims(settings, params.get("state", ""), "state")
        except jwt.PyJWTError:
            return _page(
                "Refused", "The install expired or was tampered with: start again.", 400
            )
        cookie = request.cookies.get(STATE_COOKIE, "")
        if state["shop"] != shop or not hmac.compare_digest(
            cookie, str(state["nonce"])
        ):
            return _page(
                "Refused", "This install was started elsewhere: start again.", 400
            )
        store = await Store.get_or_none(id=state["store"])
        if store is None:
            return _page("Refused", "The store no longer exists.", 400)
        client_http = request.app.state.http  # the app's shared client (lifespan)
        grant = await exchange_code(
            client_http,
            shop=shop,
            api_key=settings.shopify_api_key,
            api_secret=secret,
            code=params.get("code", ""),
        )
        connection = await connections.connect(
            store,
            platform=PlatformName.SHOPIFY,
            shop_ref=shop,
            vault=vault,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            token_expires_at=grant.expires_at,
            scopes=grant.scope,
        )
        admin = ShopifyAdmin(
            client_http,
            shop=shop,
            access_token=grant.access_token,
            api_version=settings.shopify_api_version,
        )
        await admin.register_webhooks(
            f"{settings.public_url.rstrip('/')}/webhooks/shopify", WEBHOOK_TOPICS
        )
        connection = await connections.find(PlatformName.SHOPIFY, shop) or connection
        task = asyncio.create_task(_backfill(connection, admin))
        background.add(task)
        task.add_done_callback(background.discard)
        response = _page(
            "Ladder is connected",
            f"Orders, refunds and customers of {shop} now flow into {store.name}. "
            "Past orders are being imported.",
        )
        response.delete_cookie(STATE_COOKIE)
        return response

    return callback


async def _backfill(connection: Any, admin: ShopifyAdmin) -> None:
    try:
        report = await sync.backfill(connection, admin)
        logger.info("shopify backfill of %s: %s", connection.shop_ref, report)
    except Exception:  # the webhooks keep flowing; `ladder sync shopify` resumes
        logger.exception("shopify backfill of %s stopped", connection.shop_ref)

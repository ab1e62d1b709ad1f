"""Platform webhooks: verify on the raw bytes, store, process, answer.

Unknown shops and bad signatures get the same 401 and nothing is stored.
Orders and customers are applied in the transaction that stores them, a few
statements; other deliveries (privacy requests, uninstalls) after the answer,
as platforms give up after a few seconds. A delivery whose processing failed
is retried by the maintenance loop.
"""

import json
from collections.abc import Awaitable, Callable, Mapping

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.connections import service as connections
from api.connections.models import Connection
from api.core.crypto import Vault
from api.inbox import service as inbox
from api.platforms import Connector, PlatformName
from api.settings import Settings
from plugins.shopify import signature as shopify_signature
from plugins.woocommerce import signature as woo_signature

Endpoint = Callable[[Request], Awaitable[Response]]


def _refuse() -> Response:
    return JSONResponse({"error": "invalid webhook signature"}, status_code=401)


async def _accept(
    connection: Connection,
    topic: str,
    event_key: str | None,
    raw: bytes,
    connectors: Mapping[PlatformName, Connector],
    programme_version: int | None,
) -> Response:
    """Store a verified delivery and answer; the effect is in by then, or
    follows for deliveries left pending."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return JSONResponse({"error": "body is not JSON"}, status_code=400)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
    receipt = await inbox.receive(
        connection,
        connectors,
        topic=topic,
        event_key=event_key,
        payload=payload,
        raw=_text_of(raw),
        programme_version=programme_version,
    )
    if receipt is None:
        return JSONResponse({"status": "duplicate"})
    if not receipt.pending:  # applied, or failed and kept for the maintenance loop
        return JSONResponse({"status": "accepted"})
    return JSONResponse(
        {"status": "accepted"},
        background=BackgroundTask(
            inbox.process, receipt.delivery.id, connectors, connection, receipt.delivery
        ),
    )


def _text_of(raw: bytes) -> str | None:
    """The body as it came, to be stored without encoding the payload again;
    None for what JSON allows but a database's JSON type may not take (another
    encoding, a byte order mark)."""
    if raw.startswith(b"\xef\xbb\xbf") or b"\x00" in raw:  # a BOM, UTF-16 or 32
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def shopify_endpoint(
    settings: Settings, vault: Vault, connectors: Mapping[PlatformName, Connector]
) -> Endpoint:
    async def receive(request: Request) -> Response:
        raw = await request.body()  # verify these exact bytes, before any parsing
        shop = request.headers.get("x-shopify-shop-domain", "").strip().lower()
        topic = request.headers.get("x-shopify-topic", "").strip()
        header = request.headers.get("x-shopify-hmac-sha256")
        if not shop or not topic or not header:
            return _refuse()
        found = await connections.find_with_programme_version(
            PlatformName.SHOPIFY, shop
        )
        if found is None:
            return _refuse()  # same answer as a bad signature: reveals nothing
        connection, programme_version = found
        secrets = connections.webhook_secrets(
            connection, vault, settings.shopify_secrets()
        )
        if not shopify_signature.verify_webhook(raw, header, secrets):
            return _refuse()
        # Shopify's duplicate key: the event id, else the delivery id (platforms.md §1).
        event_key = request.headers.get("x-shopify-event-id") or request.headers.get(
            "x-shopify-webhook-id"
        )
        return await _accept(
            connection, topic, event_key, raw, connectors, programme_version
        )

    return receive


def woocommerce_endpoint(
    vault: Vault, connectors: Mapping[PlatformName, Connector]
) -> Endpoint:
    async def receive(request: Request) -> Response:
        raw = await request.body()
        # WooCommerce pings a new webhook with an unsigned form body
        # `webhook_id=N`; it must get a 200 or the hook is marked failing.
        if woo_signature.is_ping(request.headers.get("content-type"), raw) is not None:
            return JSONResponse({"status": "pong"})
        source = request.headers.get("x-wc-webhook-source", "")
        topic = request.headers.get("x-wc-webhook-topic", "").strip()
        header = request.headers.get("x-wc-webhook-signature")
        if not source or not topic or not header:
            return _refuse()
        found = await connections.find_with_programme_version(
            PlatformName.WOOCOMMERCE, connections.site_ref(source)
        )
        if found is None:
            return _refuse()
        connection, programme_version = found
        if not connection.webhook_secret:
            return _refuse()
        secret = vault.decrypt(connection.webhook_secret)
        if not woo_signature.verify_webhook(raw, header, secret):
            return _refuse()
        # No event key: WooCommerce's delivery id changes on every send (and can
        # collide within a second), so every delivery is stored and the order's
        # own date_modified_gmt decides what is new (platforms.md §7).
        return await _accept(
            connection, topic, None, raw, connectors, programme_version
        )

    return receive

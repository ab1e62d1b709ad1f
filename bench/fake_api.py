"""The test suite's fake platform APIs served over HTTP from their own process.

A real platform answers from elsewhere: run in the backfill's own process, the
fake's GraphQL execution took about a third of the CPU the figure was meant to
measure. `python -m uvicorn bench.fake_api:create --factory`, configured by
LADDER_FAKE_PLATFORM (shopify or woocommerce), LADDER_FAKE_ORDERS and
LADDER_FAKE_LATENCY_MS (each answer held back so long, as a platform across
the internet would take; 0 by default).
"""

import asyncio
import os
from typing import Any

import httpx

from api.platforms import PlatformName
from tests.plugins.shopify.fake_admin import FakeShopifyAdmin
from tests.plugins.woocommerce.fake_rest import FakeWooCommerce

HOST_HEADER = "x-fake-host"  # the platform host the client asked for


def fake_for(platform: PlatformName, orders: int) -> Any:
    """The fake with its rate limits lifted (Ladder's speed is measured)."""
    if platform is PlatformName.SHOPIFY:
        return FakeShopifyAdmin(orders, maximum_available=1e12, restore_rate=1e12)
    return FakeWooCommerce(orders)


def create() -> Any:
    fake = fake_for(
        PlatformName(os.environ["LADDER_FAKE_PLATFORM"]),
        int(os.environ["LADDER_FAKE_ORDERS"]),
    )
    latency = float(os.environ.get("LADDER_FAKE_LATENCY_MS", "0")) / 1000

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        host = dict(headers).get(HOST_HEADER)
        if host is None:  # the readiness probe
            status, answer_headers, content = 200, [], b"ready"
        else:
            url = httpx.URL(
                scheme="https",
                host=host,
                path=scope["path"],
                query=scope["query_string"],
            )
            answer = fake.handle(
                httpx.Request(scope["method"], url, headers=headers, content=body)
            )
            if latency:
                await asyncio.sleep(latency)
            status, content = answer.status_code, answer.content
            answer_headers = [
                (k.encode(), v.encode())
                for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding")
            ]
        await send(
            {"type": "http.response.start", "status": status, "headers": answer_headers}
        )
        await send({"type": "http.response.body", "body": content})

    return app


class Forward(httpx.AsyncHTTPTransport):
    """Sends a platform client's requests to the fake's process, keeping the
    host they were meant for in a header."""

    def __init__(self, port: int):
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[HOST_HEADER] = request.url.host
        request.url = request.url.copy_with(
            scheme="http", host="127.0.0.1", port=self.port
        )
        return await super().handle_async_request(request)

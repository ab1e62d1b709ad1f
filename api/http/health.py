"""Liveness and readiness probes."""

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise.connection import get_connection

READINESS_TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> JSONResponse:
    """The process is alive (no dependency is checked)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers; load balancers stop routing here when it does not."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            await get_connection("default").execute_query("SELECT 1")
    except Exception:  # any failure means "not ready", whatever the driver raised
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"retry-after": "1"},
        )
    return JSONResponse({"status": "ok", "database": "ok"})

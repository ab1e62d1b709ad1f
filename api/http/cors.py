"""CORS preflight for /graphql.

A preflight carries no credentials, so it cannot know the key: it is answered for
any origin, and the real request is then checked against the publishable key's
allowed origins (api.http.graphql) before anything runs.
"""

from starlette.requests import Request
from starlette.responses import Response

ALLOWED_HEADERS = "authorization, content-type, accept, x-ladder-customer-token"
PREFLIGHT_MAX_AGE = "600"


async def preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    if not origin:
        return Response(
            status_code=400, content="CORS preflight needs an Origin header."
        )
    return Response(
        status_code=204,
        headers={
            "access-control-allow-origin": origin,
            "access-control-allow-methods": "GET, POST",
            "access-control-allow-headers": ALLOWED_HEADERS,
            "access-control-max-age": PREFLIGHT_MAX_AGE,
            "vary": "Origin",
        },
    )

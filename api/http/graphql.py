"""The /graphql endpoint: strawberry's ASGI view with Ladder's credentials and CORS."""

import math
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import orjson
import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.typevars import RootValue
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult

from api.core import clock
from api.http import unavailable
from api.http.me_cache import MeCache
from api.http.persisted import PersistedQueries, PersistedQueryError
from api.http.ratelimit import RateLimiter
from api.settings import Settings
from api.stores import credentials
from api.stores import service as stores
from api.stores.errors import AuthCode, AuthError
from api.stores.service import Principal
from api.versions import service as versions
from schema.context import Context

CUSTOMER_TOKEN_HEADER = "x-ladder-customer-token"
# "hit" or "miss" on storefront `me` answers (api/http/me_cache.py).
CACHE_HEADER = "x-ladder-cache"
_caller_store: ContextVar[UUID | None] = ContextVar("ladder_caller_store", default=None)
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# Values json.dumps refuses stay refused: orjson hands them back to it.
_ORJSON_AS_JSON_DUMPS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


class LadderGraphQL(GraphQL[Context, RootValue]):
    """Authenticates once per request and hands resolvers a typed Context."""

    def __init__(self, schema: strawberry.Schema, settings: Settings):
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=False,
        )
        self.settings = settings
        self.persisted = PersistedQueries()
        self.me_cache = MeCache(
            seconds=settings.me_cache_seconds if settings.is_postgres else 0,
            max_bytes=settings.me_cache_megabytes * 1024 * 1024,
            max_tokens=settings.max_query_tokens,
        )
        self.limiter = (
            RateLimiter(settings.rate_limit_per_minute)
            if settings.rate_limit_per_minute > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = _request_error(error)
        await response(scope, receive, send)

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        context = Context(settings=self.settings)
        if _prefers_graphql_response_json(request):
            response.media_type = GRAPHQL_RESPONSE_JSON
        origin = request.headers.get("origin")
        try:
            principal = await _authenticate(request)
            if principal is not None and origin and _is_cross_origin(request, origin):
                _check_origin(principal, origin)
                response.headers["access-control-allow-origin"] = origin
                response.headers["vary"] = "Origin"
            if principal is not None:
                self._throttle(principal.key_id)
                context.authenticated(principal)
        except AuthError as error:
            context.auth_error = error
        # parse_http_body runs next in this task; persisted queries are per store.
        _caller_store.set(context.principal.store.id if context.principal else None)
        return context

    def encode_json(self, data: object) -> str | bytes:
        # orjson writes a page of 100 customers about five times as fast as
        # json.dumps (UTF-8 rather than \u escapes: the same JSON). What it
        # cannot write (an int past 64 bits, a non-text key) and what it would
        # write but json.dumps refuses (dates, dataclasses) go to json.dumps.
        try:
            return orjson.dumps(data, option=_ORJSON_AS_JSON_DUMPS)
        except TypeError:
            return super().encode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        # strawberry calls .get() on the body: a bare string, number or null was a 500.
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            return self.persisted.resolve(data, _caller_store.get())
        return data

    def _throttle(self, key_id: object) -> None:
        if self.limiter is None:
            return
        wait = self.limiter.take(key_id)
        if wait > 0:
            raise ThrottledError(wait)

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        context: Context = kwargs["context"]
        sub_response: Response = kwargs["sub_response"]
        plan = self.me_cache.plan(
            context.principal, kwargs["request_data"], clock.utc_now()
        )
        if plan is None:
            return await self._execute_single(*args, **kwargs)
        # Both versions are read before the answer is computed: the store's
        # with the store row the resolvers use (at authentication), then the
        # customer's. A write that lands in between moves one past the entry.
        read, customer_version = context.principal.version_of(plan.customer_id)  # type: ignore[union-attr]  # plan needs a principal
        if not read:
            customer_version = await versions.of_customer(
                plan.store_id, plan.customer_id
            )
        if customer_version is None:
            return await self._execute_single(*args, **kwargs)  # gone: keep nothing
        found = (customer_version, plan.store_version)
        data = self.me_cache.get(plan, found)
        if data is not None:
            sub_response.headers[CACHE_HEADER] = "hit"
            return ExecutionResult(data=data, errors=None)
        result = await self._execute_single(*args, **kwargs)
        if result.data is not None and not result.errors:
            self.me_cache.put(plan, found, result.data)
        sub_response.headers[CACHE_HEADER] = "miss"
        return result

    async def _execute_single(self, *args: Any, **kwargs: Any) -> Any:
        try:
            with unavailable.watch_graphql() as outage:
                result = await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            # GraphQL over HTTP: a mutation sent with GET is 405, not 400.
            if isinstance(error.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, error.reason) from error
            raise
        if outage:
            # Not a masked 200: the client must retry (FailClosed answers 503).
            raise unavailable.DatabaseUnavailableError from outage[0]
        sub_response: Response = kwargs["sub_response"]
        # GraphQL over HTTP: a document that fails to parse or validate is a bad
        # request (400) for clients that accept application/graphql-response+json;
        # legacy application/json clients keep getting 200.
        if (
            sub_response.media_type == GRAPHQL_RESPONSE_JSON
            and result.data is None
            and result.errors
            and all(error.path is None for error in result.errors)
        ):
            sub_response.status_code = 400
        return result

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        if isinstance(response_data, dict) and _is_request_error(response_data):
            # Nothing ran: the spec wants no "data" entry at all.
            response_data = {"errors": response_data["errors"]}
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type:
            response.headers["content-type"] = sub_response.media_type
        return response


def _is_request_error(data: GraphQLHTTPResponse) -> bool:
    errors = list(data.get("errors") or [])
    return (
        data.get("data") is None
        and bool(errors)
        and all(isinstance(e, dict) and "path" not in e for e in errors)
    )


class ThrottledError(HTTPException):
    """The key spent its request budget: 429 with a Retry-After hint."""

    def __init__(self, wait_seconds: float):
        super().__init__(429, "Too many requests for this API key.")
        self.retry_after = max(1, math.ceil(wait_seconds))


def _request_error(error: HTTPException) -> Response:
    """Transport-level failures as GraphQL-shaped JSON, so clients parse one format."""
    code = "BAD_REQUEST"
    headers: dict[str, str] | None = None
    if error.status_code == 405:
        headers = {"allow": "POST"}
    if isinstance(error, ThrottledError):
        code = "THROTTLED"
        headers = {"retry-after": str(error.retry_after)}
    if isinstance(error, PersistedQueryError):
        code = error.code
    extensions: dict[str, object] = {"code": code}
    if isinstance(error, ThrottledError):
        extensions["retryAfterSeconds"] = error.retry_after
    return JSONResponse(
        {"errors": [{"message": error.reason, "extensions": extensions}]},
        status_code=error.status_code,
        headers=headers,
    )


async def _authenticate(request: Request) -> Principal | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError(AuthCode.UNAUTHENTICATED, "Use `Authorization: Bearer <key>`.")
    token = (request.headers.get(CUSTOMER_TOKEN_HEADER) or "").strip()
    # The shopper the token names is only a hint until identify_shopper
    # verifies it: their change version is read with the key, and kept only
    # if the token proves to name them (Principal.version_of).
    principal = await stores.authenticate(
        key.strip(), shopper=credentials.claimed_customer(token) if token else None
    )
    if token:
        principal = stores.identify_shopper(principal, token)
    return principal


def _is_cross_origin(request: Request, origin: str) -> bool:
    here = urlsplit(str(request.base_url))
    return origin.lower() != f"{here.scheme}://{here.netloc}".lower()


def _check_origin(principal: Principal, origin: str) -> None:
    if principal.is_secret:
        raise AuthError(
            AuthCode.FORBIDDEN,
            "Secret keys are for servers; browsers must use a publishable key.",
        )
    if origin.lower() not in principal.allowed_origins:
        raise AuthError(
            AuthCode.FORBIDDEN,
            f"Origin {origin} is not allowed for this publishable key.",
        )


def _prefers_graphql_response_json(request: Request) -> bool:
    return GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "")

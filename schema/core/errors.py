"""How failures reach clients: top-level errors, payload errors, masked bugs."""

import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from api.core import request_id
from api.core.errors import DomainError, MultipleDomainError
from schema.core.admission import AdmittingSchema

logger = logging.getLogger("ladder.graphql")


class ApiError(Exception):
    """A top-level GraphQL error with a stable `extensions.code` (never masked)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.extensions = {"code": code}


def unauthenticated(message: str = "Authentication required.") -> ApiError:
    return ApiError("UNAUTHENTICATED", message)


def forbidden(message: str = "This key may not do that.") -> ApiError:
    return ApiError("FORBIDDEN", message)


@strawberry.interface(description="A problem with the input of a mutation.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase), or null for the whole input."
    )
    message: str = strawberry.field(description="What went wrong, for developers.")


E = TypeVar("E")


def user_errors(error: DomainError, build: Callable[[DomainError], E]) -> list[E]:
    """Payload errors for a domain failure (several when several inputs were bad)."""
    errors = error.errors if isinstance(error, MultipleDomainError) else [error]
    return [build(item) for item in errors]


def graphql_code(enum_type: type[Enum], error: DomainError) -> Any:
    """The GraphQL enum member mirroring a domain error code (same member name).

    Errors raised by another feature inside a use case (a missing customer in a
    points mutation, say) map by name too; tests check every code has a match.
    """
    return enum_type[error.code.name]


def _is_expected(error: GraphQLError) -> bool:
    """Request errors (syntax, validation, variable coercion) tell the client
    what to fix, and ApiErrors are ours; everything else is a bug."""
    original = error.original_error
    if original is None or isinstance(original, ApiError):
        return True
    if error.path is not None:
        return False  # a resolver raised
    # Before execution, graphql-core's input errors point at the document
    # (a variable's definition); an exception strawberry wrapped without any
    # node escaped the parser or an extension hook: a bug, masked and logged.
    return bool(error.nodes)


class MaskUnexpectedErrors(MaskErrors):
    """Hide bugs behind one generic message; keep the error codes clients rely on.

    The masked error carries the request id (`extensions.requestId`, also the
    `x-request-id` header), and the log line with the traceback names the same
    id, so an operator can find the detail a client reports.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        if _is_expected(error):
            return False
        logger.error(
            "unexpected error at %s, request %s",
            ".".join(str(p) for p in error.path or ()),
            request_id.current(),
            exc_info=error.original_error,
        )
        return True

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            path=error.path,
            extensions={
                "code": "INTERNAL_SERVER_ERROR",
                "requestId": request_id.current(),
            },
        )


class LadderSchema(AdmittingSchema):
    """Strawberry's schema (admitted documents skip the text's checks: see
    schema/core/admission.py), logging request errors without their documents.

    Strawberry logs every error with the document's source lines (and
    graphql-core's variable errors quote the value), so a shopper's email
    written into a query would reach the logs. Client mistakes are logged as
    their code and path only; bugs are logged, with traceback and request id,
    by MaskUnexpectedErrors.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any = None
    ) -> None:
        # Bugs were logged, with traceback and request id, when masked.
        for error in errors:
            if _is_expected(error):
                code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
                logger.info(
                    "request error %s at %s, request %s",
                    code,
                    ".".join(str(p) for p in error.path or ()) or "-",
                    request_id.current(),
                )

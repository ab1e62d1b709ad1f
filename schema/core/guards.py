"""Checks on a request's document and variables, right after parsing.

Both answer one top-level `BAD_USER_INPUT` error before validation and before
any resolver or SQL runs (strawberry turns an error raised here into a request
error: no `data`, 400 for `application/graphql-response+json` clients).
"""

from collections.abc import Iterator
from typing import Any

from graphql import DirectiveNode, DocumentNode, GraphQLError, StringValueNode, Visitor
from graphql.language import visit
from strawberry.extensions.base_extension import SchemaExtension

NUL = "\x00"


def max_directives(limit: int) -> type[SchemaExtension]:
    """At most `limit` directives per document (graphql-armor's default is 50),
    each one the schema knows.

    Without it every directive costs validation work and one error each
    (graphql-cop's "directive overloading": 100 `@skip`s gave 99 errors, ten
    unknown `@aa`s ten errors); now any such document gets one error.
    """

    class MaxDirectives(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            yield
            context = self.execution_context
            if context.graphql_document is None:
                return
            if context.query is not None and "@" not in context.query:
                return  # no directive without an @: skip the walk (hot path)
            found = _Scan()
            visit(context.graphql_document, found)
            if len(found.directives) > limit:
                raise GraphQLError(
                    f"{len(found.directives)} directives found; the limit is {limit}.",
                    extensions={"code": "BAD_USER_INPUT"},
                )
            known = {d.name for d in context.schema._schema.directives}
            unknown = sorted(set(found.directives) - known)
            if unknown:
                raise GraphQLError(
                    f"Unknown directive '@{unknown[0]}'.",
                    extensions={"code": "BAD_USER_INPUT"},
                )

    return MaxDirectives


class RejectNulCharacters(SchemaExtension):
    """PostgreSQL text cannot hold U+0000: a string with one would fail in SQL,
    halfway through a mutation, as a masked bug (found by the R15 fuzzing). It
    is the caller's input that is wrong, so say so before anything runs, on
    every backend alike."""

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if has_nul(context.variables) or (
            document is not None
            and _may_hold_nul(context.query)
            and _document_has_nul(document)
        ):
            raise GraphQLError(
                "Strings may not contain the NUL character (U+0000).",
                extensions={"code": "BAD_USER_INPUT"},
            )


class _Scan(Visitor):
    """Directive names and whether any string literal holds a NUL, in one walk."""

    def __init__(self) -> None:
        super().__init__()
        self.directives: list[str] = []
        self.nul = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.directives.append(node.name.value)

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.nul = self.nul or NUL in node.value


def _may_hold_nul(query: str | None) -> bool:
    # A literal holds U+0000 only if the text has it raw or as a \u escape;
    # most documents have neither, and then the walk is skipped.
    return query is None or NUL in query or "\\u" in query


def _document_has_nul(document: DocumentNode) -> bool:
    counter = _Scan()
    visit(document, counter)
    return counter.nul


def has_nul(variables: object) -> bool:
    # Iterative: variables nest as deep as the JSON parser allowed.
    pending = [variables]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False

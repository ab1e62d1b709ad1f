"""Relay global ids, decoded back to database ids, and pages read from QuerySets."""

import sys
from functools import cache, lru_cache
from typing import Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.relay.utils import SliceMetadata
from strawberry.types.base import StrawberryContainer, get_object_definition
from strawberry.types.nodes import FragmentSpread, InlineFragment
from tortoise.queryset import QuerySet

from api.core import sql
from schema.core.errors import ApiError


def decode_id(global_id: str, type_name: str) -> UUID | None:
    """The database id inside a global id of the expected type, else None.

    Callers treat None as "not found", so a malformed id, an id of another type
    and an id of another store all look exactly the same. (Arguments are typed
    `ID`, not strawberry's GlobalID, so garbage never fails before this point.)
    """
    try:
        parsed = relay.GlobalID.from_id(str(global_id))
        if parsed.type_name != type_name:
            return None
        return UUID(parsed.node_id)
    except (ValueError, TypeError):
        return None


def encode_id(type_name: str, db_id: object) -> strawberry.ID:
    return strawberry.ID(relay.to_base64(type_name, str(db_id)))


class PageSizeGuard:
    """Rejects `first`/`last` outside 0..max with a clear BAD_USER_INPUT error.

    Mixed into ListConnection subclasses; without it strawberry raises a bare
    ValueError, which error masking would hide as a bug.
    """

    @classmethod
    def resolve_connection(cls, nodes: Any, *, info: Any, **kwargs: Any) -> Any:
        limit = kwargs.get("max_results") or info.schema.config.relay_max_results
        for name in ("first", "last"):
            value = kwargs.get(name)
            if value is not None and not 0 <= value <= limit:
                raise ApiError(
                    "BAD_USER_INPUT", f"`{name}` must be between 0 and {limit}."
                )
        try:
            if isinstance(nodes, QuerySet | sql.Rows):
                return _paged(cls, nodes, info=info, **kwargs)
            return super().resolve_connection(nodes, info=info, **kwargs)  # type: ignore[misc]
        except ValueError as error:  # a cursor that is not one of ours
            raise ApiError("BAD_USER_INPUT", "Invalid pagination cursor.") from error


def _paged(
    connection: Any,
    rows: QuerySet[Any] | sql.Rows[Any],
    *,
    info: Any,
    before: str | None = None,
    after: str | None = None,
    first: int | None = None,
    last: int | None = None,
    max_results: int | None = None,
    **kwargs: Any,
) -> Any:
    """strawberry's ListConnection.resolve_connection for rows read a page at a
    time (a QuerySet or hand-written `sql.Rows`), with the
    same slice, cursors and page info, minus its per-row costs: the page is one
    awaited read rather than an async iteration, the edge class is looked up
    once per connection type rather than per request, and the over-fetched row
    (read only to know there is a next page) is never turned into a node.
    `last` without `before` counts the rows and reads only the last ones."""
    edge_class = _edge_class(connection)
    page = SliceMetadata.from_arguments(
        info,
        before=before,
        after=after,
        first=first,
        last=last,
        max_results=max_results,
        prefix=edge_class.CURSOR_PREFIX,
    )

    async def resolve() -> Any:
        start, has_previous_page, has_next_page = page.start, page.start > 0, False
        if page.end == sys.maxsize:
            # `last` without `before`: strawberry reads every row after the
            # cursor to keep the last ones; count them and read only those.
            total = await rows.count()
            start = max(page.start, total - (last or 0))
            has_previous_page = start > page.start
            found = list(await rows[start:total]) if start < total else []
        else:
            found = list(await rows[page.start : page.overfetch])
            if page.expected is not None and len(found) == page.expected + 1:
                found, has_next_page = found[:-1], True
        edge = _edge_builder(edge_class)
        edges = [
            edge(connection.resolve_node(row, info=info, **kwargs), start + i)
            for i, row in enumerate(found)
        ]
        return connection(
            edges=edges,
            page_info=relay.PageInfo(
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=has_previous_page,
                has_next_page=has_next_page,
            ),
        )

    return resolve()


@cache
def _edge_class(connection: type) -> Any:
    """The Edge type of a connection class (strawberry works it out per request)."""
    definition = get_object_definition(connection, strict=True)
    edge: Any = definition.get_field("edges").resolve_type(type_definition=definition)  # type: ignore[union-attr]
    while isinstance(edge, StrawberryContainer):
        edge = edge.of_type
    return edge


@cache
def _edge_builder(edge_class: Any) -> Any:
    """(node, offset) -> edge, as the class's resolve_edge builds it; for
    strawberry's own, with the cursor text kept per offset."""
    if edge_class.resolve_edge.__func__ is not relay.Edge.resolve_edge.__func__:  # type: ignore[attr-defined]
        return lambda node, offset: edge_class.resolve_edge(node, cursor=offset)
    prefix = edge_class.CURSOR_PREFIX
    return lambda node, offset: edge_class(cursor=_cursor(prefix, offset), node=node)


@lru_cache(maxsize=4096)
def _cursor(prefix: str, offset: int) -> str:
    """Edge.resolve_edge's cursor text, kept for the offsets pages repeat."""
    return relay.to_base64(prefix, offset)


class EmptyRows(list[Any]):
    """No rows, for a connection whose filter cannot match anything."""


def selects(info: Any, *path: str) -> bool:
    """Whether the query selects the field at `path` below the current one
    (through fragments), so a resolver can preload only what is asked for."""
    return bool(_level(info, path))


def selected_names(info: Any, *path: str) -> frozenset[str]:
    """The names of the fields selected below the field at `path` under the
    current one (through fragments; aliases and directives aside, so a field
    skipped by `@skip` counts: never fewer than the query may ask for)."""
    children = [child for node in _level(info, path) for child in node.selections]
    return frozenset(node.name for node in _through_fragments(children))


def _level(info: Any, path: tuple[str, ...]) -> list[Any]:
    level = _through_fragments(list(info.selected_fields))
    for name in path:
        children = [child for node in level for child in node.selections]
        level = [node for node in _through_fragments(children) if node.name == name]
        if not level:
            break
    return level


def _through_fragments(nodes: list[Any]) -> list[Any]:
    """Selected fields, with fragment spreads and inline fragments opened."""
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, (FragmentSpread, InlineFragment)):
            out.extend(_through_fragments(list(node.selections)))
        else:
            out.append(node)
    return out

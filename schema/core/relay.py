"""Relay global ids, decoded back to database ids."""

from typing import Any
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.types.nodes import FragmentSpread, InlineFragment

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
            return super().resolve_connection(nodes, info=info, **kwargs)  # type: ignore[misc]
        except ValueError as error:  # a cursor that is not one of ours
            raise ApiError("BAD_USER_INPUT", "Invalid pagination cursor.") from error


class EmptyRows(list[Any]):
    """No rows, for a connection whose filter cannot match anything."""


def selects(info: Any, *path: str) -> bool:
    """Whether the query selects the field at `path` below the current one
    (through fragments), so a resolver can preload only what is asked for."""
    level = _through_fragments(list(info.selected_fields))
    for name in path:
        children = [child for node in level for child in node.selections]
        level = [node for node in _through_fragments(children) if node.name == name]
        if not level:
            return False
    return True


def _through_fragments(nodes: list[Any]) -> list[Any]:
    """Selected fields, with fragment spreads and inline fragments opened."""
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, (FragmentSpread, InlineFragment)):
            out.extend(_through_fragments(list(node.selections)))
        else:
            out.append(node)
    return out

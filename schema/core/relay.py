"""Relay global ids, decoded back to database ids."""

from uuid import UUID

from strawberry import relay


def decode_id(global_id: relay.GlobalID, type_name: str) -> UUID | None:
    """The database id inside a global id of the expected type, else None.

    Callers treat None as "not found", so a malformed id, an id of another type
    and an id of another store all look exactly the same.
    """
    if global_id.type_name != type_name:
        return None
    try:
        return UUID(global_id.node_id)
    except ValueError:
        return None

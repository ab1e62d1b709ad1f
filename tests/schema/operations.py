"""Every root query and mutation, called with another store's ids.

Tests enumerate the schema's root fields at run time and fail when one is
missing here, so each new operation must say how it is attacked.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Access(Enum):
    ANY_KEY = "any key"  # publishable or secret
    SECRET = "secret key only"


@dataclass(frozen=True)
class Target:
    """The other store's things an attacker may know."""

    customer_gid: str
    external_id: str
    email: str


@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[Target], dict[str, Any]]
    access: Access
    # Operations whose argument is an id: B's id must look exactly like a missing one.
    takes_id: bool = False


def _none(_: Target) -> dict[str, Any]:
    return {}


QUERIES: dict[str, Operation] = {
    "store": Operation(
        "{ store { id name currency timezone } }", _none, Access.ANY_KEY
    ),
    "customer": Operation(
        "query($id: ID!) { customer(id: $id) { id email externalIds { id } } }",
        lambda t: {"id": t.customer_gid},
        Access.SECRET,
        takes_id=True,
    ),
    "customerByExternalId": Operation(
        "query($e: String!) { customerByExternalId(externalId: $e) { id email } }",
        lambda t: {"e": t.external_id},
        Access.SECRET,
    ),
    "customers": Operation(
        "query($q: String) { customers(first: 100, query: $q) "
        "{ edges { node { id email externalIds { id } } } } }",
        lambda t: {"q": t.email},
        Access.SECRET,
    ),
    "me": Operation("{ me { id email } }", _none, Access.ANY_KEY),
}

MUTATIONS: dict[str, Operation] = {
    "customerUpsert": Operation(
        "mutation($i: CustomerUpsertInput!) { customerUpsert(input: $i) "
        "{ created customer { id email } userErrors { field code message } } }",
        lambda t: {"i": {"externalId": t.external_id, "email": "attacker@example.com"}},
        Access.SECRET,
    ),
    "customerUpdate": Operation(
        "mutation($i: CustomerUpdateInput!) { customerUpdate(input: $i) "
        "{ customer { id email } userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid, "email": "attacker@example.com"}},
        Access.SECRET,
        takes_id=True,
    ),
    "customerEnroll": Operation(
        "mutation($i: CustomerEnrollInput) { customerEnroll(input: $i) "
        "{ customer { id email } userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid}},
        Access.ANY_KEY,
        takes_id=True,
    ),
    "customerDelete": Operation(
        "mutation($i: CustomerDeleteInput!) { customerDelete(input: $i) "
        "{ deletedCustomerId userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "customerTokenCreate": Operation(
        "mutation($i: CustomerTokenCreateInput!) { customerTokenCreate(input: $i) "
        "{ token userErrors { field code message } } }",
        lambda t: {"i": {"id": t.customer_gid}},
        Access.SECRET,
        takes_id=True,
    ),
    "storeUpdate": Operation(
        "mutation($i: StoreUpdateInput!) { storeUpdate(input: $i) "
        "{ store { id name } userErrors { field code message } } }",
        lambda t: {
            "i": {"name": "Renamed", "allowedOrigins": ["https://evil.example.com"]}
        },
        Access.SECRET,
    ),
}

ALL: dict[str, Operation] = {**QUERIES, **MUTATIONS}

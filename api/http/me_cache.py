"""Storefront `me` answers, cached per shopper and served only while exact.

Storefronts ask `me` on every page view. An answer is kept with the change
versions read before it was computed (the store's, with the store row, at
authentication; then the shopper's: migration 0008) and the shopper's time
window, and it is served again only while both versions and the window are
unchanged:
- every write about the shopper or the programme moves a version in the
  writer's own transaction (database triggers, whatever the code path), so a
  write is seen by the very next request;
- the parts that depend on the clock alone (lapsing, tier windows, expiring
  points, birthdays, reward availability) are as of the request that computed
  the answer: at most one window (`LADDER_ME_CACHE_SECONDS`) old.

Versions read before computing can only make an entry unreachable (a write that
lands in between moves a version past it), never serve something stale.

Only documents whose every root field is `me` are cached, for a request that
carries a customer token; mutations and answers with errors never are.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cachetools import LRUCache
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from strawberry.http import GraphQLRequestData

from api.stores.service import Principal

ROOT_FIELDS = frozenset({"me", "__typename"})


@dataclass(frozen=True, slots=True)
class Plan:
    """A cacheable request: where its answer lives, and what it is valid for."""

    key: tuple[object, ...]
    store_id: UUID
    customer_id: UUID
    store_version: int
    window: int


@dataclass(frozen=True, slots=True)
class _Entry:
    versions: tuple[int, int]
    window: int
    data: dict[str, Any]
    size: int


class MeCache:
    """Per process; bounded by the bytes of the answers it holds."""

    def __init__(self, *, seconds: int, max_bytes: int, max_tokens: int):
        self.seconds = seconds
        self.max_tokens = max_tokens  # the schema's own limit: parse no more
        self._answers: LRUCache[tuple[object, ...], _Entry] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: entry.size
        )
        self._documents: LRUCache[tuple[bytes, str | None], bool] = LRUCache(
            maxsize=1024
        )

    def plan(
        self, principal: Principal | None, request: GraphQLRequestData, now: datetime
    ) -> Plan | None:
        if self.seconds <= 0 or principal is None or principal.customer_id is None:
            return None
        if principal.store_version is None:  # no versions kept (SQLite)
            return None
        if not request.query:
            return None
        digest = hashlib.sha256(request.query.encode("utf-8", "surrogatepass")).digest()
        document = (digest, request.operation_name)
        only_me = self._documents.get(document)
        if only_me is None:
            only_me = _asks_only_me(
                request.query, request.operation_name, self.max_tokens
            )
            self._documents[document] = only_me
        if not only_me:
            return None
        window, _ = window_of(principal.customer_id, now, self.seconds)
        return Plan(
            key=(
                principal.store.id,
                principal.customer_id,
                principal.key_kind,
                digest,
                request.operation_name,
                json.dumps(request.variables, sort_keys=True)
                if request.variables
                else "",
            ),
            store_id=principal.store.id,
            customer_id=principal.customer_id,
            store_version=principal.store_version,
            window=window,
        )

    def get(self, plan: Plan, versions: tuple[int, int]) -> dict[str, Any] | None:
        entry = self._answers.get(plan.key)
        if entry is None or entry.versions != versions or entry.window != plan.window:
            return None
        return entry.data

    def put(self, plan: Plan, versions: tuple[int, int], data: dict[str, Any]) -> None:
        size = len(json.dumps(data, default=str))
        if size > self._answers.maxsize:
            return
        self._answers[plan.key] = _Entry(versions, plan.window, data, size)


def window_of(customer_id: UUID, now: datetime, seconds: int) -> tuple[int, datetime]:
    """The shopper's window at `now`, and its start. Each shopper's windows are
    offset by a share of `seconds` drawn from their id, so answers do not all
    expire (and get recomputed) at the same instant."""
    offset = customer_id.int % seconds
    window = (int(now.timestamp()) + offset) // seconds
    return window, datetime.fromtimestamp(window * seconds - offset, UTC)


def _asks_only_me(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """True for a query operation whose root selections are all `me`."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False  # execution reports it, uncached
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    if operation_name is not None:
        operations = [
            o for o in operations if o.name and o.name.value == operation_name
        ]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(
        isinstance(s, FieldNode) and s.name.value in ROOT_FIELDS for s in selections
    ) and any(isinstance(s, FieldNode) and s.name.value == "me" for s in selections)

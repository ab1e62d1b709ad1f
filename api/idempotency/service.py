"""Idempotency keys: a repeated write returns the first result, whatever the timing.

The key is claimed by inserting its row in the same transaction as the work. A
concurrent repeat blocks on the unique index until the first commits, then reads
the stored result; if the first rolls back, the repeat does the work itself.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.idempotency.errors import IdempotencyError, IdempotencyErrorCode
from api.idempotency.models import IdempotencyRecord
from api.stores.models import Store

MAX_KEY_LENGTH = 200


def fingerprint(operation: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps([operation, payload], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    store: Store, *, key: str, operation: str, payload: dict[str, Any]
) -> tuple[IdempotencyRecord, dict[str, Any] | None]:
    """Claim a key for this request, or get the result stored by the first one.

    Returns (record, None) when this request must do the work (then `complete`),
    or (record, result) when an earlier request with the same key and input did it.
    """
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise IdempotencyError(
            IdempotencyErrorCode.INVALID_KEY,
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters.",
            field="idempotencyKey",
        )
    print_ = fingerprint(operation, payload)
    existing = await IdempotencyRecord.get_or_none(store_id=store.id, key=key)
    if existing is None:
        try:
            async with in_transaction():  # savepoint: a lost race rolls back only this
                record = await IdempotencyRecord.create(
                    store_id=store.id, key=key, operation=operation, fingerprint=print_
                )
            return record, None
        except IntegrityError:
            existing = await IdempotencyRecord.get(store_id=store.id, key=key)
    if existing.operation != operation or existing.fingerprint != print_:
        raise IdempotencyError(
            IdempotencyErrorCode.KEY_REUSED,
            "This idempotencyKey was already used for a different request.",
            field="idempotencyKey",
        )
    return existing, dict(existing.result)


async def complete(record: IdempotencyRecord, result: dict[str, Any]) -> None:
    record.result = result
    await record.save(update_fields=["result"])


async def run_once(
    store: Store,
    *,
    key: str,
    operation: str,
    payload: dict[str, Any],
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Do `work` once per key (inside the caller's transaction); repeats get its result."""
    record, previous = await claim(store, key=key, operation=operation, payload=payload)
    if previous is not None:
        return previous
    result = await work()
    await complete(record, result)
    return result

"""Process tuning: the collector for serving, the event loop for commands."""

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Young-generation collections run every 700 allocations by default; a GraphQL
# request allocates tens of thousands of short-lived objects, so the default
# collects many times per request for nothing (research/stack.md §2.5).
GC_THRESHOLD = (50_000, 20, 100)


def tune_gc() -> None:
    """Move everything built at start-up (schema, models, modules) out of the
    collector's sight and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on uvloop where it is installed, as `ladder
    serve` runs through uvicorn: a backfill spends a fifth of its CPU in the
    event loop and its socket writes, and uvloop's cost less."""
    try:
        import uvloop  # optional: not built for every platform
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)

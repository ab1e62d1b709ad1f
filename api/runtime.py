"""Process tuning for serving: applied once the app is built, before traffic."""

import gc

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

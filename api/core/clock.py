"""The one source of "now", so tests can pin time and cached reads can share it."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_as_of: ContextVar[datetime | None] = ContextVar("ladder_as_of", default=None)


def utc_now() -> datetime:
    """Timezone-aware current time in UTC (or the moment set by `as_of`)."""
    return _as_of.get() or datetime.now(UTC)


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """Within the block, `utc_now()` is `moment`: a read-only computation whose
    answer is cached for a window is worked out as of the window's start, so
    the cached answer is the one a fresh computation would give."""
    token = _as_of.set(moment)
    try:
        yield
    finally:
        _as_of.reset(token)

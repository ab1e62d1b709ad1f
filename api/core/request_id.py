"""One id per HTTP request, for correlating what a client saw with the server log.

The HTTP edge sets it (api/http/request_id.py); anything below reads it with
`current()`. Outside a request (a worker, a test calling the schema directly)
`current()` mints one and keeps it for the rest of that context, so a masked
error and its log line still share an id.
"""

import re
import uuid
from contextvars import ContextVar

HEADER = "x-request-id"

_current: ContextVar[str | None] = ContextVar("ladder_request_id", default=None)
# Accept a caller's id (a proxy's, say) only if it cannot forge log lines.
_SAFE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def new() -> str:
    return uuid.uuid4().hex


def accept(candidate: str | None) -> str:
    """The caller's id when it is safe to log as-is, else a fresh one."""
    if candidate and _SAFE.fullmatch(candidate):
        return candidate
    return new()


def set_current(request_id: str) -> None:
    _current.set(request_id)


def current() -> str:
    request_id = _current.get()
    if request_id is None:
        request_id = new()
        _current.set(request_id)
    return request_id

"""A small HTTP/1.1 load generator on asyncio streams: keep-alive connections,
prebuilt requests, latency per request. Cheap enough per request (~30 µs) to
drive one uvicorn worker from the second core; bounded by time or count.
"""

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


def request(
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    port: int,
) -> bytes:
    """One raw HTTP/1.1 request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: list[bytes] = field(default_factory=list)
    socket_errors: int = 0
    # Values of the response header named by `run(count_header=...)`, counted;
    # answers without that header are not counted.
    header_values: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p95(self) -> float:
        return self.percentile(0.95)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else 0.0


async def _read_response(
    reader: asyncio.StreamReader, header: bytes | None = None
) -> tuple[int, bytes, bytes | None]:
    """Status, body, and the value of `header` (lower-case name) if present."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    found = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == header:
            found = value.strip()
    if not chunked:
        return status, await reader.readexactly(length), found
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body, found
        body += chunk[:-2]


async def run(
    port: int,
    requests: Callable[[], Iterator[bytes]],
    *,
    connections: int,
    seconds: float | None = None,
    count: int | None = None,
    keep_bodies: bool = False,
    count_header: str | None = None,
) -> Result:
    """Send requests from `requests()` over `connections` keep-alive sockets
    until `seconds` pass or `count` requests are done (one must be given).
    With `count_header`, the values of that response header are counted in
    `Result.header_values`."""
    assert seconds is not None or count is not None
    header = count_header.lower().encode() if count_header else None
    result = Result(seconds=0.0)
    source = requests()
    issued = itertools.count()
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else float("inf")

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                if count is not None and next(issued) >= count:
                    return
                try:
                    payload = next(source)
                except StopIteration:
                    return
                sent = time.perf_counter()
                try:
                    writer.write(payload)
                    status, body, value = await _read_response(reader, header)
                except (OSError, asyncio.IncompleteReadError):
                    result.socket_errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                result.latencies.append(time.perf_counter() - sent)
                result.statuses[status] += 1
                if keep_bodies:
                    result.bodies.append(body)
                if value is not None:
                    result.header_values[value.decode("latin-1").lower()] += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result

"""Servers under test: one uvicorn worker each, as subprocesses on loopback,
with CPU time and memory read from /proc so cost per request can be reported."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / CLOCK_TICKS

    def rss_mb(self) -> float:
        """Resident memory now."""
        return self._status_mb("VmRSS:")

    def peak_rss_mb(self) -> float:
        """The highest resident memory since the process started (VmHWM)."""
        return self._status_mb("VmHWM:")

    def _status_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    name: str, target: str, env: dict[str, str], *, ready_path: str, factory: bool
) -> Server:
    """`python -m uvicorn target` with uvloop and httptools, one worker, no
    access log (both servers alike), ready when `ready_path` answers 200."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            *(["--factory"] if factory else []),
        ],
        cwd=ROOT,
        env=os.environ | env,
    )
    server = Server(name, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not become ready on port {port}")


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def postgres_cpu_seconds(backend_pid: int) -> float | None:
    """CPU used so far by the PostgreSQL server a backend belongs to: its
    postmaster's exited children (backends that closed) and every process it
    runs now. None when the server is not on this machine (or not readable)."""
    try:
        postmaster = int(_stat_fields(backend_pid)[1])  # the backend's parent
        # A server elsewhere (another host, a container) has pids that name
        # other processes here, or none.
        for pid in (backend_pid, postmaster):
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                return None
        fields = _stat_fields(postmaster)
        total = sum(int(v) for v in fields[13:15])  # cutime, cstime
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                child = _stat_fields(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(child[1]) == postmaster or int(entry.name) == postmaster:
                total += int(child[11]) + int(child[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return total / CLOCK_TICKS

"""Commands run on uvloop where it is installed, as `ladder serve` does."""

import asyncio
import sys

import pytest

from api import runtime


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_a_command_runs_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    assert runtime.run(_loop_type()) is uvloop.Loop


def test_without_uvloop_a_command_runs_on_asyncios_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` fails
    loop_type = runtime.run(_loop_type())
    assert loop_type.__module__.startswith("asyncio")

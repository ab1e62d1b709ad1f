"""Ladder as the benchmark serves it: `create_app` with settings from the
environment, for `uvicorn --factory` (the same flags as the control)."""

from starlette.applications import Starlette

from api.app import create_app
from api.runtime import tune_gc
from api.settings import Settings


def app() -> Starlette:
    application = create_app(Settings())
    tune_gc()  # as `ladder serve` does
    return application

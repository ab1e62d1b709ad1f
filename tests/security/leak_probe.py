"""Run only by test_log_privacy.py, in a pytest of its own: a test that passes
but logs seeded personal data, which must fail that run. Not named test_*.py so
the main suite never collects it."""

import logging
import os

import pytest


@pytest.mark.skipif(
    os.environ.get("LADDER_LEAK_PROBE") != "1", reason="run by test_log_privacy"
)
def test_logs_an_email() -> None:
    logging.getLogger("ladder.probe").info("welcome %s", "ada@example.com")

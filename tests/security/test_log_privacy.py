"""R14: the scanner that guards the suite's logs finds what it must, and is live."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.log_privacy import (
    RECORDER,
    LogPrivacyRecorder,
    leak_pattern,
    seeded_data,
)

ROOT = Path(__file__).parents[2]


def _record(
    msg: str, *args: object, exc: BaseException | None = None
) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("ladder.x", logging.INFO, __file__, 1, msg, args, exc_info)


def test_the_seeded_domains_and_phones_are_found_in_the_tests() -> None:
    domains, phones = seeded_data()
    assert {"example.com", "example.org", "example.net", "biller.com"} <= domains
    assert {"(555) 555-5555", "+15555550101"} <= phones


@pytest.mark.parametrize(
    "leaky",
    [
        _record("customer ada@example.com enrolled"),
        _record("customer %s enrolled", "Ada@Example.COM"),  # case-insensitive
        _record("order for %s", {"email": "bob.norman@mail.example.com"}),
        _record("refund of %s", ("x", "a@b.co")),
        _record("call 555-555-0101"),
        _record("call +1 (555) 555-5555"),
        _record("sms to %s", "+15555550101"),
        _record("upsert failed", exc=ValueError("duplicate key: buyer@example.org")),
    ],
    ids=lambda r: r.msg,
)
def test_the_scanner_finds_seeded_personal_data(leaky: logging.LogRecord) -> None:
    assert RECORDER.scan(leaky)


@pytest.mark.parametrize(
    "clean",
    [
        _record("customer %s enrolled", "0f6c1b0e-9d0e-4c1e-8f55-0a1b2c3d4e5f"),
        _record("webhook %s failed: %s", "evt-1", "KeyError"),
        _record("shop ladder-test.myshopify.com installed"),
        _record("mail to ops@ladder.dev"),  # a domain no test seeds
        _record("order 5555550101999 total 555"),  # digits, not a seeded phone
    ],
    ids=lambda r: r.getMessage(),
)
def test_the_scanner_passes_clean_records(clean: logging.LogRecord) -> None:
    assert RECORDER.scan(clean) is None


def test_a_subdomain_of_a_seeded_domain_counts_but_a_lookalike_does_not() -> None:
    pattern = leak_pattern({"example.com"}, set())
    assert pattern.search("x@shop.example.com")
    assert not pattern.search("x@example.community")
    assert not pattern.search("x@notexample.com")


def test_the_recorder_is_live_on_the_root_logger_at_info() -> None:
    assert RECORDER in logging.getLogger().handlers
    assert logging.getLogger("ladder.graphql").isEnabledFor(logging.INFO)
    before = RECORDER.per_logger["ladder.graphql"]
    logging.getLogger("ladder.graphql").info("probe %s", "no personal data")
    assert RECORDER.per_logger["ladder.graphql"] == before + 1


def test_a_leak_fails_the_run_and_names_logger_and_record(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LADDER_TEST_DATABASE_URL"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/security/leak_probe.py",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        env={**env, "LADDER_LEAK_PROBE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 passed" in run.stdout
    assert run.returncode == pytest.ExitCode.TESTS_FAILED
    assert "log privacy: 1 log record(s) contain personal data" in run.stdout
    assert (
        "logger 'ladder.probe' (INFO) during tests/security/leak_probe.py::test_logs_an_email"
        in run.stdout
    )
    assert "'ada@example.com' in \"welcome ada@example.com" in run.stdout


def test_a_fresh_recorder_refuses_to_scan_before_install() -> None:
    with pytest.raises(AssertionError, match="install"):
        LogPrivacyRecorder().scan(_record("x"))

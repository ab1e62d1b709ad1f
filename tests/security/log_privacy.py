"""R14: the test run's log output must hold none of the personal data tests seed.

tests/conftest.py installs `RECORDER` on the root logger for the whole run,
with the app's loggers (`ladder.*`) at INFO so their everyday lines are
scanned too. At the end of the run any record whose message, arguments or
traceback contains a seeded email address or phone number fails the run.

What counts as seeded is read from the tests themselves: every email domain
and every `"phone"` value written anywhere under tests/ (factories, payload
fixtures, inline JSON). A new test that seeds `x@acme.test` is covered without
touching this file.
"""

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).parents[1]
APP_LOGGER = "ladder"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_PHONE_FIELD = re.compile(r'"phone"\s*:\s*"([^"]+)"')
_SEPARATORS = r"[\s().+-]*"
# The scanner and its own tests name clean domains on purpose.
_SCANNER_FILES = {"log_privacy.py", "test_log_privacy.py"}


def seeded_data(root: Path = TESTS) -> tuple[set[str], set[str]]:
    """(email domains, phone numbers) that appear in the test sources."""
    domains: set[str] = set()
    phones: set[str] = set()
    for path in root.rglob("*"):
        if path.suffix not in {".py", ".json"} or path.name in _SCANNER_FILES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        domains.update(m.group(1).lower() for m in _EMAIL.finditer(text))
        phones.update(m.group(1) for m in _PHONE_FIELD.finditer(text))
    return domains, {p for p in phones if sum(c.isdigit() for c in p) >= 7}


def leak_pattern(domains: set[str], phones: set[str]) -> re.Pattern[str]:
    """Emails at a seeded domain (or a subdomain of one), and seeded phone
    numbers written with any separators (+1 555 555-0101, (555) 555-0101)."""
    emails = (
        r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)*(?:"
        + "|".join(re.escape(d) for d in sorted(domains, key=len, reverse=True))
        + r")\b"
    )
    numbers = [
        r"(?<!\d)(?:1[\s().-]*)?"  # an optional +1 country code
        + _SEPARATORS.join(_last_ten_digits(p))
        + r"(?!\d)"
        for p in sorted(phones)
    ]
    return re.compile("|".join([emails, *numbers]), re.IGNORECASE)


def _last_ten_digits(phone: str) -> str:
    # The national number, so "+1 555…" and "(555) …" spellings both match.
    return "".join(c for c in phone if c.isdigit())[-10:]


@dataclass
class Leak:
    logger: str
    level: str
    text: str
    found: str
    test: str

    def describe(self) -> str:
        return (
            f"  logger {self.logger!r} ({self.level}) during {self.test}: "
            f"{self.found!r} in {self.text[:300]!r}"
        )


class LogPrivacyRecorder(logging.Handler):
    """Scans each record as it is emitted; keeps counts and the leaks found."""

    def __init__(self) -> None:
        # INFO and above: what production logs. DEBUG SQL traces (which tests
        # switch on to count statements) carry bound values by design.
        super().__init__(logging.INFO)
        self.pattern: re.Pattern[str] | None = None
        self.leaks: list[Leak] = []
        self.per_logger: Counter[str] = Counter()
        self._app_level = logging.NOTSET

    def install(self) -> None:
        domains, phones = seeded_data()
        self.pattern = leak_pattern(domains, phones)
        app = logging.getLogger(APP_LOGGER)
        self._app_level = app.level
        app.setLevel(logging.INFO)
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
        logging.getLogger(APP_LOGGER).setLevel(self._app_level)

    def emit(self, record: logging.LogRecord) -> None:
        self.per_logger[record.name] += 1
        found = self.scan(record)
        if found:
            self.leaks.append(
                Leak(
                    logger=record.name,
                    level=record.levelname,
                    text=_text_of(record),
                    found=found,
                    test=os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)"),
                )
            )

    def scan(self, record: logging.LogRecord) -> str | None:
        """The first piece of seeded personal data in the record, if any."""
        assert self.pattern is not None, "install() first"
        match = self.pattern.search(_text_of(record))
        return match.group(0) if match else None

    def summary(self) -> str:
        app = sum(n for name, n in self.per_logger.items() if name.startswith("ladder"))
        return (
            f"log privacy: scanned {self.per_logger.total()} records at INFO+ "
            f"({app} from ladder.*) from {len(self.per_logger)} loggers; "
            f"{len(self.leaks)} with seeded personal data ("
            + ", ".join(f"{name}: {n}" for name, n in self.per_logger.most_common())
            + ")"
        )

    def report(self) -> str:
        return "\n".join(
            [
                f"log privacy: {len(self.leaks)} log record(s) contain personal "
                "data seeded by the tests (email/phone); log ids, not PII:",
                *(leak.describe() for leak in self.leaks),
            ]
        )


def _text_of(record: logging.LogRecord) -> str:
    """Message, raw arguments and traceback: everything a handler could write."""
    try:
        parts = [record.getMessage()]
    except Exception:  # a broken format string still gets its parts scanned
        parts = [str(record.msg)]
    parts.append(repr(record.args))
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


RECORDER = LogPrivacyRecorder()

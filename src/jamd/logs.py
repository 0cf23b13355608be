"""Logging: one line per event on stderr, which journald collects under systemd.

Under journald (``JOURNAL_STREAM`` names our stderr) each line starts with its syslog priority
(``<4>``), which journald turns into the entry's level (``journalctl -p warning`` works) and
strips; the journal adds its own timestamps. On a terminal a line carries time, level and
source instead.
"""

import logging
import os
import sys
import time

LEVELS = ("debug", "info", "warning", "error")

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        text = super().format(record).replace("\n", " | ")
        return f"<{priority}>{record.name}: {text}"


def stderr_is_journal() -> bool:
    """Whether stderr is the journal's stream (systemd sets ``JOURNAL_STREAM=dev:inode``)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        status = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return expected == f"{status.st_dev}:{status.st_ino}"


def configure_logging(level: int | str) -> None:
    """Send jamd's log to stderr at ``level`` (a name from ``LEVELS`` or a logging number)."""
    number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    handler = logging.StreamHandler(sys.stderr)
    if stderr_is_journal():
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger("jamd")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    root.propagate = False


def set_level(level: str) -> None:
    logging.getLogger("jamd").setLevel(level.upper())


class Throttled:
    """Warnings of each kind at most once every ``every`` seconds, each line saying how many
    were held back since the last: a flood of bad input never floods the journal."""

    def __init__(self, logger: logging.Logger, every: float = 10.0) -> None:
        self.logger = logger
        self.every = every
        self._logged_at: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, kind: str, text: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._logged_at.get(kind, -self.every) < self.every:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        more = self._held.pop(kind, 0)
        suffix = f" (and {more} more since the last line)" if more else ""
        self.logger.warning(text + suffix, *args)
        self._logged_at[kind] = now

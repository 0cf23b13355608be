"""Logging: one line per event on stderr, which journald collects under systemd.

Under journald (``JOURNAL_STREAM`` names our stderr) each line starts with its syslog priority
(``<4>``), which journald turns into the entry's level (``journalctl -p warning`` works) and
strips; the journal adds its own timestamps. On a terminal a line carries time, level and
source instead.
"""

import logging
import os
import sys

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

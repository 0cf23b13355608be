"""Logs: one line per event; under journald, each line carries its syslog priority."""

import logging
import os
import subprocess
import sys


def run_logging(env: dict[str, str]) -> str:
    code = (
        "import logging; from jamd.logs import configure_logging; configure_logging('debug');"
        "log = logging.getLogger('jamd.test'); log.warning('two\\nlines'); log.debug('detail')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return result.stderr


def test_on_a_terminal_lines_carry_time_level_and_source() -> None:
    lines = run_logging({**os.environ, "JOURNAL_STREAM": ""}).splitlines()
    assert "WARNING jamd.test: two" in lines[0]
    assert "DEBUG   jamd.test: detail" in lines[-1]


def test_under_journald_lines_start_with_their_priority_and_stay_one_line() -> None:
    code = (
        "import os, sys; st = os.fstat(2); "
        "os.environ['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'; "
        "import logging; from jamd.logs import configure_logging; configure_logging('info');"
        "log = logging.getLogger('jamd.test'); log.warning('two\\nlines'); log.info('fine');"
        "log.debug('hidden')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stderr.splitlines() == [
        "<4>jamd.test: two | lines",
        "<6>jamd.test: fine",
    ]
    assert logging.getLogger("jamd.test").level == logging.NOTSET

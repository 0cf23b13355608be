"""Suite-wide rules and real components.

- A skipped test fails the run (CI must run every test).
- ``jack_server``: a private JACK server (``jackd -d dummy``, 48 kHz, 256 frames) under a name
  of its own, started once for the run and stopped at its end. It runs realtime, as JACK does
  on a studio machine, where this machine allows it (root, or an rtprio limit): on a shared
  machine a non-realtime JACK's threads queue behind everything else, and its xruns say more
  about the neighbours than about jamd. ``jack_realtime`` says which it is. Missing ``jackd``
  is a failure, not a skip: ``make test`` installs jackd2 when run as root. ``on_jack``
  points the test's own JACK clients (python-rtmidi, JACK-Client) and the daemon's at it.
- Every ``jamd run`` the suite starts listens for OSC on a free port (``JAMD_OSC__PORT=0``),
  so daemons never collide with each other or with a jamd already on port 9000; their
  presets go to a temporary directory (``JAMD_PATHS__PRESETS``), and their store (and
  anything else of the state directory) to another (``XDG_STATE_HOME``), never the user's.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["JAMD_OSC__PORT"] = "0"
# presets saved by the suite's daemons go to a directory of the run's, never the user's
_presets = tempfile.TemporaryDirectory(prefix="jamd-presets-")
os.environ["JAMD_PATHS__PRESETS"] = _presets.name
_state = tempfile.TemporaryDirectory(prefix="jamd-state-")
os.environ["XDG_STATE_HOME"] = _state.name
os.environ.pop("STATE_DIRECTORY", None)

_skipped: list[str] = []

JACK_RATE = 48000
JACK_PERIOD = 256


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"{len(_skipped)} test(s) skipped; skipped tests fail the run: {', '.join(_skipped)}",
            red=True,
        )


@pytest.fixture(scope="session")
def jack_realtime() -> bool:
    """Whether ``jack_server`` runs realtime: whether a process started here may take
    SCHED_FIFO, as ``jackd --realtime`` does for its threads and its clients'."""
    chrt = shutil.which("chrt")
    return (
        chrt is not None and subprocess.run([chrt, "-f", "10", "true"], check=False).returncode == 0
    )


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory: pytest.TempPathFactory, jack_realtime: bool) -> Iterator[str]:
    """The name of a running private JACK server with the dummy driver."""
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.fail(
            "jackd is not installed (Debian: apt install jackd2; make test does it as root)"
        )
    name = f"jamd-test-{os.getpid()}"
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    mode = "--realtime" if jack_realtime else "--no-realtime"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                jackd, mode, "-n", name, "-d", "dummy",
                "-r", str(JACK_RATE), "-p", str(JACK_PERIOD),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"},
        )  # fmt: skip
    try:
        _wait_for_server(name, server, log)
        yield name
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_server(name: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jackd exited ({server.returncode}): {log.read_text(errors='replace')}")
        probe = subprocess.run(
            ["jack_wait", "-s", name, "-c"], capture_output=True, text=True, check=False
        )
        if "running" in probe.stdout and "not" not in probe.stdout:
            return
        time.sleep(0.1)
    pytest.fail(f"jackd did not start within 20 s: {log.read_text(errors='replace')}")


@pytest.fixture
def on_jack(jack_server: str) -> Iterator[str]:
    """RtMidi's clients, the test's and the daemon's, on the private server."""
    saved = {name: os.environ.get(name) for name in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = jack_server
    os.environ["JACK_NO_START_SERVER"] = "1"
    yield jack_server
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

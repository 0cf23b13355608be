"""Child processes in the tests: whether one has ended, and a script that starts some and is
killed, to see that they end with it."""

import signal
import subprocess
import sys
import time
from pathlib import Path


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie its new parent has not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def orphans_of_a_killed_parent(script: str, folder: Path) -> list[int]:
    """Runs ``script`` (which prints the pids of the children it started, then SIGKILLs
    itself); the pids of those still running 30 s later at most (a bound, not a timing)."""
    path, printed, said = folder / "parent.py", folder / "pids", folder / "stderr"
    path.write_text(script, encoding="utf-8")
    # files, not pipes: children left running would hold a pipe open, and the wait with it
    with printed.open("w") as out, said.open("w") as errors:
        ran = subprocess.run(
            [sys.executable, str(path)], stdout=out, stderr=errors, timeout=120, check=False
        )
    assert ran.returncode == -signal.SIGKILL, said.read_text()
    children = [int(pid) for pid in printed.read_text().split()]
    assert children, said.read_text()
    deadline = time.monotonic() + 30
    while not all(gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in children if not gone(pid)]

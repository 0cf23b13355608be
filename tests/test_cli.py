import subprocess
import sys

from jamd import __version__


def test_version_prints_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jamd.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"jamd {__version__}"

"""The live layer's test band (tests/live/band.py) for the Link clock's tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from band import make_band

__all__ = ["make_band"]

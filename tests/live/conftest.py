"""Fixtures for the live layer's tests (helpers live in band.py)."""

from band import make_band

__all__ = ["make_band"]

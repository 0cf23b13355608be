"""Ableton Link: jamd in a Link session as a clock source (docs/clock.md)."""

from jamd.link.clock import LinkClock, LinkUnavailable, load_link
from jamd.link.phase import Timeline, bar_offset, beat_samples, next_bar_line, phase

__all__ = [
    "LinkClock",
    "LinkUnavailable",
    "Timeline",
    "bar_offset",
    "beat_samples",
    "load_link",
    "next_bar_line",
    "phase",
]

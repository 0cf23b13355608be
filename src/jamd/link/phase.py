"""Where the Link session's beats fall on jamd's samples, and where jamd's bars go on them.

Pure arithmetic, no Link and no clock: ``Timeline`` is one reading of the session (its beat at
an engine sample, its tempo), ``bar_offset`` says how far the transport's beats are from the
session's once a bar line of jamd's sits on a bar line of the session's (Link phase 0 for the
quantum), and ``phase`` is where a session beat falls in its bar.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timeline:
    """The session's beat ``beat`` plays at engine sample ``sample``, at ``bpm`` from there."""

    beat: float
    sample: float
    bpm: float
    sample_rate: int

    @property
    def samples_per_beat(self) -> float:
        return self.sample_rate * 60.0 / self.bpm

    def sample_at(self, beat: float) -> float:
        return self.sample + (beat - self.beat) * self.samples_per_beat

    def beat_at(self, sample: float) -> float:
        return self.beat + (sample - self.sample) / self.samples_per_beat


def phase(beat: float, quantum: float) -> float:
    """Where session beat ``beat`` falls in its bar of ``quantum`` beats: 0 on the bar line."""
    return beat - math.floor(beat / quantum) * quantum


def next_bar_line(beat: float, quantum: float) -> float:
    """The session's first bar line at or after ``beat``."""
    return math.ceil(beat / quantum - 1e-9) * quantum


def bar_offset(
    timeline: Timeline,
    bar_beat: float,
    bar_sample: float,
    quantum: float,
    earliest: float,
    *,
    beat: float | None = None,
) -> float:
    """The session beat minus the transport beat once jamd's bar line at transport beat
    ``bar_beat`` (now planned at ``bar_sample``) is on the session's nearest bar line (the bar
    it ends cut short or drawn out by half a bar at most), from transport ``beat`` on (by
    default the bar line itself; a later beat of that bar: the bar changes length there), never
    placing that beat before sample ``earliest`` (what the engine has taken cannot move): then
    a bar later."""
    moved = bar_beat if beat is None else beat
    offset = round(timeline.beat_at(bar_sample) / quantum) * quantum - bar_beat
    while timeline.sample_at(moved + offset) < earliest:
        offset += quantum
    return offset


def beat_samples(timeline: Timeline, beat: float, offset: float) -> tuple[float, float]:
    """Where transport beat ``beat`` and the one after it fall, as engine samples, with the
    transport ``offset`` beats behind the session."""
    return timeline.sample_at(beat + offset), timeline.sample_at(beat + 1 + offset)

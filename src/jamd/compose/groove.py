"""What every part generator shares: step grids, swing, velocities, the bar being composed.

Generators place notes on a straight grid and let ``Groove`` swing them, so swing is one
mapping applied the same way to drums, bass, keys and melody.
"""

import random
from dataclasses import dataclass

from jamd.compose.events import NoteEvent, Part
from jamd.compose.plan import Section, SongPlan
from jamd.styles.model import Style
from jamd.theory import Chord

LEVELS = {"X": 112, "x": 90, "o": 48, "r": 84, "t": 78}
"""Base MIDI velocity of each grid character; ``r`` and ``t`` are rolls (two or three hits)."""

_HUMANISE = 5
"""Velocity spread (+/-) a player's touch adds to every note; timing stays exact."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One onset of a grid: its step, level character and length in steps (1 + held steps)."""

    step: int
    level: str
    steps: int


def hits(grid: str) -> tuple[Hit, ...]:
    """The onsets of a grid string (``X x o r t`` play, ``-`` holds, ``.`` rests)."""
    found: list[Hit] = []
    for step, char in enumerate(grid):
        if char == "-" and found and found[-1].step + found[-1].steps == step:
            found[-1] = Hit(found[-1].step, found[-1].level, found[-1].steps + 1)
        elif char in LEVELS:
            found.append(Hit(step, char, 1))
    return tuple(found)


def velocity(base: float, intensity: float, rng: random.Random) -> int:
    """A played velocity: ``base`` shaded by the part's intensity (0..1) and a human touch."""
    shaded = base * (0.7 + 0.3 * intensity) + rng.randint(-_HUMANISE, _HUMANISE)
    return max(1, min(127, round(shaded)))


def energy_index(count: int, energy: float) -> int:
    """Which of ``count`` options listed from low to high energy suits ``energy`` (0..1):
    the options split the range evenly.
    """
    return max(0, min(count - 1, int(energy * count)))


@dataclass(frozen=True, slots=True)
class Groove:
    """Swing: in each pair of ``unit``-beat notes the first lasts ``ratio`` of the pair."""

    ratio: float
    unit: float

    @classmethod
    def of(cls, style: Style, tempo: float) -> "Groove":
        feel = style.feel
        straight = feel.straight_above is not None and tempo > feel.straight_above
        return cls(0.5 if straight else feel.swing, 0.5 if feel.unit == "eighth" else 0.25)

    def place(self, beat: float) -> float:
        """Where a straight-grid time lands when swung (downbeats of each pair stay put)."""
        if self.ratio == 0.5:
            return beat
        pair = 2 * self.unit
        start = (beat // pair) * pair
        offset = beat - start
        if offset <= self.unit:
            return start + offset * 2 * self.ratio
        return start + pair * self.ratio + (offset - self.unit) * 2 * (1 - self.ratio)


@dataclass(frozen=True, slots=True)
class Bar:
    """Everything a part generator needs to know about the bar it is composing."""

    plan: SongPlan
    style: Style
    groove: Groove
    index: int
    section: Section
    section_index: int
    seed: int

    @property
    def start(self) -> float:
        return self.plan.bar_start(self.index)

    @property
    def beats(self) -> int:
        return self.plan.beats_per_bar

    @property
    def step(self) -> float:
        """Beats per grid step."""
        return 1.0 / self.style.meter.steps_per_beat

    @property
    def in_section(self) -> int:
        """Bars since the section started (0 on its first bar)."""
        return self.index - self.section.start_bar

    @property
    def chord(self) -> Chord:
        return self.plan.chords[self.index].chord

    @property
    def next_chord(self) -> Chord | None:
        following = self.index + 1
        return self.plan.chords[following].chord if following < self.plan.total_bars else None

    @property
    def is_final(self) -> bool:
        """The song's last bar: the ending."""
        return self.index == self.plan.total_bars - 1

    @property
    def ends_section(self) -> bool:
        return self.index == self.section.end_bar - 1

    def rng(self, part: Part | str) -> random.Random:
        """This bar's own random stream for ``part``: any bar can be regenerated alone."""
        return random.Random(f"{self.seed}:{self.index}:{part}")

    def note(self, part: Part, offset: float, length: float, pitch: int, vel: int) -> NoteEvent:
        """A note ``offset`` beats into the bar on the straight grid, swung, in song time."""
        start = self.groove.place(self.start + offset)
        end = self.groove.place(self.start + offset + length)
        return NoteEvent(part, round(start, 6), round(end - start, 6), pitch, vel)

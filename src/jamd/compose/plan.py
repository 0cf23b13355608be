"""The song plan: sections and one chord per bar, fitted to the requested duration.

The plan is everything the part generators share and nothing they decide: where sections
start, how intense each is, what chord each bar holds. Chords change only on bar lines.

A style model (``jamd.compose.model``), when given, steers three things: the progressions
(drawn from its chains), each section's energy (moved by its ``energy_shift``) and each
section's groove (its drum weights). Without one the plan is the style file's alone. The key
and tempo a user left open are the model's draws too (``key_and_tempo``).
"""

import bisect
import math
import random
from dataclasses import dataclass, field

from jamd.compose.form import fit_form
from jamd.compose.harmony import (
    choose_progressions,
    ending_numeral,
    section_numerals,
)
from jamd.compose.model import StyleModel
from jamd.errors import InputError
from jamd.styles.model import SectionKind, Style
from jamd.theory import Chord, Key, parse_key, parse_roman

TEMPO_RANGE = (20.0, 300.0)
MAX_DURATION = 3600.0
RING_OUT_SECONDS = 1.5
"""Time left after the last bar for the final chord's tail (or one bar, if bars are shorter)."""

_REPEAT_LIFT = 0.08
"""How much each return of a section kind raises its energy (capped at two returns)."""


@dataclass(frozen=True, slots=True)
class SongParams:
    """What the user asks for. ``tempo`` is quarter-note BPM; ``energy`` scales every section."""

    genre: str
    key: Key
    tempo: float
    duration: float
    seed: int
    energy: float = 0.5

    def __post_init__(self) -> None:
        low, high = TEMPO_RANGE
        if not low <= self.tempo <= high:
            raise InputError(f"tempo must be {low:g}..{high:g} BPM, got {self.tempo:g}")
        if not 0 < self.duration <= MAX_DURATION:
            raise InputError(
                f"duration must be > 0 and <= {MAX_DURATION:g} seconds, got {self.duration:g}"
            )
        if not 0 <= self.energy <= 1:
            raise InputError(f"energy must be 0..1, got {self.energy:g}")


@dataclass(frozen=True, slots=True)
class Section:
    """A stretch of bars with one purpose. ``occurrence`` counts earlier sections of its kind;
    ``groove`` is the drum pattern a style model chose (None: the energy chooses)."""

    kind: SectionKind
    label: str
    start_bar: int
    bars: int
    energy: float
    occurrence: int = 0
    groove: str | None = None

    @property
    def end_bar(self) -> int:
        """The first bar after the section."""
        return self.start_bar + self.bars


@dataclass(frozen=True, slots=True)
class BarChord:
    """The chord of one bar, as the style wrote it and as pitches."""

    numeral: str
    chord: Chord

    @property
    def symbol(self) -> str:
        return self.chord.symbol


@dataclass(frozen=True, slots=True)
class SectionSummary:
    """One line of a printed plan: a section's label, bar span (inclusive) and chords per bar."""

    label: str
    first_bar: int
    last_bar: int
    chords: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.label:<12} bars {self.first_bar + 1:>3}-{self.last_bar + 1:<3} | " + (
            " ".join(self.chords)
        )


@dataclass(frozen=True)
class SongPlan:
    """A song's structure. Bars count from 0; beats are quarter notes from the song's start."""

    params: SongParams
    key: Key
    tempo: float
    beats_per_bar: int
    meter: tuple[int, int]
    sections: tuple[Section, ...]
    chords: tuple[BarChord, ...]
    total_bars: int
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = tuple(section.start_bar for section in self.sections)
        if len(self.chords) != self.total_bars or sum(s.bars for s in self.sections) != len(
            self.chords
        ):
            raise ValueError("a plan needs one chord per bar and sections covering every bar")
        object.__setattr__(self, "_starts", starts)

    def bar_start(self, bar: int) -> float:
        """The beat on which ``bar`` starts."""
        return float(bar * self.beats_per_bar)

    def section_index(self, bar: int) -> int:
        if not 0 <= bar < self.total_bars:
            raise IndexError(f"bar must be 0..{self.total_bars - 1}, got {bar}")
        return bisect.bisect_right(self._starts, bar) - 1

    def section_at(self, bar: int) -> Section:
        return self.sections[self.section_index(bar)]

    @property
    def end_beat(self) -> float:
        """The beat by which every note has ended: the last bar's end, or the requested duration
        if even one bar is longer than that.
        """
        duration_beats = self.params.duration * self.tempo / 60.0
        return min(float(self.total_bars * self.beats_per_bar), duration_beats)

    def section_summaries(self) -> tuple[SectionSummary, ...]:
        return tuple(
            SectionSummary(
                section.label,
                section.start_bar,
                section.end_bar - 1,
                tuple(c.symbol for c in self.chords[section.start_bar : section.end_bar]),
            )
            for section in self.sections
        )


def total_bars_for(duration: float, tempo: float, beats_per_bar: int) -> int:
    """The most whole bars that fit in ``duration`` seconds, less a ring-out; at least one."""
    bar_seconds = beats_per_bar * 60.0 / tempo
    ring_out = min(RING_OUT_SECONDS, bar_seconds)
    return max(1, math.floor((duration - ring_out) / bar_seconds + 1e-9))


def key_and_tempo(
    style: Style,
    seed: int,
    *,
    key: Key | None = None,
    tempo: float | None = None,
    model: StyleModel | None = None,
) -> tuple[Key, float]:
    """A song's key and tempo: the user's where given; where not, the model's draws, else the
    style file's defaults. The draws come from a generator of the seed's own, so the plan's
    (``plan_song``'s ``rng``) stay the same whether or not they were made."""
    rng = random.Random(f"{seed}:key and tempo")
    if key is None:
        key = model.draw_key(rng) if model is not None else parse_key(style.typical_keys[0])
    if tempo is None:
        tempo = model.draw_tempo(rng) if model is not None else float(style.tempo.default)
    return key, tempo


def plan_song(
    params: SongParams, style: Style, rng: random.Random, model: StyleModel | None = None
) -> SongPlan:
    """Sections fitted to the duration, a progression per kind, the tonic in the last bar;
    with ``model``, its chains, energy and grooves (the same seed and model, the same plan)."""
    beats_per_bar = style.beats_per_bar
    total_bars = total_bars_for(params.duration, params.tempo, beats_per_bar)
    slots = fit_form(style.form, total_bars, style.energy)

    counts = {kind: sum(slot.kind == kind for slot in slots) for kind in {s.kind for s in slots}}
    seen: dict[SectionKind, int] = {}
    sections: list[Section] = []
    start = 0
    for slot in slots:
        occurrence = seen.get(slot.kind, 0)
        seen[slot.kind] = occurrence + 1
        label = slot.kind.value if counts[slot.kind] == 1 else f"{slot.kind} {occurrence + 1}"
        base = style.energy.get(slot.kind, 0.5) + _REPEAT_LIFT * min(occurrence, 2)
        energy = min(1.0, base * (0.4 + 1.2 * params.energy))
        groove = None
        if model is not None:
            energy = max(0.0, min(1.0, energy + model.energy_shift))
            names = style.drums.use.get(slot.kind)
            if names and slot.kind not in style.drums.ramp:
                groove = model.groove(slot.kind, names, round(energy, 3))
        section = Section(slot.kind, label, start, slot.bars, round(energy, 3), occurrence, groove)
        sections.append(section)
        start += slot.bars

    progressions = choose_progressions(
        style, params.key, [s.kind for s in sections], [s.bars for s in sections], rng, model=model
    )
    numerals: list[str] = []
    for index, section in enumerate(sections):
        align_end = section.kind is SectionKind.INTRO or index == len(sections) - 1
        numerals += section_numerals(progressions[section.kind], section.bars, align_end=align_end)
    numerals[-1] = ending_numeral(style, params.key)

    return SongPlan(
        params=params,
        key=params.key,
        tempo=params.tempo,
        beats_per_bar=beats_per_bar,
        meter=(style.meter.numerator, style.meter.denominator),
        sections=tuple(sections),
        chords=tuple(BarChord(numeral, parse_roman(numeral, params.key)) for numeral in numerals),
        total_bars=total_bars,
    )

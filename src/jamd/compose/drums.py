"""Drums: the style's grooves, a fill into every new section, a final hit.

A section plays the groove its energy selects (or the one its plan's style model chose; or,
for a ``ramp`` kind such as a build, steps through its grooves bar by bar), alternating with
the groove's ``alt`` bar in two-bar phrases.
Its last bar ends in a fill, which also plays as a pickup when the drums only enter next
section. Styles that ask for it crash on the downbeat after a fill.
"""

import random

from jamd.compose.events import NoteEvent, Part
from jamd.compose.groove import LEVELS, Bar, energy_index, hits, velocity
from jamd.styles.model import DRUM_NOTES, DrumGrids, DrumPattern

HIT_LENGTH = 0.25
"""Beats a drum note lasts: drums are one-shots, the kit decides how long they ring."""

_STROKES = {"r": 2, "t": 3}


def groove_grids(bar: Bar) -> dict[str, str]:
    """The piece -> grid map the section's groove plays in this bar (before any fill)."""
    drums = bar.style.drums
    names = drums.use.get(bar.section.kind)
    if not names:
        return {}
    if bar.section.kind in drums.ramp:
        name = names[min(len(names) - 1, bar.in_section * len(names) // bar.section.bars)]
    elif bar.section.groove is not None and bar.section.groove in drums.patterns:
        name = bar.section.groove  # a style model chose it
    else:
        name = names[energy_index(len(names), bar.section.energy)]
    pattern: DrumPattern = drums.patterns[name]
    grids = pattern.grids()
    if pattern.alt is not None and bar.in_section % 2 == 1:
        grids.update(pattern.alt.grids())
    return grids


def drum_bar(
    bar: Bar, intensity: float, next_intensity: float, *, fill_asked: bool = False
) -> list[NoteEvent]:
    """One bar of drums at ``intensity`` (0: the drums rest this section).

    ``next_intensity`` is the drums' intensity in the next section, so a section without drums
    can still hand over with a pickup fill. ``fill_asked`` ends this bar in a fill wherever it falls
    (a performer asked for one).
    """
    rng = bar.rng(Part.DRUMS)
    drums = bar.style.drums
    if bar.is_final:
        if intensity <= 0:
            return []
        return _play(bar, drums.ending.grids(), 0, intensity=max(intensity, 0.8), rng=rng)

    if bar.section.kind in drums.ramp:
        intensity *= 0.6 + 0.4 * (bar.in_section + 1) / bar.section.bars
    grids = groove_grids(bar) if intensity > 0 else {}
    wants_fill = (
        (bar.ends_section or fill_asked)
        and drums.fills
        and bar.section.kind not in drums.ramp
        and (intensity > 0 or next_intensity > 0)
    )
    fill_start = bar.beats * bar.style.meter.steps_per_beat
    fill: DrumGrids | None = None
    if wants_fill:
        choice = energy_index(len(drums.fills), bar.section.energy)
        fill = drums.fills[rng.choice(range(max(0, choice - 1), choice + 1))]
        fill_start -= len(next(iter(fill.grids().values())))

    events = _play(bar, grids, 0, intensity=intensity, rng=rng, until=fill_start)
    if fill is not None:
        events += _play(
            bar, fill.grids(), fill_start, intensity=max(intensity, next_intensity), rng=rng
        )
    crash = DRUM_NOTES["crash"]
    if (
        drums.crash_after_fill
        and bar.in_section == 0
        and bar.section_index > 0
        and intensity > 0
        and not any(event.pitch == crash and event.start == bar.start for event in events)
    ):
        vel = velocity(LEVELS["X"], intensity, rng)
        events.append(bar.note(Part.DRUMS, 0.0, HIT_LENGTH, crash, vel))
    return events


def _play(
    bar: Bar,
    grids: dict[str, str],
    first_step: int,
    *,
    intensity: float,
    rng: random.Random,
    until: int | None = None,
) -> list[NoteEvent]:
    """The notes of ``grids`` placed from ``first_step`` of the bar, stopping at ``until``.

    Roll steps (``r``, ``t``) split into two or three strokes, the last one the strongest.
    """
    events: list[NoteEvent] = []
    for piece, grid in grids.items():
        pitch = DRUM_NOTES[piece]
        for hit in hits(grid):
            step = first_step + hit.step
            if until is not None and step >= until:
                break
            strokes = _STROKES.get(hit.level, 1)
            for stroke in range(strokes):
                offset = (step + stroke / strokes) * bar.step
                level = LEVELS[hit.level] * (1.0 if stroke == strokes - 1 else 0.9)
                vel = velocity(level, intensity, rng)
                events.append(bar.note(Part.DRUMS, offset, HIT_LENGTH / strokes, pitch, vel))
    return events


COUNT_IN_NOTE = DRUM_NOTES["side_stick"]


def count_in(beats_per_bar: int, start: float) -> list[NoteEvent]:
    """A bar of sticks on every beat from beat ``start``, the first accented: the band's cue."""
    return [
        NoteEvent(Part.DRUMS, start + beat, HIT_LENGTH, COUNT_IN_NOTE, 110 if beat == 0 else 80)
        for beat in range(beats_per_bar)
    ]

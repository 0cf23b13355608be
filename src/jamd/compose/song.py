"""Composing a song: a fold over its bars, one pure per-bar step the live daemon can call too.

``compose_bar`` makes one bar of every part from the plan, the arrangement and the state the
previous bar left (voicings to lead from, the last bass and lead notes, the section's planned
melody). Its randomness comes from (seed, bar, part), so any bar can be made again on its own.
"""

import math
from dataclasses import dataclass, replace

from jamd.compose.arrange import Arrangement, arrange
from jamd.compose.bass import bass_bar
from jamd.compose.comping import keys_bar, pad_bar
from jamd.compose.drums import drum_bar
from jamd.compose.events import NoteEvent, Part
from jamd.compose.groove import Bar, Groove, velocity
from jamd.compose.melody import LeadNote, SectionMelody, final_note, section_melody
from jamd.compose.plan import SongPlan
from jamd.styles.model import Style

_PART_ORDER = {part: index for index, part in enumerate(Part)}
_LEAD_VELOCITY = 100


@dataclass(frozen=True, slots=True)
class BarState:
    """What one bar hands the next: voicings, last notes, the current section's melody."""

    keys: tuple[int, ...] | None = None
    pad: tuple[int, ...] | None = None
    bass: int | None = None
    lead: int | None = None
    melody: SectionMelody | None = None


@dataclass(frozen=True, slots=True)
class Song:
    """A composed song: its plan, its arrangement, and every note, sorted by ``event_order``.

    Bass notes that overlap (the next starts before the previous ends) are glides: the engine's
    monophonic bass slides between them (808 style).
    """

    plan: SongPlan
    arrangement: Arrangement
    events: tuple[NoteEvent, ...]


def event_order(event: NoteEvent) -> tuple[float, int, int]:
    """Events sort by start, then part (mixer order), then pitch."""
    return event.start, _PART_ORDER[event.part], event.pitch


def compose_bar(
    plan: SongPlan,
    style: Style,
    arrangement: Arrangement,
    bar: int,
    state: BarState,
    *,
    seed: int,
    fill: bool = False,
    restrike: bool = False,
) -> tuple[tuple[NoteEvent, ...], BarState]:
    """The notes of one bar (sorted, ending by the song's end) and the state for the next.

    Live performance asks for two things a written-out song never does: ``fill`` ends this bar
    in a drum fill wherever it falls, and ``restrike`` says that notes held into this bar were
    cut (the music changed here), so held parts play their chord again.
    """
    section_index = plan.section_index(bar)
    here = Bar(
        plan=plan,
        style=style,
        groove=Groove.of(style, plan.tempo),
        index=bar,
        section=plan.sections[section_index],
        section_index=section_index,
        seed=seed,
    )

    def level(part: Part) -> float:
        return arrangement.intensity(section_index, part)

    events: list[NoteEvent] = []
    drums, next_drums = level(Part.DRUMS), arrangement.intensity(section_index + 1, Part.DRUMS)
    if drums > 0 or (here.ends_section and next_drums > 0):
        events += drum_bar(here, drums, next_drums, fill_asked=fill)
    if level(Part.BASS) > 0:
        notes, last_bass = bass_bar(here, level(Part.BASS), state.bass)
        events += notes
        state = replace(state, bass=last_bass)
    if level(Part.KEYS) > 0:
        notes, voicing = keys_bar(here, level(Part.KEYS), arrangement.patch(Part.KEYS), state.keys)
        events += notes
        state = replace(state, keys=voicing)
    if level(Part.PAD) > 0:
        notes, pad_voicing = pad_bar(here, level(Part.PAD), state.pad, restrike=restrike)
        events += notes
        state = replace(state, pad=pad_voicing)
    if level(Part.LEAD) > 0:
        lead, state = _lead_bar(here, level(Part.LEAD), state)
        events += lead
    return _within_song(plan, events), state


def _lead_bar(bar: Bar, intensity: float, state: BarState) -> tuple[list[NoteEvent], BarState]:
    if bar.is_final:
        planned: tuple[LeadNote, ...] = (final_note(bar.plan, bar.style, state.lead),)
    else:
        melody = state.melody
        if melody is None or melody.section_index != bar.section_index:
            melody = section_melody(bar.plan, bar.style, bar.section_index, bar.seed)
            state = replace(state, melody=melody)
        planned = melody.bars[bar.in_section]
    rng = bar.rng(Part.LEAD)
    events = [
        bar.note(
            Part.LEAD,
            note.offset,
            note.length,
            note.pitch,
            velocity(_LEAD_VELOCITY * note.accent, intensity, rng),
        )
        for note in planned
    ]
    if events:
        state = replace(state, lead=events[-1].pitch)
    return events, state


def _within_song(plan: SongPlan, events: list[NoteEvent]) -> tuple[NoteEvent, ...]:
    """Sorted, and cut at the song's end (only a song shorter than one bar reaches it)."""
    end = plan.end_beat
    kept = [
        event
        if event.end <= end
        else replace(event, length=math.floor((end - event.start) * 1e6) / 1e6)
        for event in events
        if event.start < end - 1e-5
    ]
    return tuple(sorted(kept, key=event_order))


def compose_song(plan: SongPlan, style: Style, seed: int) -> Song:
    """Arrange the plan and compose it bar by bar."""
    arrangement = arrange(plan, style, seed)
    state = BarState()
    events: list[NoteEvent] = []
    for bar in range(plan.total_bars):
        notes, state = compose_bar(plan, style, arrangement, bar, state, seed=seed)
        events += notes
    return Song(plan, arrangement, tuple(sorted(events, key=event_order)))

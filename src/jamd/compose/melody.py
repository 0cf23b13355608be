"""The lead melody: motifs that repeat and develop over the section's chords.

A section's melody is planned whole, in spans of ``phrase_bars`` bars named by the style's plan
("abac": a motif, a development of it, the motif again, another development; "-" rests while the
band answers). A motif is a rhythm and a contour (steps along the note pool); a development is
the motif sequenced (moved up or down), inverted, rhythmically varied, or answered (first half
kept, second half new). Realising a motif over chords puts chord tones on strong beats and on
long notes, scale tones between, and ends each pair of spans on a stable tone (the call on the
third or fifth, the answer on the root or third), leaving a breath before the next phrase.

The section's random stream comes from (seed, section kind), so a chorus that returns over the
same chords returns with the same melody; ``fresh`` kinds (solos) draw a new one each time.
"""

import math
import random
from dataclasses import dataclass, replace
from typing import Literal

from jamd.compose.harmony import nearest_tone, note_pool, step_in_pool
from jamd.compose.plan import SongPlan
from jamd.styles.model import MelodySettings, Style
from jamd.theory import Chord

Cadence = Literal["open", "close", "final"]
"""How a span ends: a question (open), an answer (close), the section's last word (final)."""

_REST = "-"
_BREATH = 1.0
"""Beats of silence a phrase leaves before the next one (less for short spans)."""


@dataclass(frozen=True, slots=True)
class Motif:
    """A melodic idea: (onset, length) pairs in beats from its start, pool steps between
    successive notes, and how many pool steps above the phrase's anchor it starts.
    """

    rhythm: tuple[tuple[float, float], ...]
    steps: tuple[int, ...]
    lift: int = 0


@dataclass(frozen=True, slots=True)
class LeadNote:
    """A planned melody note: beats from its bar's start (straight grid), pitch, and accent
    (0..1, the share of full velocity the phrasing gives it).
    """

    offset: float
    length: float
    pitch: int
    accent: float


@dataclass(frozen=True, slots=True)
class SectionMelody:
    """A section's melody, planned once: the notes starting in each of its bars."""

    section_index: int
    bars: tuple[tuple[LeadNote, ...], ...]


def strong_beats(beats_per_bar: int) -> frozenset[float]:
    """Beats of the bar that carry the harmony: 1 and 3 of 4/4, 1 of 3/4, 1 and 4 of 12/8."""
    if beats_per_bar >= 4 and beats_per_bar % 2 == 0:
        return frozenset((0.0, beats_per_bar / 2))
    return frozenset((0.0,))


def section_melody(plan: SongPlan, style: Style, section_index: int, seed: int) -> SectionMelody:
    """Plan the melody of one section (see the module docstring)."""
    section = plan.sections[section_index]
    settings = style.melody.for_kind(section.kind)
    stream = section_index if settings.fresh else section.kind.value
    rng = random.Random(f"{seed}:melody:{stream}")
    beats_per_bar = plan.beats_per_bar
    span_bars = settings.phrase_bars
    spans = math.ceil(section.bars / span_bars)
    letters = (settings.plan * spans)[:spans]
    # The song's last bar holds the tonic (see ``final_note``): the melody breathes before it.
    last_bar = min(section.end_bar, plan.total_bars - 1)

    # Livelier kinds sing higher: a chorus sits above its verse.
    lift = round((style.energy.get(section.kind, 0.5) - 0.5) * 10)
    home = (settings.low + settings.high) // 2 + lift
    motifs: dict[str, Motif] = {}
    anchors: dict[str, int] = {}
    previous: int | None = None
    by_bar: list[list[LeadNote]] = [[] for _ in range(section.bars)]
    for span, letter in enumerate(letters):
        start_bar = section.start_bar + span * span_bars
        limit = (min(span_bars, last_bar - start_bar)) * beats_per_bar
        if letter == _REST or limit <= 0:
            continue
        if letter not in motifs:
            first = next(iter(motifs.values()), None)
            motifs[letter] = (
                _develop(first, rng, span_bars, beats_per_bar, settings)
                if first is not None and not settings.fresh
                else _new_motif(rng, span_bars, beats_per_bar, settings)
            )
        motif = motifs[letter]
        cadence: Cadence = "final" if span == spans - 1 else "close" if span % 2 == 1 else "open"
        anchor = anchors.get(letter)
        if anchor is None:
            anchor = previous if previous is not None else home
            anchors[letter] = anchor
        notes = _realise(
            plan,
            motif,
            start_bar=start_bar,
            limit=limit,
            anchor=anchor,
            cadence=cadence,
            settings=settings,
            rng=rng,
        )
        for offset, length, pitch, accent in notes:
            bar, in_bar = divmod(offset, beats_per_bar)
            index = start_bar - section.start_bar + int(bar)
            by_bar[index].append(LeadNote(in_bar, length, pitch, accent))
        if notes:
            previous = notes[-1][2]
    return SectionMelody(section_index, tuple(tuple(notes) for notes in by_bar))


def final_note(plan: SongPlan, style: Style, previous: int | None) -> LeadNote:
    """The song's last melody note: the tonic, held through the final bar."""
    melody = style.melody
    target = previous if previous is not None else (melody.low + melody.high) // 2
    pitch = nearest_tone(target, (plan.key.tonic,), melody.low, melody.high)
    return LeadNote(0.0, plan.beats_per_bar - 0.25, pitch, 0.95)


def _new_motif(
    rng: random.Random, span_bars: int, beats_per_bar: int, settings: MelodySettings
) -> Motif:
    rhythm = _rhythm(rng, span_bars * beats_per_bar, beats_per_bar, settings)
    return Motif(rhythm, _contour(rng, len(rhythm), settings))


def _rhythm(
    rng: random.Random,
    span: float,
    beats_per_bar: int,
    settings: MelodySettings,
    after: float = 0.0,
) -> tuple[tuple[float, float], ...]:
    """Onsets on the style's grid, likelier on strong beats and with more density; legato
    lengths, some long notes cut short for air; a breath at the end. Starts at ``after``.
    """
    unit = 0.5 if settings.unit == "eighth" else 0.25
    usable = span - min(_BREATH, span / 4)
    strong = strong_beats(beats_per_bar)
    onsets = [after]
    position = after + unit
    while position < usable - 1e-9:
        in_bar = position % beats_per_bar
        if in_bar in strong:
            weight = 1.0 if in_bar == 0 else 0.85
        elif in_bar.is_integer():
            weight = 0.6
        elif (in_bar * 2).is_integer():
            weight = 0.4
        else:
            weight = 0.25
        if rng.random() < min(0.95, settings.density * weight * 1.7):
            onsets.append(position)
        position += unit
    beat = math.floor(after) + 1.0
    while len(onsets) < 3 and beat < usable:
        if beat not in onsets:
            onsets = sorted([*onsets, beat])
        beat += 1.0
    rhythm = []
    for onset, following in zip(onsets, [*onsets[1:], None], strict=True):
        length = (following if following is not None else min(usable, onset + 2.0)) - onset
        if following is not None and length >= 1.5 and rng.random() < 0.35:
            length = max(unit, round(length / 2 / unit) * unit)
        rhythm.append((onset, length))
    return tuple(rhythm)


def _contour(rng: random.Random, notes: int, settings: MelodySettings) -> tuple[int, ...]:
    """Pool steps between ``notes`` notes: mostly steps in an arch (or a dip), some leaps,
    each leap followed by a step back, now and then a repeated note.
    """
    arch = rng.random() < 0.7
    steps: list[int] = []
    for index in range(notes - 1):
        tendency = 1 if (index < (notes - 1) / 2) == arch else -1
        if steps and abs(steps[-1]) >= 2:
            step = -1 if steps[-1] > 0 else 1
        elif rng.random() < settings.leap:
            step = tendency * rng.choice((2, 3))
        elif rng.random() < 0.15 and (not steps or steps[-1] != 0):
            step = 0  # a repeated note, never two in a row
        else:
            step = tendency if rng.random() < 0.75 else -tendency
        steps.append(step)
    return tuple(steps)


def _develop(
    motif: Motif, rng: random.Random, span_bars: int, beats_per_bar: int, settings: MelodySettings
) -> Motif:
    """A relative of ``motif``: sequenced, inverted, rhythmically varied or answered."""
    way = rng.choice(("sequence", "inversion", "rhythm", "answer"))
    if way == "sequence":
        return replace(motif, lift=rng.choice((-2, -1, 1, 2)))
    if way == "inversion":
        return Motif(motif.rhythm, tuple(-step for step in motif.steps), lift=1)
    if way == "rhythm":
        return _vary_rhythm(motif, rng)
    span = span_bars * beats_per_bar
    half = span / 2
    kept = [(onset, min(length, half - onset)) for onset, length in motif.rhythm if onset < half]
    answer = _rhythm(rng, span, beats_per_bar, settings, after=half)
    rhythm = (*kept, *answer)
    steps = (*motif.steps[: len(kept) - 1], *_contour(rng, len(answer) + 1, settings))
    return Motif(rhythm, steps[: len(rhythm) - 1])


def _vary_rhythm(motif: Motif, rng: random.Random) -> Motif:
    """Split a long note in two (a step apart), or merge two notes into one."""
    rhythm, steps = list(motif.rhythm), list(motif.steps)
    long_notes = [i for i, (_, length) in enumerate(rhythm[:-1]) if length >= 1.0]
    if long_notes:
        index = rng.choice(long_notes)
        onset, length = rhythm[index]
        rhythm[index : index + 1] = [(onset, length / 2), (onset + length / 2, length / 2)]
        steps.insert(index, rng.choice((1, -1)))
    elif len(rhythm) > 3:
        index = rng.randrange(len(rhythm) - 2)
        onset, length = rhythm[index]
        rhythm[index : index + 2] = [(onset, length + rhythm[index + 1][1])]
        steps[index : index + 2] = [steps[index] + steps[index + 1]]
    return Motif(tuple(rhythm), tuple(steps), motif.lift)


def _realise(
    plan: SongPlan,
    motif: Motif,
    *,
    start_bar: int,
    limit: float,
    anchor: int,
    cadence: Cadence,
    settings: MelodySettings,
    rng: random.Random,
) -> list[tuple[float, float, int, float]]:
    """The motif as (offset from ``start_bar``, length, pitch, accent) over the plan's chords,
    within ``limit`` beats.
    """
    beats_per_bar = plan.beats_per_bar
    strong = strong_beats(beats_per_bar)
    low, high = settings.low, settings.high
    rhythm = [(onset, length) for onset, length in motif.rhythm if onset < limit - 0.5]
    notes: list[tuple[float, float, int, float]] = []
    pitch = anchor
    for index, (onset, length) in enumerate(rhythm):
        chord = plan.chords[start_bar + int(onset // beats_per_bar)].chord
        pool = note_pool(settings.scale, plan.key, chord)
        in_bar = onset % beats_per_bar
        if index == 0:  # the motif's first note: a chord tone, moved ``lift`` chord tones
            tones = sorted(chord.chord_tones)
            start = nearest_tone(anchor, tones, low, high)
            pitch, accent = _fold(step_in_pool(start, motif.lift, tones), low, high), 1.0
            notes.append((onset, min(onset + length, limit - 0.25) - onset, pitch, accent))
            continue
        step = motif.steps[index - 1]
        target = _fold(step_in_pool(pitch, step, pool), low, high)
        if index == len(rhythm) - 1:
            pitch, accent = nearest_tone(target, _stable(chord, cadence), low, high), 0.9
        elif in_bar in strong or length >= 1.0:
            pitch = _chord_tone_toward(target, pitch, step, chord, low=low, high=high)
            accent = 1.0 if in_bar in strong else 0.9
        else:
            pitch, accent = target, 0.8
        end = min(onset + length, limit - 0.25)
        notes.append((onset, end - onset, pitch, accent))
    if settings.chromatic:
        _approach_chromatically(notes, strong, beats_per_bar, settings, rng)
    return notes


def _approach_chromatically(
    notes: list[tuple[float, float, int, float]],
    strong: frozenset[float],
    beats_per_bar: int,
    settings: MelodySettings,
    rng: random.Random,
) -> None:
    """Some short weak-beat notes that lead straight into a strong beat become a semitone
    approach to it (from below when the line rises): the jazz and blues player's enclosure.
    """
    for index in range(len(notes) - 1):
        onset, length, pitch, accent = notes[index]
        following_onset, _, following, _ = notes[index + 1]
        leads_in = abs(onset + length - following_onset) < 1e-9
        weak = onset % beats_per_bar not in strong and length <= 0.5
        lands = following_onset % beats_per_bar in strong
        if leads_in and weak and lands and rng.random() < settings.chromatic:
            approach = following - 1 if pitch <= following else following + 1
            if settings.low <= approach <= settings.high:
                notes[index] = (onset, length, approach, accent)


def _chord_tone_toward(
    target: int, previous: int, step: int, chord: Chord, *, low: int, high: int
) -> int:
    """The chord tone nearest ``target``; if the contour moves but that tone would repeat the
    previous note, the next chord tone in the contour's direction instead.
    """
    tone = nearest_tone(target, chord.chord_tones, low, high, prefer_up=step >= 0)
    if step == 0 or tone != previous:
        return tone
    moved = _fold(
        step_in_pool(previous, 1 if step > 0 else -1, sorted(chord.chord_tones)), low, high
    )
    return moved if low <= moved <= high else tone


def _stable(chord: Chord, cadence: Cadence) -> tuple[int, ...]:
    """Tones a phrase may end on: the root ending the section, root or third closing a phrase,
    third or fifth leaving it open.
    """
    tones = {
        "final": (chord.root,),
        "close": (chord.root, chord.third),
        "open": (chord.third, chord.fifth),
    }[cadence]
    stable = tuple(tone for tone in tones if tone is not None)
    return stable or chord.chord_tones


def _fold(pitch: int, low: int, high: int) -> int:
    """``pitch`` moved by octaves into [low, high]."""
    while pitch > high:
        pitch -= 12
    while pitch < low:
        pitch += 12
    return pitch

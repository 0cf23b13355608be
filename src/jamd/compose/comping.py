"""Keys and pad: voice-led chords, comped in the style's rhythm or held.

Keys voice each bar's chord with the least movement from the last voicing, then play it on a
comping rhythm chosen by energy (sparse to dense): as a block, strummed (guitar: down-strokes on
the beat, up-strokes off it), broken up and down (arpeggio), low-high-middle-high (Alberti), or as
a power chord (root, fifth, octave). The pad holds each chord for as long as it lasts (up to four
bars, within a section), voice-led in its own register.
"""

import random
from dataclasses import replace

from jamd.compose.events import NoteEvent, Part
from jamd.compose.groove import LEVELS, Bar, energy_index, hits, velocity
from jamd.styles.model import CompStyle
from jamd.theory import Chord, nearest, voice_lead

_STRUM_SPREAD = 0.02
"""Beats between the strings of a strum: a deliberate feel, not timing jitter."""
_PAD_MAX_BARS = 4
_PAD_RELEASE = 0.05
_GUITAR = "keys/guitar"


def keys_bar(
    bar: Bar, intensity: float, patch: str, previous: tuple[int, ...] | None
) -> tuple[list[NoteEvent], tuple[int, ...]]:
    """One bar of keys; returns the notes and the voicing (for the next bar's voice leading)."""
    comping = bar.style.comping
    style, rhythms = comping.for_kind(bar.section.kind)
    rng = bar.rng(Part.KEYS)
    if style is CompStyle.POWER:
        chord = bar.chord
        root = nearest(chord.root, comping.low + 5, comping.low, comping.high - 12)
        fifth = (chord.fifth if chord.fifth is not None else chord.root + 7) - chord.root
        voicing: tuple[int, ...] = (root, root + fifth % 12, root + 12)
    else:
        voicing = voice_lead(
            previous,
            coloured(bar.chord) if comping.colour else bar.chord,
            voices=comping.voices,
            low=comping.low,
            high=comping.high,
            omit_root=comping.omit_root,
        )
    if bar.is_final:
        vel = velocity(LEVELS["X"], intensity, rng)
        return [
            bar.note(Part.KEYS, 0.0, bar.beats - _PAD_RELEASE, pitch, vel) for pitch in voicing
        ], voicing

    if comping.vary == "bar":
        choice = energy_index(len(rhythms), bar.section.energy)
        rhythm = rhythms[rng.choice(range(max(0, choice - 1), min(len(rhythms), choice + 2)))]
    else:
        rhythm = rhythms[energy_index(len(rhythms), bar.section.energy)]
    if style is CompStyle.BLOCK and patch == _GUITAR:
        style = CompStyle.STRUM
    return _comp(bar, style, rhythm, voicing, intensity=intensity, rng=rng), voicing


def _comp(
    bar: Bar,
    style: CompStyle,
    rhythm: str,
    voicing: tuple[int, ...],
    *,
    intensity: float,
    rng: random.Random,
) -> list[NoteEvent]:
    events: list[NoteEvent] = []
    sequence = _broken_order(style, len(voicing))
    for index, hit in enumerate(hits(rhythm)):
        offset = hit.step * bar.step
        length = hit.steps * bar.step
        vel = velocity(LEVELS[hit.level], intensity, rng)
        if sequence:
            pitch = voicing[sequence[index % len(sequence)]]
            events.append(bar.note(Part.KEYS, offset, length, pitch, vel))
            continue
        spread = _STRUM_SPREAD if style is CompStyle.STRUM else 0.0
        upstroke = style is CompStyle.STRUM and offset % 1.0 != 0.0
        order = reversed(voicing) if upstroke else voicing
        for string, pitch in enumerate(order):
            delay = spread * string
            soft = max(1, vel - 2 * string)
            events.append(bar.note(Part.KEYS, offset + delay, length - delay, pitch, soft))
    return events


def coloured(chord: Chord) -> Chord:
    """The chord with a major ninth added, if it is a seventh chord with a perfect fifth (the
    ninth a jazz pianist adds; half-diminished and diminished chords stay as they are).
    """
    if chord.seventh is None or chord.fifth != (chord.root + 7) % 12 or chord.tensions:
        return chord
    return replace(chord, intervals=(*chord.intervals, 14))


def _broken_order(style: CompStyle, voices: int) -> tuple[int, ...]:
    """Which voice each successive hit plays, for the broken-chord styles (empty: all voices)."""
    if style is CompStyle.ARPEGGIO:
        return (*range(voices), *range(voices - 2, 0, -1))
    if style is CompStyle.ALBERTI:
        return (0, voices - 1, voices // 2, voices - 1)
    return ()


def pad_bar(
    bar: Bar, intensity: float, previous: tuple[int, ...] | None, *, restrike: bool = False
) -> tuple[list[NoteEvent], tuple[int, ...] | None]:
    """The pad's chord if one starts in this bar (held to the chord's end), else nothing.

    ``restrike``: whatever the pad held into this bar was cut, so it plays the chord again.
    """
    plan = bar.plan
    held = 0
    while (
        not restrike
        and bar.index - held - 1 >= bar.section.start_bar
        and plan.chords[bar.index - held - 1].chord == bar.chord
    ):
        held += 1
    if held % _PAD_MAX_BARS:
        return [], previous
    remaining = 1
    while (
        remaining < _PAD_MAX_BARS
        and bar.index + remaining < bar.section.end_bar
        and plan.chords[bar.index + remaining].chord == bar.chord
    ):
        remaining += 1
    pad = bar.style.pad
    voicing = voice_lead(previous, bar.chord, voices=pad.voices, low=pad.low, high=pad.high)
    vel = velocity(LEVELS["x"] * 0.85, intensity, bar.rng(Part.PAD))
    length = remaining * bar.beats - _PAD_RELEASE
    return [bar.note(Part.PAD, 0.0, length, pitch, vel) for pitch in voicing], voicing

"""Bass: lines that follow the chords, in the style's manner.

- ``root``: the chord's bass note (its inversion's, for slash chords) on every onset.
- ``root_fifth``: root and fifth alternating (country boom-chick), walking up into a new chord.
- ``octave``: root and its octave alternating (disco, house).
- ``walking``: quarter notes: the root on beat 1, chord tones on strong beats, scale steps
  between, and a chromatic, dominant or scale approach into the next bar's root.
- ``boogie``: root, third, fifth, sixth up and seventh, sixth, fifth, third down, in eighths.
- ``glide``: 808 bass locked to the kick. A glide is encoded as legato: the note lasts past the
  next note's start, and the engine's monophonic bass voice slides into a note that starts
  before the previous one ends. Notes that should not glide end just before the next.
"""

import random
from dataclasses import dataclass

from jamd.compose.drums import groove_grids
from jamd.compose.events import NoteEvent, Part
from jamd.compose.groove import LEVELS, Bar, hits, velocity
from jamd.compose.harmony import note_pool, step_in_pool
from jamd.styles.model import REGISTERS, BassStyle
from jamd.theory import Chord, nearest

LOW, HIGH = REGISTERS["bass"]
_HOME = 38
"""Where roots gravitate (D2): low enough to be bass, high enough to be heard."""
_ROOTS_HIGH = 48
_GLIDE_OVERLAP = 0.12
_DETACH = 0.06
"""Beats of air between notes that do not glide or tie."""


@dataclass(frozen=True, slots=True)
class _Onset:
    offset: float
    length: float
    level: str


def bass_bar(bar: Bar, intensity: float, previous: int | None) -> tuple[list[NoteEvent], int]:
    """One bar of bass; returns its notes and the last pitch played (for the next bar)."""
    rng = bar.rng(Part.BASS)
    chord = bar.chord
    root = root_note(chord.bass, previous)
    if bar.is_final:
        vel = velocity(LEVELS["X"], intensity, rng)
        return [bar.note(Part.BASS, 0.0, bar.beats - _DETACH, root, vel)], root

    style, rhythm = bar.style.bass.for_kind(bar.section.kind)
    if style is BassStyle.WALKING:
        line = _walking(bar, root, rng)
    else:
        onsets = _onsets(bar, rhythm)
        pitches = _pitches(bar, style, root, onsets, rng)
        line = list(zip(onsets, pitches, strict=True))
        if style is BassStyle.GLIDE:
            line = _glide(bar, line, rng)
    events = [
        bar.note(
            Part.BASS,
            onset.offset,
            onset.length,
            pitch,
            velocity(LEVELS[onset.level], intensity, rng),
        )
        for onset, pitch in line
    ]
    return events, line[-1][1] if line else root


def root_note(pitch_class: int, previous: int | None) -> int:
    """The chord's root in the bass register: straight on if the last note leads into it (a
    step away), else near the last note but drawn toward home, so lines never drift off.
    """
    if previous is None:
        return nearest(pitch_class, _HOME, LOW, _ROOTS_HIGH)
    led_into = nearest(pitch_class, previous, LOW, HIGH - 3)
    if abs(led_into - previous) <= 2:
        return led_into
    return nearest(pitch_class, (previous + _HOME) // 2, LOW, _ROOTS_HIGH)


def _onsets(bar: Bar, rhythm: str) -> list[_Onset]:
    if rhythm == "beats":
        return [
            _Onset(float(beat), 1.0 - _DETACH, "X" if beat == 0 else "x")
            for beat in range(bar.beats)
        ]
    if rhythm == "kick":
        kicks = hits(groove_grids(bar).get("kick", "")) or hits("X")
        starts = [hit.step * bar.step for hit in kicks]
        ends = [*starts[1:], float(bar.beats)]
        return [
            _Onset(s, e - s - _DETACH, hit.level)
            for s, e, hit in zip(starts, ends, kicks, strict=True)
        ]
    return [_Onset(hit.step * bar.step, hit.steps * bar.step, hit.level) for hit in hits(rhythm)]


def _pitches(
    bar: Bar, style: BassStyle, root: int, onsets: list[_Onset], rng: random.Random
) -> list[int]:
    chord = bar.chord
    fifth = chord.fifth if chord.fifth is not None else (chord.root + 7) % 12
    if style is BassStyle.ROOT_FIFTH:
        low_fifth = nearest(fifth, root - 5, LOW, HIGH)
        pitches = [root if index % 2 == 0 else low_fifth for index in range(len(onsets))]
        return _walk_up(bar, pitches, onsets, rng)
    # Figures that climb from the root start from its lower octave when there is one.
    low_root = root - 12 if root - 12 >= LOW else root
    if style is BassStyle.OCTAVE:
        return [low_root + 12 * (index % 2) for index in range(len(onsets))]
    if style is BassStyle.BOOGIE:
        return [low_root + _boogie_step(chord, onset.offset) for onset in onsets]
    return [root] * len(onsets)


def _boogie_step(chord: Chord, offset: float) -> int:
    """Semitones above the root of the boogie figure's note at ``offset`` (one per eighth)."""
    third = ((chord.third if chord.third is not None else chord.root + 4) - chord.root) % 12
    seventh = ((chord.seventh if chord.seventh is not None else chord.root + 10) - chord.root) % 12
    figure = (0, third, 7, 9, seventh, 9, 7, third)
    return figure[int(offset * 2) % len(figure)]


def _walk_up(bar: Bar, pitches: list[int], onsets: list[_Onset], rng: random.Random) -> list[int]:
    """Before a chord change, the last note may step toward the new root (a walk-up)."""
    following = bar.next_chord
    if following is None or following.root == bar.chord.root or len(pitches) < 2:
        return pitches
    if onsets[-1].offset < bar.beats - 1 or rng.random() < 0.5:
        return pitches
    target = root_note(following.bass, pitches[-1])
    pool = note_pool("key", bar.plan.key, following)
    pitches[-1] = step_in_pool(target, -1 if target > pitches[-2] else 1, pool)
    return pitches


def _walking(bar: Bar, root: int, rng: random.Random) -> list[tuple[_Onset, int]]:
    """A bar of walking bass: root, a line toward the next root, an approach note."""
    beats = bar.beats
    chord = bar.chord
    following = bar.next_chord or chord
    target = root_note(following.bass, root)
    if target == root and root + 12 <= HIGH - 3 and rng.random() < 0.5:
        target = root + 12  # same root next bar: walk up to the octave
    approach = _approach(bar, following, target, root, rng)
    pool = note_pool("key", bar.plan.key, chord)
    distance = abs(approach - root)
    # A short way to go (or none): arch over it, up a fifth or so and back.
    rise = (7 - distance) * (1 if root + 7 <= HIGH else -1) if distance < 5 else 0
    line = [root]
    for beat in range(1, beats - 1):
        share = beat / (beats - 1)
        desired = root + (approach - root) * share + rise * (1 - abs(2 * share - 1))
        desired += rng.choice((-1, 0, 0, 1))
        tones = chord.chord_tones if beat % 2 == 0 else pool
        avoid = {root, line[-1], approach}
        options = [n for n in range(LOW, HIGH + 1) if n % 12 in tones and n not in avoid]
        line.append(min(options, key=lambda n: (abs(n - desired), n)))
    if beats > 1:
        line.append(approach)
    return [
        (_Onset(float(beat), 1.0 - _DETACH, "X" if beat == 0 else "x"), pitch)
        for beat, pitch in enumerate(line)
    ]


def _approach(bar: Bar, following: Chord, target: int, root: int, rng: random.Random) -> int:
    """The note before the next root: a semitone off it, its dominant, or a scale step; never
    the note the bar started on.
    """
    below = target > root or (target == root and rng.random() < 0.5)
    kind = rng.choices(("chromatic", "dominant", "scale"), weights=(4, 2, 3))[0]
    if kind == "dominant":
        dominant = (following.root + 7) % 12
        note = nearest(dominant, target - 5 if target - 5 >= LOW else target + 7, LOW, HIGH)
    elif kind == "scale":
        note = step_in_pool(target, -1 if below else 1, note_pool("key", bar.plan.key, following))
    else:
        note = target - 1 if below else target + 1
    if note == root or not LOW <= note <= HIGH:
        note = target + 1 if below else target - 1
    return max(LOW, min(HIGH, note))


def _glide(
    bar: Bar, line: list[tuple[_Onset, int]], rng: random.Random
) -> list[tuple[_Onset, int]]:
    """808 phrasing: mostly the root, sometimes a slide up an octave or to the fifth and back;
    the last note may slide into the next bar's root.
    """
    glide = bar.style.bass.glide
    fifth = (bar.chord.fifth if bar.chord.fifth is not None else bar.chord.root + 7) % 12
    shaped: list[tuple[_Onset, int]] = []
    for index, (onset, root) in enumerate(line):
        pitch = root
        if index > 0 and rng.random() < glide:
            octave = root + 12 if root + 12 <= HIGH else root
            pitch = rng.choice((octave, nearest(fifth, root, LOW, HIGH)))
            previous_onset, previous_pitch = shaped[-1]
            if previous_pitch != pitch:
                slide = onset.offset - previous_onset.offset + _GLIDE_OVERLAP
                shaped[-1] = (
                    _Onset(previous_onset.offset, slide, previous_onset.level),
                    previous_pitch,
                )
        shaped.append((onset, pitch))
    following = bar.next_chord
    if following is not None and following.bass != bar.chord.bass and rng.random() < glide:
        last_onset, last_pitch = shaped[-1]
        slide = bar.beats - last_onset.offset + _GLIDE_OVERLAP
        shaped[-1] = (_Onset(last_onset.offset, slide, last_onset.level), last_pitch)
    return shaped

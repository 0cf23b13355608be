"""What one MIDI file says about its style: tempo, meter, key, chords by bar, drum grooves.

``analyse(path)`` reads a Standard MIDI File (``jamd.training.smf``: mido's reading rules,
without a mido object per event) and returns its features in the store's vocabulary
(``jamd.store.records.Sample``). It runs in the MIDI library's worker processes, one file per
call, and depends on nothing but the file, so it is the same wherever it runs.

- **tempo**: the ``set_tempo`` value that covers the most ticks (the first one if the file has
  one; 120 BPM if none). **meter**: likewise for ``time_signature`` (4/4 if none). Bars are laid
  from each time signature change on.
- **key**: the duration-weighted pitch-class histogram of every note off channel 10, correlated
  with the Krumhansl-Kessler major and minor profiles in all 12 transpositions; the best wins.
  ``key_confidence`` is the margin between the best correlation and the runner-up's (0..1):
  near 0 the file could as well be in another key.
- **progression**: per bar, the pitch classes sounding in it, weighted by how long they sound,
  bass notes (below C3, or on a channel whose program is a bass, GM 33-40) twice, matched
  against chord templates (``_TEMPLATES``) and named as a Roman numeral relative to the key,
  spelled as the style files write them ("I7", "ii7", "iiø7", "bVII", "#iv°7"); "" for a bar
  where nothing pitched sounds.
- **drums**: channel 10 onsets per piece (``jamd.styles.model.DRUM_NOTES``' names; other GM
  notes go to the nearest piece, ``_DRUM_PIECES``), quantised to sixteenths, so a 4/4 bar has
  16 steps, 3/4 and 6/8 12, 5/4 20: the grid the style files use. A step's weight is the
  fraction of bars with any drum onset that have this piece on this step. Bars in a meter other
  than the main one are left out of the grooves.
- **density**: notes per quarter-note beat, every channel; **bars**: bars from the start to the
  last note's end.
- **energy** = 0.5 * mean velocity / 127 + 0.5 * density / (density + 4): half from how hard
  notes are played, half from how many there are (4 notes a beat is half way).

A file that cannot be read raises ``MidiFileError`` whose ``reason`` is one of a few short
strings (``REASONS``, or ``"unreadable: <why>"``), so the library can count them.
"""

import os
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from mido.midifiles.meta import KeySignatureError

from jamd.styles.model import DRUM_NOTES
from jamd.theory import QUALITY_INTERVALS, Mode
from jamd.training import smf

MAX_BYTES = 1 << 20
"""Larger files are skipped as "too large": ``smf.read`` takes 1 to 2 µs an event (some
350,000 events in a MiB), so this bounds one file at about a second of a worker's time (real
songs are mostly under 100 kB)."""
MAX_BARS = 2000

NOT_MIDI = "not a MIDI file"
TRUNCATED = "truncated"
CORRUPT = "corrupt"
NO_NOTES = "no notes"
TOO_LARGE = "too large"
SMPTE = "SMPTE time (not supported)"
REASONS = (NOT_MIDI, TRUNCATED, CORRUPT, NO_NOTES, TOO_LARGE, SMPTE)
"""Why a file is skipped; an ``OSError`` reading it is ``"unreadable: <strerror>"``."""

DRUM_CHANNEL = 9
_BASS_BELOW = 48  # C3
_BASS_PROGRAMS = range(32, 40)  # GM 33-40, counted from 0
_BASS_WEIGHT = 2.0
_NOTE_OFF, _NOTE_ON, _PROGRAM_CHANGE = 0x80, 0x90, 0xC0  # status bytes' high nibbles
_DEFAULT_TEMPO = 500_000  # microseconds per beat: 120 BPM
_STEPS_PER_BEAT = 4

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

# Chord templates, plainest first (a tie goes to the earlier), and how each is written as a
# numeral: (chord quality, uppercase degree?, numeral suffix). A power chord reads as major.
_TEMPLATES: tuple[tuple[str, bool, str], ...] = (
    ("", True, ""),
    ("m", False, ""),
    ("5", True, ""),
    ("7", True, "7"),
    ("m7", False, "7"),
    ("maj7", True, "maj7"),
    ("dim", False, "°"),
    ("m7b5", False, "ø7"),
    ("dim7", False, "°7"),
    ("aug", True, "+"),
    ("sus4", True, "sus4"),
    ("sus2", True, "sus2"),
    ("7sus4", True, "7sus4"),
    ("6", True, "add6"),
    ("m6", False, "add6"),
    ("mMaj7", False, "maj7"),
)
_SPELLING = {name: (upper, suffix) for name, upper, suffix in _TEMPLATES}
# Degrees measured on the tonic's major scale (the style files' convention), per semitone above
# the tonic; the tritone is #IV under a minor-family chord (#iv°7) and bV under a major one.
_DEGREES = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")
_TRITONE_MAJOR = "bV"
# A template tone with less than this share of its fair part of the bar counts as missing.
_PRESENT = 0.5
_MISSING_COST = 3.0
_ROOT_IN_BASS_BONUS = 0.3
_SIMPLER_FIRST = 1e-3
_FIRST_CHORD_BONUS = 0.15
_LAST_CHORD_BONUS = 0.05

# GM percussion notes DRUM_NOTES lacks -> the piece that plays their part; others go to the
# piece with the nearest note number.
_GM_EXTRA = {
    35: "kick",  # acoustic bass drum
    40: "snare",  # electric snare
    52: "crash",  # chinese cymbal
    55: "crash",  # splash
    57: "crash",  # crash 2
    59: "ride",  # ride 2
    58: "cowbell",  # vibraslap
    60: "tom_high",  # bongos, congas, timbales
    61: "tom_mid",
    62: "tom_high",
    63: "tom_mid",
    64: "tom_low",
    65: "tom_high",
    66: "tom_low",
    67: "cowbell",  # agogos
    68: "cowbell",
    69: "tambourine",  # cabasa, maracas
    70: "tambourine",
    73: "tambourine",  # guiros
    74: "tambourine",
    76: "claves",  # wood blocks
    77: "claves",
    80: "ride_bell",  # triangles
    81: "ride_bell",
}


def _drum_pieces() -> dict[int, str]:
    by_note = {note: piece for piece, note in DRUM_NOTES.items()}
    numbers = sorted(by_note)
    table: dict[int, str] = {}
    for note in range(128):
        if note in by_note:
            table[note] = by_note[note]
        elif note in _GM_EXTRA:
            table[note] = _GM_EXTRA[note]
        else:
            table[note] = by_note[min(numbers, key=lambda known: (abs(known - note), known))]
    return table


_DRUM_PIECES = _drum_pieces()
_PIECES = sorted(set(_DRUM_PIECES.values()))
_PIECE_OF_NOTE = np.array([_PIECES.index(_DRUM_PIECES[note]) for note in range(128)])


class MidiFileError(Exception):
    """A file the library skips; ``reason`` says why in a few words (for the counts)."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason


def numeral(root_above_tonic: int, quality: str) -> str:
    """A chord named by its root's distance from the tonic and its quality (a
    ``QUALITY_INTERVALS`` key), as the style files write it: (10, "7") is "bVII7"."""
    spelling = _SPELLING.get(quality)
    if spelling is None:
        known = ", ".join(repr(name) for name in _SPELLING)
        raise ValueError(f"quality must be one of {known}, got {quality!r}")
    upper, suffix = spelling
    degree = _DEGREES[root_above_tonic % 12]
    if root_above_tonic % 12 == 6 and upper:
        degree = _TRITONE_MAJOR
    if not upper:
        degree = degree.lower()  # the accidental stays: "bvii", "#iv"
    return degree + suffix


def analyse(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The features of one MIDI file (module docstring), or ``MidiFileError``."""
    data = _read(Path(path), max_bytes)
    midi = _parse(data)
    return _features(midi)


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > max_bytes:
                raise MidiFileError(TOO_LARGE)
            data = file.read(max_bytes + 1)
    except IsADirectoryError as error:
        raise MidiFileError(f"unreadable: {error.strerror}") from error
    except OSError as error:
        raise MidiFileError(f"unreadable: {error.strerror or error}") from error
    if len(data) > max_bytes:
        raise MidiFileError(TOO_LARGE)
    return data


def _parse(data: bytes) -> smf.MidiData:
    if not data.startswith(b"MThd"):
        raise MidiFileError(NOT_MIDI)
    if len(data) < 14:
        raise MidiFileError(TRUNCATED)
    try:
        return smf.read(data)
    except EOFError as error:
        raise MidiFileError(TRUNCATED) from error
    except (
        OSError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        struct.error,
        KeySignatureError,
    ) as error:
        raise MidiFileError(CORRUPT) from error


def _features(midi: smf.MidiData) -> dict[str, Any]:
    ticks_per_beat = midi.ticks_per_beat
    if ticks_per_beat <= 0:
        raise MidiFileError(SMPTE)
    notes, tempos, meters, end = _events(midi)
    if not notes:
        raise MidiFileError(NO_NOTES)
    table = np.array(notes, dtype=np.int64)  # start, end, note, velocity, channel, bass
    last = int(table[:, 1].max())
    tempo = _longest(tempos, _DEFAULT_TEMPO, max(last, end))
    numerator, denominator = _longest(meters, (4, 4), max(last, end))
    bar_starts, bar_meters = _bars(meters, ticks_per_beat, last)
    if len(bar_starts) > MAX_BARS:
        raise MidiFileError(TOO_LARGE)

    pitched = table[table[:, 4] != DRUM_CHANNEL]
    drums = table[table[:, 4] == DRUM_CHANNEL]
    chords = _chords(pitched, bar_starts, last)
    key, mode, confidence = _key(pitched, chords)
    progression = ["" if chord is None else numeral(chord[0] - key, chord[1]) for chord in chords]
    grooves = _grooves(drums, bar_starts, bar_meters, (numerator, denominator), ticks_per_beat)
    beats = max(last / ticks_per_beat, 1.0)
    density = len(table) / beats
    velocity = float(table[:, 3].mean()) / 127
    energy = 0.5 * velocity + 0.5 * density / (density + 4)
    return {
        "tempo": round(60_000_000 / tempo, 2),
        "meter": [numerator, denominator],
        "time_signature": numerator,
        "key": key,
        "mode": 1 if mode is Mode.MAJOR else 0,
        "key_confidence": round(confidence, 4),
        "progression": progression,
        "drums": grooves,
        "density": round(density, 3),
        "bars": len(bar_starts),
        "energy": round(min(max(energy, 0.0), 1.0), 4),
    }


Timed = list[tuple[int, Any]]


def _events(midi: smf.MidiData) -> tuple[list[tuple[int, ...]], Timed, Timed, int]:
    """Notes as (start, end, note, velocity, channel, is_bass), tempo and meter changes as
    (tick, value), and the last tick of any track. The one loop over every message."""
    notes: list[tuple[int, ...]] = []
    tempos: Timed = []
    meters: Timed = []
    programs: dict[int, int] = {}
    end = 0
    for track in midi.tracks:
        held: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for now, status, first, second in track.channel:
            kind, channel = status & 0xF0, status & 0x0F
            if kind == _NOTE_ON and second:
                held.setdefault((channel, first), []).append((now, second))
            elif kind in (_NOTE_OFF, _NOTE_ON):
                started = held.get((channel, first))
                if started:
                    start, velocity = started.pop(0)
                    notes.append(_note(start, now, first, velocity, channel, programs=programs))
            elif kind == _PROGRAM_CHANGE:
                programs.setdefault(channel, first)
        for now, message in track.meta:
            if message.type == "set_tempo":
                tempos.append((now, message.tempo))
            elif message.type == "time_signature":
                meters.append((now, (message.numerator, message.denominator)))
        for (channel, note), started in held.items():  # never released: they end with the track
            notes += [
                _note(start, track.end, note, velocity, channel, programs=programs)
                for start, velocity in started
            ]
        end = max(end, track.end)
    return notes, tempos, meters, end


def _note(
    start: int, end: int, note: int, velocity: int, channel: int, *, programs: dict[int, int]
) -> tuple[int, ...]:
    is_bass = note < _BASS_BELOW or programs.get(channel, -1) in _BASS_PROGRAMS
    return (start, max(end, start + 1), note, velocity, channel, int(is_bass))


def _longest(changes: Timed, default: Any, end: int) -> Any:
    """The value in force for the most ticks; the first one set, or ``default``, at tick 0."""
    if not changes:
        return default
    ordered = sorted(changes, key=lambda change: change[0])
    if ordered[0][0] > 0:
        ordered.insert(0, (0, ordered[0][1]))
    covered: Counter[Any] = Counter()
    for (at, value), (following, _) in zip(
        ordered, [*ordered[1:], (max(end, ordered[-1][0]), None)], strict=True
    ):
        covered[value] += following - at
    first_value = ordered[0][1]
    return max(covered, key=lambda value: (covered[value], value == first_value))


def _bars(
    meters: Timed, ticks_per_beat: int, last: int
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], list[tuple[int, int]]]:
    """Each bar's first tick and meter: bars laid end to end, a new one at each change."""
    ordered = dict(sorted(meters, key=lambda change: change[0]))  # the last at a tick wins
    if 0 not in ordered:
        ordered[0] = next(iter(ordered.values()), (4, 4))
    changes = sorted(ordered.items())
    starts: list[int] = []
    in_meter: list[tuple[int, int]] = []
    for index, (at, (numerator, denominator)) in enumerate(changes):
        until = changes[index + 1][0] if index + 1 < len(changes) else last
        length = max(1, round(ticks_per_beat * numerator * 4 / max(denominator, 1)))
        if until <= at:
            continue
        count = -(-(until - at) // length)
        if len(starts) + count > MAX_BARS:
            raise MidiFileError(TOO_LARGE)
        starts += range(at, at + count * length, length)
        in_meter += [(numerator, denominator)] * count
    return np.array(starts, dtype=np.int64), in_meter


_PROFILES = np.array(
    [np.roll(_MAJOR_PROFILE, tonic) for tonic in range(12)]
    + [np.roll(_MINOR_PROFILE, tonic) for tonic in range(12)]
)
_PROFILES_CENTRED = _PROFILES - _PROFILES.mean(axis=1, keepdims=True)
_KEY_MODES = [Mode.MAJOR] * 12 + [Mode.MINOR] * 12
_MINOR_THIRD = frozenset(name for name, upper, _ in _TEMPLATES if not upper)


def _key(
    pitched: np.ndarray[Any, Any], chords: list[tuple[int, str] | None]
) -> tuple[int, Mode, float]:
    """The best key by profile correlation, each key's score raised by ``_TONIC_CHORD_BONUS``
    when the first or the last chord is its tonic triad: a progression's pitch classes alone
    cannot tell A minor's i bVI bIII bVII from C major's vi IV I V."""
    if not len(pitched):
        return 0, Mode.MAJOR, 0.0
    histogram = np.bincount(
        pitched[:, 2] % 12, weights=(pitched[:, 1] - pitched[:, 0]).astype(float), minlength=12
    )
    centred = histogram - histogram.mean()
    spread = float(np.sqrt((centred**2).sum()))
    if spread == 0:
        return 0, Mode.MAJOR, 0.0
    scores = _PROFILES_CENTRED @ centred / (spread * np.sqrt((_PROFILES_CENTRED**2).sum(axis=1)))
    named = [chord for chord in chords if chord is not None]
    if named:
        for (root, quality), bonus in (
            (named[0], _FIRST_CHORD_BONUS),
            (named[-1], _LAST_CHORD_BONUS),
        ):
            scores[root + (12 if quality in _MINOR_THIRD else 0)] += bonus
    best, runner_up = np.argsort(-scores)[:2]
    margin = float(scores[best] - scores[runner_up])
    return int(best) % 12, _KEY_MODES[int(best)], min(max(margin, 0.0), 1.0)


_TEMPLATE_MATRIX = np.array(
    [
        [
            1.0 if (pc - root) % 12 in {step % 12 for step in QUALITY_INTERVALS[name]} else 0.0
            for pc in range(12)
        ]
        for name, _, _ in _TEMPLATES
        for root in range(12)
    ]
)
_TEMPLATE_SIZES = _TEMPLATE_MATRIX.sum(axis=1)
_TEMPLATE_ROOTS = np.array([root for _ in _TEMPLATES for root in range(12)])
_TEMPLATE_RANKS = np.array([rank for rank in range(len(_TEMPLATES)) for _ in range(12)])


def _chords(
    pitched: np.ndarray[Any, Any], bar_starts: np.ndarray[Any, Any], last: int
) -> list[tuple[int, str] | None]:
    """Per bar, the chord's root pitch class and quality (module docstring), None where
    nothing pitched sounds."""
    bars = len(bar_starts)
    weights = np.zeros((bars, 12))
    bass = np.zeros((bars, 12))
    if len(pitched):
        starts, ends = pitched[:, 0], pitched[:, 1]
        first = np.searchsorted(bar_starts, starts, side="right") - 1
        final = np.searchsorted(bar_starts, ends - 1, side="right") - 1
        classes = pitched[:, 2] % 12
        is_bass = pitched[:, 5] == 1
        factor = np.where(is_bass, _BASS_WEIGHT, 1.0)
        single = first == final
        lengths = ends - starts
        np.add.at(weights, (first[single], classes[single]), lengths[single] * factor[single])
        bass_notes = single & is_bass
        np.add.at(bass, (first[bass_notes], classes[bass_notes]), lengths[bass_notes])
        bounds = np.append(bar_starts, max(last, int(bar_starts[-1]) + 1))
        for index in np.flatnonzero(~single):  # notes held over a bar line, a bar at a time
            for bar in range(int(first[index]), int(final[index]) + 1):
                overlap = min(int(ends[index]), int(bounds[bar + 1])) - max(
                    int(starts[index]), int(bounds[bar])
                )
                if overlap > 0:
                    weights[bar, classes[index]] += overlap * factor[index]
                    if is_bass[index]:
                        bass[bar, classes[index]] += overlap
    totals = weights.sum(axis=1)
    sounding = totals > 0
    shares = weights[sounding] / totals[sounding, None]
    inside = shares @ _TEMPLATE_MATRIX.T
    fair = _PRESENT / _TEMPLATE_SIZES
    missing = (
        np.maximum(fair[None, :, None] - shares[:, None, :], 0) * _TEMPLATE_MATRIX[None]
    ).sum(axis=2)
    bass_totals = bass[sounding].sum(axis=1, keepdims=True)
    bass_shares = np.divide(
        bass[sounding], bass_totals, out=np.zeros_like(bass[sounding]), where=bass_totals > 0
    )
    score = (
        inside
        - (1 - inside)
        - _MISSING_COST * missing
        + _ROOT_IN_BASS_BONUS * bass_shares[:, _TEMPLATE_ROOTS]
        - _SIMPLER_FIRST * _TEMPLATE_RANKS
    )
    found = iter(
        (int(_TEMPLATE_ROOTS[choice]), _TEMPLATES[int(_TEMPLATE_RANKS[choice])][0])
        for choice in score.argmax(axis=1)
    )
    return [next(found) if sounds else None for sounds in sounding]


def _grooves(
    drums: np.ndarray[Any, Any],
    bar_starts: np.ndarray[Any, Any],
    bar_meters: list[tuple[int, int]],
    meter: tuple[int, int],
    ticks_per_beat: int,
) -> dict[str, list[float]]:
    """Per piece, per sixteenth of the main meter's bar: the share of drum bars with a hit."""
    if not len(drums):
        return {}
    numerator, denominator = meter
    steps = max(1, round(_STEPS_PER_BEAT * numerator * 4 / denominator))
    step_ticks = ticks_per_beat / _STEPS_PER_BEAT
    onsets = drums[:, 0]
    bar = np.searchsorted(bar_starts, onsets, side="right") - 1
    step = np.rint((onsets - bar_starts[bar]) / step_ticks).astype(np.int64)
    spill = step >= steps  # just before the bar line: the next bar's first step
    bar = np.where(spill, bar + 1, bar)
    step = np.where(spill, 0, step)
    in_main = np.array([*(at == meter for at in bar_meters), False])  # past the last bar: no
    kept = in_main[bar]
    if not kept.any():
        return {}
    # each (piece, bar, step) once: two notes of one piece on a step are one hit
    bars = len(bar_starts)
    cells = np.unique((_PIECE_OF_NOTE[drums[kept, 2]] * bars + bar[kept]) * steps + step[kept])
    pieces, drum_bars = cells // (bars * steps), len(np.unique(cells // steps % bars))
    counts = np.zeros((len(_PIECES), steps), dtype=np.int64)
    np.add.at(counts, (pieces, cells % steps), 1)
    return {
        _PIECES[piece]: [round(int(count) / drum_bars, 4) for count in counts[piece]]
        for piece in np.unique(pieces)
    }

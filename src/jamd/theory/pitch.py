"""Pitch names, pitch classes and MIDI note numbers.

A pitch class is an int 0..11 with C = 0. Names are a letter A..G and accidentals (``#``/``b``,
or ``♯``/``♭``); octaves follow scientific pitch notation, so C4 is MIDI 60 and the octave number
belongs to the letter: B#3 is 60 and Cb4 is 59.
"""

import math
import re

from jamd.errors import InputError

PitchClass = int

LETTERS = "CDEFGAB"
NATURAL_PITCH_CLASSES = (0, 2, 4, 5, 7, 9, 11)
MIDI_RANGE = range(128)

_ACCIDENTAL_STEPS = {"#": 1, "b": -1}
_ONE_ACCIDENTAL = {-1: "b", 0: "", 1: "#"}
_UNICODE_ACCIDENTALS = str.maketrans({"♯": "#", "♭": "b"})
_PITCH_CLASS = re.compile(r"([A-Ga-g])(#{0,2}|b{0,2})")
_NOTE = re.compile(r"([A-Ga-g])(#{0,2}|b{0,2})(-?\d+)")
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def parse_pitch_class(name: str) -> PitchClass:
    """The pitch class of a note name without octave: "C#" and "Db" are both 1."""
    match = _PITCH_CLASS.fullmatch(name.strip().translate(_UNICODE_ACCIDENTALS))
    if match is None:
        raise InputError(
            f"cannot read pitch class {name!r}: expected a letter A..G with up to two sharps or "
            "two flats (#, b, ♯, ♭), e.g. C, F#, Bb, C##, Dbb"
        )
    letter, accidentals = match.groups()
    return _semitones_above_c(letter, accidentals) % 12


def parse_note(name: str) -> int:
    """The MIDI number of a note name with octave: "C4" is 60, "Bb3" is 58, "F#-1" is 6."""
    match = _NOTE.fullmatch(name.strip().translate(_UNICODE_ACCIDENTALS))
    if match is None:
        raise InputError(
            f"cannot read note {name!r}: expected a letter A..G, up to two sharps or two flats "
            "and an octave -1..9, e.g. C4, Bb3, F#-1"
        )
    letter, accidentals, octave = match.groups()
    midi = (int(octave) + 1) * 12 + _semitones_above_c(letter, accidentals)
    if midi not in MIDI_RANGE:
        raise InputError(f"note {name!r} is outside MIDI notes C-1 (0) .. G9 (127), got {midi}")
    return midi


def note_name(midi: int, *, flats: bool = False) -> str:
    """The name of a MIDI note with octave: 60 is "C4"; 58 is "A#3", or "Bb3" with flats."""
    if midi not in MIDI_RANGE:
        raise ValueError(f"MIDI note must be 0..127, got {midi}")
    names = _FLAT_NAMES if flats else _SHARP_NAMES
    return f"{names[midi % 12]}{midi // 12 - 1}"


def midi_to_hz(midi: float, a4: float = 440.0) -> float:
    """Equal-tempered frequency of a (possibly fractional) MIDI note, tuned to ``a4``."""
    return a4 * math.exp2((midi - 69) / 12)


def spell(pitch_class: PitchClass, letter: int) -> str:
    """Spell ``pitch_class`` on ``letter`` (C = 0 .. B = 6) with at most one accidental.

    Callers pass the letter music theory asks for (the third of D is an F-something); where that
    would need a double accidental (E## or Fbb) the nearest letter takes over, because jamd writes
    names a player reads at sight.
    """
    nearest_letters_first = (letter, letter + 1, letter - 1, letter + 2, letter - 2, letter + 3)
    return next(
        LETTERS[candidate % 7] + _ONE_ACCIDENTAL[alteration]
        for candidate in nearest_letters_first
        if (alteration := (pitch_class - NATURAL_PITCH_CLASSES[candidate % 7] + 6) % 12 - 6)
        in _ONE_ACCIDENTAL
    )


def _semitones_above_c(letter: str, accidentals: str) -> int:
    """Semitones from the C of the letter's octave: B# is 12, Cb is -1."""
    natural = NATURAL_PITCH_CLASSES[LETTERS.index(letter.upper())]
    return natural + sum(_ACCIDENTAL_STEPS[accidental] for accidental in accidentals)

"""Keys: a tonic and one of the seven modes of the major scale, read from what users type."""

import re
from dataclasses import dataclass
from enum import StrEnum

from jamd.errors import InputError
from jamd.theory.pitch import LETTERS, NATURAL_PITCH_CLASSES, PitchClass, spell


class Mode(StrEnum):
    """The seven modes of the major scale; users may also write ionian and aeolian."""

    MAJOR = "major"
    MINOR = "minor"
    DORIAN = "dorian"
    PHRYGIAN = "phrygian"
    LYDIAN = "lydian"
    MIXOLYDIAN = "mixolydian"
    LOCRIAN = "locrian"


MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)

# Which degree of its parent major scale each mode starts on (D dorian: degree 1 of C major).
_DEGREE_IN_PARENT_MAJOR = {
    Mode.MAJOR: 0,
    Mode.DORIAN: 1,
    Mode.PHRYGIAN: 2,
    Mode.LYDIAN: 3,
    Mode.MIXOLYDIAN: 4,
    Mode.MINOR: 5,
    Mode.LOCRIAN: 6,
}
MODE_INTERVALS: dict[Mode, tuple[int, ...]] = {
    mode: tuple((MAJOR_SCALE[(degree + step) % 7] - MAJOR_SCALE[degree]) % 12 for step in range(7))
    for mode, degree in _DEGREE_IN_PARENT_MAJOR.items()
}
_MINOR_FAMILY = frozenset({Mode.MINOR, Mode.DORIAN, Mode.PHRYGIAN, Mode.LOCRIAN})

# Letter steps above the tonic for notes outside the scale: the borrowed b3, b6, b7 and the
# raised 4 (V/V) read the same in every mode; the semitone above the tonic is the raised 1 (V/ii)
# in major modes and the Neapolitan b2 in minor ones.
_CHROMATIC_LETTER_STEPS = {1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 5, 9: 5, 10: 6, 11: 6}
_MINOR_SEMITONE_LETTER_STEP = 1

_MODE_WORDS = {
    "": Mode.MAJOR,
    "maj": Mode.MAJOR,
    "major": Mode.MAJOR,
    "ionian": Mode.MAJOR,
    "m": Mode.MINOR,
    "min": Mode.MINOR,
    "minor": Mode.MINOR,
    "aeolian": Mode.MINOR,
    **{mode.value: mode for mode in Mode},
}
_KEY_TEXT = re.compile(r"([A-Ga-g][#b]?)\s*([A-Za-z]*)")
_TONIC_NAME = re.compile(r"[A-G][#b]?")
_UNICODE_ACCIDENTALS = str.maketrans({"♯": "#", "♭": "b"})

# Tonic names a MIDI file's key signature can carry (what mido's KeySignature accepts).
_MIDI_MAJOR_KEYS = frozenset(
    ("C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb")
)
_MIDI_MINOR_KEYS = frozenset(
    ("A", "E", "B", "F#", "C#", "G#", "D#", "A#", "D", "G", "C", "F", "Bb", "Eb", "Ab")
)

# Both usual names of each black key; a key without a spelled tonic takes the one with fewer
# accidentals in its scale (Db major, C# minor), the first on a tie (F# major, Eb minor).
_TONIC_NAME_CHOICES = (
    ("C",),
    ("Db", "C#"),
    ("D",),
    ("Eb", "D#"),
    ("E",),
    ("F",),
    ("F#", "Gb"),
    ("G",),
    ("Ab", "G#"),
    ("A",),
    ("Bb", "A#"),
    ("B",),
)


@dataclass(frozen=True, slots=True)
class Key:
    """A tonic pitch class, a mode, and the tonic's name as the user spelled it ("Bb", "A#").

    Leave ``tonic_name`` empty to get the usual spelling of the tonic for that mode.
    """

    tonic: PitchClass
    mode: Mode
    tonic_name: str = ""

    def __post_init__(self) -> None:
        if self.tonic not in range(12):
            raise ValueError(f"tonic must be a pitch class 0..11, got {self.tonic}")
        if not self.tonic_name:
            object.__setattr__(self, "tonic_name", _usual_tonic_name(self.tonic, self.mode))
            return
        if _TONIC_NAME.fullmatch(self.tonic_name) is None:
            raise ValueError(
                f"tonic_name must be a letter A..G with an optional # or b, got {self.tonic_name!r}"
            )
        if _pitch_class_of_tonic(self.tonic_name) != self.tonic:
            raise ValueError(
                f"tonic_name {self.tonic_name!r} does not name pitch class {self.tonic}"
            )

    @property
    def scale(self) -> tuple[PitchClass, ...]:
        """The seven pitch classes of the key, tonic first."""
        return tuple((self.tonic + step) % 12 for step in MODE_INTERVALS[self.mode])

    @property
    def is_minor(self) -> bool:
        """True for the modes with a minor third: minor, dorian, phrygian, locrian."""
        return self.mode in _MINOR_FAMILY

    @property
    def name(self) -> str:
        return f"{self.tonic_name} {self.mode}"

    @property
    def tonic_letter(self) -> int:
        """The letter index (C = 0 .. B = 6) of the tonic's name: scale degrees count from it."""
        return LETTERS.index(self.tonic_name[0])

    def contains(self, pc: int) -> bool:
        """Whether a pitch class (or any MIDI note of it) belongs to the scale."""
        return pc % 12 in self.scale

    def spell(self, pc: int) -> str:
        """The name of a pitch class in this key: scale notes on their degree's letter (F# in D
        major, Gb in Db major), other notes as the usual borrowed or raised degree (b3, b6, b7, #4).
        """
        pitch_class = pc % 12
        scale = self.scale
        if pitch_class in scale:
            letter_step = scale.index(pitch_class)
        else:
            semitones = (pitch_class - self.tonic) % 12
            letter_step = _CHROMATIC_LETTER_STEPS[semitones]
            if semitones == 1 and self.is_minor:
                letter_step = _MINOR_SEMITONE_LETTER_STEP
        return spell(pitch_class, (self.tonic_letter + letter_step) % 7)

    def midi_key_signature(self) -> str:
        """The key name a MIDI key-signature event takes ("Bb", "Gm"); modes other than major and
        minor write their parent major's signature (D dorian writes C), as notation does.
        """
        if self.mode is Mode.MINOR:
            if self.tonic_name in _MIDI_MINOR_KEYS:
                return self.tonic_name + "m"
            return _usual_tonic_name(self.tonic, Mode.MINOR) + "m"
        degree = _DEGREE_IN_PARENT_MAJOR[self.mode]
        parent_tonic = (self.tonic - MAJOR_SCALE[degree]) % 12
        parent_name = spell(parent_tonic, (self.tonic_letter - degree) % 7)
        if parent_name in _MIDI_MAJOR_KEYS:
            return parent_name
        return _usual_tonic_name(parent_tonic, Mode.MAJOR)


def parse_key(text: str) -> Key:
    """Read a key as users type it: "C", "F#m", "Bb", "Eb minor", "D dorian", "Gb maj"."""
    match = _KEY_TEXT.fullmatch(text.strip().translate(_UNICODE_ACCIDENTALS))
    mode = _mode_named(match.group(2)) if match else None
    if match is None or mode is None:
        raise InputError(
            f"cannot read key {text!r}: expected a tonic C, C#, Db, ... B with an optional mode "
            "(m, min, minor, maj, major, dorian, phrygian, lydian, mixolydian, locrian, ionian, "
            "aeolian), e.g. C, F#m, Bb, Eb minor, D dorian"
        )
    tonic_name = match.group(1).capitalize()
    return Key(_pitch_class_of_tonic(tonic_name), mode, tonic_name)


def _mode_named(word: str) -> Mode | None:
    """Read "M" as major and "m" as minor, as chord symbols do; longer words in any case."""
    return Mode.MAJOR if word == "M" else _MODE_WORDS.get(word.lower())


def _pitch_class_of_tonic(name: str) -> PitchClass:
    alteration = {"": 0, "#": 1, "b": -1}[name[1:]]
    return (NATURAL_PITCH_CLASSES[LETTERS.index(name[0])] + alteration) % 12


def _usual_tonic_name(tonic: PitchClass, mode: Mode) -> str:
    return min(
        _TONIC_NAME_CHOICES[tonic], key=lambda name: _accidentals_in_scale(Key(tonic, mode, name))
    )


def _accidentals_in_scale(key: Key) -> int:
    """How many sharps or flats the key's scale needs when every degree keeps its own letter."""
    total = 0
    for step, pitch_class in enumerate(key.scale):
        natural = NATURAL_PITCH_CLASSES[(key.tonic_letter + step) % 7]
        total += abs((pitch_class - natural + 6) % 12 - 6)
    return total

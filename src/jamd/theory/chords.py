"""Chords from Roman numerals and from chord symbols, spelled in the key they come from.

Roman numerals, as styles write them::

    numeral    = [accidental] degree [quality] [extension | figure] ["/" numeral]
    accidental = b | #  (or ♭ | ♯)      lowers or raises the root a semitone
    degree     = I II III IV V VI VII   uppercase: major triad, lowercase: minor triad
    quality    = ° | o | dim            diminished triad; with 7 a diminished seventh
               | ø                      half-diminished seventh (ø and ø7 are the same)
               | + | aug                augmented triad; with 7 an augmented seventh
    extension  = 7                      dominant on uppercase, minor seventh on lowercase
               | maj7 | M7 | Δ | Δ7     major seventh
               | 9 | maj9 | M9 | Δ9 | 11 | 13
               | add6 | add9 | sus2 | sus4 | 7sus4
    figure     = 6 | 64                 triad in first / second inversion
               | 65 | 43 | 42 | 2      seventh chord in first / second / third inversion

Roots are measured on the tonic's major scale whatever the mode (the pop and Hooktheory
convention): I II III IV V VI VII lie 0 2 4 5 7 9 11 semitones above the tonic, so A minor writes
i, ii°, bIII, iv, v, bVI, bVII. A chord's quality comes from the numeral alone, never from the
scale, so a style means exactly what it writes. ``X/Y`` is an applied chord: X read in the major
key on Y's root (V7/ii in C is A7; V/V/V nests). jamd writes sixth chords ``add6`` because ``I6``
is a first-inversion triad.

Chord symbols: a root (C, F#, Bb, ...), a quality from ``QUALITY_INTERVALS`` or one of its
aliases, and an optional ``/bass``.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from jamd.errors import InputError
from jamd.theory.keys import MAJOR_SCALE, Key, Mode
from jamd.theory.pitch import LETTERS, PitchClass, parse_pitch_class, spell

# Semitones above the root of each quality, keyed by the suffix jamd writes after the root.
# 11 and 13 chords are stacked in thirds; the 13 leaves out the 11th, which clashes with the 3rd.
QUALITY_INTERVALS: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "m": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "5": (0, 7),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "mMaj7": (0, 3, 7, 11),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "aug7": (0, 4, 8, 10),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "m9": (0, 3, 7, 10, 14),
    "add9": (0, 4, 7, 14),
    "madd9": (0, 3, 7, 14),
    "11": (0, 4, 7, 10, 14, 17),
    "m11": (0, 3, 7, 10, 14, 17),
    "13": (0, 4, 7, 10, 14, 21),
    "m13": (0, 3, 7, 10, 14, 21),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "7sus4": (0, 5, 7, 10),
}
QUALITY_ALIASES = {
    "maj": "",
    "M": "",
    "min": "m",
    "-": "m",
    "°": "dim",
    "o": "dim",
    "+": "aug",
    "add6": "6",
    "min6": "m6",
    "M7": "maj7",
    "Δ": "maj7",
    "Δ7": "maj7",
    "min7": "m7",
    "-7": "m7",
    "mM7": "mMaj7",
    "m(maj7)": "mMaj7",
    "ø": "m7b5",
    "ø7": "m7b5",
    "min7b5": "m7b5",
    "°7": "dim7",
    "o7": "dim7",
    "+7": "aug7",
    "7#5": "aug7",
    "M9": "maj9",
    "Δ9": "maj9",
    "min9": "m9",
    "m(add9)": "madd9",
    "min11": "m11",
    "min13": "m13",
    "sus": "sus4",
    "7sus": "7sus4",
}
_SUFFIX_OF_INTERVALS = {intervals: suffix for suffix, intervals in QUALITY_INTERVALS.items()}

# How many letters above the root's letter each interval is spelled (a minor third of C is an E,
# Eb; a diminished fifth a G, Gb), but for the diminished seventh, which 9 also stands for.
_LETTER_STEPS_OF_INTERVAL = (0, 1, 1, 2, 2, 3, 4, 4, 4, 5, 6, 6)

_PITCH = r"[A-G](?:##|bb|#|b)?"
_SYMBOL = re.compile(rf"(?P<root>{_PITCH})(?P<quality>[^/]*)(?:/(?P<bass>{_PITCH}))?")
_SYMBOL_FORMS = (
    "expected a root C..B with an optional # or b, a quality (none, m, dim, aug, 5, 6, m6, 7, "
    "maj7, m7, mMaj7, m7b5, dim7, aug7, 9, maj9, m9, add9, madd9, 11, m11, 13, m13, sus2, sus4, "
    "7sus4) and an optional /bass, e.g. C, Dm7, G7/B, F#m7b5, Bbmaj7, Cdim7, A7sus4"
)

_NUMERAL = re.compile(
    r"(?P<accidental>[b#]?)"
    r"(?P<degree>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<quality>°|o|dim|ø|\+|aug)?"
    r"(?P<extension>7sus4|maj7|maj9|M7|M9|Δ7|Δ9|Δ|add6|add9|sus2|sus4|11|13|7|9)?"
    r"(?P<figure>64|65|43|42|6|2)?"
)
_NUMERAL_FORMS = (
    "expected an optional b or #, a numeral I..VII (uppercase major, lowercase minor), an "
    "optional °, o, dim, ø, + or aug, then an extension (7, maj7, M7, Δ, 9, maj9, 11, 13, add6, "
    "add9, sus2, sus4, 7sus4) or an inversion (6, 64, 65, 43, 42), and an optional /numeral for "
    "an applied chord, e.g. I, ii7, V65, bVII, iv, vii°7/V, V7/ii"
)
_DEGREES = ("I", "II", "III", "IV", "V", "VI", "VII")
_UNICODE_ACCIDENTALS = str.maketrans({"♯": "#", "♭": "b"})
_QUALITY_MARKS = {
    "°": "diminished",
    "o": "diminished",
    "dim": "diminished",
    "ø": "half-diminished",
    "+": "augmented",
    "aug": "augmented",
}
_EXTENSION_ALIASES = {"M7": "maj7", "Δ": "maj7", "Δ7": "maj7", "M9": "maj9", "Δ9": "maj9"}
# The chord symbol suffix each kind of triad takes with each extension.
_SUFFIXES_BY_KIND = {
    "major": {
        "": "",
        "7": "7",
        "maj7": "maj7",
        "9": "9",
        "maj9": "maj9",
        "11": "11",
        "13": "13",
        "add6": "6",
        "add9": "add9",
        "sus2": "sus2",
        "sus4": "sus4",
        "7sus4": "7sus4",
    },
    "minor": {
        "": "m",
        "7": "m7",
        "maj7": "mMaj7",
        "9": "m9",
        "11": "m11",
        "13": "m13",
        "add6": "m6",
        "add9": "madd9",
        "sus2": "sus2",
        "sus4": "sus4",
        "7sus4": "7sus4",
    },
    "diminished": {"": "dim", "7": "dim7"},
    "half-diminished": {"": "m7b5", "7": "m7b5"},
    "augmented": {"": "aug", "7": "aug7"},
}
# Figured bass: whether the figure asks for a seventh chord, and which chord tone is in the bass
# (1 the third, 2 the fifth, 3 the seventh).
_FIGURES = {"6": (False, 1), "64": (False, 2), "65": (True, 1), "43": (True, 2), "42": (True, 3)}
_FIGURES["2"] = _FIGURES["42"]


@dataclass(frozen=True, slots=True)
class Chord:
    """A chord as pitch classes: a root, the intervals stacked on it, the bass, and its symbol.

    ``intervals`` are semitones above the root, 0 first and rising; extensions stay above the
    octave (add9 is (0, 4, 7, 14)) so the stable tones and the colours can be told apart.
    """

    root: PitchClass
    intervals: tuple[int, ...]
    bass: PitchClass
    symbol: str

    def __post_init__(self) -> None:
        if self.root not in range(12) or self.bass not in range(12):
            raise ValueError(
                f"root and bass must be pitch classes 0..11, got {self.root}, {self.bass}"
            )
        if not self.intervals or self.intervals[0] != 0:
            raise ValueError(f"intervals must start with 0 (the root), got {self.intervals}")
        if any(upper <= lower for lower, upper in pairwise(self.intervals)):
            raise ValueError(f"intervals must rise, got {self.intervals}")

    @property
    def pitch_classes(self) -> frozenset[PitchClass]:
        """Every pitch class that sounds, the bass of a slash chord included."""
        return frozenset((self.root + step) % 12 for step in self.intervals) | {self.bass}

    @property
    def chord_tones(self) -> tuple[PitchClass, ...]:
        """Root, third (or sus tone), fifth and seventh (or sixth): where a melody may rest."""
        return tuple((self.root + step) % 12 for step in self.intervals if step < 12)

    @property
    def tensions(self) -> tuple[PitchClass, ...]:
        """The 9th, 11th and 13th: colour over the chord tones."""
        return tuple((self.root + step) % 12 for step in self.intervals if step >= 12)

    @property
    def third(self) -> PitchClass | None:
        return self._tone_at(3, 4)

    @property
    def fifth(self) -> PitchClass | None:
        return self._tone_at(7, 6, 8)

    @property
    def seventh(self) -> PitchClass | None:
        """The minor or major seventh, or the diminished seventh of a dim7 chord (not a sixth)."""
        if self.intervals[:3] == (0, 3, 6):
            return self._tone_at(9, 10, 11)
        return self._tone_at(10, 11)

    @property
    def essential_tones(self) -> tuple[PitchClass, ...]:
        """The pitch classes in the order a voicing keeps them when voices are few: the third
        (or sus tone) and the seventh (or sixth) define the chord, then the root, then an altered
        fifth (it defines diminished and augmented chords), then the tensions from the 9th up
        (they colour the chord, so a four-voice C9 keeps its 9th), and the perfect fifth last,
        as arrangers drop it first.
        """
        steps = [step for step in self.intervals if step < 12]
        ordered = [
            *(step for step in steps if 2 <= step <= 5),
            *(step for step in steps if step >= 9),
            0,
            *(step for step in steps if step in (6, 8)),
            *(step for step in self.intervals if step >= 12),
            *(step for step in steps if step == 7),
        ]
        return tuple(dict.fromkeys((self.root + step) % 12 for step in ordered))

    def transpose(self, semitones: int, key: Key | None = None) -> "Chord":
        """The same chord moved by ``semitones``, its symbol spelled in ``key`` if given."""
        root = (self.root + semitones) % 12
        bass = (self.bass + semitones) % 12
        return Chord(root, self.intervals, bass, _symbol(root, self.intervals, bass, key))

    def _tone_at(self, *steps: int) -> PitchClass | None:
        step = next((step for step in steps if step in self.intervals), None)
        return None if step is None else (self.root + step) % 12


def parse_chord_symbol(symbol: str) -> Chord:
    """Read a chord symbol: "C", "Dm7", "G7/B", "F#m7b5", "Bbmaj7", "Cdim7", "A7sus4", "C13"."""
    match = _SYMBOL.fullmatch(symbol.strip().translate(_UNICODE_ACCIDENTALS))
    quality = match.group("quality") if match else ""
    suffix = QUALITY_ALIASES.get(quality, quality)
    if match is None or suffix not in QUALITY_INTERVALS:
        raise InputError(f"cannot read chord symbol {symbol!r}: {_SYMBOL_FORMS}")
    root_name, bass_name = match.group("root"), match.group("bass")
    root = parse_pitch_class(root_name)
    bass = root if bass_name is None else parse_pitch_class(bass_name)
    slash = "" if bass == root else f"/{bass_name}"
    return Chord(root, QUALITY_INTERVALS[suffix], bass, f"{root_name}{suffix}{slash}")


def parse_roman(numeral: str, key: Key) -> Chord:
    """Read a Roman numeral in ``key`` (grammar in the module docstring): ii7 in Bb is Cm7."""
    return _parse_numeral(numeral.strip().translate(_UNICODE_ACCIDENTALS), key, numeral)[0]


def chord_symbol(chord: Chord, key: Key | None = None) -> str:
    """The chord's symbol spelled in ``key`` (Bb7 in F major, A#7 in B major); without a key,
    the root is named as the tonic of the chord's own key (G#m, Ab, Ebm, F#).
    """
    return _symbol(chord.root, chord.intervals, chord.bass, key)


def _parse_numeral(text: str, key: Key, whole: str) -> tuple[Chord, str]:
    """The chord of one numeral and its root's name, which an applied chord's key needs."""
    head, slash, target = text.partition("/")
    if slash:
        target_chord, target_name = _parse_numeral(target, key, whole)
        key = Key(target_chord.root, Mode.MAJOR, target_name)
    match = _NUMERAL.fullmatch(head)
    if match is None:
        raise InputError(f"cannot read Roman numeral {whole!r}: {_NUMERAL_FORMS}")
    accidental, degree_text, quality, extension, figure = match.groups(default="")
    degree = _DEGREES.index(degree_text.upper())
    kind = _QUALITY_MARKS.get(quality) or ("major" if degree_text.isupper() else "minor")
    suffixes = _SUFFIXES_BY_KIND[kind]
    extension = _EXTENSION_ALIASES.get(extension, extension)
    if figure:
        if extension:
            raise InputError(
                f"cannot read Roman numeral {whole!r}: an inversion figure ({figure}) takes the "
                f"place of an extension ({extension}); write e.g. V65 for V7 over its third"
            )
        needs_seventh, bass_tone = _FIGURES[figure]
        if kind == "half-diminished" and not needs_seventh:
            raise InputError(
                f"cannot read Roman numeral {whole!r}: ø is a seventh chord, so its inversions "
                "are 65, 43 and 42"
            )
        extension = "7" if needs_seventh else ""
    if extension not in suffixes:
        allowed = ", ".join(repr(extension) for extension in suffixes if extension)
        raise InputError(
            f"cannot read Roman numeral {whole!r}: {kind} chords take the extensions {allowed}, "
            f"got {extension!r}"
        )
    intervals = QUALITY_INTERVALS[suffixes[extension]]
    root = (key.tonic + MAJOR_SCALE[degree] + {"": 0, "#": 1, "b": -1}[accidental]) % 12
    root_name = spell(root, (key.tonic_letter + degree) % 7)
    bass = (root + intervals[bass_tone]) % 12 if figure else root
    return Chord(root, intervals, bass, _format_symbol(root, root_name, intervals, bass)), root_name


def _symbol(root: PitchClass, intervals: tuple[int, ...], bass: PitchClass, key: Key | None) -> str:
    """Spell in ``key``; without one, as the tonic of the chord's own key (G#m, Ab, Bb, Ebm)."""
    spelling_key = key or Key(root, Mode.MINOR if 3 in intervals else Mode.MAJOR)
    bass_is_chord_tone = (bass - root) % 12 in {step % 12 for step in intervals}
    bass_name = None if bass_is_chord_tone else spelling_key.spell(bass)
    return _format_symbol(root, spelling_key.spell(root), intervals, bass, bass_name)


def _format_symbol(
    root: PitchClass,
    root_name: str,
    intervals: tuple[int, ...],
    bass: PitchClass,
    bass_name: str | None = None,
) -> str:
    """Root name, quality suffix and ``/bass``; a chord-tone bass is spelled by its interval from
    the root (the third of E is G#, never Ab) unless ``bass_name`` is given.
    """
    suffix = _SUFFIX_OF_INTERVALS.get(intervals)
    if suffix is None:
        raise ValueError(
            f"no chord symbol for intervals {intervals}; known qualities: "
            + ", ".join(f"{name or 'major'} {steps}" for name, steps in QUALITY_INTERVALS.items())
        )
    if bass == root:
        return root_name + suffix
    if bass_name is None:
        interval = (bass - root) % 12
        is_diminished_seventh = interval == 9 and intervals[:3] == (0, 3, 6)
        letter_steps = 6 if is_diminished_seventh else _LETTER_STEPS_OF_INTERVAL[interval]
        bass_letter = LETTERS.index(root_name[0]) + letter_steps
        bass_name = spell(bass, bass_letter % 7)
    return f"{root_name}{suffix}/{bass_name}"


# What a left hand may play, in the order a tie is settled (the plainer chord wins: C E G A is
# C6, not Am7 over C). Extensions above the octave fold into it: C E G D is Cadd9.
_RECOGNIZED = (
    "", "m", "7", "maj7", "m7", "6", "m6", "dim", "aug", "sus4", "sus2", "7sus4", "m7b5",
    "dim7", "mMaj7", "aug7", "add9", "madd9", "9", "maj9", "m9", "5",
)  # fmt: skip
_CHORD_TONES = {
    suffix: frozenset(step for step in QUALITY_INTERVALS[suffix] if step < 12)
    for suffix in _RECOGNIZED
}
_SHAPES = tuple(
    (suffix, frozenset(step % 12 for step in QUALITY_INTERVALS[suffix])) for suffix in _RECOGNIZED
)


def recognize_chord(pitches: Iterable[int], key: Key | None = None) -> Chord | None:
    """The chord a hand plays (MIDI note numbers), arranger style, or None if it names none.

    The lowest note is the bass. A chord's tones in any order and octave name it, in root
    position or an inversion (C/E); a fifth may be left out (C E Bb is C7); a bass that is no
    tone of the chord the others make, or its 9th, is a slash chord (C/D). One note is its
    major triad, as arrangers read a single finger; two a fifth apart are a power chord (C5);
    two others name no chord. Spelled in ``key`` if given.
    """
    notes = sorted(set(pitches))
    if not notes:
        return None
    bass = notes[0] % 12
    classes = frozenset(note % 12 for note in notes)
    if len(classes) == 1:
        return _recognized(bass, "", bass, key)
    best: tuple[tuple[int, int, int, int], PitchClass, str, PitchClass] | None = None
    for heard, chord_bass, slash in ((classes, bass, 0), (classes - {bass}, bass, 1)):
        if len(heard) < 2:
            continue
        for root in range(12):
            for rank, (suffix, shape) in enumerate(_SHAPES):
                tones = frozenset((root + step) % 12 for step in shape)
                if heard == tones:
                    omitted = 0
                elif 7 in shape and heard == tones - {(root + 7) % 12} and len(heard) >= 3:
                    omitted = 1  # a fifth left out, as hands do
                else:
                    continue
                if slash and chord_bass in tones:
                    continue  # then it is an inversion, found without the slash
                if not slash and (chord_bass - root) % 12 not in _CHORD_TONES[suffix]:
                    continue  # a 9th in the bass reads as a slash chord: C/D, not Cadd9/D
                inversion = 0 if root == chord_bass else 1
                score = (
                    slash,
                    omitted,
                    inversion,
                    rank,
                )  # a whole chord before one short of its fifth
                if best is None or score < best[0]:
                    best = (score, root, suffix, chord_bass)
    if best is None:
        return None
    _, root, suffix, chord_bass = best
    return _recognized(root, suffix, chord_bass, key)


def _recognized(root: PitchClass, suffix: str, bass: PitchClass, key: Key | None) -> Chord:
    intervals = QUALITY_INTERVALS[suffix]
    return Chord(root, intervals, bass, _symbol(root, intervals, bass, key))

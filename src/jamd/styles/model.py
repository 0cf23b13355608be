"""The Style model: what a genre file may say, validated once, frozen.

A style is data, not code: a ninth genre is a new TOML file (``<genre>.toml``; the file name is
the genre's name). Its tables, each a model below:

- ``description``, ``typical_keys`` (the first is the default key)
- ``[tempo]`` min, max, default (quarter-note BPM); ``[meter]`` numerator, denominator,
  steps_per_beat (grid resolution); ``[feel]`` swing, unit, straight_above
- ``[form]`` start, repeat (blocks), end, drop, elastic: sections written ``"verse 8"``
- ``[energy]`` per section kind, 0..1
- ``[harmony]`` ``[[harmony.progressions.<kind>]]`` chords (Roman numerals, one per bar), weight,
  tonality, modes; ``[[harmony.default]]``; reuse; ending
- ``[instruments]`` candidate patches per role; ``[arrangement.<kind>]`` level per role
- ``[drums]`` patterns (grids per piece, with an ``alt`` bar), use (per kind, low to high
  energy), ramp, fills, ending, crash_after_fill
- ``[bass]``, ``[comping]``, ``[pad]``, ``[melody]``: part settings, with per-kind overrides in
  their ``sections`` tables

Lists "from low to high energy" are spread evenly over 0..1: with two grooves, a section below
energy 0.5 plays the first. Every check that needs more than one field (grid lengths against the
meter, references between tables, Roman numerals the theory layer can read) runs here too, so a
file that loads is a file the composer can play.

Grids are one character per step (``Meter.steps_per_beat`` steps per quarter-note beat):
``X`` accent, ``x`` normal, ``o`` ghost (soft), ``.`` rest; drum grids add ``r`` (two hits in the
step, a roll) and ``t`` (three); note grids add ``-`` (hold the previous note one more step).
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from jamd.errors import InputError
from jamd.theory import Key, Mode, parse_key, parse_roman

Role = Literal["drums", "bass", "keys", "pad", "lead"]
"""A band part as the style files name it (the composer's ``Part`` values)."""

ROLES: tuple[Role, ...] = ("drums", "bass", "keys", "pad", "lead")

PATCHES: dict[Role, tuple[str, ...]] = {
    "drums": ("drums/acoustic", "drums/brushes", "drums/808", "drums/909"),
    "bass": ("bass/finger", "bass/upright", "bass/synth", "bass/808", "bass/pluck-upright"),
    "keys": (
        "keys/epiano",
        "keys/piano",
        "keys/organ",
        "keys/guitar",
        "keys/grand",
        "keys/clean-guitar",
        "keys/nylon",
    ),
    "pad": ("pad/warm", "pad/strings", "pad/supersaw", "pad/glass"),
    "lead": ("lead/saw", "lead/square", "lead/horn", "lead/flute"),
}
"""The patches the engine provides, per role: a style may choose only among these."""

REGISTERS: dict[Role, tuple[int, int]] = {
    "bass": (28, 55),
    "keys": (48, 79),
    "pad": (52, 84),
    "lead": (60, 88),
}
"""MIDI note ranges per pitched part; style settings may narrow them, never widen."""

DRUM_NOTES: dict[str, int] = {
    "kick": 36,
    "side_stick": 37,
    "snare": 38,
    "clap": 39,
    "tom_floor": 41,
    "hat": 42,
    "tom_floor_high": 43,
    "pedal_hat": 44,
    "tom_low": 45,
    "open_hat": 46,
    "tom_mid": 47,
    "tom_mid_high": 48,
    "crash": 49,
    "tom_high": 50,
    "ride": 51,
    "ride_bell": 53,
    "tambourine": 54,
    "cowbell": 56,
    "claves": 75,
}
"""Drum piece names in grids -> General MIDI drum note numbers."""

DRUM_STEPS = frozenset("Xxo.rt")
NOTE_STEPS = frozenset("Xxo.-")


class SectionKind(StrEnum):
    """What a section is for; the style's data says how each kind sounds."""

    INTRO = "intro"
    VERSE = "verse"
    PRECHORUS = "prechorus"
    CHORUS = "chorus"
    BRIDGE = "bridge"
    SOLO = "solo"
    HEAD = "head"
    THEME = "theme"
    EPISODE = "episode"
    BUILD = "build"
    DROP = "drop"
    BREAKDOWN = "breakdown"
    OUTRO = "outro"


class BassStyle(StrEnum):
    """How the bass turns a chord into a line (see ``jamd.compose.bass``)."""

    ROOT = "root"
    ROOT_FIFTH = "root_fifth"
    OCTAVE = "octave"
    WALKING = "walking"
    BOOGIE = "boogie"
    GLIDE = "glide"


class CompStyle(StrEnum):
    """How the keys play a voicing on each hit of a comping rhythm."""

    BLOCK = "block"
    STRUM = "strum"
    ARPEGGIO = "arpeggio"
    ALBERTI = "alberti"
    POWER = "power"


def _problem(kind: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context or None)


def _grid(alphabet: frozenset[str]) -> AfterValidator:
    def check(text: str) -> str:
        bad = sorted(set(text) - alphabet)
        if not text or bad:
            allowed = " ".join(sorted(alphabet))
            raise _problem("grid", f"a grid is steps of {allowed}")
        return text

    return AfterValidator(check)


DrumGrid = Annotated[str, _grid(DRUM_STEPS)]
NoteGrid = Annotated[str, _grid(NOTE_STEPS)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tempo(_Frozen):
    """Quarter-note BPM: the range the genre lives in and where it sits by default."""

    min: float = Field(ge=20, le=300)
    max: float = Field(ge=20, le=300)
    default: float

    @field_validator("max")
    @classmethod
    def _max_above_min(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min")
        if low is not None and value < low:
            raise _problem("range", f"must be at least min ({low:g})")
        return value

    @field_validator("default")
    @classmethod
    def _default_inside(cls, value: float, info: ValidationInfo) -> float:
        low, high = info.data.get("min"), info.data.get("max")
        if low is not None and high is not None and not low <= value <= high:
            raise _problem("range", f"must be within {low:g}..{high:g}")
        return value


class Meter(_Frozen):
    """Time signature; bars hold a whole number of quarter-note beats (4/4, 3/4, 6/8, 12/8)."""

    numerator: int = Field(ge=1, le=16)
    denominator: Literal[2, 4, 8]
    steps_per_beat: int = Field(4, ge=1, le=8)

    @field_validator("denominator")
    @classmethod
    def _whole_beats(cls, value: int, info: ValidationInfo) -> int:
        numerator = info.data.get("numerator")
        if numerator is not None and (numerator * 4) % value:
            raise _problem("meter", "the bar must hold whole quarter-note beats")
        return value

    @property
    def beats_per_bar(self) -> int:
        return self.numerator * 4 // self.denominator

    @property
    def steps_per_bar(self) -> int:
        return self.beats_per_bar * self.steps_per_beat


class Feel(_Frozen):
    """Swing: the first note of each pair of ``unit`` notes takes ``swing`` of the pair."""

    swing: float = Field(0.5, ge=0.5, le=0.75)
    unit: Literal["eighth", "sixteenth"] = "eighth"
    straight_above: float | None = Field(None, ge=20, le=300)


class FormSection(_Frozen):
    """One section of a form, written ``"verse 8"`` in the file."""

    kind: SectionKind
    bars: int = Field(ge=1, le=64)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: object) -> object:
        if not isinstance(data, str):
            return data
        kind, _, bars = data.strip().partition(" ")
        if not bars.strip().isdigit():
            raise _problem("form", "expected '<kind> <bars>' such as 'verse 8'")
        return {"kind": kind, "bars": int(bars)}


Block = Annotated[tuple[FormSection, ...], Field(min_length=1)]


class Form(_Frozen):
    """Song form: ``start``, then ``repeat`` blocks in turn as time allows, then ``end``.

    Too little time: sections of the kinds in ``drop`` go first (latest first, never the last
    section), then the longest sections are halved. Leftover bars stretch or shrink the ``elastic``
    kinds, in that order, so the form fits the song's bars exactly.
    """

    start: Block
    repeat: Annotated[tuple[Block, ...], Field(min_length=1)]
    end: Block
    drop: tuple[SectionKind, ...] = ()
    elastic: tuple[SectionKind, ...] = ()

    @property
    def kinds(self) -> frozenset[SectionKind]:
        sections = [*self.start, *self.end, *(s for block in self.repeat for s in block)]
        return frozenset(section.kind for section in sections)


class Progression(_Frozen):
    """Roman numerals, one per bar (repeat a numeral to hold the chord), with a pick weight."""

    chords: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)
    tonality: Literal["major", "minor", "any"] = "major"
    modes: tuple[Mode, ...] = ()

    @property
    def numerals(self) -> tuple[str, ...]:
        return tuple(self.chords.split())

    def fits(self, key: Key) -> bool:
        """Whether this progression suits ``key``: its exact mode, else its tonality."""
        if key.mode in self.modes or self.tonality == "any":
            return True
        return (self.tonality == "minor") == key.is_minor


class Ending(_Frozen):
    """The song's final chord, by the key's tonality; its root must be the tonic."""

    major: str = "I"
    minor: str = "i"


Pool = tuple[Progression, ...]


class Harmony(_Frozen):
    """Progression pools per section kind (``default`` for the rest) and the ending chord.

    ``reuse`` makes one kind play another's chosen changes (jazz solos over the head).
    """

    progressions: dict[SectionKind, Pool] = {}
    default: Pool = ()
    reuse: dict[SectionKind, SectionKind] = {}
    ending: Ending = Ending()

    def pool(self, kind: SectionKind) -> tuple[SectionKind | None, Pool]:
        """The kind whose changes ``kind`` plays (None: the default pool) and that pool."""
        source = self.reuse.get(kind, kind)
        if source in self.progressions:
            return source, self.progressions[source]
        return None, self.default


class PatchChoice(_Frozen):
    """A candidate patch, picked by weight among those whose energy range holds the song's."""

    patch: str
    weight: float = Field(1.0, gt=0)
    energy: tuple[Unit, Unit] = (0.0, 1.0)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: object) -> object:
        return {"patch": data} if isinstance(data, str) else data


Choices = Annotated[tuple[PatchChoice, ...], Field(min_length=1)]


class Instruments(_Frozen):
    """Candidate patches per role. Every role has one, so each song has a patch for every part
    (a live performer can bring in a part the arrangement leaves out); ``[arrangement]`` decides
    where each part plays.
    """

    drums: Choices
    bass: Choices
    keys: Choices
    pad: Choices
    lead: Choices

    def for_role(self, role: Role) -> Choices:
        choices: Choices = getattr(self, role)
        return choices


class DrumGrids(_Frozen):
    """One grid per drum piece that plays; pieces left out rest."""

    kick: DrumGrid | None = None
    side_stick: DrumGrid | None = None
    snare: DrumGrid | None = None
    clap: DrumGrid | None = None
    hat: DrumGrid | None = None
    pedal_hat: DrumGrid | None = None
    open_hat: DrumGrid | None = None
    tom_floor: DrumGrid | None = None
    tom_floor_high: DrumGrid | None = None
    tom_low: DrumGrid | None = None
    tom_mid: DrumGrid | None = None
    tom_mid_high: DrumGrid | None = None
    tom_high: DrumGrid | None = None
    crash: DrumGrid | None = None
    ride: DrumGrid | None = None
    ride_bell: DrumGrid | None = None
    tambourine: DrumGrid | None = None
    cowbell: DrumGrid | None = None
    claves: DrumGrid | None = None

    def grids(self) -> dict[str, str]:
        """Piece name -> grid, for the pieces that play, in General MIDI note order."""
        named = {name: getattr(self, name) for name in DRUM_NOTES}
        return {name: grid for name, grid in named.items() if grid is not None}


class DrumPattern(DrumGrids):
    """A one-bar groove; ``alt`` replaces some pieces in every second bar (a two-bar phrase)."""

    alt: DrumGrids | None = None


class Drums(_Frozen):
    """Grooves per section kind (listed from low to high energy), fills, and the final hit.

    Kinds in ``ramp`` step through their list across the section instead (a build's rising roll).
    """

    patterns: dict[str, DrumPattern]
    use: dict[SectionKind, Annotated[tuple[str, ...], Field(min_length=1)]]
    ramp: tuple[SectionKind, ...] = ()
    fills: tuple[DrumGrids, ...] = ()
    ending: DrumGrids = DrumGrids(kick="X", crash="X")
    crash_after_fill: bool = False


Rhythm = NoteGrid | Literal["kick", "beats"]


class BassPart(_Frozen):
    style: BassStyle | None = None
    rhythm: Rhythm | None = None


class Bass(_Frozen):
    """Bass line style and rhythm (``kick`` locks to the kick drum; ``beats`` plays each beat).

    ``glide`` is the chance that a ``glide`` bass slides into its next note.
    """

    style: BassStyle
    rhythm: Rhythm = "beats"
    glide: Unit = 0.0
    sections: dict[SectionKind, BassPart] = {}

    def for_kind(self, kind: SectionKind) -> tuple[BassStyle, Rhythm]:
        part = self.sections.get(kind, BassPart())
        return part.style or self.style, part.rhythm or self.rhythm


Rhythms = Annotated[tuple[NoteGrid, ...], Field(min_length=1)]


class CompingPart(_Frozen):
    style: CompStyle | None = None
    rhythms: Rhythms | None = None


class Comping(_Frozen):
    """Keys: voicing size, register, and rhythms from sparse to dense (chosen by energy).

    ``omit_root`` leaves the root to the bass (rootless voicings); ``colour`` adds the ninth to
    seventh chords (3-5-7-9 jazz voicings). ``vary`` picks a new rhythm each bar (jazz comping)
    or keeps one per section (pop).
    """

    style: CompStyle = CompStyle.BLOCK
    voices: int = Field(4, ge=3, le=5)
    omit_root: bool = False
    colour: bool = False
    low: int = Field(REGISTERS["keys"][0], ge=REGISTERS["keys"][0], le=REGISTERS["keys"][1])
    high: int = Field(REGISTERS["keys"][1], ge=REGISTERS["keys"][0], le=REGISTERS["keys"][1])
    rhythms: Rhythms
    vary: Literal["bar", "section"] = "section"
    sections: dict[SectionKind, CompingPart] = {}

    def for_kind(self, kind: SectionKind) -> tuple[CompStyle, tuple[str, ...]]:
        part = self.sections.get(kind, CompingPart())
        return part.style or self.style, part.rhythms or self.rhythms


class Pad(_Frozen):
    """Sustained, voice-led chords held for as long as the harmony stays."""

    voices: int = Field(4, ge=3, le=6)
    low: int = Field(REGISTERS["pad"][0], ge=REGISTERS["pad"][0], le=REGISTERS["pad"][1])
    high: int = Field(REGISTERS["pad"][1], ge=REGISTERS["pad"][0], le=REGISTERS["pad"][1])


MelodyPlan = Annotated[str, Field(pattern=r"^[a-z-]+$")]


class MelodyPart(_Frozen):
    density: Unit | None = None
    unit: Literal["eighth", "sixteenth"] | None = None
    plan: MelodyPlan | None = None
    chromatic: Unit | None = None
    fresh: bool | None = None


class MelodySettings(_Frozen):
    """The melody settings one section kind plays with (style defaults plus its overrides)."""

    low: int
    high: int
    density: float
    unit: Literal["eighth", "sixteenth"]
    scale: Literal["key", "pentatonic", "blues"]
    phrase_bars: int
    plan: str
    leap: float
    chromatic: float
    fresh: bool


class Melody(_Frozen):
    """Lead melody: register, note density, motif plan and note pool.

    ``plan`` names the motif of each ``phrase_bars`` span of a section: the same letter is the
    same motif again, a new letter a development of the first, ``-`` a rest where the band
    answers. ``fresh`` sections (solos) get new material each time they come back; the rest
    repeat their melody when they repeat over the same chords.
    """

    low: int = Field(62, ge=REGISTERS["lead"][0], le=REGISTERS["lead"][1])
    high: int = Field(84, ge=REGISTERS["lead"][0], le=REGISTERS["lead"][1])
    density: Unit = 0.5
    unit: Literal["eighth", "sixteenth"] = "eighth"
    scale: Literal["key", "pentatonic", "blues"] = "key"
    phrase_bars: int = Field(2, ge=1, le=4)
    plan: MelodyPlan = "abac"
    leap: Unit = 0.25
    chromatic: Unit = 0.0
    sections: dict[SectionKind, MelodyPart] = {}

    @field_validator("high")
    @classmethod
    def _span(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("low")
        if low is not None and value - low < 12:
            raise _problem("range", f"must be at least an octave above low ({low})")
        return value

    def for_kind(self, kind: SectionKind) -> MelodySettings:
        part = self.sections.get(kind, MelodyPart())
        return MelodySettings(
            low=self.low,
            high=self.high,
            density=self.density if part.density is None else part.density,
            unit=part.unit or self.unit,
            scale=self.scale,
            phrase_bars=self.phrase_bars,
            plan=part.plan or self.plan,
            leap=self.leap,
            chromatic=self.chromatic if part.chromatic is None else part.chromatic,
            fresh=bool(part.fresh),
        )


class Mix(_Frozen):
    """Gain staging: the genre's trim into the master chain, so that its songs reach the
    master's loudness target (-14 LUFS integrated) with the limiter holding their peaks."""

    master_db: float = Field(0.0, ge=-24.0, le=12.0)

    @property
    def master_gain(self) -> float:
        return float(10.0 ** (self.master_db / 20.0))


class Style(_Frozen):
    """One genre, as its data file describes it (the name comes from the file name)."""

    name: str
    description: str = ""
    typical_keys: Annotated[tuple[str, ...], Field(min_length=1)]
    tempo: Tempo
    meter: Meter
    feel: Feel = Feel()
    form: Form
    energy: dict[SectionKind, Unit]
    harmony: Harmony
    instruments: Instruments
    arrangement: dict[SectionKind, dict[Role, Unit]]
    drums: Drums
    bass: Bass
    comping: Comping
    pad: Pad = Pad()
    melody: Melody
    mix: Mix = Mix()

    @property
    def beats_per_bar(self) -> int:
        return self.meter.beats_per_bar

    @model_validator(mode="after")
    def _consistent(self) -> "Style":
        problems = [
            *_check_keys(self),
            *_check_references(self),
            *_check_patches(self),
            *_check_grids(self),
            *_check_harmony(self),
        ]
        if problems:
            raise ValidationError.from_exception_data(
                "Style",
                [
                    InitErrorDetails(
                        type="missing" if message is None else _problem("style", message),
                        loc=loc,
                        input=value,
                    )
                    for loc, message, value in problems
                ],
            )
        return self


Loc = tuple[str | int, ...]
Problem = tuple[Loc, str | None, object]
"""Where, what (None: a required entry is missing), and the value found."""


def _check_keys(style: Style) -> list[Problem]:
    problems: list[Problem] = []
    for index, text in enumerate(style.typical_keys):
        try:
            parse_key(text)
        except InputError:
            problems.append(
                (("typical_keys", index), "not a key such as C, F#m, Bb, D dorian", text)
            )
    return problems


def _check_references(style: Style) -> list[Problem]:
    """Every section kind the form plays has an energy, an arrangement, grooves and changes."""
    problems: list[Problem] = []
    for kind in sorted(style.form.kinds):
        if kind not in style.energy:
            problems.append((("energy", kind.value), None, None))
        if kind not in style.arrangement:
            problems.append((("arrangement", kind.value), None, None))
        parts = style.arrangement.get(kind, {})
        if parts.get("drums", 0) > 0 and kind not in style.drums.use:
            problems.append((("drums", "use", kind.value), None, None))
        source, pool = style.harmony.pool(kind)
        where: Loc = ("harmony", "progressions", source.value) if source else ("harmony", "default")
        tonalities = sorted({p.tonality for p in pool})
        for tonality in ("major", "minor"):
            if tonality not in tonalities and "any" not in tonalities:
                message = f"section kind '{kind}' needs a {tonality} progression; tonalities"
                problems.append((where, message, tonalities))
    for kind, names in style.drums.use.items():
        known = ", ".join(sorted(style.drums.patterns))
        for index, name in enumerate(names):
            if name not in style.drums.patterns:
                where = ("drums", "use", kind.value, index)
                problems.append((where, f"unknown pattern (patterns: {known})", name))
    return problems


def _check_patches(style: Style) -> list[Problem]:
    problems: list[Problem] = []
    for role in ROLES:
        for index, choice in enumerate(style.instruments.for_role(role)):
            if choice.patch not in PATCHES[role]:
                message = f"must be one of {', '.join(PATCHES[role])}"
                problems.append((("instruments", role, index, "patch"), message, choice.patch))
            low, high = choice.energy
            if low > high:
                where = ("instruments", role, index, "energy")
                problems.append((where, "must be [low, high] with low <= high", [low, high]))
    return problems


def _check_grids(style: Style) -> list[Problem]:
    """Bar grids hold exactly one bar of steps; fills and the ending at most one."""
    meter = style.meter
    steps = meter.steps_per_bar
    exact = (
        f"must have {steps} steps (a {meter.numerator}/{meter.denominator} bar"
        f" at {meter.steps_per_beat} steps per beat)"
    )
    problems: list[Problem] = []
    for name, pattern in style.drums.patterns.items():
        for piece, grid in pattern.grids().items():
            if len(grid) != steps:
                problems.append((("drums", "patterns", name, piece), exact, grid))
        for piece, grid in (pattern.alt.grids() if pattern.alt else {}).items():
            if len(grid) != steps:
                problems.append((("drums", "patterns", name, "alt", piece), exact, grid))
    for index, fill in enumerate(style.drums.fills):
        lengths = sorted({len(grid) for grid in fill.grids().values()})
        if not lengths or len(lengths) > 1 or lengths[-1] > steps:
            message = f"pieces must all have the same number of steps, 1..{steps}; lengths"
            problems.append((("drums", "fills", index), message, lengths))
    for piece, grid in style.drums.ending.grids().items():
        if len(grid) > steps:
            problems.append((("drums", "ending", piece), f"must have at most {steps} steps", grid))
    rhythms: list[tuple[tuple[str | int, ...], str]] = []
    if style.bass.rhythm not in ("kick", "beats"):
        rhythms.append((("bass", "rhythm"), style.bass.rhythm))
    for kind, part in style.bass.sections.items():
        if part.rhythm is not None and part.rhythm not in ("kick", "beats"):
            rhythms.append((("bass", "sections", kind.value, "rhythm"), part.rhythm))
    rhythms += [(("comping", "rhythms", i), r) for i, r in enumerate(style.comping.rhythms)]
    for kind, comp in style.comping.sections.items():
        for index, rhythm in enumerate(comp.rhythms or ()):
            rhythms.append((("comping", "sections", kind.value, "rhythms", index), rhythm))
    problems += [(loc, exact, grid) for loc, grid in rhythms if len(grid) != steps]
    return problems


def _check_harmony(style: Style) -> list[Problem]:
    """Every numeral reads in the theory layer's grammar; the ending chords sit on the tonic."""
    problems: list[Problem] = []
    major, minor = parse_key("C"), parse_key("Cm")
    pools: list[tuple[tuple[str | int, ...], Pool]] = [
        (("harmony", "default"), style.harmony.default)
    ]
    for kind, pool in style.harmony.progressions.items():
        pools.append((("harmony", "progressions", kind.value), pool))
    for where, pool in pools:
        for index, progression in enumerate(pool):
            key = minor if progression.tonality == "minor" else major
            for numeral in progression.numerals:
                try:
                    parse_roman(numeral, key)
                except InputError:
                    message = "not a Roman numeral the theory layer reads"
                    problems.append(((*where, index, "chords"), message, numeral))
    for tonality, key in (("major", major), ("minor", minor)):
        numeral = getattr(style.harmony.ending, tonality)
        where = ("harmony", "ending", tonality)
        try:
            chord = parse_roman(numeral, key)
        except InputError:
            problems.append((where, "not a Roman numeral the theory layer reads", numeral))
            continue
        if chord.root != key.tonic:
            problems.append((where, "must be a chord on the tonic (I or i)", numeral))
    return problems

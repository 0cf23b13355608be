"""Patches: instruments, effects and the master as TOML files, validated before they reach the
DSP graph.

A patch file lives at ``patches/<role>/<name>.toml`` and is named ``<role>/<name>``
(``keys/epiano``). Its ``kind`` selects the model; the other keys and tables tune it. Effects
live in ``patches/fx/`` (one effect a file) and master patches in ``patches/master/``; an
instrument's or a master's ``effects`` chain lists effects inline or by file name. A file
that does not validate is refused with every error at once, each naming the file, the key and
what is allowed, so a broken patch never reaches the engine. This module loads no pyo: the
effects' builders are ``jamd.engine.effects``.
"""

import functools
import re
import sys
import tomllib
import wave
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from jamd.engine.instruments import plugin_kinds
from jamd.errors import InputError, validation_messages


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Envelope(_Spec):
    """Amplitude envelope, in seconds. Decay is exponential towards ``sustain``."""

    attack: float = Field(0.005, ge=0.0005, le=10.0)
    decay: float = Field(0.4, gt=0.0, le=30.0)
    sustain: float = Field(0.7, ge=0.0, le=1.0)
    release: float = Field(0.2, ge=0.002, le=20.0)
    velocity_curve: float = Field(1.6, ge=0.5, le=4.0, description="peak = velocity ** curve")


class Filter(_Spec):
    """A resonant low-pass after the voices; ``env_amount`` opens it with the voices' level."""

    cutoff: float = Field(12000.0, ge=20.0, le=20000.0)
    resonance: float = Field(0.0, ge=0.0, le=1.0)
    env_amount: float = Field(0.0, ge=0.0, le=16.0)


class Vibrato(_Spec):
    rate: float = Field(5.0, ge=0.1, le=12.0)
    depth: float = Field(0.0, ge=0.0, le=100.0, description="cents")


class ReverbSend(_Spec):
    """Freeverb: eight combs and four all-passes per channel."""

    size: float = Field(0.8, ge=0.0, le=0.95, description="room size; 0.95 rings ~9 s, 1 forever")
    damp: float = Field(0.55, ge=0.0, le=1.0, description="how fast the highs die in the tail")
    width: float = Field(
        0.04, ge=0.0, le=0.2, description="right room larger by this; stereo signals only"
    )


class ReverbEffect(ReverbSend):
    kind: Literal["reverb"]
    mix: float = Field(0.25, ge=0.0, le=1.0, description="wet share: 0 dry .. 1 wet only")


class EchoSend(_Spec):
    """The master's tempo-synced echo; its time comes from the tempo, not from the patch."""

    feedback: float = Field(0.32, ge=0.0, le=0.9, description="each echo's level over the last")
    spread: float = Field(
        0.011, ge=0.0, le=0.05, description="seconds the right echo lags: width without ping-pong"
    )
    tone: float = Field(
        20000.0, ge=200.0, le=20000.0, description="Hz: low-pass on the echoes; 20000 is none"
    )


class DelayEffect(_Spec):
    kind: Literal["delay"]
    time: float = Field(0.375, ge=0.001, le=4.0, description="seconds")
    feedback: float = Field(0.3, ge=0.0, le=0.9, description="each echo's level over the last")
    tone: float = Field(
        20000.0, ge=200.0, le=20000.0, description="Hz: low-pass on the echoes; 20000 is none"
    )
    mix: float = Field(0.3, ge=0.0, le=1.0, description="wet share: 0 dry .. 1 wet only")


class ChorusEffect(_Spec):
    """pyo's Chorus: eight modulated delay lines."""

    kind: Literal["chorus"]
    depth: float = Field(1.0, ge=0.0, le=5.0, description="modulation depth")
    feedback: float = Field(0.1, ge=0.0, le=0.95)
    mix: float = Field(0.5, ge=0.0, le=1.0, description="wet share: 0 dry .. 1 wet only")


class PhaserEffect(_Spec):
    """All-pass stages whose notches sweep with a sine LFO; the dry signal makes the notches."""

    kind: Literal["phaser"]
    rate: float = Field(0.3, ge=0.01, le=10.0, description="Hz: LFO speed")
    depth: float = Field(0.6, ge=0.0, le=0.95, description="sweep: freq * (1 +- depth)")
    freq: float = Field(700.0, ge=50.0, le=8000.0, description="Hz: the first notch's centre")
    spread: float = Field(1.5, ge=0.5, le=4.0, description="each further notch's ratio")
    q: float = Field(1.0, ge=0.3, le=20.0, description="notch sharpness")
    feedback: float = Field(0.5, ge=0.0, le=0.95)
    stages: int = Field(6, ge=1, le=16, description="all-pass stages: notches")
    mix: float = Field(0.5, ge=0.0, le=1.0, description="wet share: 0 dry .. 1 wet only")


class DriveEffect(_Spec):
    """pyo's Disto: an arctangent waveshaper."""

    kind: Literal["drive"]
    drive: float = Field(0.5, ge=0.0, le=1.0, description="amount of distortion")
    slope: float = Field(0.6, ge=0.0, le=1.0, description="low-pass after the shaper: 1 is dark")
    mix: float = Field(1.0, ge=0.0, le=1.0, description="wet share: 0 dry .. 1 wet only")


class CutBand(_Spec):
    """A 12 dB/octave filter: ``low-cut`` removes what is under ``freq``, ``high-cut`` above."""

    kind: Literal["low-cut", "high-cut"]
    freq: float = Field(ge=20.0, le=20000.0, description="Hz")
    q: float = Field(0.707, ge=0.3, le=20.0, description="resonance; 0.707 is flat")


class GainBand(_Spec):
    """A shelf or a bell that lifts or cuts ``gain_db`` around ``freq``."""

    kind: Literal["low-shelf", "high-shelf", "peak"]
    freq: float = Field(ge=20.0, le=20000.0, description="Hz")
    q: float = Field(0.707, ge=0.3, le=20.0, description="width: higher is narrower")
    gain_db: float = Field(ge=-24.0, le=24.0)


class EqEffect(_Spec):
    """Bands in series, in the order written."""

    kind: Literal["eq"]
    bands: tuple[Annotated[CutBand | GainBand, Field(discriminator="kind")], ...] = Field(
        max_length=8
    )


class CompressorEffect(_Spec):
    """A feed-forward compressor; stereo signals are compressed alike (linked)."""

    kind: Literal["compressor"]
    threshold_db: float = Field(-18.0, ge=-60.0, le=0.0, description="dBFS")
    ratio: float = Field(4.0, ge=1.0, le=100.0)
    attack: float = Field(0.01, ge=0.0001, le=1.0, description="seconds")
    release: float = Field(0.15, ge=0.005, le=5.0, description="seconds")
    knee: float = Field(0.5, ge=0.0, le=1.0, description="0 hard .. 1 soft")
    makeup_db: float = Field(0.0, ge=-24.0, le=24.0)
    lookahead_ms: float = Field(
        0.0, ge=0.0, le=20.0, description="delays the sound so the gain moves first"
    )


class LimiterEffect(_Spec):
    """The master's guard: true peak at most ``ceiling_dbtp`` (see ``jamd.engine.effects``)."""

    kind: Literal["limiter"]
    ceiling_dbtp: float = Field(-1.0, ge=-12.0, le=-0.5, description="dBTP")
    release: float = Field(0.15, ge=0.05, le=2.0, description="seconds")
    lookahead_ms: float = Field(
        5.0, ge=1.0, le=10.0, description="the master is this late; the attack is a fifth of it"
    )


Effect = Annotated[
    ReverbEffect
    | DelayEffect
    | ChorusEffect
    | PhaserEffect
    | DriveEffect
    | EqEffect
    | CompressorEffect
    | LimiterEffect,
    Field(discriminator="kind"),
]
EFFECT_ROLE = "fx"  # effect files live in patches/fx/
MASTER_ROLE = "master"


def _kind(value: object) -> object:
    """An effect's tag: its ``kind``, or ``reference`` for the name of an effect file."""
    if isinstance(value, str):
        return "reference"
    if isinstance(value, dict):
        return value.get("kind")
    return getattr(value, "kind", None)


_kind.__name__ = "kind"  # pydantic's errors name a callable discriminator after the function

EffectSlot = Annotated[
    Annotated[ReverbEffect, Tag("reverb")]
    | Annotated[DelayEffect, Tag("delay")]
    | Annotated[ChorusEffect, Tag("chorus")]
    | Annotated[PhaserEffect, Tag("phaser")]
    | Annotated[DriveEffect, Tag("drive")]
    | Annotated[EqEffect, Tag("eq")]
    | Annotated[CompressorEffect, Tag("compressor")]
    | Annotated[LimiterEffect, Tag("limiter")]
    | Annotated[str, Tag("reference")],
    Discriminator(_kind),
]
"""An effect inline, or the name of an effect file (``fx/plate``) that ``PatchLibrary`` resolves."""
Chain = tuple[EffectSlot, ...]


class MixDefaults(_Spec):
    """Where the track sits in the mix until someone moves a fader."""

    gain_db: float = Field(0.0, ge=-60.0, le=12.0)
    pan: float = Field(0.0, ge=-1.0, le=1.0)
    reverb: float = Field(0.15, ge=0.0, le=1.0)
    delay: float = Field(0.0, ge=0.0, le=1.0)


class VoicePatch(_Spec):
    """What every voiced instrument's patch has: the base of each kind's model, third parties'
    included (see ``jamd.engine.instruments``). A kind adds its ``kind`` literal and its keys."""

    kind: str
    name: str = ""
    description: str = ""
    program: int = Field(0, ge=0, le=127, description="General MIDI program, for MIDI export")
    voices: int = Field(6, ge=1, le=16)
    mono: bool = False
    glide: float = Field(0.0, ge=0.0, le=2.0, description="seconds; legato notes on mono patches")
    envelope: Envelope = Envelope()
    filter: Filter = Filter()
    vibrato: Vibrato = Vibrato()
    effects: Chain = Field((), description="inserts after the filter, in order")
    mix: MixDefaults = MixDefaults()


class SubtractivePatch(VoicePatch):
    """Band-limited oscillators (optionally detuned in unison, with a sub octave) into a filter."""

    kind: Literal["subtractive"]
    wave: Literal["saw", "square", "triangle", "sine"] = "saw"
    unison: int = Field(1, ge=1, le=3)
    detune: float = Field(0.0, ge=0.0, le=50.0, description="cents between unison voices")
    sub: float = Field(0.0, ge=0.0, le=1.0, description="level of a sine one octave down")
    harmonics: int = Field(24, ge=1, le=128, description="partials in the band-limited wave")


class FmPatch(VoicePatch):
    """Two-operator FM; the modulation index follows the envelope, so attacks are brighter."""

    kind: Literal["fm"]
    ratio: float = Field(1.0, ge=0.125, le=16.0)
    index: float = Field(2.0, ge=0.0, le=20.0)


class OrganPatch(VoicePatch):
    """Additive tonewheel-style organ: nine drawbars, 0..8 as on the instrument."""

    kind: Literal["organ"]
    drawbars: tuple[float, float, float, float, float, float, float, float, float] = (
        8, 8, 8, 0, 0, 0, 0, 0, 0,
    )  # fmt: skip


class SupersawPatch(VoicePatch):
    """Seven detuned saws per voice (pyo's JP-8000-style SuperSaw): trance leads, big pads."""

    kind: Literal["supersaw"]
    detune: float = Field(0.5, ge=0.0, le=1.0, description="spread of the six side saws")
    sides: float = Field(0.7, ge=0.0, le=1.0, description="0 the centre saw only .. 1 the sides")
    gain: float = Field(0.5, ge=0.0, le=1.0, description="pyo's supersaw peaks near 2: scaled")


class WavetablePatch(VoicePatch):
    """One cycle drawn from its harmonics: any static spectrum (glass, reed, bell-less organ)."""

    kind: Literal["wavetable"]
    partials: tuple[float, ...] = Field(
        min_length=1, max_length=128, description="amplitude of harmonic 1, 2, 3 ... (-1..1)"
    )
    unison: int = Field(1, ge=1, le=3)
    detune: float = Field(0.0, ge=0.0, le=50.0, description="cents between unison voices")

    @field_validator("partials")
    @classmethod
    def _audible(cls, partials: tuple[float, ...]) -> tuple[float, ...]:
        if any(not -1.0 <= level <= 1.0 for level in partials):
            raise ValueError("every partial's level must be -1..1")
        if not any(partials):
            raise ValueError("at least one partial must be non-zero")
        return partials


DrumModel = Literal[
    "kick", "snare", "clap", "hat", "tom", "cymbal", "rim", "brush", "shaker", "cowbell"
]


class DrumPiece(_Spec):
    """One piece of a synthesized kit, rendered once when the patch loads."""

    notes: tuple[int, ...] = Field(min_length=1, description="General MIDI drum numbers")
    model: DrumModel
    tune: float = Field(200.0, ge=20.0, le=12000.0, description="Hz")
    decay: float = Field(0.3, gt=0.005, le=6.0, description="seconds")
    tone: float = Field(0.5, ge=0.0, le=1.0, description="dark 0 .. bright 1")
    noise: float = Field(0.5, ge=0.0, le=1.0, description="tonal 0 .. noisy 1")
    gain_db: float = Field(0.0, ge=-60.0, le=12.0)
    pan: float = Field(0.0, ge=-1.0, le=1.0)
    choke: str | None = Field(None, description="pieces sharing a choke group cut each other")


class DrumKitPatch(_Spec):
    kind: Literal["drumkit"]
    name: str = ""
    description: str = ""
    pieces: dict[str, DrumPiece] = Field(min_length=1)
    mix: MixDefaults = MixDefaults()


Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, object]
"""Where in the patch, what is wrong, and the value found."""


def _raise_problems(title: str, problems: Sequence[Problem]) -> None:
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(type=PydanticCustomError("patch", message), loc=loc, input=value)
                for loc, message, value in problems
            ],
        )


class OneShotEnvelope(_Spec):
    """How a rendered note ends at its key-up, and how its level follows velocity; its attack
    and decay are in the sound itself."""

    release: float = Field(0.25, ge=0.002, le=20.0, description="seconds of fade after key-up")
    velocity_curve: float = Field(1.6, ge=0.5, le=4.0, description="gain = velocity ** curve")


class _Rendered(_Spec):
    """A pitched instrument whose notes are rendered ahead and mixed in as one-shots."""

    name: str = ""
    description: str = ""
    program: int = Field(0, ge=0, le=127, description="General MIDI program, for MIDI export")
    voices: int = Field(8, ge=1, le=16, description="notes sounding at once; the oldest is cut")
    envelope: OneShotEnvelope = OneShotEnvelope()
    filter: Filter = Filter()
    effects: Chain = Field((), description="inserts after the filter, in order")
    mix: MixDefaults = MixDefaults()

    @field_validator("filter")
    @classmethod
    def _static_filter(cls, lowpass: Filter) -> Filter:
        if lowpass.env_amount > 0:
            message = "must be 0: a rendered note has no envelope for the filter to follow"
            _raise_problems("Filter", [(("env_amount",), message, lowpass.env_amount)])
        return lowpass

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Self:
        completed, problems = self._completed(info.context or {})
        _raise_problems(type(self).__name__, problems)
        return completed

    def _completed(self, _context: Mapping[str, object]) -> tuple[Self, list[Problem]]:
        """The patch with what it leaves out filled in, and what is wrong with it."""
        return self, []


class PluckPatch(_Rendered):
    """A Karplus-Strong plucked string (``jamd.engine.pluck``): a burst shaped by the pick and
    the body rings in a delay line one period long, losing its overtones first."""

    kind: Literal["pluck"]
    decay: float = Field(3.0, ge=0.05, le=20.0, description="seconds for middle C to fall 60 dB")
    decay_tracking: float = Field(
        0.5, ge=0.0, le=1.0, description="higher notes fall sooner: decay * (f / C4) ** -tracking"
    )
    damping: float = Field(
        0.4, ge=0.0, le=1.0, description="overtones fall sooner: 0 rings bright, 1 a dull thud"
    )
    brightness: float = Field(
        0.7, ge=0.0, le=1.0, description="the pluck: 0 a soft thumb, 1 a hard pick"
    )
    pick_position: float = Field(
        0.15, ge=0.02, le=0.5, description="where it is plucked, as a fraction of the string"
    )
    body: float = Field(0.3, ge=0.0, le=1.0, description="how much the body resonates")
    body_frequency: float = Field(
        180.0, ge=40.0, le=2000.0, description="Hz, the body's main resonance"
    )
    layers: int = Field(3, ge=1, le=8, description="velocity layers: a harder pluck is brighter")


Keys = tuple[Annotated[int, Field(ge=0, le=127)], Annotated[int, Field(ge=0, le=127)]]
Velocities = tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]]


class SampleZone(_Spec):
    """One recording and the notes it plays; what is left out comes from its file name."""

    file: str = Field(min_length=1, description="a WAV file in the samples folder")
    root: int | None = Field(None, ge=0, le=127, description="the MIDI note the recording sounds")
    keys: Keys | None = Field(None, description="the lowest and highest MIDI note it plays")
    velocities: Velocities | None = Field(
        None, description="it plays velocities above the first, up to the second"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        problems: list[Problem] = []
        if self.keys is not None and self.keys[0] > self.keys[1]:
            problems.append((("keys",), "the lowest key must not be above the highest", self.keys))
        if self.velocities is not None and self.velocities[0] >= self.velocities[1]:
            message = "the first velocity must be below the second"
            problems.append((("velocities",), message, self.velocities))
        _raise_problems("SampleZone", problems)
        return self


class SamplerPatch(_Rendered):
    """WAV recordings played at the note's pitch (``jamd.engine.sampler``).

    After validation ``samples`` is an absolute folder and every zone is complete: its root,
    keys and velocities as given or as derived from the file names (see ``sample_zones``).
    """

    kind: Literal["sampler"]
    samples: Path = Field(description="folder of WAV files, relative to the patches directory")
    zones: tuple[SampleZone, ...] = Field((), description="recordings; default: every file")

    def _completed(self, context: Mapping[str, object]) -> tuple[Self, list[Problem]]:
        folder = self.samples
        if not folder.is_absolute():
            directory = context.get("patches")
            if not isinstance(directory, Path):
                message = "a relative folder needs the patches directory (load the patch file)"
                return self, [(("samples",), message, str(folder))]
            folder = directory / folder
        zones, problems = sample_zones(folder, self.zones)
        return self.model_copy(update={"samples": folder, "zones": zones}), problems


RenderedPatch = PluckPatch | SamplerPatch
"""A pitched patch whose notes are rendered ahead and mixed in as one-shots."""
InstrumentPatch = VoicePatch | RenderedPatch
"""A pitched patch: one with oscillators on voice rings (any kind's), or a rendered one."""
Patch = InstrumentPatch | DrumKitPatch

BUILTIN_KINDS: dict[str, type[VoicePatch] | type[RenderedPatch] | type[DrumKitPatch]] = {
    "subtractive": SubtractivePatch,
    "fm": FmPatch,
    "organ": OrganPatch,
    "supersaw": SupersawPatch,
    "wavetable": WavetablePatch,
    "pluck": PluckPatch,
    "sampler": SamplerPatch,
    "drumkit": DrumKitPatch,
}
"""jamd's own kinds; ``kind_models`` adds those that plugins register."""


def kind_models() -> dict[str, type[VoicePatch] | type[RenderedPatch] | type[DrumKitPatch]]:
    """Every kind a patch file may name, jamd's and installed plugins', with its model."""
    plugins = {name: kind.patch for name, kind in plugin_kinds().items()}
    return {**BUILTIN_KINDS, **plugins}


class MasterPatch(_Spec):
    """The master bus: the reverb and echo sends' returns, then the chain everything leaves
    through, which ends in the limiter."""

    kind: Literal["master"]
    name: str = ""
    description: str = ""
    reverb: ReverbSend = ReverbSend()
    delay: EchoSend = EchoSend()
    effects: Chain = Field((LimiterEffect(kind="limiter"),), description="must end in a limiter")


# Sample folders: zones from file names, checked before a patch reaches the engine.

_SAMPLE_NAME = re.compile(
    r"(?:(?P<letter>[A-Ga-g])(?P<accidental>[#b]?)(?P<octave>-?\d)|(?P<number>\d{1,3}))"
    r"(?:[_\- ][vV](?P<layer>\d{1,2}))?"
)
_PITCH_CLASSES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_NAMING = "name files like C4.wav, F#3_v2.wav or 60.wav (C4 = 60; _v1 is the softest layer)"


def sample_name(stem: str) -> tuple[int, int] | None:
    """(root note, velocity layer) from a sample file's name without its suffix: ``C4`` and
    ``60`` are (60, 0), ``Eb2_v2`` (39, 2); None when the name is not of that form."""
    match = _SAMPLE_NAME.fullmatch(stem)
    if match is None:
        return None
    if match["number"] is not None:
        root = int(match["number"])
    else:
        shift = {"#": 1, "b": -1, "": 0}[match["accidental"]]
        root = 12 * (int(match["octave"]) + 1) + _PITCH_CLASSES[match["letter"].lower()] + shift
    layer = int(match["layer"]) if match["layer"] is not None else 0
    return (root, layer) if 0 <= root <= 127 else None


def sample_zones(
    folder: Path, zones: Sequence[SampleZone]
) -> tuple[tuple[SampleZone, ...], list[Problem]]:
    """Complete zones, and every problem with them or their files.

    Without ``zones``, every ``*.wav`` in the folder is one. What a zone leaves out is derived:
    its root from the file name; its keys reach halfway to the neighbouring roots (the lowest
    down to note 0, the highest up to 127); the velocity layers of one root split 0..1 evenly,
    ordered by the layer in their names.
    """
    explicit = bool(zones)
    if not explicit:
        if not folder.is_dir():
            missing = "not a folder" if folder.exists() else "no such folder"
            return (), [(("samples",), missing, str(folder))]
        names = sorted(path.name for path in folder.iterdir() if path.suffix.lower() == ".wav")
        if not names:
            return (), [(("samples",), "no .wav files in the folder", str(folder))]
        zones = [SampleZone(file=name) for name in names]
    problems: list[Problem] = []
    roots: list[int] = []
    layers: list[int] = []
    named_by: dict[tuple[int, int], str] = {}
    for index, zone in enumerate(zones):
        here: Loc = ("zones", index) if explicit else ()
        named = sample_name(Path(zone.file).stem)
        root = zone.root if zone.root is not None else named[0] if named else None
        layer = named[1] if named else 0
        if root is None:
            message = f"cannot tell the note from the file name; {_NAMING}"
            problems.append(((*here, "root") if explicit else ("samples",), message, zone.file))
        else:
            roots.append(root)
            layers.append(layer)
            other = named_by.setdefault((root, layer), zone.file)
            if other != zone.file and not explicit:
                message = f"{other} and {zone.file} both play note {root}, layer {layer}"
                problems.append((("samples",), message, str(folder)))
        wrong = wav_problem(folder / zone.file)
        if wrong is not None:
            where = (*here, "file") if explicit else ("samples",)
            problems.append((where, wrong, str(folder / zone.file)))
    if problems:
        return (), problems
    by_root: dict[int, list[int]] = {}
    for index, root in enumerate(roots):
        by_root.setdefault(root, []).append(index)
    keys = _key_ranges(sorted(by_root))
    completed = []
    for index, (zone, root) in enumerate(zip(zones, roots, strict=True)):
        layered = sorted(by_root[root], key=lambda other: layers[other])
        rank, share = layered.index(index), 1.0 / len(layered)
        completed.append(
            SampleZone(
                file=zone.file,
                root=root,
                keys=zone.keys or keys[root],
                velocities=zone.velocities or (rank * share, (rank + 1) * share),
            )
        )
    return tuple(completed), []


def _key_ranges(roots: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Each root plays up to halfway to its neighbours; the ends reach the keyboard's ends."""
    ranges = {}
    for index, root in enumerate(roots):
        low = 0 if index == 0 else (roots[index - 1] + root) // 2 + 1
        high = 127 if index == len(roots) - 1 else (root + roots[index + 1]) // 2
        ranges[root] = (low, high)
    return ranges


_WAVE_FORMATS = {3: "32-bit float", 65534: "WAVE_FORMAT_EXTENSIBLE"}


def wav_problem(path: Path) -> str | None:
    """What keeps ``path`` from being a sample jamd reads (16- or 24-bit PCM, mono or
    stereo, not empty), or None. Only the header is read."""
    try:
        with wave.open(str(path), "rb") as reader:
            width, channels, frames = (
                reader.getsampwidth(),
                reader.getnchannels(),
                reader.getnframes(),
            )
    except FileNotFoundError:
        return "no such file"
    except OSError as error:
        return f"cannot read it: {error.strerror or error}"
    except (wave.Error, EOFError) as error:
        text = str(error) or "the file ends early"
        number = text.removeprefix("unknown format: ")
        if number.isdigit():
            text = f"{_WAVE_FORMATS.get(int(number), 'format ' + number)} is not read"
        return f"not a 16- or 24-bit PCM WAV file ({text})"
    if width not in (2, 3):
        return f"must be 16- or 24-bit PCM, got {8 * width}-bit"
    if channels not in (1, 2):
        return f"must be mono or stereo, got {channels} channels"
    if frames == 0:
        return "holds no audio"
    return None


def parse_patch(data: dict[str, object], source: str, *, directory: Path | None = None) -> Patch:
    """Validate one patch's data; every error is reported at once, prefixed by ``source``.

    ``directory`` is the patches directory the patch came from: a sampler's relative
    ``samples`` folder is found there.
    """
    models = kind_models()
    kind = data.get("kind")
    model = models.get(kind) if isinstance(kind, str) else None
    if model is None:
        got = " (missing)" if kind is None else f", got {kind!r}"
        raise PatchError(source, [f"kind: must be one of {', '.join(models)}{got}"])
    context = {"patches": directory} if directory is not None else None
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise PatchError(source, validation_messages(error, model)) from None


class _EffectFile(BaseModel):
    model_config = ConfigDict(defer_build=True)
    effect: Effect


class _MasterFile(BaseModel):
    model_config = ConfigDict(defer_build=True)
    master: MasterPatch


def parse_effect(data: dict[str, object], source: str) -> Effect:
    """Validate one effect file's data (one effect, no references)."""
    try:
        return _EffectFile.model_validate({"effect": data}).effect
    except ValidationError as error:
        raise PatchError(source, validation_messages(error, _EffectFile, strip_prefix=1)) from None


def parse_master(data: dict[str, object], source: str) -> MasterPatch:
    """Validate a master patch's data, its chain's order included."""
    try:
        master = _MasterFile.model_validate({"master": data}).master
    except ValidationError as error:
        raise PatchError(source, validation_messages(error, _MasterFile, strip_prefix=1)) from None
    problems = chain_problems(master.effects, master=True)
    if problems:
        raise PatchError(source, problems)
    return master


def chain_problems(effects: Chain, *, master: bool) -> list[str]:
    """What is wrong with where effects stand: a master chain ends in a limiter (the true-peak
    guard); an instrument's chain delays nothing (its notes would sound late) and holds no
    limiter. References not yet resolved are checked once they are."""
    problems = []
    last = effects[-1] if effects else None
    if master and not isinstance(last, LimiterEffect | str):
        got = "no effects" if last is None else f"{last.kind} last"
        problems.append(
            f'effects: the master chain must end in a limiter (kind = "limiter"), got {got}'
        )
    for index, effect in enumerate(effects):
        if master or isinstance(effect, str):
            continue
        if isinstance(effect, LimiterEffect):
            problems.append(f"effects.{index}: a limiter belongs at the end of the master chain")
        elif isinstance(effect, CompressorEffect) and effect.lookahead_ms > 0:
            problems.append(
                f"effects.{index}.lookahead_ms: must be 0 in an instrument's chain (a look-ahead "
                f"delays the track, its notes would sound late), got {effect.lookahead_ms:g}"
            )
    return problems


def read_patch_data(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise PatchError(str(path), [f"cannot read: {error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise PatchError(str(path), [f"not valid TOML: {error}"]) from None


def load_patch_file(path: Path) -> Patch:
    return parse_patch(read_patch_data(path), str(path), directory=path.parent.parent)


class PatchError(InputError):
    """A patch that cannot be used; ``problems`` lists every error found in it."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))


class PatchLibrary:
    """Finds patches by name (``role/name``) in an ordered list of directories.

    Instruments live in every role but two: ``fx/`` holds effects, one a file, which
    instruments and masters name in their chains; ``master/`` holds master patches.
    """

    def __init__(self, directories: Iterable[Path]) -> None:
        self.directories = tuple(directories)

    def path_of(self, name: str) -> Path:
        if name.count("/") != 1 or ".." in name or name.startswith("/"):
            raise PatchError(name, ["a patch name is role/name, e.g. keys/epiano"])
        path = self._find(name)
        if path is not None:
            return path
        role = name.split("/", maxsplit=1)[0]
        names = self.names()
        known = ", ".join([n for n in names if n.startswith(f"{role}/")] or names) or "none"
        raise PatchError(name, [f"no such patch; known patches: {known}"])

    def load(self, name: str) -> Patch:
        """An instrument, with the effect files its chain names read in."""
        path = self.path_of(name)
        data, problems = self._resolve_effects(read_patch_data(path))
        try:
            patch = parse_patch(data, str(path), directory=path.parent.parent)
        except PatchError as error:
            raise PatchError(str(path), [*problems, *error.problems]) from None
        problems += chain_problems(getattr(patch, "effects", ()), master=False)
        if problems:
            raise PatchError(str(path), problems)
        return patch

    def load_effect(self, name: str) -> Effect:
        path = self._find(name) if name.startswith(f"{EFFECT_ROLE}/") else None
        if path is None:
            known = ", ".join(self.effect_names()) or "none"
            raise PatchError(name, [f"no such effect; known effects: {known}"])
        return parse_effect(read_patch_data(path), str(path))

    def load_master(self, name: str) -> MasterPatch:
        path = self._find(name) if name.startswith(f"{MASTER_ROLE}/") else None
        if path is None:
            known = ", ".join(self.master_names()) or "none"
            raise PatchError(name, [f"no such master patch; known master patches: {known}"])
        data, problems = self._resolve_effects(read_patch_data(path))
        try:
            master = parse_master(data, str(path))
        except PatchError as error:
            raise PatchError(str(path), [*problems, *error.problems]) from None
        if problems:
            raise PatchError(str(path), problems)
        return master

    def names(self) -> tuple[str, ...]:
        """Instruments (drum kits included): every role but effects and masters."""
        return tuple(n for n in self._all() if n.split("/")[0] not in (EFFECT_ROLE, MASTER_ROLE))

    def effect_names(self) -> tuple[str, ...]:
        return tuple(n for n in self._all() if n.startswith(f"{EFFECT_ROLE}/"))

    def master_names(self) -> tuple[str, ...]:
        return tuple(n for n in self._all() if n.startswith(f"{MASTER_ROLE}/"))

    def _all(self) -> tuple[str, ...]:
        found = {
            f"{path.parent.name}/{path.stem}"
            for directory in self.directories
            if directory.is_dir()
            for path in directory.glob("*/*.toml")
        }
        return tuple(sorted(found))

    def _find(self, name: str) -> Path | None:
        if name.count("/") != 1 or ".." in name or name.startswith("/"):
            return None
        for directory in self.directories:
            candidate = directory / f"{name}.toml"
            if candidate.is_file():
                return candidate
        return None

    def _resolve_effects(self, data: dict[str, object]) -> tuple[dict[str, object], list[str]]:
        """``data`` with every effect file its ``effects`` name read in, and what went wrong.
        A reference that fails stays a name, so the rest of the file is still checked."""
        effects = data.get("effects")
        if not isinstance(effects, list):
            return data, []
        problems: list[str] = []
        resolved: list[object] = []
        for index, item in enumerate(effects):
            if not isinstance(item, str):
                resolved.append(item)
                continue
            try:
                resolved.append(self.load_effect(item))
            except PatchError as error:
                problems += [f"effects.{index}: {error.source}: {p}" for p in error.problems]
                resolved.append(item)
        return {**data, "effects": resolved}, problems


DEFAULT_MASTER = "master/default"


@functools.cache
def default_master() -> MasterPatch:
    """The shipped master patch, read once (a graph made without one plays through it)."""
    return PatchLibrary(default_patch_dirs()).load_master(DEFAULT_MASTER)


def default_patch_dirs() -> tuple[Path, ...]:
    """The repository's patches/ in a development install, else the installed share/jamd/patches."""
    repository = Path(__file__).resolve().parents[3] / "patches"
    installed = Path(sys.prefix) / "share" / "jamd" / "patches"
    return tuple(path for path in (repository, installed) if path.is_dir())

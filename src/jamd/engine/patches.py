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
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

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


class _Instrument(_Spec):
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


class SubtractivePatch(_Instrument):
    """Band-limited oscillators (optionally detuned in unison, with a sub octave) into a filter."""

    kind: Literal["subtractive"]
    wave: Literal["saw", "square", "triangle", "sine"] = "saw"
    unison: int = Field(1, ge=1, le=3)
    detune: float = Field(0.0, ge=0.0, le=50.0, description="cents between unison voices")
    sub: float = Field(0.0, ge=0.0, le=1.0, description="level of a sine one octave down")
    harmonics: int = Field(24, ge=1, le=128, description="partials in the band-limited wave")


class FmPatch(_Instrument):
    """Two-operator FM; the modulation index follows the envelope, so attacks are brighter."""

    kind: Literal["fm"]
    ratio: float = Field(1.0, ge=0.125, le=16.0)
    index: float = Field(2.0, ge=0.0, le=20.0)


class OrganPatch(_Instrument):
    """Additive tonewheel-style organ: nine drawbars, 0..8 as on the instrument."""

    kind: Literal["organ"]
    drawbars: tuple[float, float, float, float, float, float, float, float, float] = (
        8, 8, 8, 0, 0, 0, 0, 0, 0,
    )  # fmt: skip


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


InstrumentPatch = SubtractivePatch | FmPatch | OrganPatch
Patch = Annotated[InstrumentPatch | DrumKitPatch, Field(discriminator="kind")]


class MasterPatch(_Spec):
    """The master bus: the reverb and echo sends' returns, then the chain everything leaves
    through, which ends in the limiter."""

    kind: Literal["master"]
    name: str = ""
    description: str = ""
    reverb: ReverbSend = ReverbSend()
    delay: EchoSend = EchoSend()
    effects: Chain = Field((LimiterEffect(kind="limiter"),), description="must end in a limiter")


class _PatchFile(BaseModel):
    model_config = ConfigDict(defer_build=True)
    patch: Patch


class _EffectFile(BaseModel):
    model_config = ConfigDict(defer_build=True)
    effect: Effect


class _MasterFile(BaseModel):
    model_config = ConfigDict(defer_build=True)
    master: MasterPatch


def parse_patch(data: dict[str, object], source: str) -> Patch:
    """Validate one patch's data; every error is reported at once, prefixed by ``source``."""
    try:
        return _PatchFile.model_validate({"patch": data}).patch
    except ValidationError as error:
        raise PatchError(source, validation_messages(error, _PatchFile, strip_prefix=1)) from None


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
    return parse_patch(read_patch_data(path), str(path))


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
            patch = parse_patch(data, str(path))
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

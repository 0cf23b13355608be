"""Commands: the one way anything steers the live session (docs/commands.md lists them).

Every control surface (OSC, MIDI, the command line, a peer) turns its input into these typed,
frozen values; constructing one validates it, so a command that exists is one the session can
take, and an error says what is allowed (``tempo must be 20..300 BPM, got 400``). Each kind
lands on its ``boundary``: at once, on the next beat, on the next bar, or at the next section.

``continuous`` commands are fader moves: under a flood the bus keeps only the newest per
control (``control``). The others (transport, sections, harmony) are never dropped.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from jamd.compose import Part
from jamd.compose.plan import TEMPO_RANGE
from jamd.errors import InputError
from jamd.theory import Chord, Key, parse_chord_symbol, parse_key, parse_roman

PARTS: tuple[str, ...] = tuple(part.value for part in Part)
LEVEL_RANGE = (-60.0, 12.0)
MASTER_RANGE = (-60.0, 6.0)
SENDS = ("reverb", "delay")
SEED_MAX = 2**63 - 1  # what OSC's int64 carries; settings' music.seed starts at 1 too


class Boundary(StrEnum):
    """Where a command takes effect."""

    NOW = "now"
    BEAT = "beat"
    BAR = "bar"
    SECTION = "section"


class CommandError(InputError):
    """A command that cannot be built or applied; the message says what is allowed."""


def _in_range(name: str, value: float, low: float, high: float, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise CommandError(f"{name} must be {low:g}..{high:g}{suffix}, got {value:g}")
    return float(value)


def _part(value: str) -> str:
    if value not in PARTS:
        raise CommandError(f"part must be one of {', '.join(PARTS)}, got {value!r}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise CommandError(f"{name} must be true or false, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Command:
    boundary: ClassVar[Boundary] = Boundary.NOW
    continuous: ClassVar[bool] = False

    @property
    def control(self) -> tuple[object, ...]:
        """What this command moves: a newer command on the same control supersedes it."""
        return (type(self).__name__,)


# -- transport ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play(Command):
    """Start the song from its top (after a count-in when stopped; at the next bar when
    playing)."""

    boundary: ClassVar[Boundary] = Boundary.BAR


@dataclass(frozen=True, slots=True)
class Stop(Command):
    """Stop now: held notes go into their release, effects ring out."""


@dataclass(frozen=True, slots=True)
class Continue(Command):
    """Start again from the bar after the one that played when the music stopped."""


@dataclass(frozen=True, slots=True)
class Panic(Command):
    """Release every sounding note now; the music goes on from its next notes."""


# -- time and harmony -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetLink(Command):
    """Join (``True``) or leave the Ableton Link session; joined, jamd's next bar line lands
    on the session's (docs/clock.md)."""

    on: bool

    def __post_init__(self) -> None:
        _flag("link", self.on)


@dataclass(frozen=True, slots=True)
class SetTempo(Command):
    bpm: float
    boundary: ClassVar[Boundary] = Boundary.BEAT
    continuous: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "bpm", _in_range("tempo", self.bpm, *TEMPO_RANGE, unit="BPM"))


@dataclass(frozen=True, slots=True)
class SetKey(Command):
    """A new key for the song, from the next bar (its form and melody go on in the new key)."""

    key: Key
    boundary: ClassVar[Boundary] = Boundary.BAR

    @classmethod
    def parse(cls, text: str) -> "SetKey":
        return cls(parse_key(text))


CHORD_BOUNDARIES = (Boundary.BEAT, Boundary.BAR)


@dataclass(frozen=True, slots=True)
class SetChord(Command):
    """Hold a chord from the next bar (or, ``at=Boundary.BEAT``, the next beat: a performer's
    left hand), as a symbol (``Dm7``) or a numeral of the key (``ii7``), until another chord or
    ``None`` (back to the song's own changes)."""

    chord: str | None
    at: Boundary = Boundary.BAR
    boundary: ClassVar[Boundary] = Boundary.BAR

    def __post_init__(self) -> None:
        if self.chord is not None:
            parse_held_chord(self.chord, parse_key("C"))  # the form; the key comes at the bar
        if not isinstance(self.at, str) or self.at not in CHORD_BOUNDARIES:
            shown = repr(str(self.at)) if isinstance(self.at, str) else repr(self.at)
            allowed = " or ".join(CHORD_BOUNDARIES)
            raise CommandError(f"chord boundary must be {allowed}, got {shown}")
        object.__setattr__(self, "at", Boundary(self.at))


def parse_held_chord(text: str, key: Key) -> Chord:
    """The chord ``text`` names: a symbol, else a Roman numeral in ``key``."""
    if not isinstance(text, str):
        raise CommandError(f"chord must be text such as 'Dm7' or 'ii7', got {text!r}")
    try:
        return parse_chord_symbol(text)
    except InputError:
        try:
            return parse_roman(text, key)
        except InputError:
            raise CommandError(
                "chord must be a symbol (C, Dm7, F#7, Bb/D) or a Roman numeral (ii7, V7/V), "
                f"got {text!r}"
            ) from None


@dataclass(frozen=True, slots=True)
class Regenerate(Command):
    """A new song (``seed``, or a fresh one) in the same genre (or ``genre``: a song played
    again from its row) and key, from the next bar, at the section of the same kind as the one
    playing."""

    seed: int | None = None
    genre: str | None = None
    boundary: ClassVar[Boundary] = Boundary.BAR

    def __post_init__(self) -> None:
        if self.genre is not None and (not isinstance(self.genre, str) or not self.genre):
            raise CommandError(f"genre must be a name such as 'jazz', got {self.genre!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise CommandError(f"seed must be a whole number, got {self.seed!r}")
        if self.seed is not None and not 1 <= self.seed <= SEED_MAX:
            raise CommandError(f"seed must be 1..{SEED_MAX}, got {self.seed}")


# -- sections -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NextSection(Command):
    boundary: ClassVar[Boundary] = Boundary.BAR


@dataclass(frozen=True, slots=True)
class GotoSection(Command):
    """Jump to a section by label (``chorus 2``) or kind (``chorus``: the next one)."""

    name: str
    boundary: ClassVar[Boundary] = Boundary.BAR

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise CommandError(f"section must be a name such as 'chorus', got {self.name!r}")
        object.__setattr__(self, "name", " ".join(self.name.lower().split()))


@dataclass(frozen=True, slots=True)
class Fill(Command):
    """End the next bar with a drum fill."""

    boundary: ClassVar[Boundary] = Boundary.BAR


@dataclass(frozen=True, slots=True)
class Ending(Command):
    """Play the song's ending from the next bar, then stop."""

    boundary: ClassVar[Boundary] = Boundary.BAR


# -- style ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetGenre(Command):
    """A new song in ``genre``, at the next section (``live.genre_change`` may say next bar)."""

    genre: str
    boundary: ClassVar[Boundary] = Boundary.SECTION

    def __post_init__(self) -> None:
        if not isinstance(self.genre, str) or not self.genre:
            raise CommandError(f"genre must be a name such as 'jazz', got {self.genre!r}")


@dataclass(frozen=True, slots=True)
class SetEnergy(Command):
    energy: float
    boundary: ClassVar[Boundary] = Boundary.BAR
    continuous: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "energy", _in_range("energy", self.energy, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class SetMood(Command):
    """Dark (0) to bright (1) tone colour for the whole band, at once, smoothed."""

    mood: float
    continuous: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "mood", _in_range("mood", self.mood, 0.0, 1.0))


# -- mixer (at once, smoothed) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PartCommand(Command):
    part: str
    continuous: ClassVar[bool] = True

    @property
    def control(self) -> tuple[object, ...]:
        return (type(self).__name__, self.part)


@dataclass(frozen=True, slots=True)
class SetLevel(_PartCommand):
    """The part's fader in dB, added to its patch's own gain (0 dB: as the patch sits)."""

    db: float = 0.0

    def __post_init__(self) -> None:
        _part(self.part)
        object.__setattr__(self, "db", _in_range("level", self.db, *LEVEL_RANGE, unit="dB"))


@dataclass(frozen=True, slots=True)
class SetPan(_PartCommand):
    pan: float = 0.0

    def __post_init__(self) -> None:
        _part(self.part)
        object.__setattr__(self, "pan", _in_range("pan", self.pan, -1.0, 1.0))


@dataclass(frozen=True, slots=True)
class SetMute(_PartCommand):
    muted: bool = True
    continuous: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _part(self.part)
        _flag("mute", self.muted)


@dataclass(frozen=True, slots=True)
class SetSolo(_PartCommand):
    soloed: bool = True
    continuous: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _part(self.part)
        _flag("solo", self.soloed)


@dataclass(frozen=True, slots=True)
class SetSend(_PartCommand):
    send: str = "reverb"
    amount: float = 0.0

    def __post_init__(self) -> None:
        _part(self.part)
        if self.send not in SENDS:
            raise CommandError(f"send must be one of {', '.join(SENDS)}, got {self.send!r}")
        object.__setattr__(self, "amount", _in_range(f"{self.send} send", self.amount, 0.0, 1.0))

    @property
    def control(self) -> tuple[object, ...]:
        return ("SetSend", self.part, self.send)


@dataclass(frozen=True, slots=True)
class SetTone(_PartCommand):
    """The part's brightness: 0.5 as the patch sounds, 0 two octaves darker, 1 two brighter
    (moves the patch's filter; patches without one have no tone to move)."""

    brightness: float = 0.5

    def __post_init__(self) -> None:
        _part(self.part)
        object.__setattr__(self, "brightness", _in_range("tone", self.brightness, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class SetPatch(Command):
    """Play the part on ``patch`` from the next bar, in this song and the next ones, until
    ``None`` gives it back to the genre's choice. ``patch`` names one of the part's own patches:
    ``upright`` or ``bass/upright``."""

    part: str
    patch: str | None = None
    boundary: ClassVar[Boundary] = Boundary.BAR

    def __post_init__(self) -> None:
        _part(self.part)
        if self.patch is None:
            return
        if not isinstance(self.patch, str) or not self.patch.strip():
            raise CommandError(f"patch must be a name such as 'upright', got {self.patch!r}")
        role, _, name = self.patch.strip().rpartition("/")
        if role not in ("", self.part) or not name:
            raise CommandError(
                f"the {self.part} part plays {self.part} patches "
                f"(such as {self.part}/NAME), got {self.patch!r}"
            )
        object.__setattr__(self, "patch", f"{self.part}/{name}")

    @property
    def control(self) -> tuple[object, ...]:
        return ("SetPatch", self.part)


@dataclass(frozen=True, slots=True)
class SetMaster(Command):
    db: float = 0.0
    continuous: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "db", _in_range("master", self.db, *MASTER_RANGE, unit="dB"))


ALL_COMMANDS: tuple[type[Command], ...] = (
    Play, Stop, Continue, Panic, SetTempo, SetKey, SetChord, Regenerate, NextSection,
    GotoSection, Fill, Ending, SetGenre, SetEnergy, SetMood, SetLevel, SetPan, SetMute,
    SetSolo, SetSend, SetTone, SetPatch, SetMaster, SetLink,
)  # fmt: skip

"""What a band's members say to each other: OSC messages of one JSON string each.

- ``/jamd/band/hello NAME``: a member that has just joined asks for the band's state; every
  member that plays answers with its ``state``.
- ``/jamd/band/state JSON``: the bar a member started playing (``Position``): the session beat
  it started on, the song's bar, the song (its parameters, instruments and what a performer
  holds) and the member's epoch. Sent at every bar line and in answer to ``hello``.
- ``/jamd/band/command JSON``: a command given to a member (``Shared``), with the session beat
  from which it lands (the same boundary in every member), or none (at once: no shared clock).

Everything a peer sends is checked here (pydantic models, the commands' own checks): a message
that does not parse raises ``BandError`` saying why, and changes nothing.
"""

import dataclasses
import hashlib
import json
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jamd.compose import Part, SongParams
from jamd.errors import InputError
from jamd.live.commands import ALL_COMMANDS, Command, CommandError, SetKey
from jamd.live.conductor import Cursor
from jamd.theory import parse_key

HELLO = "/jamd/band/hello"
STATE = "/jamd/band/state"
COMMAND = "/jamd/band/command"
MAX_BYTES = 16384  # a state is under a kilobyte; more is no member's


class BandError(InputError):
    """A band message that cannot be taken; the text says why."""


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


W = TypeVar("W", bound=_Wire)


class Song(_Wire):
    """A song as every member plans it: ``SongParams``, the instruments, what is held."""

    genre: Annotated[str, Field(min_length=1, max_length=64)]
    key: Annotated[str, Field(min_length=1, max_length=32)]
    tempo: float
    duration: float
    seed: Annotated[int, Field(ge=1, le=2**63 - 1)]
    energy: Annotated[float, Field(ge=0, le=1)]
    patches: dict[Part, Annotated[str, Field(min_length=1, max_length=128)]]
    held: tuple[Part, ...] = ()
    hold: Annotated[str, Field(max_length=32)] | None = None  # a performer's chord
    ending: bool = False  # the song ends and the music stops after it

    def params(self) -> SongParams:
        try:
            return SongParams(
                genre=self.genre,
                key=parse_key(self.key),
                tempo=self.tempo,
                duration=self.duration,
                seed=self.seed,
                energy=self.energy,
            )
        except InputError as error:
            raise BandError(f"song: {error}") from None

    @classmethod
    def of(cls, cursor: Cursor) -> "Song":
        song, params = cursor.song, cursor.song.plan.params
        return cls(
            genre=params.genre,
            key=params.key.name,
            tempo=params.tempo,
            duration=params.duration,
            seed=params.seed,
            energy=params.energy,
            patches=dict(song.arrangement.patches),
            held=tuple(sorted(song.held)),
            hold=None if cursor.hold is None else cursor.hold.symbol,
            ending=cursor.stop_after_song,
        )


class Position(_Wire):
    """Member ``member`` started song bar ``bar`` (negative: a count-in bar) on session beat
    ``beat``; ``heard`` says what it plays, as a fingerprint of the plan (members agree when
    theirs are equal). ``sent``: the member's session beat when it sent this (Link shares the
    phase, not the count: another peer's beats are this one's plus whole bars)."""

    member: Annotated[str, Field(min_length=1, max_length=128)]
    epoch: Annotated[int, Field(ge=0)]
    sent: float
    beat: float
    bar: int
    song: Song
    heard: str

    def wins_over(self, epoch: int, member: str) -> bool:
        """Whether this one is the band's when it and ``member``'s (at ``epoch``) disagree:
        the higher epoch wins (it has seen more of the band's commands), then the name that
        sorts first."""
        return self.epoch > epoch or (self.epoch == epoch and self.member < member)


class Shared(_Wire):
    """``command`` from ``member``, landing from its session beat ``beat`` (None: at once);
    ``sent`` as for ``Position``."""

    member: Annotated[str, Field(min_length=1, max_length=128)]
    epoch: Annotated[int, Field(ge=0)]
    sent: float
    beat: float | None
    command: dict[str, Any]


def heard(cursor: Cursor) -> str:
    """A fingerprint of what ``cursor``'s song plays: its form, chords, instruments, the
    performer's chord and whether it ends (two members with the same one play the same)."""
    plan, song = cursor.song.plan, cursor.song
    what = {
        "genre": plan.params.genre,
        "key": plan.key.name,
        "seed": song.seed,
        "sections": [(s.label, s.start_bar, s.bars) for s in plan.sections],
        "chords": [chord.symbol for chord in plan.chords],
        "patches": sorted((part.value, name) for part, name in song.arrangement.patches.items()),
        "energy": plan.params.energy,
        "hold": None if cursor.hold is None else cursor.hold.symbol,
        "ending": cursor.stop_after_song,
    }
    text = json.dumps(what, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def encode(model: _Wire) -> str:
    return model.model_dump_json()


def decode(kind: type[W], args: tuple[Any, ...]) -> W:
    """One message's arguments (a JSON string) as ``kind``, or ``BandError``."""
    if len(args) != 1 or not isinstance(args[0], str):
        raise BandError("a band message is one JSON string")
    if len(args[0]) > MAX_BYTES:
        raise BandError(f"a band message is at most {MAX_BYTES} bytes, got {len(args[0])}")
    try:
        return kind.model_validate_json(args[0])
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in error.errors()[:3]
        )
        raise BandError(f"not a band {kind.__name__.lower()}: {problems}") from None


# -- commands on the wire -----------------------------------------------------------------------

_KINDS = {kind.__name__: kind for kind in ALL_COMMANDS}


def command_to_wire(command: Command) -> dict[str, Any]:
    """``command`` as JSON values: its kind and its fields."""
    values: dict[str, Any] = {"kind": type(command).__name__}
    for field in dataclasses.fields(command):
        value = getattr(command, field.name)
        if isinstance(command, SetKey) and field.name == "key":
            value = value.name
        elif isinstance(value, Enum):
            value = value.value
        values[field.name] = value
    return values


def command_from_wire(values: dict[str, Any]) -> Command:
    """The command ``values`` describes, checked as any surface's is (``BandError``)."""
    fields = dict(values)
    kind = _KINDS.get(str(fields.pop("kind", "")))
    if kind is None:
        raise BandError(f"no such command: {values.get('kind')!r}")
    names = {field.name for field in dataclasses.fields(kind)}
    if set(fields) - names:
        raise BandError(f"{kind.__name__} has no {', '.join(sorted(set(fields) - names))}")
    try:
        if kind is SetKey:
            key = fields.get("key")
            if not isinstance(key, str):
                raise CommandError(f"key must be a name such as 'A minor', got {key!r}")
            return SetKey.parse(key)
        return kind(**fields)
    except (InputError, TypeError) as error:
        raise BandError(f"{kind.__name__}: {error}") from None

"""The OSC address space under ``/jamd/``, both ways (docs/osc.md lists it).

Control: ``command(address, args)`` turns one message into a ``Command`` (validated by the
command itself) or raises ``OscError`` naming what the address takes. Feedback: ``state`` gives
every control's current value on the same address a surface sends on (the TouchOSC and Ardour
convention: one address for control and feedback), plus what plays now (section, bar, chord,
seed). Buttons send 1 when pressed and 0 when released; faders send floats 0..1.
"""

import difflib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jamd.compose.plan import TEMPO_RANGE
from jamd.errors import InputError
from jamd.live.commands import (
    CHORD_BOUNDARIES,
    MASTER_RANGE,
    PARTS,
    Boundary,
    Command,
    Continue,
    Ending,
    Fill,
    GotoSection,
    NextSection,
    Panic,
    Play,
    Regenerate,
    SetChord,
    SetEnergy,
    SetGenre,
    SetKey,
    SetLevel,
    SetLink,
    SetMaster,
    SetMood,
    SetMute,
    SetPan,
    SetPatch,
    SetSend,
    SetSolo,
    SetTempo,
    SetTone,
    Stop,
)
from jamd.live.session import PartMix, Session, Transport
from jamd.live.tempo import TapTempo
from jamd.training.state import TrainingState

Args = tuple[Any, ...]
FADER_DB = (-60.0, 6.0)  # a volume fader's 0..1 spans these dB, linearly (0 dB at 0.909)
STATE_ONLY = (
    "/jamd/bar",
    "/jamd/bars",
    "/jamd/song",
    "/jamd/transport",
    "/jamd/clock",
    "/jamd/link/peers",
    "/jamd/link/tempo",
    "/jamd/link/downbeat",
    "/jamd/band",
    "/jamd/band/peers",
    "/jamd/band/parts",
    "/jamd/band/downbeat",
)
STREAMED = ("/jamd/beat",)  # sent to subscribers at osc.beat_hz, not part of the state
PRESET_ADDRESSES = ("/jamd/preset/save", "/jamd/preset/load", "/jamd/preset/list")
SONG_ADDRESSES = ("/jamd/like", "/jamd/skip", "/jamd/song/replay")  # kept in the store
BAND_ADDRESSES = ("/jamd/band/hello", "/jamd/band/state", "/jamd/band/command")  # docs/band.md
SERVER_ADDRESSES = (
    "/jamd/state",
    "/jamd/subscribe",
    "/jamd/unsubscribe",
    *PRESET_ADDRESSES,
    *(f"/jamd/track/{part}/patches" for part in PARTS),
    "/jamd/midi/learn",
    *SONG_ADDRESSES,
    *BAND_ADDRESSES,
)  # the server answers these itself (docs/osc.md)


class OscError(InputError):
    """A message jamd cannot take; the text says what the address takes."""


@dataclass(frozen=True, slots=True)
class Address:
    """One control address: what it takes, when it lands, and the command it makes (``None``
    for a button's release, which does nothing)."""

    path: str
    takes: str
    when: str
    make: Callable[[Args], Command | None]


def from_fader(position: float, low: float = FADER_DB[0], high: float = FADER_DB[1]) -> float:
    """A fader's 0..1 onto ``low..high``, linearly (dB for volumes, BPM for the tempo)."""
    return low + (high - low) * position


def to_fader(value: float, low: float = FADER_DB[0], high: float = FADER_DB[1]) -> float:
    if not math.isfinite(value):
        return 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


class Space:
    """The address space for a set of genres and each part's patches (``/jamd/genre`` and
    ``/jamd/track/PART/patch`` also take an index into them)."""

    def __init__(
        self,
        genres: Sequence[str],
        patches: Mapping[str, Sequence[str]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.genres = tuple(genres)
        self.patches = {part: tuple((patches or {}).get(part, ())) for part in PARTS}
        self.addresses: dict[str, Address] = {
            address.path: address
            for address in _addresses(self.genres, self.patches, TapTempo(clock))
        }

    def command(self, path: str, args: Args) -> Command | None:
        """The command a message asks for; ``OscError`` (the address goes with it to the
        sender, so the text leaves it out) if it cannot be one."""
        address = self.addresses.get(path)
        if address is None:
            if path in STATE_ONLY or path in STREAMED:
                raise OscError("state only: jamd sends it, it takes nothing")
            raise OscError(self.unknown(path))
        try:
            return address.make(args)
        except OscError:
            raise
        except InputError as error:  # the command's own check: the value is out of range
            raise OscError(str(error)) from None

    def unknown(self, path: str) -> str:
        known = [*self.addresses, *STATE_ONLY, *STREAMED, *SERVER_ADDRESSES]
        hint = difflib.get_close_matches(path, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]}?" if hint else ""
        return f"unknown address{suggestion} (docs/osc.md lists them)"

    def state(self, session: Session) -> dict[str, Args]:
        """Every address's current value, as feedback sends it."""
        values = _global_state(session)
        for part, mix in session.mixer.items():
            values |= _track_state(part, mix, session.patches.get(part, ""))
        return values

    def changes(self, old: Session, new: Session) -> list[tuple[str, Args]]:
        """The addresses whose values differ between two sessions, with their new values (a
        part's strip is looked at only if it changed: feedback for a fader move stays small)."""
        changed: list[tuple[str, Args]] = []
        if _scalars(old) != _scalars(new):
            before, after = _global_state(old), _global_state(new)
            changed += [(path, args) for path, args in after.items() if before.get(path) != args]
        for part, mix in new.mixer.items():
            patch = new.patches.get(part, "")
            was, was_patch = old.mixer.get(part), old.patches.get(part, "")
            if was is mix and was_patch == patch:
                continue
            before = _track_state(part, was, was_patch) if was is not None else {}
            after = _track_state(part, mix, patch)
            changed += [(path, args) for path, args in after.items() if before.get(path) != args]
        return changed


def _scalars(session: Session) -> tuple[object, ...]:
    """What ``_global_state`` is made of."""
    return (
        session.transport,
        session.tempo,
        session.key,
        session.genre,
        session.energy,
        session.mood,
        session.section,
        session.chord,
        session.bar,
        session.bars,
        session.song,
        session.seed,
        session.master_db,
        session.clock,
        session.link,
        session.link_peers,
        session.link_tempo,
        session.link_downbeat,
        session.band,
        session.band_peers,
        session.band_parts,
        session.band_downbeat,
    )


def _global_state(session: Session) -> dict[str, Args]:
    playing = session.transport is not Transport.STOPPED
    return {
        "/jamd/play": (1 if playing else 0,),
        "/jamd/stop": (0 if playing else 1,),
        "/jamd/transport": (str(session.transport),),
        "/jamd/tempo": (float(session.tempo),),
        "/jamd/tempo/fader": (to_fader(session.tempo, *TEMPO_RANGE),),
        "/jamd/key": (session.key,),
        "/jamd/genre": (session.genre,),
        "/jamd/energy": (float(session.energy),),
        "/jamd/mood": (float(session.mood),),
        "/jamd/section": (session.section,),
        "/jamd/chord": (session.chord,),
        "/jamd/bar": (session.bar,),
        "/jamd/bars": (session.bars,),
        "/jamd/song": (session.song,),
        "/jamd/seed": (session.seed,),
        "/jamd/master": (to_fader(session.master_db, *MASTER_RANGE),),
        "/jamd/master/db": (float(session.master_db),),
        "/jamd/clock": (session.clock,),
        "/jamd/link": (1 if session.link else 0,),
        "/jamd/link/peers": (session.link_peers,),
        "/jamd/link/tempo": (float(session.link_tempo),),
        "/jamd/link/downbeat": (float(session.link_downbeat),),
        "/jamd/band": (1 if session.band else 0,),
        "/jamd/band/peers": (session.band_peers,),
        "/jamd/band/parts": (" ".join(session.band_parts) or "all",),
        "/jamd/band/downbeat": (float(session.band_downbeat),),
    }


def _track_state(part: str, mix: PartMix, patch: str) -> dict[str, Args]:
    track = f"/jamd/track/{part}"
    return {
        f"{track}/volume": (to_fader(mix.level_db),),
        f"{track}/db": (float(mix.level_db),),
        f"{track}/pan": ((0.0 if mix.pan is None else mix.pan) / 2.0 + 0.5,),
        f"{track}/mute": (1 if mix.muted else 0,),
        f"{track}/solo": (1 if mix.soloed else 0,),
        f"{track}/reverb": (_send(mix.reverb),),
        f"{track}/delay": (_send(mix.delay),),
        f"{track}/tone": (float(mix.tone),),
        f"{track}/patch": (patch,),
    }


def _send(amount: float | None) -> float:
    return 0.0 if amount is None else float(amount)


# -- arguments ------------------------------------------------------------------------------


def _one(args: Args, what: str) -> Any:
    if len(args) != 1:
        raise OscError(f"takes {what}, got {len(args)} arguments")
    return args[0]


def _number(args: Args, what: str) -> float:
    value = _one(args, what)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OscError(f"takes {what}, got {_shown(value)}")
    if not math.isfinite(value):
        raise OscError(f"takes {what}, got {value}")
    return float(value)


def _fader(args: Args) -> float:
    value = _number(args, "a float 0..1")
    if not 0.0 <= value <= 1.0:
        raise OscError(f"takes a float 0..1, got {value:g}")
    return value


def _text(args: Args, what: str) -> str:
    value = _one(args, what)
    if not isinstance(value, str):
        raise OscError(f"takes {what}, got {_shown(value)}")
    return value


def _pressed(args: Args) -> bool:
    """A button: no argument or a non-zero one is a press; 0 is its release."""
    if not args:
        return True
    value = _one(args, "nothing, or 1 (pressed) / 0 (released)")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise OscError(f"takes nothing, or 1 (pressed) / 0 (released), got {_shown(value)}")


def _switch(args: Args) -> bool:
    """A toggle that must say which way: 1 (or true) on, 0 (or false) off."""
    value = _one(args, "1 (on) or 0 (off)")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise OscError(f"takes 1 (on) or 0 (off), got {_shown(value)}")


def _seed(args: Args, what: str) -> int:
    seed = _one(args, what)
    if isinstance(seed, float) and seed.is_integer():  # a fader's 42.0
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OscError(f"takes {what}, got {_shown(seed)}")
    return seed


def _shown(value: object) -> str:
    kinds = {str: "a string", bytes: "a blob", int: "an int", float: "a float", bool: "a bool"}
    return f"{kinds.get(type(value), type(value).__name__)} {value!r}"


def _button(make: Callable[[], Command]) -> Callable[[Args], Command | None]:
    def parse(args: Args) -> Command | None:
        return make() if _pressed(args) else None

    return parse


# -- the table ------------------------------------------------------------------------------


def _name_or_index(args: Args, names: Sequence[str], what: str) -> str:
    """A name as sent, or the name at an index into ``names`` (a menu's or radio's value)."""
    value = _one(args, f"a {what} name or index")
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise OscError(f"takes a {what} name or index, got {_shown(value)}")
    if not 0 <= int(value) < len(names):
        raise OscError(f"{what} index must be 0..{len(names) - 1}, got {int(value)}")
    return names[int(value)]


def _addresses(
    genres: Sequence[str], patches: Mapping[str, Sequence[str]], tapper: TapTempo
) -> list[Address]:
    def genre(args: Args) -> Command:
        return SetGenre(_name_or_index(args, genres, "genre"))

    def regenerate(args: Args) -> Command | None:
        """A button (a fresh seed on its press), or a seed from 2 up (``/jamd/seed`` takes
        any)."""
        if not args or args[0] in (0, 1):
            return Regenerate() if _pressed(args) else None
        return Regenerate(_seed(args, "nothing, 1 / 0 (a button), or a seed from 2 up"))

    def tap(args: Args) -> Command | None:
        if not _pressed(args):
            return None
        bpm = tapper.tap()
        return None if bpm is None else SetTempo(round(bpm, 1))

    def seed(args: Args) -> Command:
        return Regenerate(_seed(args, "a seed (int)"))

    def chord(args: Args) -> Command:
        """A chord (``''``: the song's own), then where it lands: ``bar`` (so without one) or
        ``beat`` (a left hand the band follows at once)."""
        what = "a chord symbol or numeral ('' for the song's own), then optionally beat or bar"
        if len(args) not in (1, 2):
            raise OscError(f"takes {what}, got {len(args)} arguments")
        text, *rest = args
        if not isinstance(text, str):
            raise OscError(f"takes {what}, got {_shown(text)}")
        at = rest[0] if rest else Boundary.BAR
        if not isinstance(at, str) or at not in CHORD_BOUNDARIES:
            raise OscError(f"the second argument must be beat or bar, got {_shown(at)}")
        return SetChord(text or None, Boundary(at))

    table = [
        Address("/jamd/play", "button", "next bar", _button(Play)),
        Address("/jamd/stop", "button", "now (held notes release)", _button(Stop)),
        Address("/jamd/continue", "button", "next bar", _button(Continue)),
        Address("/jamd/panic", "button", "now", _button(Panic)),
        Address(
            "/jamd/tempo",
            "float BPM 20..300",
            "next beat",
            lambda args: SetTempo(_number(args, "a float BPM")),
        ),
        Address(
            "/jamd/tempo/fader",
            "float 0..1 (20..300 BPM)",
            "next beat",
            lambda args: SetTempo(
                TEMPO_RANGE[0] + (TEMPO_RANGE[1] - TEMPO_RANGE[0]) * _fader(args)
            ),
        ),
        Address("/jamd/tempo/tap", "button (tap the beat)", "next beat, from the 2nd tap", tap),
        Address(
            "/jamd/link",
            "1 join / 0 leave the Ableton Link session",
            "now; joined, the next bar on the session's",
            lambda args: SetLink(_switch(args)),
        ),
        Address(
            "/jamd/key",
            "string (C, F#m, 'Eb minor', 'D dorian')",
            "next bar",
            lambda args: SetKey.parse(_text(args, "a key such as F#m")),
        ),
        Address("/jamd/genre", "string name or int index", "next section", genre),
        Address("/jamd/energy", "float 0..1", "next bar", lambda args: SetEnergy(_fader(args))),
        Address("/jamd/mood", "float 0..1", "now, smoothed", lambda args: SetMood(_fader(args))),
        Address(
            "/jamd/section",
            "string: a section to go to (chorus, 'verse 2')",
            "next bar",
            lambda args: GotoSection(_text(args, "a section name such as chorus")),
        ),
        Address("/jamd/section/next", "button", "next bar", _button(NextSection)),
        Address("/jamd/section/fill", "button", "the next bar ends with a fill", _button(Fill)),
        Address("/jamd/section/ending", "button", "next bar", _button(Ending)),
        Address(
            "/jamd/regenerate",
            "button (a fresh seed), or int seed 2..",
            "next bar",
            regenerate,
        ),
        Address("/jamd/seed", "int seed 1..2^63-1 (a new song)", "next bar", seed),
        Address(
            "/jamd/chord",
            "string chord, '' for the song's own; then optionally 'beat' or 'bar'",
            "next bar, or next beat with 'beat'",
            chord,
        ),
        Address(
            "/jamd/master",
            "float 0..1 (-60..+6 dB)",
            "now, smoothed",
            lambda args: SetMaster(from_fader(_fader(args), *MASTER_RANGE)),
        ),
        Address(
            "/jamd/master/db",
            "float dB -60..6",
            "now, smoothed",
            lambda args: SetMaster(_number(args, "a float dB")),
        ),
    ]
    for part in PARTS:
        table.extend(_track(part, patches[part]))
    return table


def _track(part: str, patches: Sequence[str]) -> list[Address]:
    track = f"/jamd/track/{part}"

    def toggle(make: Callable[[bool], Command]) -> Callable[[Args], Command]:
        return lambda args: make(_pressed(args))

    def patch(args: Args) -> Command:
        name = _name_or_index(args, patches, "patch")
        return SetPatch(part, name or None)

    return [
        Address(
            f"{track}/volume",
            "float 0..1 (-60..+6 dB)",
            "now, smoothed",
            lambda args: SetLevel(part, from_fader(_fader(args))),
        ),
        Address(
            f"{track}/db",
            "float dB -60..12",
            "now, smoothed",
            lambda args: SetLevel(part, _number(args, "a float dB")),
        ),
        Address(
            f"{track}/pan",
            "float 0..1 (0.5 centre)",
            "now, smoothed",
            lambda args: SetPan(part, _fader(args) * 2.0 - 1.0),
        ),
        Address(f"{track}/mute", "1 muted / 0", "now", toggle(lambda on: SetMute(part, on))),
        Address(f"{track}/solo", "1 soloed / 0", "now", toggle(lambda on: SetSolo(part, on))),
        Address(
            f"{track}/reverb",
            "float 0..1",
            "now, smoothed",
            lambda args: SetSend(part, "reverb", _fader(args)),
        ),
        Address(
            f"{track}/delay",
            "float 0..1",
            "now, smoothed",
            lambda args: SetSend(part, "delay", _fader(args)),
        ),
        Address(
            f"{track}/tone",
            "float 0..1 (0.5 as the patch)",
            "now, smoothed",
            lambda args: SetTone(part, _fader(args)),
        ),
        Address(
            f"{track}/patch",
            f"string ({part}/NAME or NAME), int index, '' for the genre's",
            "next bar, in this song and the next",
            patch,
        ),
    ]


def training_state(state: TrainingState) -> dict[str, Args]:
    """``/jamd/training/state``: running (1 or 0), genre, source, done, total (-1: not known
    yet); ``/jamd/training/last``: when the last refresh ended (ISO 8601, UTC; "" for never)
    and what it did."""
    finished = (
        datetime.fromtimestamp(state.last_finished, UTC).isoformat(timespec="seconds")
        if state.last_finished is not None
        else ""
    )
    total = -1 if state.total is None else state.total
    return {
        "/jamd/training/state": (int(state.running), state.genre, state.source, state.done, total),
        "/jamd/training/last": (finished, state.last_summary),
    }

"""MIDI maps: which CC, note or program drives which control (docs/midi.md has the format).

A map is a TOML file. Every target is a control address of the OSC space (``/jamd/energy``,
``/jamd/track/bass/volume``, ``/jamd/section/fill``): a control is named one way on every
surface, and a value from MIDI is checked exactly as one from OSC. ``Surface`` turns parsed
messages into the OSC space's commands:

- ``[[cc]]``: a controller's 0..127 onto the target's ``range`` through a ``curve``; one CC
  may drive several targets.
- ``[[note]]``: a note or pad sends its target (with ``args``) when struck.
- ``[program]``: a program change recalls the genre or preset at that number.
- ``[split]``: notes below ``below`` on its channel are a left hand whose chord the band plays
  (``/jamd/chord``), arranger style, from the next bar or beat (``follow``); ``hold`` keeps the
  last chord when the keys are let go.
"""

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jamd.errors import InputError, validation_messages
from jamd.live.commands import Command
from jamd.midi.messages import ControlChange, Message, NoteOff, NoteOn, ProgramChange
from jamd.osc.space import Args, OscError, Space
from jamd.theory import parse_note, recognize_chord

Channel = Annotated[int, Field(ge=1, le=16)]  # as musicians count them; None: any
Data = Annotated[int, Field(ge=0, le=127)]


class MapError(InputError):
    """A map that cannot be used; nothing of it is taken."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _note_number(value: object) -> object:
    return parse_note(value) if isinstance(value, str) else value


class CcMap(_Model):
    control: Data
    channel: Channel | None = None
    target: str
    range: tuple[float, float] = (0.0, 1.0)
    curve: Literal["linear", "exponential", "logarithmic"] = "linear"

    def value(self, raw: int) -> float:
        """0..127 onto ``range``: linear, or bent towards its low end (exponential, fine control
        low down, as for a volume) or its high end (logarithmic)."""
        x = raw / 127.0
        if self.curve == "exponential":
            x = (math.exp(3.0 * x) - 1.0) / (math.exp(3.0) - 1.0)
        elif self.curve == "logarithmic":
            x = math.log1p((math.exp(3.0) - 1.0) * x) / 3.0
        low, high = self.range
        return low + (high - low) * x


class NoteMap(_Model):
    note: Data
    channel: Channel | None = None
    target: str
    args: tuple[str | int | float, ...] = ()

    _number = field_validator("note", mode="before")(_note_number)


class ProgramMap(_Model):
    channel: Channel | None = None
    recalls: Literal["genre", "preset"] = "genre"
    presets: tuple[str, ...] = ()  # program N recalls presets[N] (recalls = "preset")


class SplitMap(_Model):
    below: Data = 48  # C3: the left hand plays under it
    channel: Channel | None = None
    hold: bool = True  # the chord stays when the keys are let go
    follow: Literal["bar", "beat"] = "bar"  # the band takes a new chord on the next bar or beat

    _number = field_validator("below", mode="before")(_note_number)


class MidiMap(_Model):
    cc: tuple[CcMap, ...] = ()
    note: tuple[NoteMap, ...] = ()
    program: ProgramMap | None = None
    split: SplitMap | None = None


def load_map(path: Path, space: Space) -> MidiMap:
    """The map in ``path``, every target checked against ``space``; ``MapError`` names each
    problem (and nothing of a broken map is used)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise MapError(f"MIDI map {path} cannot be read: {error}") from None
    return map_from_data(data, space, f"MIDI map {path}")


def map_from_data(data: Mapping[str, Any], space: Space, where: str) -> MidiMap:
    """A map from its table (a file's, or one kept in the store), checked as ``load_map``
    checks a file; ``where`` names it in the errors."""
    try:
        midi_map = MidiMap.model_validate(data)
    except ValidationError as error:
        reasons = "; ".join(validation_messages(error, MidiMap))
        raise MapError(f"{where}: {reasons}") from None
    targets = [("cc", i, cc.target) for i, cc in enumerate(midi_map.cc)]
    targets += [("note", i, note.target) for i, note in enumerate(midi_map.note)]
    problems = [
        f"{kind}[{index}].target: {space.unknown(target)}"
        for kind, index, target in targets
        if target not in space.addresses
    ]
    if problems:
        raise MapError(f"{where}: " + "; ".join(problems))
    return midi_map


def merged(base: MidiMap, learned: MidiMap) -> MidiMap:
    """``base`` with ``learned`` over it: a learned CC or note replaces what ``base`` does with
    the same one (on its channel, or on every channel)."""
    taken_cc = {(cc.control, cc.channel) for cc in learned.cc}
    taken_notes = {(note.note, note.channel) for note in learned.note}
    return base.model_copy(
        update={
            "cc": (
                *learned.cc,
                *(c for c in base.cc if not _taken(c.control, c.channel, taken_cc)),
            ),
            "note": (
                *learned.note,
                *(n for n in base.note if not _taken(n.note, n.channel, taken_notes)),
            ),
        }
    )


def _taken(number: int, channel: int | None, taken: set[tuple[int, int | None]]) -> bool:
    return any(n == number and (channel is None or c == channel) for n, c in taken)


def learned_entry(message: Message, target: str) -> CcMap | NoteMap | None:
    """The map entry that makes ``message``'s control drive ``target`` (None: no control)."""
    match message:
        case ControlChange(channel=channel, control=control):
            return CcMap(control=control, channel=channel + 1, target=target)
        case NoteOn(channel=channel, note=note):
            return NoteMap(note=note, channel=channel + 1, target=target)
    return None


Submit = Callable[[str, Args, Command], None]  # (address, arguments, its command)
Refuse = Callable[[str, str], None]  # (what came in, why it did nothing)


class Surface:
    """Messages in, commands out (through ``submit``), by a map; what a map gives a target that
    the target refuses goes to ``refuse``, and changes nothing."""

    def __init__(
        self,
        midi_map: MidiMap,
        space: Space,
        submit: Submit,
        refuse: Refuse,
        *,
        preset: Callable[[str], None] | None = None,
    ) -> None:
        self.map = midi_map
        self.space = space
        self._submit = submit
        self._refuse = refuse
        self._preset = preset
        self._left: set[int] = set()  # notes held under the split
        self._chord = ""  # the chord last sent from the split

    def take(self, message: Message) -> None:
        match message:
            case ControlChange(channel=channel, control=control, value=value):
                for cc in self.map.cc:
                    if cc.control == control and _on(cc.channel, channel):
                        self._send(cc.target, (cc.value(value),), f"CC {control}")
            case NoteOn(channel=channel, note=note):
                if self._in_split(channel, note):
                    self._left.add(note)
                    self._follow()
                    return
                for entry in self.map.note:
                    if entry.note == note and _on(entry.channel, channel):
                        self._send(entry.target, entry.args, f"note {note}")
            case NoteOff(channel=channel, note=note):
                if self._in_split(channel, note) and note in self._left:
                    self._left.discard(note)  # letting keys go never names a new chord
                    split = self.map.split
                    if not self._left and split is not None and not split.hold:
                        self._send_chord("")
            case ProgramChange(channel=channel, program=program):
                self._program(channel, program)
            case _:
                pass

    def _in_split(self, channel: int, note: int) -> bool:
        split = self.map.split
        return split is not None and note < split.below and _on(split.channel, channel)

    def _follow(self) -> None:
        chord = recognize_chord(self._left)
        if chord is not None:
            self._send_chord(chord.symbol)

    def _send_chord(self, symbol: str) -> None:
        split = self.map.split
        if symbol != self._chord and split is not None:
            self._chord = symbol
            self._send("/jamd/chord", (symbol, split.follow), "the split")

    def _program(self, channel: int, program: int) -> None:
        recall = self.map.program
        if recall is None or not _on(recall.channel, channel):
            return
        if recall.recalls == "genre":
            self._send("/jamd/genre", (program,), f"program {program}")
        elif program >= len(recall.presets):
            self._refuse(f"program {program}", f"the map names {len(recall.presets)} presets")
        elif self._preset is None:
            self._refuse(f"program {program}", "presets are off")
        else:
            self._preset(recall.presets[program])

    def _send(self, address: str, args: Sequence[Any], source: str) -> None:
        try:
            command = self.space.command(address, tuple(args))
        except OscError as error:
            self._refuse(source, f"{address}: {error}")
            return
        if command is not None:
            self._submit(address, tuple(args), command)


def _on(wanted: int | None, channel: int) -> bool:
    """Whether a message on ``channel`` (0..15) is for a map entry on ``wanted`` (1..16)."""
    return wanted is None or wanted == channel + 1

"""MIDI bytes to typed messages, safely, whatever arrives.

A driver usually hands over whole messages, but a port may carry anything: running status
(a channel message's status byte left out after the first), real-time bytes (clock, start,
stop) in the middle of another message, SysEx of any length, data bytes with no status, a
status cut short by the next one. ``MidiParser`` takes bytes in any pieces and gives each
message whole, in order, and counts what it could not use (``ParserStats``); nothing raises.
mido's parser drops running status (the second note of ``90 3C 64 3E 64`` is lost), so jamd
parses itself.
"""

from dataclasses import dataclass, field

SYSEX_LIMIT = 65536  # bytes of one SysEx kept count of; longer ones are skipped the same way


@dataclass(frozen=True, slots=True)
class NoteOn:
    channel: int  # 0..15
    note: int
    velocity: int  # 1..127 (a note-on at velocity 0 is a NoteOff)


@dataclass(frozen=True, slots=True)
class NoteOff:
    channel: int
    note: int
    velocity: int = 0


@dataclass(frozen=True, slots=True)
class ControlChange:
    channel: int
    control: int
    value: int


@dataclass(frozen=True, slots=True)
class ProgramChange:
    channel: int
    program: int


@dataclass(frozen=True, slots=True)
class PitchBend:
    channel: int
    value: int  # -8192..8191, 0 at rest


@dataclass(frozen=True, slots=True)
class Aftertouch:
    channel: int
    value: int
    note: int | None = None  # polyphonic aftertouch names its note


@dataclass(frozen=True, slots=True)
class SongPosition:
    beats: int  # MIDI beats (sixteenth notes) from the song's start


@dataclass(frozen=True, slots=True)
class Realtime:
    """One of the single-byte system real-time messages."""

    kind: str  # clock, start, continue, stop, active_sensing, reset


@dataclass(frozen=True, slots=True)
class SysEx:
    length: int  # data bytes between F0 and F7 (jamd reads none of them)


Message = (
    NoteOn | NoteOff | ControlChange | ProgramChange | PitchBend | Aftertouch | SongPosition
    | Realtime | SysEx
)  # fmt: skip

_REALTIME = {0xF8: "clock", 0xFA: "start", 0xFB: "continue", 0xFC: "stop", 0xFE:
             "active_sensing", 0xFF: "reset"}  # fmt: skip
_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_COMMON_DATA_BYTES = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0}  # MTC quarter frame, SPP, select, tune


@dataclass(slots=True)
class ParserStats:
    messages: int = 0  # whole messages given
    stray: int = 0  # data bytes with no status to belong to
    cut_short: int = 0  # messages a new status byte interrupted
    undefined: int = 0  # status bytes MIDI leaves undefined (F4, F5, F9, FD)
    ignored: int = 0  # whole messages jamd has no use for (MTC, song select, tune request)

    @property
    def garbage(self) -> int:
        """What was no MIDI at all: stray data, messages cut short, undefined status bytes."""
        return self.stray + self.cut_short + self.undefined


@dataclass(slots=True)
class MidiParser:
    stats: ParserStats = field(default_factory=ParserStats)
    _status: int = 0  # the running status, or 0
    _data: list[int] = field(default_factory=list)
    _sysex: int | None = None  # data bytes of the SysEx under way

    def feed(self, data: bytes | bytearray | list[int] | tuple[int, ...]) -> list[Message]:
        """Every message the bytes complete, in order (the rest waits for the next bytes)."""
        out: list[Message] = []
        for raw in data:
            byte = raw & 0xFF
            if byte >= 0xF8:  # real-time: anywhere, even inside another message
                kind = _REALTIME.get(byte)
                if kind is None:
                    self.stats.undefined += 1
                else:
                    self._give(out, Realtime(kind))
            elif self._sysex is not None and byte < 0x80:
                self._sysex += 1
            elif byte >= 0x80:
                self._status_byte(byte, out)
            elif self._status == 0:
                self.stats.stray += 1
            else:
                self._data.append(byte)
                self._complete(out)
        return out

    def _status_byte(self, byte: int, out: list[Message]) -> None:
        if self._sysex is not None:
            length, self._sysex = self._sysex, None
            if byte == 0xF7:
                self._give(out, SysEx(min(length, SYSEX_LIMIT)))
                return
            self.stats.cut_short += 1  # a SysEx without its end
        elif self._data:
            self.stats.cut_short += 1
        self._data = []
        if byte == 0xF0:
            self._sysex, self._status = 0, 0
        elif byte == 0xF7:
            self.stats.stray += 1  # an end with no SysEx begun
            self._status = 0
        elif byte < 0xF0:
            self._status = byte  # a channel message: its status runs on
        elif byte in _COMMON_DATA_BYTES:
            self._status = byte  # system common: no running status after it
            self._complete(out)
        else:
            self.stats.undefined += 1
            self._status = 0

    def _complete(self, out: list[Message]) -> None:
        status = self._status
        kind = status & 0xF0 if status < 0xF0 else status
        needed = _DATA_BYTES.get(kind, _COMMON_DATA_BYTES.get(kind, 0))
        if len(self._data) < needed:
            return
        data, self._data = self._data, []
        if status >= 0xF0:
            self._status = 0
            if status == 0xF2:
                self._give(out, SongPosition(data[0] | data[1] << 7))
            else:
                self.stats.ignored += 1
            return
        channel = status & 0x0F
        if kind == 0x90 and data[1] > 0:
            self._give(out, NoteOn(channel, data[0], data[1]))
        elif kind in (0x80, 0x90):
            self._give(out, NoteOff(channel, data[0], data[1] if kind == 0x80 else 0))
        elif kind == 0xB0:
            self._give(out, ControlChange(channel, data[0], data[1]))
        elif kind == 0xC0:
            self._give(out, ProgramChange(channel, data[0]))
        elif kind == 0xE0:
            self._give(out, PitchBend(channel, (data[0] | data[1] << 7) - 8192))
        elif kind == 0xD0:
            self._give(out, Aftertouch(channel, data[0]))
        else:  # 0xA0
            self._give(out, Aftertouch(channel, data[1], note=data[0]))

    def _give(self, out: list[Message], message: Message) -> None:
        self.stats.messages += 1
        out.append(message)

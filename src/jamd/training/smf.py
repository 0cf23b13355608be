"""Standard MIDI File reading for the analysis: each track's events as plain tuples.

``mido.MidiFile`` builds and checks a ``Message`` object per event, about 7 µs each, which was
four fifths of a file's analysis; the analysis needs only the numbers. ``read`` walks the bytes
by mido's own rules (``mido.midifiles.midifiles.read_track`` with ``clip=True``): running
status (not set by meta messages, set by everything else), data bytes over 127 read as 127, a
track read until its declared length is met exactly (a message that runs over reads on into
what follows), other chunks than ``MTrk`` refused, and meta messages decoded, and so checked,
by mido itself (which gives a meta message of an unknown type no time: its delta is lost, here
too). So a file reads here as mido reads it, and fails where mido fails:
``EOFError`` where the data ends too soon, ``ValueError`` where mido raises ``OSError`` or
``ValueError`` (no header, running status with no status before it, an undefined status byte,
a message longer than mido's limit), and whatever mido's meta decoding raises (``KeyError``,
``KeySignatureError``, ...; an ``IndexError`` of a meta message too short as ``ValueError``).
"""

import struct
from dataclasses import dataclass

import mido
from mido.messages.specs import SPEC_BY_STATUS
from mido.midifiles.meta import build_meta_message

MAX_MESSAGE_LENGTH = 1_000_000  # mido's, for a meta message's or a sysex's data
_META = 0xFF
_SYSEX = (0xF0, 0xF7)
_ONE_DATA_BYTE = range(0xC0, 0xE0)  # program change, channel pressure


@dataclass(frozen=True, slots=True)
class Track:
    """One track's events, each list in the track's order."""

    channel: list[tuple[int, int, int, int]]
    """Channel messages (status 0x80..0xEF): absolute tick, status byte, the data bytes (0 for a
    second one the message lacks)."""
    meta: list[tuple[int, mido.MetaMessage]]
    """Meta messages, as mido decodes them, at their absolute tick."""
    end: int
    """The tick of the track's last event."""


@dataclass(frozen=True, slots=True)
class MidiData:
    """A file's header value the analysis uses and its tracks."""

    ticks_per_beat: int
    """Negative for a file timed in SMPTE frames (the header's signed 16 bits, as mido has it)."""
    tracks: list[Track]


def read(data: bytes) -> MidiData:
    """The tracks of a Standard MIDI File in ``data`` (module docstring for what fails how)."""
    if len(data) < 8:
        raise EOFError("the file ends inside its header")
    name, size = struct.unpack_from(">4sL", data)
    if name != b"MThd":
        raise ValueError("no MThd header: not a MIDI file")
    header = data[8 : 8 + size]
    if len(header) < 6:
        raise EOFError("the file ends inside its header")
    _, count, ticks_per_beat = struct.unpack_from(">hhh", header)
    at = 8 + size
    tracks = []
    for _ in range(count):
        track, at = _track(data, at)
        tracks.append(track)
    return MidiData(ticks_per_beat, tracks)


def _track(data: bytes, at: int) -> tuple[Track, int]:
    """The track whose chunk starts at ``at``, and where the next chunk starts."""
    if len(data) - at < 8:
        raise EOFError("the file ends before a track it announces")
    name, size = struct.unpack_from(">4sL", data, at)
    if name != b"MTrk":
        raise ValueError("no MTrk header at the start of a track")
    at += 8
    end = at + size
    channel: list[tuple[int, int, int, int]] = []
    meta: list[tuple[int, mido.MetaMessage]] = []
    now = 0
    running: int | None = None
    try:
        while at != end:
            delta = data[at]
            at += 1
            if delta >= 0x80:
                delta, at = _variable_int(data, at - 1)
            now += delta
            status = data[at]
            peeked = status < 0x80  # running status: this byte is the first data byte
            if peeked:
                if running is None:
                    raise ValueError("running status with no status byte before it")
                status = running
            else:
                at += 1
                if status != _META:
                    running = status
            if status < 0xF0:
                first = data[at]
                if status in _ONE_DATA_BYTE:
                    second = 0
                    at += 1
                else:
                    second = data[at + 1]
                    at += 2
                if first > 127 or second > 127:  # mido's clip: a data byte over 127 reads as 127
                    first, second = min(first, 127), min(second, 127)
                channel.append((now, status, first, second))
            elif status == _META:
                kind = data[at]
                payload, at = _payload(data, at + 1)
                message = _meta(kind, payload, delta)
                if message.time != delta:  # mido's unknown meta messages lose their delta
                    now -= delta
                meta.append((now, message))
            elif status in _SYSEX:
                _, at = _payload(data, at + peeked)  # mido drops a running-status byte here
            else:
                at = _system(data, at, status, peeked)
    except IndexError as error:
        raise EOFError("a track runs past the end of the file") from error
    return Track(channel, meta, now), at


def _variable_int(data: bytes, at: int) -> tuple[int, int]:
    """The variable-length number at ``at`` (7 bits a byte, high bit set on all but the last),
    and the position after it."""
    value = 0
    while True:
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at


def _payload(data: bytes, at: int) -> tuple[bytes, int]:
    """A length-prefixed block (a meta message's or a sysex's data), and the position after."""
    length, at = _variable_int(data, at)
    if length > MAX_MESSAGE_LENGTH:
        raise ValueError(f"message length must be 0..{MAX_MESSAGE_LENGTH}, got {length}")
    payload = data[at : at + length]
    if len(payload) < length:
        raise EOFError("a message runs past the end of the file")
    return payload, at + length


def _meta(kind: int, payload: bytes, delta: int) -> mido.MetaMessage:
    try:
        return build_meta_message(kind, list(payload), delta)
    except IndexError as error:  # not the track's end: a message shorter than its type
        raise ValueError(f"meta message 0x{kind:02x} of {len(payload)} bytes: too short") from error


def _system(data: bytes, at: int, status: int, peeked: bool) -> int:
    """Skips a system common or real-time message, checked as mido checks it; the position
    after it."""
    spec = SPEC_BY_STATUS.get(status)
    if spec is None:
        raise ValueError(f"undefined status byte 0x{status:02x}")
    size = max(int(spec["length"]) - 1, int(peeked))  # a running-status byte is read all the same
    data_bytes = data[at : at + size]
    if len(data_bytes) < size:
        raise EOFError("a message runs past the end of the file")
    mido.Message.from_bytes([status, *(min(byte, 127) for byte in data_bytes)])
    return at + size

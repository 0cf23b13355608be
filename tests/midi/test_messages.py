"""MIDI bytes to messages: running status, real-time bytes anywhere, SysEx, and garbage."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from jamd.midi.messages import (
    Aftertouch,
    ControlChange,
    Message,
    MidiParser,
    NoteOff,
    NoteOn,
    PitchBend,
    ProgramChange,
    Realtime,
    SongPosition,
    SysEx,
)


def test_running_status_keeps_every_note_and_a_real_time_byte_may_fall_inside() -> None:
    parser = MidiParser()
    got = parser.feed([0x90, 60, 100, 62, 100, 0xF8, 64, 0, 0xB1, 7, 127, 10, 64])
    assert got == [
        NoteOn(0, 60, 100),
        NoteOn(0, 62, 100),
        Realtime("clock"),  # inside the third note: given at once, the note after it
        NoteOff(0, 64, 0),  # velocity 0 is a note-off
        ControlChange(1, 7, 127),
        ControlChange(1, 10, 64),
    ]
    assert parser.stats.messages == 6
    assert parser.stats.stray == parser.stats.cut_short == 0


def test_every_kind_of_message() -> None:
    got = MidiParser().feed(
        bytes([0x83, 60, 40, 0xC9, 5, 0xE0, 0, 64, 0xE0, 127, 127, 0xD2, 90, 0xA3, 61, 20])
        + bytes([0xF2, 0x10, 0x01, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF])
    )
    assert got == [
        NoteOff(3, 60, 40),
        ProgramChange(9, 5),
        PitchBend(0, 0),
        PitchBend(0, 8191),
        Aftertouch(2, 90),
        Aftertouch(3, 20, note=61),
        SongPosition(0x10 | 0x01 << 7),
        Realtime("start"),
        Realtime("continue"),
        Realtime("stop"),
        Realtime("active_sensing"),
        Realtime("reset"),
    ]


def test_sysex_is_skipped_whole_and_garbage_is_counted() -> None:
    parser = MidiParser()
    got = parser.feed([5, 6, 0xF0, 0x7E, 1, 0xF8, 2, 0xF7, 0xF7, 0x90, 60, 0xB0, 1, 2, 0xF4, 9])
    assert got == [Realtime("clock"), SysEx(3), ControlChange(0, 1, 2)]
    stats = parser.stats
    assert stats.stray == 2 + 1 + 1  # two data bytes first, an F7 alone, a 9 after F4
    assert stats.cut_short == 1  # the note cut by the CC
    assert stats.undefined == 1  # F4
    assert MidiParser().feed([0xF0, 1, 2, 0x90, 60, 1]) == [NoteOn(0, 60, 1)]  # SysEx cut


def test_system_common_ends_the_running_status() -> None:
    parser = MidiParser()
    assert parser.feed([0x90, 60, 1, 0xF6, 62, 1]) == [NoteOn(0, 60, 1)]
    assert parser.stats.ignored == 1  # the tune request
    assert parser.stats.stray == 2


_channel = st.integers(0, 15)
_data = st.integers(0, 127)
_messages = st.one_of(
    st.builds(NoteOn, _channel, _data, st.integers(1, 127)),
    st.builds(NoteOff, _channel, _data, _data),
    st.builds(ControlChange, _channel, _data, _data),
    st.builds(ProgramChange, _channel, _data),
    st.builds(PitchBend, _channel, st.integers(-8192, 8191)),
    st.builds(Realtime, st.sampled_from(["clock", "start", "stop", "continue"])),
    st.builds(SongPosition, st.integers(0, 16383)),
    st.builds(SysEx, st.integers(0, 20)),
)
_CODES = {"clock": 0xF8, "start": 0xFA, "continue": 0xFB, "stop": 0xFC}


def _encode(messages: list[Message], running: bool) -> bytes:
    out: list[int] = []
    status = 0
    for message in messages:
        match message:
            case Realtime(kind=kind):
                out.append(_CODES[kind])
                continue
            case SongPosition(beats=beats):
                out += [0xF2, beats & 0x7F, beats >> 7]
                status = 0
                continue
            case SysEx(length=length):
                out += [0xF0, *([1] * length), 0xF7]
                status = 0
                continue
            case NoteOn(channel=c, note=n, velocity=v):
                head, data = 0x90 | c, [n, v]
            case NoteOff(channel=c, note=n, velocity=v):
                head, data = 0x80 | c, [n, v]
            case ControlChange(channel=c, control=n, value=v):
                head, data = 0xB0 | c, [n, v]
            case ProgramChange(channel=c, program=p):
                head, data = 0xC0 | c, [p]
            case PitchBend(channel=c, value=v):
                head, data = 0xE0 | c, [(v + 8192) & 0x7F, (v + 8192) >> 7]
            case _:
                raise AssertionError(message)
        if not (running and head == status):
            out.append(head)
        status = head
        out += data
    return bytes(out)


@given(
    messages=st.lists(_messages, max_size=40),
    running=st.booleans(),
    cuts=st.lists(st.integers(0, 400), max_size=10),
)
def test_any_messages_in_any_pieces_come_out_as_they_went_in(
    messages: list[Message], running: bool, cuts: list[int]
) -> None:
    data = _encode(messages, running)
    parser, got = MidiParser(), []
    edges = sorted({0, len(data), *(cut for cut in cuts if cut < len(data))})
    for start, stop in itertools.pairwise(edges):
        got += parser.feed(data[start:stop])
    assert got == messages
    assert parser.stats.stray == parser.stats.cut_short == 0


@given(st.binary(max_size=500), st.lists(_messages, max_size=5))
def test_garbage_never_raises_and_the_stream_recovers_after_it(
    garbage: bytes, after: list[Message]
) -> None:
    parser = MidiParser()
    parser.feed(garbage)
    parser.feed(b"\xf7\xf0\xf7")  # end whatever SysEx the garbage began, and any message
    assert parser.feed(_encode(after, running=False)) == after

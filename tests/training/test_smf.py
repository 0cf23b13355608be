"""smf.read against mido: the same events from every file mido reads, and the same failure
(data that ends too soon, or data mido refuses) from every file it does not."""

import io
import struct

import mido
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from mido.midifiles.meta import KeySignatureError

from jamd.training import smf
from jamd.training.synthetic import BLUES_12_BAR, GROOVES, SongSpec, song_midi

View = str | tuple[int, list[tuple[list[tuple[int, int, int, int]], list[object], int]]]
_REFUSED = (OSError, ValueError, KeyError, IndexError, TypeError, struct.error, KeySignatureError)


def _rich_song() -> bytes:
    """A song with every kind of event a file may hold: running status (mido writes it),
    sysex, every channel message, system common messages, known and unknown meta messages."""
    midi = song_midi(SongSpec(numerals=BLUES_12_BAR, tonic=2, drums=GROOVES["shuffle"]))
    extra = [
        mido.Message("sysex", data=[1, 2, 3]),
        mido.Message("pitchwheel", pitch=1000),
        mido.Message("control_change", control=7, value=100),
        mido.Message("aftertouch", value=3),
        mido.Message("polytouch", note=3, value=4),
        mido.Message("songpos", pos=5),
        mido.Message("song_select", song=3),
        mido.Message("quarter_frame", frame_type=1, frame_value=2),
        mido.MetaMessage("text", text="hi"),
        mido.MetaMessage("key_signature", key="A"),
        mido.MetaMessage("smpte_offset"),
        mido.UnknownMetaMessage(0x27, data=(1, 2)),
    ]
    track = midi.tracks[1]
    for index, message in enumerate(extra):
        track.insert(3 + 4 * index, message.copy(time=7))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


SONG = _rich_song()


def _outcome(error: Exception) -> str:
    return "ends too soon" if isinstance(error, EOFError) else "refused"


def _by_mido(data: bytes) -> View:
    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except (EOFError, *_REFUSED) as error:
        return _outcome(error)
    tracks = []
    for track in midi.tracks:
        now = 0
        channel: list[tuple[int, int, int, int]] = []
        meta: list[object] = []
        for message in track:
            now += message.time
            if message.is_meta:
                meta.append((now, message))
            elif message.type != "sysex" and message.bytes()[0] < 0xF0:
                status, first, *second = message.bytes()
                channel.append((now, status, first, second[0] if second else 0))
        tracks.append((channel, meta, now))
    return midi.ticks_per_beat, tracks


def _by_smf(data: bytes) -> View:
    try:
        read = smf.read(data)
    except (EOFError, *_REFUSED) as error:
        return _outcome(error)
    tracks = [(track.channel, list(track.meta), track.end) for track in read.tracks]
    return read.ticks_per_beat, tracks


def test_a_whole_file_reads_as_mido_reads_it() -> None:
    view = _by_smf(SONG)
    assert view == _by_mido(SONG)
    assert not isinstance(view, str)
    assert sum(len(channel) for channel, _, _ in view[1]) > 500


_BYTES_THAT_MATTER = [
    *range(0xF0, 0x100),  # sysex, system common and real-time, undefined, meta
    *range(0x80, 0xF0, 0x10),  # channel messages
    0x51, 0x58, 0x59, 0x7F, 0x00,  # set_tempo, time_signature, key_signature as meta types
]  # fmt: skip


@given(
    st.lists(
        st.tuples(
            st.integers(0, len(SONG) - 1),
            st.one_of(st.integers(0, 255), st.sampled_from(_BYTES_THAT_MATTER)),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    st.one_of(st.none(), st.integers(14, len(SONG))),
)
@settings(max_examples=500, deadline=None)
def test_a_damaged_file_reads_or_fails_as_mido_reads_it(
    damage: list[tuple[int, int, bool]], length: int | None
) -> None:
    data = bytearray(SONG)
    for at, value, insert in damage:
        if insert:
            data.insert(at, value)
        else:
            data[at] = value
    if length is not None:
        del data[length:]
    view = _by_mido(bytes(data))
    event(view if isinstance(view, str) else "read")
    assert _by_smf(bytes(data)) == view


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        (b"MThd" + struct.pack(">L", 6), "ends too soon"),
        (b"MThd" + struct.pack(">LHHH", 6, 1, 1, 480), "ends too soon"),
        (b"MThd" + struct.pack(">LHHH", 6, 1, 1, 480) + b"MTrk\x00\x00\x00\x02\x00\x45", "refused"),
        (b"MThd" + struct.pack(">LHHH", 6, 1, 1, 480) + b"XXXX\x00\x00\x00\x00", "refused"),
        (b"MThd" + struct.pack(">LHHH", 6, 1, 1, 480) + b"MTrk\x00\x00\x00\x02\x00\xf4", "refused"),
    ],
    ids=["no header fields", "no track", "running status first", "not a track", "undefined status"],
)
def test_short_files_fail_as_in_mido(data: bytes, outcome: str) -> None:
    assert _by_smf(data) == _by_mido(data) == outcome

"""Broken MIDI files, each with the reason the library gives for skipping it."""

import io
import random
import struct
from pathlib import Path

import mido

from jamd.training.midifile import MAX_BYTES
from jamd.training.synthetic import BLUES_12_BAR, SongSpec, song_midi


def _good_bytes(*, single_track: bool = False) -> bytes:
    buffer = io.BytesIO()
    song_midi(SongSpec(numerals=BLUES_12_BAR, tonic=0, single_track=single_track)).save(file=buffer)
    return buffer.getvalue()


def write_broken(folder: Path) -> dict[str, str]:
    """Writes the broken files into ``folder``; file name -> the skip reason expected."""
    folder.mkdir(parents=True, exist_ok=True)
    good = _good_bytes()
    one_track = _good_bytes(single_track=True)  # nothing after its track: reads run off the end
    rng = random.Random(13)
    files = {
        "random.mid": (bytes(rng.randrange(256) for _ in range(3000)), "not a MIDI file"),
        "truncated.mid": (good[: len(good) // 2], "truncated"),
        "header-only.mid": (good[:14], "truncated"),
        "empty.mid": (b"", "not a MIDI file"),
        "huge-track-length.mid": (
            one_track[:14] + b"MTrk" + struct.pack(">L", 0x7FFFFFF0) + one_track[22:],
            "truncated",
        ),
        "smpte.mid": (
            b"MThd" + struct.pack(">LHHH", 6, 0, 1, 0xE728) + one_track[14:],
            "SMPTE time (not supported)",
        ),
        "too-large.mid": (good + bytes(MAX_BYTES), "too large"),
        "bad-status.MID": (
            good[:14] + b"MTrk" + struct.pack(">L", 4) + b"\x00\xf4\x00\x00",
            "corrupt",
        ),
    }
    no_notes = mido.MidiFile()
    no_notes.tracks.append(
        mido.MidiTrack(
            [mido.MetaMessage("set_tempo", tempo=500000), mido.MetaMessage("end_of_track")]
        )
    )
    no_notes.save(folder / "no-notes.midi")
    expected = {"no-notes.midi": "no notes"}
    for name, (data, reason) in files.items():
        (folder / name).write_bytes(data)
        expected[name] = reason
    return expected

"""MIDI export: the structure of the file and the handling of repeated keys."""

from pathlib import Path

import mido

from jamd.compose import NoteEvent, Part
from jamd.render.midifile import TICKS_PER_BEAT, song_midi, write_midi


def midi_of(events: list[NoteEvent]) -> mido.MidiFile:
    return song_midi(
        events, tempo=97.5, meter=(3, 4), key_signature="Eb", programs={Part.KEYS: 4}, title="t"
    )


def notes_of(track: mido.MidiTrack) -> list[tuple[int, str, int]]:
    now, found = 0, []
    for message in track:
        now += message.time
        if message.type in ("note_on", "note_off"):
            found.append((now, message.type, message.note))
    return found


def test_conductor_track_and_one_named_track_per_part() -> None:
    midi = midi_of([NoteEvent(Part.KEYS, 0.0, 1.0, 60, 90)])
    meta = {m.type: m for m in midi.tracks[0]}
    assert meta["set_tempo"].tempo == mido.bpm2tempo(97.5)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    assert meta["key_signature"].key == "Eb"
    assert [t.name for t in midi.tracks[1:]] == [part.value for part in Part]
    keys = midi.tracks[1 + list(Part).index(Part.KEYS)]
    assert any(m.type == "program_change" and m.program == 4 and m.channel == 1 for m in keys)


def test_a_key_struck_again_before_it_ends_is_released_first() -> None:
    events = [NoteEvent(Part.BASS, 0.0, 2.0, 40, 100), NoteEvent(Part.BASS, 1.0, 1.0, 40, 100)]
    bass = midi_of(events).tracks[1 + list(Part).index(Part.BASS)]
    assert notes_of(bass) == [
        (0, "note_on", 40),
        (TICKS_PER_BEAT, "note_off", 40),
        (TICKS_PER_BEAT, "note_on", 40),
        (2 * TICKS_PER_BEAT, "note_off", 40),
    ]


def test_drums_play_on_channel_ten_without_a_program_change() -> None:
    drums = midi_of([NoteEvent(Part.DRUMS, 0.5, 0.25, 36, 110)]).tracks[1]
    assert {m.channel for m in drums if m.type == "note_on"} == {9}
    assert not any(m.type == "program_change" for m in drums)


def test_written_files_are_complete_and_identical_for_the_same_song(tmp_path: Path) -> None:
    events = [NoteEvent(Part.LEAD, beat / 2, 0.5, 72 + beat, 80) for beat in range(8)]
    write_midi(midi_of(events), tmp_path / "a.mid")
    write_midi(midi_of(events), tmp_path / "b.mid")
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    assert len(mido.MidiFile(tmp_path / "a.mid").tracks) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "b.mid"]

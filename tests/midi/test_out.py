"""The parts' notes as MIDI events: in order, retracted and released as the audio is."""

from jamd.engine.notes import Note
from jamd.midi.out import NoteSchedule


def _note(track: str, start: int, end: int, pitch: int = 60, velocity: float = 1.0) -> Note:
    return Note(track, start, end, pitch, velocity)


def test_each_part_on_its_channel_offs_before_ons_at_the_same_sample() -> None:
    schedule = NoteSchedule()
    schedule.schedule([_note("bass", 0, 100, 40, 0.5), _note("drums", 100, 110, 36)])
    schedule.schedule([_note("bass", 100, 200, 43)])
    assert schedule.due(100) == [bytes((0x90, 40, 64))]
    assert schedule.next_at() == 100
    assert schedule.due(201) == [
        bytes((0x80, 40, 0)),  # the bass's first note ends as the next begins
        bytes((0x99, 36, 127)),  # drums on channel 10
        bytes((0x90, 43, 127)),
        bytes((0x89, 36, 0)),
        bytes((0x80, 43, 0)),
    ]
    assert schedule.due(10_000) == []


def test_retract_forgets_the_notes_from_there_on_and_keeps_those_sounding() -> None:
    schedule = NoteSchedule()
    schedule.schedule([_note("keys", 0, 500, 60), _note("keys", 300, 400, 64)])
    assert schedule.due(10) == [bytes((0x91, 60, 127))]
    schedule.retract(300)
    assert schedule.due(1000) == [bytes((0x81, 60, 0))]


def test_release_ends_held_notes_there_then_all_notes_off() -> None:
    schedule = NoteSchedule()
    schedule.schedule([_note("pad", 0, 1000, 55), _note("lead", 0, 50, 72), _note("pad", 800, 900)])
    schedule.due(100)
    schedule.release(200)
    assert schedule.due(10_000) == [
        bytes((0x82, 55, 0)),
        bytes((0xB2, 123, 0)),
        bytes((0xB3, 123, 0)),
    ]


def test_a_re_struck_key_is_cut_first_and_sounds_until_its_last_note_ends() -> None:
    schedule = NoteSchedule()
    schedule.schedule([_note("keys", 0, 100, 60), _note("keys", 50, 200, 60)])
    assert schedule.due(300) == [
        bytes((0x91, 60, 127)),
        bytes((0x81, 60, 0)),  # cut, then struck again
        bytes((0x91, 60, 127)),
        bytes((0x81, 60, 0)),  # only when the second note ends
    ]


def test_silence_drops_what_waits_and_ends_what_sounds() -> None:
    schedule = NoteSchedule()
    schedule.schedule([_note("bass", 0, 1000, 40), _note("bass", 2000, 3000, 41)])
    schedule.due(10)
    assert schedule.silence() == [bytes((0x80, 40, 0)), bytes((0xB0, 123, 0))]
    assert schedule.due(10_000) == []
    assert NoteSchedule().silence() == []

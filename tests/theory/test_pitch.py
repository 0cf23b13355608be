import pytest

from jamd.errors import InputError
from jamd.theory import midi_to_hz, note_name, parse_note, parse_pitch_class


@pytest.mark.parametrize(
    ("name", "pitch_class"),
    [
        ("C", 0),
        ("c", 0),
        ("C#", 1),
        ("Db", 1),
        ("B#", 0),
        ("Cb", 11),
        ("E#", 5),
        ("Fb", 4),
        ("F♯", 6),
        ("B♭", 10),
        ("C##", 2),
        ("Dbb", 0),
        ("bb", 10),
        ("b", 11),
    ],
)
def test_parse_pitch_class_reads_every_spelling(name: str, pitch_class: int) -> None:
    assert parse_pitch_class(name) == pitch_class


@pytest.mark.parametrize("bad", ["H", "", "C#b", "C###", "Cx", "#", "C4"])
def test_parse_pitch_class_rejects_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(InputError, match=r"expected a letter A\.\.G .* e\.g\. C, F#, Bb") as error:
        parse_pitch_class(bad)
    assert repr(bad) in str(error.value)


@pytest.mark.parametrize(
    ("name", "midi"),
    [
        ("C4", 60),
        ("Bb3", 58),
        ("A#3", 58),
        ("F#-1", 6),
        ("C-1", 0),
        ("G9", 127),
        ("A4", 69),
        ("B#3", 60),
        ("Cb4", 59),
        ("c4", 60),
        ("E♭2", 39),
    ],
)
def test_parse_note_uses_scientific_pitch(name: str, midi: int) -> None:
    assert parse_note(name) == midi


def test_parse_note_rejects_notes_outside_midi() -> None:
    with pytest.raises(InputError, match=r"'G#9' is outside MIDI notes C-1 \(0\) \.\. G9 \(127\)"):
        parse_note("G#9")
    with pytest.raises(InputError, match="outside MIDI notes"):
        parse_note("Cb-1")


@pytest.mark.parametrize("bad", ["C", "H4", "C4.5", "4C", ""])
def test_parse_note_rejects_unreadable_names(bad: str) -> None:
    with pytest.raises(InputError, match=r"expected a letter A\.\.G, .* e\.g\. C4, Bb3, F#-1"):
        parse_note(bad)


def test_note_name_spells_sharps_or_flats() -> None:
    assert note_name(60) == "C4"
    assert note_name(58) == "A#3"
    assert note_name(58, flats=True) == "Bb3"
    assert note_name(0) == "C-1"
    assert note_name(127) == "G9"


@pytest.mark.parametrize("flats", [False, True])
def test_every_midi_note_name_reads_back(flats: bool) -> None:
    for midi in range(128):
        assert parse_note(note_name(midi, flats=flats)) == midi


@pytest.mark.parametrize("bad", [-1, 128])
def test_note_name_rejects_non_midi_numbers(bad: int) -> None:
    with pytest.raises(ValueError, match=f"MIDI note must be 0..127, got {bad}"):
        note_name(bad)


def test_midi_to_hz_is_equal_tempered() -> None:
    assert midi_to_hz(69) == 440.0
    assert midi_to_hz(81) == 880.0
    assert midi_to_hz(60) == pytest.approx(261.6256, abs=1e-4)
    assert midi_to_hz(69.5) == pytest.approx(440.0 * 2 ** (1 / 24))
    assert midi_to_hz(69, a4=432.0) == 432.0

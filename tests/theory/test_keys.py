import mido
import pytest

from jamd.errors import InputError
from jamd.theory import MODE_INTERVALS, Key, Mode, parse_key

# Every tonic spelling parse_key accepts, by pitch class.
TONIC_NAMES = {
    0: ("C", "B#"),
    1: ("C#", "Db"),
    2: ("D",),
    3: ("D#", "Eb"),
    4: ("E", "Fb"),
    5: ("F", "E#"),
    6: ("F#", "Gb"),
    7: ("G",),
    8: ("G#", "Ab"),
    9: ("A",),
    10: ("A#", "Bb"),
    11: ("B", "Cb"),
}
ALL_SPELLED_KEYS = [
    Key(tonic, mode, name)
    for tonic, names in TONIC_NAMES.items()
    for name in names
    for mode in Mode
]


@pytest.mark.parametrize(
    ("text", "tonic", "mode", "name"),
    [
        ("C", 0, Mode.MAJOR, "C major"),
        ("F#m", 6, Mode.MINOR, "F# minor"),
        ("Bb", 10, Mode.MAJOR, "Bb major"),
        ("Eb minor", 3, Mode.MINOR, "Eb minor"),
        ("D dorian", 2, Mode.DORIAN, "D dorian"),
        ("Am", 9, Mode.MINOR, "A minor"),
        ("A min", 9, Mode.MINOR, "A minor"),
        ("C major", 0, Mode.MAJOR, "C major"),
        ("c# minor", 1, Mode.MINOR, "C# minor"),
        ("Gb maj", 6, Mode.MAJOR, "Gb major"),
        ("  E  Phrygian ", 4, Mode.PHRYGIAN, "E phrygian"),
        ("F lydian", 5, Mode.LYDIAN, "F lydian"),
        ("G mixolydian", 7, Mode.MIXOLYDIAN, "G mixolydian"),
        ("B locrian", 11, Mode.LOCRIAN, "B locrian"),
        ("C ionian", 0, Mode.MAJOR, "C major"),
        ("A aeolian", 9, Mode.MINOR, "A minor"),
        ("BM", 11, Mode.MAJOR, "B major"),
        ("Bm", 11, Mode.MINOR, "B minor"),
        ("bbm", 10, Mode.MINOR, "Bb minor"),
        ("b", 11, Mode.MAJOR, "B major"),
        ("E♭", 3, Mode.MAJOR, "Eb major"),
        ("A#", 10, Mode.MAJOR, "A# major"),
    ],
)
def test_parse_key_reads_what_users_type(text: str, tonic: int, mode: Mode, name: str) -> None:
    key = parse_key(text)
    assert (key.tonic, key.mode, key.name) == (tonic, mode, name)


@pytest.mark.parametrize("bad", ["H", "", "C#b", "Cmajor7", "D doric", "m", "Bbb", "C minor!"])
def test_parse_key_rejects_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(InputError) as error:
        parse_key(bad)
    assert str(error.value) == (
        f"cannot read key {bad!r}: expected a tonic C, C#, Db, ... B with an optional mode "
        "(m, min, minor, maj, major, dorian, phrygian, lydian, mixolydian, locrian, ionian, "
        "aeolian), e.g. C, F#m, Bb, Eb minor, D dorian"
    )


def test_mode_intervals_are_the_rotations_of_the_major_scale() -> None:
    assert MODE_INTERVALS == {
        Mode.MAJOR: (0, 2, 4, 5, 7, 9, 11),
        Mode.DORIAN: (0, 2, 3, 5, 7, 9, 10),
        Mode.PHRYGIAN: (0, 1, 3, 5, 7, 8, 10),
        Mode.LYDIAN: (0, 2, 4, 6, 7, 9, 11),
        Mode.MIXOLYDIAN: (0, 2, 4, 5, 7, 9, 10),
        Mode.MINOR: (0, 2, 3, 5, 7, 8, 10),
        Mode.LOCRIAN: (0, 1, 3, 5, 6, 8, 10),
    }


def test_scale_starts_on_the_tonic() -> None:
    assert parse_key("D dorian").scale == (2, 4, 5, 7, 9, 11, 0)
    assert parse_key("Bb").scale == (10, 0, 2, 3, 5, 7, 9)
    assert parse_key("F#m").scale == (6, 8, 9, 11, 1, 2, 4)


def test_is_minor_follows_the_third() -> None:
    minor_family = {mode for mode in Mode if parse_key(f"C {mode}").is_minor}
    assert minor_family == {Mode.MINOR, Mode.DORIAN, Mode.PHRYGIAN, Mode.LOCRIAN}


def test_contains_accepts_pitch_classes_and_midi_notes() -> None:
    key = parse_key("G")
    assert key.contains(6)
    assert key.contains(66)
    assert not key.contains(5)


@pytest.mark.parametrize(
    ("key_text", "spelled_scale"),
    [
        ("C", "C D E F G A B"),
        ("Bb", "Bb C D Eb F G A"),
        ("Eb", "Eb F G Ab Bb C D"),
        ("A", "A B C# D E F# G#"),
        ("F#", "F# G# A# B C# D# E#"),
        ("Gb", "Gb Ab Bb Cb Db Eb F"),
        ("C#m", "C# D# E F# G# A B"),
        ("Ebm", "Eb F Gb Ab Bb Cb Db"),
        ("D dorian", "D E F G A B C"),
        ("Db mixolydian", "Db Eb F Gb Ab Bb Cb"),
    ],
)
def test_spell_names_scale_notes_on_their_degree_letters(key_text: str, spelled_scale: str) -> None:
    key = parse_key(key_text)
    assert " ".join(key.spell(pc) for pc in key.scale) == spelled_scale


@pytest.mark.parametrize(
    ("key_text", "chromatic"),
    [
        # pitch classes 1 3 6 8 10 semitones above the tonic: #1 (or b2 in minor), b3, #4, b6, b7
        ("C", "C# Eb F# Ab Bb"),
        ("Bb", "B Db E Gb Ab"),
        ("A", "A# C D# F G"),
        ("Am", "Bb C D# F G"),
        ("E phrygian", "F G A# C D"),
    ],
)
def test_spell_names_other_notes_as_borrowed_or_raised_degrees(
    key_text: str, chromatic: str
) -> None:
    key = parse_key(key_text)
    assert " ".join(key.spell(key.tonic + step) for step in (1, 3, 6, 8, 10)) == chromatic


def test_spell_uses_flats_in_flat_keys() -> None:
    assert parse_key("Eb").spell(3) == "Eb"
    assert parse_key("Ab").spell(1) == "Db"
    assert parse_key("E").spell(3) == "D#"


def test_spell_avoids_double_accidentals() -> None:
    # G# major's seventh degree is F##; jamd writes G.
    assert parse_key("G#").spell(7) == "G"


def test_keys_without_a_spelled_tonic_take_the_usual_name() -> None:
    assert [Key(tonic, Mode.MAJOR).tonic_name for tonic in range(12)] == (
        ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    )
    assert [Key(tonic, Mode.MINOR).tonic_name for tonic in range(12)] == (
        ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
    )
    assert Key(1, Mode.DORIAN).tonic_name == "C#"


@pytest.mark.parametrize("mode", list(Mode))
def test_usual_tonic_names_spell_each_scale_with_seven_letters(mode: Mode) -> None:
    for tonic in range(12):
        key = Key(tonic, mode)
        letters = [key.spell(pc)[0] for pc in key.scale]
        assert sorted(letters) == sorted("CDEFGAB"), key.name


@pytest.mark.parametrize(
    ("key_text", "signature"),
    [
        ("C", "C"),
        ("Bb", "Bb"),
        ("Gm", "Gm"),
        ("F#m", "F#m"),
        ("D dorian", "C"),
        ("E phrygian", "C"),
        ("F# dorian", "E"),
        ("Eb lydian", "Bb"),
        ("A#", "Bb"),
        ("Gb minor", "F#m"),
        ("D#m", "D#m"),
        ("A# dorian", "Ab"),
        ("Cb", "Cb"),
    ],
)
def test_midi_key_signature(key_text: str, signature: str) -> None:
    assert parse_key(key_text).midi_key_signature() == signature


@pytest.mark.parametrize("key", ALL_SPELLED_KEYS, ids=lambda key: key.name)
def test_every_key_signature_is_one_mido_writes(key: Key) -> None:
    message = mido.MetaMessage("key_signature", key=key.midi_key_signature())
    assert message.key == key.midi_key_signature()


def test_key_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError, match=r"tonic must be a pitch class 0\.\.11, got 12"):
        Key(12, Mode.MAJOR)
    with pytest.raises(ValueError, match="tonic_name 'D' does not name pitch class 0"):
        Key(0, Mode.MAJOR, "D")
    with pytest.raises(ValueError, match=r"tonic_name must be a letter A\.\.G"):
        Key(0, Mode.MAJOR, "c")


def test_keys_compare_by_value() -> None:
    assert parse_key("Bb") == Key(10, Mode.MAJOR, "Bb") == Key(10, Mode.MAJOR)
    assert parse_key("A#") != parse_key("Bb")

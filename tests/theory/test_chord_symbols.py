import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamd.errors import InputError
from jamd.theory import (
    QUALITY_INTERVALS,
    Chord,
    chord_symbol,
    parse_chord_symbol,
    parse_key,
    parse_roman,
)


@pytest.mark.parametrize(
    ("symbol", "root", "intervals", "bass", "normalised"),
    [
        ("C", 0, (0, 4, 7), 0, "C"),
        ("Dm7", 2, (0, 3, 7, 10), 2, "Dm7"),
        ("G7/B", 7, (0, 4, 7, 10), 11, "G7/B"),
        ("F#m7b5", 6, (0, 3, 6, 10), 6, "F#m7b5"),
        ("Bbmaj7", 10, (0, 4, 7, 11), 10, "Bbmaj7"),
        ("Cdim7", 0, (0, 3, 6, 9), 0, "Cdim7"),
        ("Eaug", 4, (0, 4, 8), 4, "Eaug"),
        ("A7sus4", 9, (0, 5, 7, 10), 9, "A7sus4"),
        ("C6", 0, (0, 4, 7, 9), 0, "C6"),
        ("Cadd9", 0, (0, 4, 7, 14), 0, "Cadd9"),
        ("C9", 0, (0, 4, 7, 10, 14), 0, "C9"),
        ("Cm9", 0, (0, 3, 7, 10, 14), 0, "Cm9"),
        ("C13", 0, (0, 4, 7, 10, 14, 21), 0, "C13"),
        ("E5", 4, (0, 7), 4, "E5"),
        ("CM7", 0, (0, 4, 7, 11), 0, "Cmaj7"),
        ("CΔ7", 0, (0, 4, 7, 11), 0, "Cmaj7"),
        ("C-7", 0, (0, 3, 7, 10), 0, "Cm7"),
        ("Cø", 0, (0, 3, 6, 10), 0, "Cm7b5"),
        ("C°", 0, (0, 3, 6), 0, "Cdim"),
        ("C+", 0, (0, 4, 8), 0, "Caug"),
        ("Cm(maj7)", 0, (0, 3, 7, 11), 0, "CmMaj7"),
        ("Csus", 0, (0, 5, 7), 0, "Csus4"),
        ("C♯m7♭5", 1, (0, 3, 6, 10), 1, "C#m7b5"),
        ("C/D", 0, (0, 4, 7), 2, "C/D"),
        ("C/C", 0, (0, 4, 7), 0, "C"),
        (" Gb7 ", 6, (0, 4, 7, 10), 6, "Gb7"),
    ],
)
def test_parse_chord_symbol(
    symbol: str, root: int, intervals: tuple[int, ...], bass: int, normalised: str
) -> None:
    assert parse_chord_symbol(symbol) == Chord(root, intervals, bass, normalised)


@pytest.mark.parametrize("bad", ["H7", "", "c", "Cmaj13", "C7b9", "C/H", "C/", "Dm7/", "7"])
def test_bad_symbols_name_what_is_accepted(bad: str) -> None:
    with pytest.raises(InputError) as error:
        parse_chord_symbol(bad)
    assert str(error.value) == (
        f"cannot read chord symbol {bad!r}: expected a root C..B with an optional # or b, a "
        "quality (none, m, dim, aug, 5, 6, m6, 7, maj7, m7, mMaj7, m7b5, dim7, aug7, 9, maj9, m9, "
        "add9, madd9, 11, m11, 13, m13, sus2, sus4, 7sus4) and an optional /bass, e.g. C, Dm7, "
        "G7/B, F#m7b5, Bbmaj7, Cdim7, A7sus4"
    )


def test_every_quality_is_listed_in_the_error_message() -> None:
    with pytest.raises(InputError) as error:
        parse_chord_symbol("H")
    listed = str(error.value).split("quality (")[1].split(")")[0].split(", ")
    assert listed == ["none" if suffix == "" else suffix for suffix in QUALITY_INTERVALS]


@given(st.sampled_from(list(QUALITY_INTERVALS)), st.integers(0, 11), st.integers(-24, 24))
def test_every_quality_spells_and_reads_back(suffix: str, root: int, semitones: int) -> None:
    chord = parse_chord_symbol("C" + suffix).transpose(root)
    moved = chord.transpose(semitones)
    assert parse_chord_symbol(moved.symbol) == moved
    assert moved.intervals == QUALITY_INTERVALS[suffix]
    assert moved.root == (root + semitones) % 12


def test_chord_tones_and_tensions() -> None:
    c13 = parse_chord_symbol("C13")
    assert (c13.third, c13.fifth, c13.seventh) == (4, 7, 10)
    assert c13.chord_tones == (0, 4, 7, 10)
    assert c13.tensions == (2, 9)
    sus = parse_chord_symbol("D7sus4")
    assert (sus.third, sus.fifth, sus.seventh) == (None, 9, 0)
    assert sus.chord_tones == (2, 7, 9, 0)
    sixth = parse_chord_symbol("F6")
    assert (sixth.seventh, sixth.chord_tones) == (None, (5, 9, 0, 2))
    diminished = parse_chord_symbol("Bdim7")
    assert (diminished.third, diminished.fifth, diminished.seventh) == (2, 5, 8)
    half_diminished = parse_chord_symbol("Bm7b5")
    assert (half_diminished.fifth, half_diminished.seventh) == (5, 9)
    augmented = parse_chord_symbol("Caug")
    assert (augmented.fifth, augmented.seventh) == (8, None)
    assert parse_chord_symbol("Cadd9").tensions == (2,)


def test_pitch_classes_include_a_slash_bass() -> None:
    assert parse_chord_symbol("C/D").pitch_classes == {0, 2, 4, 7}
    assert parse_chord_symbol("C/E").pitch_classes == {0, 4, 7}


@pytest.mark.parametrize(
    ("symbol", "essential"),
    [
        ("C", (4, 0, 7)),
        ("G7", (11, 5, 7, 2)),
        ("Cmaj9", (4, 11, 0, 2, 7)),
        ("C13", (4, 10, 0, 2, 9, 7)),
        ("Bdim", (2, 11, 5)),
        ("Caug", (4, 0, 8)),
        ("Csus4", (5, 0, 7)),
        ("C6", (4, 9, 0, 7)),
        ("C5", (0, 7)),
    ],
)
def test_essential_tones_put_third_and_seventh_first_and_the_perfect_fifth_last(
    symbol: str, essential: tuple[int, ...]
) -> None:
    assert parse_chord_symbol(symbol).essential_tones == essential


def test_transpose_respells() -> None:
    g7_over_b = parse_roman("V65", parse_key("C"))
    assert g7_over_b.transpose(2) == Chord(9, (0, 4, 7, 10), 1, "A7/C#")
    assert parse_chord_symbol("F#m").transpose(2).symbol == "G#m"
    assert parse_chord_symbol("C7").transpose(-2).symbol == "Bb7"
    assert parse_chord_symbol("C7").transpose(10, parse_key("B")).symbol == "A#7"
    assert parse_chord_symbol("C/D").transpose(5, parse_key("F")).symbol == "F/G"
    assert parse_chord_symbol("C/F#").transpose(0).symbol == "C/F#"


def test_chord_symbol_spells_in_the_key() -> None:
    chord = parse_chord_symbol("A#7")
    assert chord_symbol(chord, parse_key("F")) == "Bb7"
    assert chord_symbol(chord, parse_key("B")) == "A#7"
    assert chord_symbol(chord) == "Bb7"
    assert chord_symbol(parse_chord_symbol("Ebm")) == "Ebm"
    assert chord_symbol(parse_chord_symbol("D#m")) == "Ebm"
    assert chord_symbol(parse_chord_symbol("E/G#"), parse_key("C")) == "E/G#"


def test_chord_symbol_refuses_qualities_it_cannot_name() -> None:
    flat_nine = Chord(0, (0, 4, 7, 10, 13), 0, "C7b9")
    with pytest.raises(ValueError, match=r"no chord symbol for intervals \(0, 4, 7, 10, 13\)"):
        chord_symbol(flat_nine)


def test_chord_rejects_malformed_values() -> None:
    with pytest.raises(ValueError, match="intervals must start with 0"):
        Chord(0, (4, 7), 0, "C")
    with pytest.raises(ValueError, match="intervals must rise"):
        Chord(0, (0, 7, 4), 0, "C")
    with pytest.raises(ValueError, match=r"root and bass must be pitch classes 0\.\.11"):
        Chord(12, (0, 4, 7), 0, "C")

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamd.errors import InputError
from jamd.theory import MODE_INTERVALS, Key, Mode, parse_chord_symbol, parse_key, parse_roman

# (numeral, key, symbol, pitch classes): the contract's known answers, then more.
KNOWN_ANSWERS = [
    ("ii7", "Bb", "Cm7", {0, 3, 7, 10}),
    ("V7/V", "C", "D7", {2, 6, 9, 0}),
    ("bVII", "A", "G", {7, 11, 2}),
    ("vi", "Eb", "Cm", {0, 3, 7}),
    ("V7", "C", "G7", {7, 11, 2, 5}),
    ("iv", "C", "Fm", {5, 8, 0}),
    ("bVI", "C", "Ab", {8, 0, 3}),
    ("V65", "C", "G7/B", {7, 11, 2, 5}),
    ("i", "A minor", "Am", {9, 0, 4}),
    ("bIII", "A minor", "C", {0, 4, 7}),
    ("V7", "Bb", "F7", {5, 9, 0, 3}),
    ("IV", "Bb", "Eb", {3, 7, 10}),
    ("vi", "A", "F#m", {6, 9, 1}),
    ("iii", "A", "C#m", {1, 4, 8}),
    ("V7/ii", "C", "A7", {9, 1, 4, 7}),
    ("vii°7/V", "C", "F#dim7", {6, 9, 0, 3}),
    ("IV/IV", "C", "Bb", {10, 2, 5}),
    ("V/vi", "Eb", "G", {7, 11, 2}),
    ("V7/V", "Db", "Eb7", {3, 7, 10, 1}),
    ("V/V/V", "C", "A", {9, 1, 4}),
    ("bII", "C", "Db", {1, 5, 8}),
    ("#iv°7", "C", "F#dim7", {6, 9, 0, 3}),
    ("viiø7", "C", "Bm7b5", {11, 2, 5, 9}),
    ("viiø", "C", "Bm7b5", {11, 2, 5, 9}),
    ("vii°", "C", "Bdim", {11, 2, 5}),
    ("viio7", "Am", "G#dim7", {8, 11, 2, 5}),
    ("ii°", "Am", "Bdim", {11, 2, 5}),
    ("III+", "C", "Eaug", {4, 8, 0}),
    ("V+7", "C", "Gaug7", {7, 11, 3, 5}),
    ("Imaj7", "F", "Fmaj7", {5, 9, 0, 4}),
    ("IM7", "F", "Fmaj7", {5, 9, 0, 4}),
    ("IΔ", "F", "Fmaj7", {5, 9, 0, 4}),
    ("imaj7", "C", "CmMaj7", {0, 3, 7, 11}),
    ("V9", "Eb", "Bb9", {10, 2, 5, 8, 0}),
    ("Imaj9", "C", "Cmaj9", {0, 4, 7, 11, 2}),
    ("ii9", "C", "Dm9", {2, 5, 9, 0, 4}),
    ("V11", "C", "G11", {7, 11, 2, 5, 9, 0}),
    ("V13", "C", "G13", {7, 11, 2, 5, 9, 4}),
    ("IVadd9", "G", "Cadd9", {0, 4, 7, 2}),
    ("iadd9", "A minor", "Amadd9", {9, 0, 4, 11}),
    ("Iadd6", "C", "C6", {0, 4, 7, 9}),
    ("iiadd6", "C", "Dm6", {2, 5, 9, 11}),
    ("Vsus4", "C", "Gsus4", {7, 0, 2}),
    ("Isus2", "D", "Dsus2", {2, 4, 9}),
    ("V7sus4", "D", "A7sus4", {9, 2, 4, 7}),
    ("I6", "C", "C/E", {0, 4, 7}),
    ("I64", "C", "C/G", {0, 4, 7}),
    ("V43", "C", "G7/D", {7, 11, 2, 5}),
    ("V42", "C", "G7/F", {7, 11, 2, 5}),
    ("V2", "C", "G7/F", {7, 11, 2, 5}),
    ("iiø65", "C minor", "Dm7b5/F", {2, 5, 8, 0}),
    ("vii°65", "C", "Bdim7/D", {11, 2, 5, 8}),
    ("vii°64", "C", "Bdim/F", {11, 2, 5}),
    ("I+64", "C", "Caug/G#", {0, 4, 8}),
    ("vii°42", "C", "Bdim7/Ab", {11, 2, 5, 8}),
    ("vii°42", "Am", "G#dim7/F", {8, 11, 2, 5}),
    ("Iadd6", "Bb", "Bb6", {10, 2, 5, 7}),
    ("V65/V", "C", "D7/F#", {2, 6, 9, 0}),
    ("V6/vi", "C", "E/G#", {4, 8, 11}),
    ("♭VII", "D", "C", {0, 4, 7}),
    ("bVII", "D dorian", "C", {0, 4, 7}),
    ("I", "A#", "A#", {10, 2, 5}),
    ("V", "F#", "C#", {1, 5, 8}),
    ("vi", "Gb", "Ebm", {3, 6, 10}),
]


@pytest.mark.parametrize(("numeral", "key_text", "symbol", "pitch_classes"), KNOWN_ANSWERS)
def test_known_answers(numeral: str, key_text: str, symbol: str, pitch_classes: set[int]) -> None:
    chord = parse_roman(numeral, parse_key(key_text))
    assert chord.symbol == symbol
    assert chord.pitch_classes == pitch_classes


def test_inversions_put_the_figured_tone_in_the_bass() -> None:
    c_major = parse_key("C")
    basses = {figure: parse_roman(f"V{figure}", c_major).bass for figure in ("", "65", "43", "42")}
    assert basses == {"": 7, "65": 11, "43": 2, "42": 5}
    assert parse_roman("I6", c_major).bass == 4
    assert parse_roman("I64", c_major).bass == 7


def test_quality_comes_from_the_numeral_not_the_scale() -> None:
    a_minor = parse_key("Am")
    assert parse_roman("V", a_minor).symbol == "E"
    assert parse_roman("v", a_minor).symbol == "Em"
    assert parse_roman("III", a_minor).symbol == "C#"


def test_roman_and_symbol_give_the_same_chord() -> None:
    assert parse_roman("V65", parse_key("C")) == parse_chord_symbol("G7/B")
    assert parse_roman("ii7", parse_key("Bb")) == parse_chord_symbol("Cm7")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("VIII", "expected an optional b or #, a numeral I..VII"),
        ("", "expected an optional b or #, a numeral I..VII"),
        ("IIV", "expected an optional b or #, a numeral I..VII"),
        ("x7", "expected an optional b or #, a numeral I..VII"),
        ("V7b9", "expected an optional b or #, a numeral I..VII"),
        ("V/", "expected an optional b or #, a numeral I..VII"),
        ("/V", "expected an optional b or #, a numeral I..VII"),
        ("V/H", "expected an optional b or #, a numeral I..VII"),
        ("V765", "an inversion figure (65) takes the place of an extension (7)"),
        ("Imaj765", "an inversion figure (65) takes the place of an extension (maj7)"),
        ("viiø6", "ø is a seventh chord, so its inversions are 65, 43 and 42"),
        ("ii°maj7", "diminished chords take the extensions '7', got 'maj7'"),
        ("imaj9", "minor chords take the extensions '7', 'maj7', '9', '11', '13'"),
        ("V+9", "augmented chords take the extensions '7', got '9'"),
    ],
)
def test_bad_numerals_name_what_is_accepted(bad: str, reason: str) -> None:
    with pytest.raises(InputError) as error:
        parse_roman(bad, parse_key("C"))
    message = str(error.value)
    assert message.startswith(f"cannot read Roman numeral {bad!r}: ")
    assert reason in message


def test_unreadable_numeral_message_lists_the_forms_and_examples() -> None:
    with pytest.raises(InputError) as error:
        parse_roman("H", parse_key("C"))
    assert str(error.value) == (
        "cannot read Roman numeral 'H': expected an optional b or #, a numeral I..VII (uppercase "
        "major, lowercase minor), an optional °, o, dim, ø, + or aug, then an extension (7, maj7, "
        "M7, Δ, 9, maj9, 11, 13, add6, add9, sus2, sus4, 7sus4) or an inversion (6, 64, 65, 43, "
        "42), and an optional /numeral for an applied chord, e.g. I, ii7, V65, bVII, iv, "
        "vii°7/V, V7/ii"
    )


# --- properties over every key -----------------------------------------------------------------

TONIC_NAMES = ["C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A"]
TONIC_NAMES += ["A#", "Bb", "B", "Cb", "B#", "E#", "Fb"]
keys = st.builds(
    lambda name, mode: parse_key(f"{name} {mode}"),
    st.sampled_from(TONIC_NAMES),
    st.sampled_from(Mode),
)
accidentals = st.sampled_from(["", "b", "#", "♭", "♯"])
degrees = st.sampled_from(["I", "II", "III", "IV", "V", "VI", "VII"])
MAJOR_EXTENSIONS = ["", "7", "maj7", "M7", "Δ", "Δ7", "9", "maj9", "M9", "Δ9", "11", "13"]
MAJOR_EXTENSIONS += ["add6", "add9", "sus2", "sus4", "7sus4"]
MINOR_EXTENSIONS = ["", "7", "maj7", "M7", "Δ", "9", "11", "13", "add6", "add9", "sus2", "sus4"]


@st.composite
def numerals(draw: st.DrawFn) -> str:
    """Any numeral the grammar accepts, applied chords included."""
    degree = draw(degrees)
    uppercase = draw(st.booleans())
    body = draw(
        st.one_of(
            st.sampled_from(MAJOR_EXTENSIONS if uppercase else MINOR_EXTENSIONS),
            st.builds(
                str.__add__,
                st.sampled_from(["", "°", "o", "dim", "+", "aug"]),
                st.sampled_from(["", "6", "64", "7"]),
            ),
            st.builds(
                str.__add__,
                st.sampled_from(["", "°", "o", "ø", "+"]),
                st.sampled_from(["65", "43", "42", "2"]),
            ),
            st.sampled_from(["ø", "ø7"]),
        )
    )
    numeral = draw(accidentals) + (degree if uppercase else degree.lower()) + body
    if draw(st.booleans()):
        target = draw(degrees)
        numeral += "/" + draw(accidentals) + draw(st.sampled_from([target, target.lower()]))
    return numeral


@settings(max_examples=500)
@given(keys, numerals())
def test_every_chord_symbol_reads_back_as_the_same_chord(key: Key, numeral: str) -> None:
    chord = parse_roman(numeral, key)
    again = parse_chord_symbol(chord.symbol)
    assert again.pitch_classes == chord.pitch_classes
    assert again.bass == chord.bass
    assert again == chord


@given(keys, numerals())
def test_symbols_use_one_accidental_at_most(key: Key, numeral: str) -> None:
    symbol = parse_roman(numeral, key).symbol
    assert "##" not in symbol
    assert "bb" not in symbol


def diatonic_numerals(mode: Mode, *, sevenths: bool) -> list[tuple[str, tuple[int, ...]]]:
    """The mode's chords stacked in thirds, written as numerals on the major-scale convention,
    with each chord's intervals above the tonic. Built independently of the parser.
    """
    scale = MODE_INTERVALS[mode]
    major = MODE_INTERVALS[Mode.MAJOR]
    qualities = {
        (4, 7): ("upper", ""),
        (3, 7): ("lower", ""),
        (3, 6): ("lower", "°"),
        (4, 7, 11): ("upper", "maj7"),
        (4, 7, 10): ("upper", "7"),
        (3, 7, 10): ("lower", "7"),
        (3, 6, 10): ("lower", "ø7"),
    }
    written = []
    for degree in range(7):
        stack = tuple(scale[(degree + step) % 7] for step in (0, 2, 4, 6)[: 4 if sevenths else 3])
        shape = tuple((tone - stack[0]) % 12 for tone in stack[1:])
        case, mark = qualities[shape]
        accidental = {-1: "b", 0: "", 1: "#"}[stack[0] - major[degree]]
        roman = ["I", "II", "III", "IV", "V", "VI", "VII"][degree]
        written.append((accidental + (roman if case == "upper" else roman.lower()) + mark, stack))
    return written


def test_diatonic_numerals_of_major_and_minor_are_the_textbook_ones() -> None:
    names = [name for name, _ in diatonic_numerals(Mode.MAJOR, sevenths=False)]
    assert names == ["I", "ii", "iii", "IV", "V", "vi", "vii°"]
    names = [name for name, _ in diatonic_numerals(Mode.MINOR, sevenths=True)]
    assert names == ["i7", "iiø7", "bIIImaj7", "iv7", "v7", "bVImaj7", "bVII7"]


@settings(max_examples=1000)  # enough to try every key, both with triads and with sevenths
@given(keys, st.booleans())
def test_diatonic_numerals_stay_inside_the_scale(key: Key, sevenths: bool) -> None:
    for numeral, stack in diatonic_numerals(key.mode, sevenths=sevenths):
        chord = parse_roman(numeral, key)
        assert chord.pitch_classes <= set(key.scale), (numeral, key.name)
        assert chord.pitch_classes == {(key.tonic + step) % 12 for step in stack}
        assert chord.root == (key.tonic + stack[0]) % 12


@settings(max_examples=200)  # every major key
@given(keys.filter(lambda key: key.mode is Mode.MAJOR))
def test_borrowed_and_applied_chords_leave_the_major_scale(key: Key) -> None:
    borrowed = {"bVII": {10}, "iv": {8}, "bVI": {8, 3}, "bIII": {3, 10}, "V7/V": {6}}
    for numeral, outside_steps in borrowed.items():
        chord = parse_roman(numeral, key)
        outside = chord.pitch_classes - set(key.scale)
        assert outside == {(key.tonic + step) % 12 for step in outside_steps}, (numeral, key.name)

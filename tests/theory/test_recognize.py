"""Chords read from a hand on the keys, as an arranger keyboard reads its left-hand split."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamd.theory import QUALITY_INTERVALS, parse_chord_symbol, parse_key, recognize_chord


@pytest.mark.parametrize(
    ("notes", "symbol"),
    [
        ((60, 64, 67), "C"),
        ((64, 67, 72), "C/E"),  # first inversion
        ((67, 72, 76), "C/G"),  # second inversion
        ((60, 63, 67), "Cm"),
        ((60, 64, 70), "C7"),  # the fifth left out
        ((62, 65, 69, 72), "Dm7"),
        ((55, 59, 62, 65), "G7"),
        ((53, 57, 60, 64), "Fmaj7"),
        ((59, 62, 65, 68), "Bdim7"),
        ((60, 64, 67, 69), "C6"),  # the plainer name when the bass is the root
        ((57, 60, 64, 67), "Am7"),  # ... and the bass decides between C6 and Am7
        ((60, 65, 67), "Csus4"),
        ((60, 64, 67, 74), "Cadd9"),
        ((48, 52, 55, 58, 62), "C9"),
        ((50, 60, 64, 67), "C/D"),  # a bass outside the triad: a slash chord
        ((52, 60, 63, 67), "Cm/E"),
        ((60,), "C"),  # one finger: its major triad
        ((60, 67), "C5"),
        ((60, 64, 67, 72, 76), "C"),  # doublings change nothing
    ],
)
def test_a_hand_names_its_chord(notes: tuple[int, ...], symbol: str) -> None:
    chord = recognize_chord(notes)
    assert chord is not None
    assert chord.symbol == symbol


@pytest.mark.parametrize("notes", [(), (60, 61), (60, 64), (60, 61, 62), (60, 61, 62, 63, 64)])
def test_what_is_no_chord_is_none(notes: tuple[int, ...]) -> None:
    assert recognize_chord(notes) is None


def test_the_chord_is_spelled_in_the_key() -> None:
    chord = recognize_chord((70, 74, 77, 80), parse_key("Eb"))
    assert chord is not None
    assert chord.symbol == "Bb7"
    sharp = recognize_chord((66, 70, 73), parse_key("B"))
    assert sharp is not None
    assert sharp.symbol == "F#"


QUALITIES = sorted(q for q, steps in QUALITY_INTERVALS.items() if max(steps) < 12)


@given(
    quality=st.sampled_from(QUALITIES),
    root=st.integers(0, 11),
    bass_tone=st.integers(0, 3),
    octaves=st.lists(st.integers(0, 2), min_size=4, max_size=4),
)
def test_every_chord_in_every_inversion_and_voicing_reads_as_its_notes(
    quality: str, root: int, bass_tone: int, octaves: list[int]
) -> None:
    """Whatever the voicing, the chord read has the tones played and the bass played (two
    names may fit one set of tones, C6 and Am7/C; either is right, as long as it sounds so)."""
    steps = QUALITY_INTERVALS[quality]
    bass = 36 + root + steps[bass_tone % len(steps)]
    upper = [48 + root + step + 12 * octave for step, octave in zip(steps, octaves, strict=False)]
    chord = recognize_chord([bass, *upper])
    assert chord is not None, (quality, root)
    played = {note % 12 for note in [bass, *upper]}
    assert chord.pitch_classes == played
    assert chord.bass == bass % 12
    assert parse_chord_symbol(chord.symbol).pitch_classes == played  # the symbol says so too

import math
from collections.abc import Sequence
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamd.theory import (
    QUALITY_INTERVALS,
    Chord,
    nearest,
    parse_chord_symbol,
    parse_key,
    parse_roman,
    required_tones,
    voice_lead,
)

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def chord_of(suffix: str, root: int, slash_bass: int | None) -> Chord:
    slash = "" if slash_bass is None else f"/{SHARP_NAMES[slash_bass]}"
    return parse_chord_symbol(f"C{suffix}{slash}").transpose(root)


chords = st.builds(
    chord_of,
    st.sampled_from(list(QUALITY_INTERVALS)),
    st.integers(0, 11),
    st.none() | st.integers(0, 11),
)


def movement(previous: Sequence[int], voicing: Sequence[int]) -> int:
    return sum(abs(new - old) for new, old in zip(sorted(voicing), sorted(previous), strict=True))


def reach(note: int, pitch_classes: Sequence[int], low: int, high: int) -> int:
    """How far ``note`` may have to go to the farthest of ``pitch_classes`` in the register."""
    return max(abs(nearest(pc, note, low, high) - note) for pc in pitch_classes)


def movement_bound(previous: Sequence[int], required: Sequence[int], low: int, high: int) -> int:
    """The bound proven in ``test_voice_lead_never_moves_more_than_the_proven_bound``."""
    voices, tones = len(previous), len(required)
    doubling = sum(12 * (1 + (k - 1) // tones) for k in range(1, voices - tones + 1))
    return sum(reach(note, required, low, high) for note in previous) + doubling


def octaves_needed(chord: Chord, voices: int, omit_root: bool) -> int:
    """Octaves of register that hold enough notes of every required tone for ``voices``."""
    tones = len(required_tones(chord, voices=voices, low=0, high=127, omit_root=omit_root))
    return 1 + math.ceil((voices - tones) / tones)


@st.composite
def leading_cases(draw: st.DrawFn) -> tuple[list[int], Chord, int, int, int, bool]:
    """A chord, a register with room for ``voices`` and a previous voicing of that size in it:
    either a voicing of another chord (what the composer passes) or any distinct notes.
    """
    chord, previous_chord = draw(chords), draw(chords)
    voices = draw(st.integers(1, 6))
    omit_root = draw(st.booleans())
    octaves = max(
        octaves_needed(chord, voices, omit_root), octaves_needed(previous_chord, voices, False)
    )
    low = draw(st.integers(0, min(60, 128 - 12 * octaves)))
    high = draw(st.integers(low + 12 * octaves - 1, 127))
    if draw(st.booleans()):
        previous: list[int] = []
        for _ in range(draw(st.integers(1, 3))):
            previous = list(voice_lead(previous, previous_chord, voices=voices, low=low, high=high))
    else:
        pool = st.integers(low, high)
        previous = draw(st.lists(pool, min_size=voices, max_size=voices, unique=True))
    return previous, chord, voices, low, high, omit_root


@given(leading_cases())
def test_voice_lead_never_moves_more_than_the_proven_bound(
    case: tuple[list[int], Chord, int, int, int, bool],
) -> None:
    """Movement <= sum over previous notes p of reach(p), + 12 * sum_{k=1..n-r} (1 + (k-1) // r).

    n voices, r required tones; reach(p) is the farthest that the nearest note of a required
    pitch class in [low, high] can lie from p: at most 6 (a tritone) when p is at least 6 inside
    both ends of the register, at most 11 anywhere in a register an octave wide. Precondition:
    the register holds at least 1 + ceil((n - r) / r) notes of each required pitch class.

    Why: voice_lead finds the least movement, so any voicing it could choose bounds it; here is
    one. Give r of the previous notes one required tone each and move each to that tone's
    nearest note: distinct pitch classes make distinct notes, each costing at most reach(p).
    Then place the other n - r voices one at a time. When the k-th is placed, r + k - 1 notes
    are taken, so some required pitch class has at most u = 1 + (k - 1) // r of its notes taken
    (pigeonhole). Its notes within 12u semitones of its nearest note to p number at least u + 1
    (the precondition), each lies within reach(p) + 12u of p, and one of them is free. The cost
    of this pairing bounds the movement of the sorted pairing voice_lead measures (on a line,
    pairing sorted notes with sorted notes is never worse). With no doubling (n <= r) the bound
    is a tritone per voice in the middle of the register.
    """
    previous, chord, voices, low, high, omit_root = case
    voicing = voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
    required = required_tones(chord, voices=voices, low=low, high=high, omit_root=omit_root)
    bound = movement_bound(previous, required, low, high)
    assert movement(previous, voicing) <= bound
    assert all(reach(note, required, low, high) <= 11 for note in previous)
    if voices <= len(required) and all(low + 6 <= note <= high - 6 for note in previous):
        assert bound <= 6 * voices


@given(
    chords,
    st.integers(1, 8),
    st.integers(0, 127),
    st.integers(0, 60),
    st.booleans(),
    st.none() | st.lists(st.integers(0, 127), max_size=8),
)
def test_voicings_are_in_register_ascending_chord_tones_covering_what_is_required(
    chord: Chord,
    voices: int,
    low: int,
    width: int,
    omit_root: bool,
    previous: list[int] | None,
) -> None:
    high = min(127, low + width)
    voiced = [pc for pc in chord.essential_tones if not (omit_root and pc == chord.root)]
    in_register = [pc for pc in voiced if any(note % 12 == pc for note in range(low, high + 1))]
    if not in_register:
        with pytest.raises(ValueError, match="holds none of"):
            voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
        return
    required = required_tones(chord, voices=voices, low=low, high=high, omit_root=omit_root)
    assert required == tuple(in_register[:voices])
    room = [note for note in range(low, high + 1) if note % 12 in required]
    if len(room) < voices:
        with pytest.raises(ValueError, match=f"fewer than {voices} voices"):
            voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
        return
    voicing = voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
    assert len(voicing) == voices
    assert all(low <= note <= high for note in voicing)
    assert list(voicing) == sorted(set(voicing))
    assert {note % 12 for note in voicing} <= chord.pitch_classes
    assert {note % 12 for note in voicing} >= set(required)
    if omit_root:
        assert chord.root not in {note % 12 for note in voicing}


def test_required_tones_follow_the_essential_order() -> None:
    g13 = parse_chord_symbol("G13")
    assert required_tones(g13, voices=3, low=36, high=96) == (11, 5, 7)
    assert required_tones(g13, voices=3, low=36, high=96, omit_root=True) == (11, 5, 9)
    assert required_tones(g13, voices=8, low=36, high=96) == (11, 5, 7, 9, 4, 2)
    # a register narrower than an octave holds only some pitch classes
    assert required_tones(parse_chord_symbol("C"), voices=3, low=62, high=66) == (4,)


def ranking(
    voicing: Sequence[int], previous: Sequence[int], chord: Chord, required: Sequence[int]
) -> tuple[int, ...]:
    """How voice_lead ranks voicings: movement, then doubled colour tones (anything but root and
    fifth), then the sum of squared moves, then height. With a different number of previous
    notes, each note's distance to the nearest previous note stands for movement.
    """
    colour = sum(note % 12 not in {chord.root, chord.fifth} for note in voicing)
    colour -= len(set(required) - {chord.root, chord.fifth})
    if len(previous) != len(voicing):
        nearest_previous = sum(min(abs(note - old) for old in previous) for note in voicing)
        return nearest_previous, colour, sum(voicing)
    moves = [new - old for new, old in zip(sorted(voicing), sorted(previous), strict=True)]
    return sum(map(abs, moves)), colour, sum(move * move for move in moves), sum(voicing)


@st.composite
def small_problems(
    draw: st.DrawFn, *, spare_voices: bool
) -> tuple[list[int], Chord, int, int, int, bool]:
    """A register of one to two octaves and up to six voices, small enough to try every voicing;
    with ``spare_voices``, more voices than required tones so that some tones are doubled.
    """
    omit_root = draw(st.booleans())

    def tones_of(chord: Chord) -> int:
        return len(required_tones(chord, voices=12, low=0, high=127, omit_root=omit_root))

    chord = draw(chords.filter(lambda chord: tones_of(chord) < 6) if spare_voices else chords)
    tones = tones_of(chord)
    if spare_voices:
        voices = draw(st.integers(tones + 1, min(6, 3 * tones)))
    else:
        voices = draw(st.integers(1, min(6, tones)))
    low = draw(st.integers(30, 80))
    high = low + draw(st.integers(11, 26))
    count = draw(st.sampled_from([voices, voices, voices, voices - 1, voices + 1]).filter(bool))
    previous = draw(st.lists(st.integers(low - 12, high + 12), min_size=count, max_size=count))
    return previous, chord, voices, low, high, omit_root


def assert_ranked_first(case: tuple[list[int], Chord, int, int, int, bool]) -> None:
    previous, chord, voices, low, high, omit_root = case
    required = required_tones(chord, voices=voices, low=low, high=high, omit_root=omit_root)
    room = [note for note in range(low, high + 1) if note % 12 in required]
    if len(room) < voices:
        return
    clamped = sorted(min(max(note, low), high) for note in previous)
    voicing = voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
    every_voicing = [
        candidate
        for candidate in combinations(room, voices)
        if {note % 12 for note in candidate} == set(required)
    ]
    best = min(ranking(candidate, clamped, chord, required) for candidate in every_voicing)
    assert ranking(voicing, clamped, chord, required) == best


@given(small_problems(spare_voices=False))
def test_voice_lead_ranks_first_what_exhaustive_search_ranks_first(
    case: tuple[list[int], Chord, int, int, int, bool],
) -> None:
    assert_ranked_first(case)


@settings(max_examples=300)
@given(small_problems(spare_voices=True))
def test_with_spare_voices_voice_lead_ranks_first_what_exhaustive_search_ranks_first(
    case: tuple[list[int], Chord, int, int, int, bool],
) -> None:
    assert_ranked_first(case)


@given(chords, st.integers(1, 6), st.integers(24, 60), st.integers(24, 48))
def test_without_previous_the_voicing_is_close_and_centred(
    chord: Chord, voices: int, low: int, width: int
) -> None:
    high = low + max(width, 12 * octaves_needed(chord, voices, omit_root=False) - 1)
    voicing = voice_lead(None, chord, voices=voices, low=low, high=high)
    required = required_tones(chord, voices=voices, low=low, high=high)
    room = [note for note in range(low, high + 1) if note % 12 in required]
    start = room.index(voicing[0])
    assert list(voicing) == room[start : start + voices]  # no chord tone skipped
    best_centring = min(
        abs(room[i] + room[i + voices - 1] - (low + high)) for i in range(len(room) - voices + 1)
    )
    assert abs(voicing[0] + voicing[-1] - (low + high)) == best_centring


@given(leading_cases())
def test_voice_lead_is_deterministic(case: tuple[list[int], Chord, int, int, int, bool]) -> None:
    previous, chord, voices, low, high, omit_root = case
    first = voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
    again = voice_lead(previous, chord, voices=voices, low=low, high=high, omit_root=omit_root)
    assert first == again


def test_known_voice_leading() -> None:
    c_major = parse_key("C")

    def lead(previous: Sequence[int] | None, numeral: str, voices: int) -> tuple[int, ...]:
        return voice_lead(previous, parse_roman(numeral, c_major), voices=voices, low=48, high=84)

    assert lead(None, "I", 4) == (60, 64, 67, 72)
    assert lead(None, "I", 3) == (64, 67, 72)
    # G7 resolves to C: leading tone up, seventh down, common tone held, root doubled
    assert lead((62, 65, 67, 71), "I", 4) == (60, 64, 67, 72)
    assert lead((64, 67, 72), "IV", 3) == (65, 69, 72)
    assert lead((64, 67, 72), "V7", 3) == (65, 67, 71)
    # ii7 - V7 - Imaj7 with four voices: every voice moves at most a whole tone
    dm7 = lead(None, "ii7", 4)
    g7 = lead(dm7, "V7", 4)
    cmaj7 = lead(g7, "Imaj7", 4)
    assert (dm7, g7, cmaj7) == ((62, 65, 69, 72), (62, 65, 67, 71), (60, 64, 67, 71))


def test_on_a_tie_voice_lead_doubles_the_root_rather_than_the_third() -> None:
    # (52, 55, 72, 76) doubles E and moves as little, more smoothly and lower; C wins anyway.
    voicing = voice_lead((54, 57, 70, 76), parse_chord_symbol("C"), voices=4, low=48, high=84)
    assert voicing == (55, 60, 72, 76)


def test_a_close_voicing_doubles_the_root_rather_than_the_third() -> None:
    # (52, 55, 60, 64) is as well centred in 36..83 but doubles E.
    voicing = voice_lead(None, parse_chord_symbol("C"), voices=4, low=36, high=83)
    assert voicing == (55, 60, 64, 67)


def test_voices_travel_beyond_the_first_search_window_when_that_moves_less() -> None:
    # Inside two semitones of each voice's nearest chord note the best is (48, 55, 58, 64, 79),
    # moving 8; letting the lowest voice travel further gives 6.
    voicing = voice_lead((51, 55, 61, 66, 79), parse_chord_symbol("C7"), voices=5, low=48, high=84)
    assert voicing == (52, 58, 60, 67, 79)


def test_previous_notes_outside_the_register_count_from_its_ends() -> None:
    c_major = parse_chord_symbol("C")
    from_far_below = voice_lead((10, 11, 12), c_major, voices=3, low=60, high=84)
    assert from_far_below == (60, 64, 67)
    from_far_above = voice_lead((120, 121, 122), c_major, voices=3, low=60, high=84)
    assert from_far_above == (76, 79, 84)


def test_changing_the_number_of_voices_keeps_notes_near_the_old_ones() -> None:
    c_major = parse_chord_symbol("C")
    assert voice_lead((60, 64, 67), c_major, voices=4, low=48, high=84) == (55, 60, 64, 67)
    assert voice_lead((60, 64, 67, 72), c_major, voices=3, low=48, high=84) == (60, 64, 67)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"voices": 0, "low": 48, "high": 84}, "voices must be at least 1, got 0"),
        ({"voices": 3, "low": 84, "high": 48}, "register must be MIDI notes with 0 <= low"),
        ({"voices": 3, "low": 0, "high": 128}, "register must be MIDI notes with 0 <= low"),
        ({"voices": 4, "low": 60, "high": 67}, "register 60..67 holds 3 notes of C's tones"),
        ({"voices": 1, "low": 61, "high": 62}, "register 61..62 holds none of C's voiced tones"),
    ],
)
def test_voice_lead_rejects_impossible_requests(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("..", r"\.\.")):
        voice_lead(None, parse_chord_symbol("C"), **kwargs)


@pytest.mark.parametrize(
    ("pc", "target", "low", "high", "expected"),
    [
        (0, 65, 48, 84, 60),
        (0, 66, 0, 127, 60),  # a tie goes to the lower note
        (0, 67, 0, 127, 72),
        (0, 10, 48, 84, 48),
        (0, 127, 48, 84, 84),
        (7, 60, 55, 66, 55),
        (14, 60, 48, 84, 62),
    ],
)
def test_nearest(pc: int, target: int, low: int, high: int, expected: int) -> None:
    assert nearest(pc, target, low, high) == expected


def test_nearest_needs_the_pitch_class_in_the_register() -> None:
    with pytest.raises(ValueError, match=r"register 60\.\.62 holds no note of pitch class 7"):
        nearest(7, 60, 60, 62)

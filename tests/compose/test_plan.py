"""The song plan: sections fitted to the duration, one chord per bar, ending on the tonic."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from songs import GENRES, SEEDS, style_of

from jamd.compose import SectionKind, SongParams, plan_song
from jamd.compose.form import fit_form
from jamd.compose.plan import total_bars_for
from jamd.errors import InputError
from jamd.theory import Key, Mode, parse_key

KEYS = st.builds(Key, st.integers(0, 11), st.sampled_from(list(Mode)))


def plan_for(genre: str, seed: int = 7, seconds: float = 90, key: str = "C", tempo: float = 0):
    style = style_of(genre)
    params = SongParams(genre, parse_key(key), tempo or style.tempo.default, seconds, seed)
    return plan_song(params, style, random.Random(seed))


@pytest.mark.parametrize("genre", GENRES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("seconds", [4, 30, 95, 400])
def test_sections_cover_exactly_the_planned_bars(genre: str, seed: int, seconds: float) -> None:
    plan = plan_for(genre, seed, seconds)
    start = 0
    for section in plan.sections:
        assert section.start_bar == start
        assert section.bars >= 1
        assert 0 <= section.energy <= 1
        start = section.end_bar
    assert start == plan.total_bars == len(plan.chords)
    assert all(plan.section_at(b).start_bar <= b < plan.section_at(b).end_bar for b in range(start))


@pytest.mark.parametrize("genre", GENRES)
@pytest.mark.parametrize("key", ["C", "F#m", "Bb", "D dorian", "Eb minor"])
def test_the_last_chord_is_the_tonic(genre: str, key: str) -> None:
    plan = plan_for(genre, seconds=60, key=key)
    assert plan.chords[-1].chord.root == parse_key(key).tonic


@pytest.mark.parametrize("genre", GENRES)
def test_minor_keys_get_minor_progressions(genre: str) -> None:
    plan = plan_for(genre, seconds=120, key="Am")
    tonic_chords = [c for c in plan.chords if c.chord.root == parse_key("Am").tonic]
    assert tonic_chords
    assert all(c.chord.third == 0 for c in tonic_chords)  # A minor's third is C


def test_the_notes_end_by_the_duration_with_a_ring_out() -> None:
    # 120 BPM 4/4: 2 s bars; 30 s less a 1.5 s ring-out holds 14 bars.
    assert total_bars_for(30, 120, 4) == 14
    # 300 BPM: 0.8 s bars; the ring-out is one bar; 5 s holds 5 bars of music.
    assert total_bars_for(5, 300, 4) == 5
    # 20 BPM 3/4: one 9 s bar is longer than the song; a song still has one bar.
    assert total_bars_for(5, 20, 3) == 1


@pytest.mark.parametrize("genre", GENRES)
def test_very_short_songs_still_begin_and_end(genre: str) -> None:
    for seconds in (2, 4, 6, 9):
        plan = plan_for(genre, seconds=seconds, tempo=120)
        assert plan.total_bars == total_bars_for(seconds, 120, plan.beats_per_bar)
        assert plan.chords[-1].chord.root == 0
        if plan.total_bars > 1:
            assert len(plan.sections) >= 2


@pytest.mark.parametrize("genre", GENRES)
def test_an_hour_repeats_the_form_with_variety_not_a_loop(genre: str) -> None:
    plan = plan_for(genre, seconds=3600, tempo=style_of(genre).tempo.max)
    kinds = {section.kind for section in plan.sections}
    assert len(kinds) >= 3
    longest = max(
        len(s.numerals) for pool in style_of(genre).harmony.progressions.values() for s in pool
    )
    assert max(section.bars for section in plan.sections) <= max(32, 2 * longest)
    assert len(plan.sections) >= 20


EXPECTED_FORMS = {
    "pop": (56, "intro verse chorus verse chorus bridge chorus outro"),
    "electronic": (72, "intro build drop breakdown build drop outro"),
    "jazz": (56, "intro head solo head outro"),
    "blues": (56, "intro verse verse solo verse outro"),
    "classical": (54, "intro theme theme episode theme episode theme outro"),
}


@pytest.mark.parametrize("genre", sorted(EXPECTED_FORMS))
def test_a_song_as_long_as_the_form_plays_the_genre_s_form(genre: str) -> None:
    bars, expected = EXPECTED_FORMS[genre]
    style = style_of(genre)
    slots = fit_form(style.form, bars, style.energy)
    assert " ".join(slot.kind.value for slot in slots) == expected
    assert sum(slot.bars for slot in slots) == bars


@pytest.mark.parametrize("bars", range(1, 200))
def test_every_length_fits_exactly(bars: int) -> None:
    for genre in GENRES:
        style = style_of(genre)
        slots = fit_form(style.form, bars, style.energy)
        assert sum(slot.bars for slot in slots) == bars
        assert all(slot.bars >= 1 for slot in slots)


def test_blues_plays_12_bar_choruses_with_a_turnaround() -> None:
    plan = plan_for("blues", seconds=200, key="E")
    choruses = [s for s in plan.sections if s.kind in (SectionKind.VERSE, SectionKind.SOLO)]
    assert len(choruses) >= 3
    for section in choruses[:-1]:
        numerals = [c.numeral for c in plan.chords[section.start_bar : section.end_bar]]
        assert section.bars == 12
        assert numerals[0] == "I7"
        assert numerals[4] == "IV7"
        assert numerals[-1] == "V7"


def test_jazz_plays_head_solos_head_over_ii_v_i() -> None:
    plan = plan_for("jazz", seconds=150, key="Bb")
    kinds = [s.kind for s in plan.sections]
    heads = [i for i, kind in enumerate(kinds) if kind is SectionKind.HEAD]
    solos = [i for i, kind in enumerate(kinds) if kind is SectionKind.SOLO]
    assert len(heads) == 2
    assert solos
    assert heads[0] < min(solos)
    assert max(solos) < heads[1]
    numerals = [c.numeral for c in plan.chords]
    assert any(numerals[i : i + 3] == ["ii7", "V7", "Imaj7"] for i in range(len(numerals) - 2))
    head = plan.sections[heads[0]]
    solo = plan.sections[solos[0]]
    chorus = min(head.bars, solo.bars)  # solos play the head's changes
    head_changes = plan.chords[head.start_bar : head.start_bar + chorus]
    assert head_changes == plan.chords[solo.start_bar : solo.start_bar + chorus]


def test_classical_phrases_end_on_half_and_authentic_cadences() -> None:
    plan = plan_for("classical", seconds=120, key="D")
    for section in plan.sections:
        if section.kind is SectionKind.THEME and section.bars == 8:
            numerals = [c.numeral for c in plan.chords[section.start_bar : section.end_bar]]
            assert numerals[3] == "V"  # half cadence ends the antecedent
            assert numerals[6:] == ["V", "I"]  # authentic cadence ends the consequent


def test_a_kind_keeps_its_chords_each_time_it_returns() -> None:
    plan = plan_for("pop", seconds=200)
    choruses = [s for s in plan.sections if s.kind is SectionKind.CHORUS and s.bars == 8]
    charts = {tuple(plan.chords[s.start_bar : s.end_bar]) for s in choruses[:-1]}
    assert len(choruses) >= 3
    assert len(charts) == 1


def test_section_energy_follows_the_style_and_the_requested_energy() -> None:
    style = style_of("pop")
    quiet, loud = (
        plan_song(SongParams("pop", parse_key("C"), 110, 90, 1, energy), style, random.Random(1))
        for energy in (0.1, 0.9)
    )
    pairs = zip(quiet.sections, loud.sections, strict=True)
    assert all(soft.energy < hard.energy for soft, hard in pairs)
    verse = next(s for s in loud.sections if s.kind is SectionKind.VERSE)
    chorus = next(s for s in loud.sections if s.kind is SectionKind.CHORUS)
    assert verse.energy < chorus.energy


def test_section_summaries_list_labels_bars_and_chords() -> None:
    plan = plan_for("jazz", seconds=60, key="Bb")
    summaries = plan.section_summaries()
    assert [s.label for s in summaries] == [s.label for s in plan.sections]
    assert summaries[0].first_bar == 0
    assert summaries[-1].last_bar == plan.total_bars - 1
    assert sum(len(s.chords) for s in summaries) == plan.total_bars
    assert summaries[-1].chords[-1] == "Bbmaj7"
    assert str(summaries[-1]).startswith(f"{summaries[-1].label:<12} bars")


def test_repeated_kinds_are_numbered_in_labels() -> None:
    labels = [s.label for s in plan_for("pop", seconds=120).sections]
    assert "chorus 1" in labels
    assert "chorus 2" in labels
    assert "intro" in labels


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tempo", 400, "tempo must be 20..300 BPM, got 400"),
        ("tempo", 19.5, "tempo must be 20..300 BPM, got 19.5"),
        ("duration", 0, "duration must be > 0 and <= 3600 seconds, got 0"),
        ("duration", 3601, "duration must be > 0 and <= 3600 seconds, got 3601"),
        ("energy", 1.5, "energy must be 0..1, got 1.5"),
    ],
)
def test_params_out_of_range_say_the_range(field: str, value: float, message: str) -> None:
    values = {"tempo": 120.0, "duration": 30.0, "energy": 0.5} | {field: value}
    with pytest.raises(InputError, match=message):
        SongParams("pop", parse_key("C"), seed=1, **values)


@given(
    genre=st.sampled_from(GENRES),
    key=KEYS,
    tempo=st.floats(20, 300),
    seconds=st.floats(5, 600),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=150, deadline=None)
def test_any_song_plans_to_exact_bars_ending_on_the_tonic(
    genre: str, key: Key, tempo: float, seconds: float, seed: int
) -> None:
    style = style_of(genre)
    params = SongParams(genre, key, tempo, seconds, seed)
    plan = plan_song(params, style, random.Random(seed))
    assert plan.total_bars == total_bars_for(seconds, tempo, style.beats_per_bar)
    assert sum(s.bars for s in plan.sections) == plan.total_bars == len(plan.chords)
    assert plan.chords[-1].chord.root == key.tonic
    if plan.total_bars > 1:
        assert plan.total_bars * plan.beats_per_bar * 60 / tempo <= seconds
    assert plan == plan_song(params, style, random.Random(seed))

"""Composed songs, for every genre and several seeds: what a listener and the engine rely on."""

import itertools
import random
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from songs import GENRES, SEEDS, by_bar, song, style_of

from jamd.compose import (
    BarState,
    NoteEvent,
    Part,
    SectionKind,
    SongParams,
    compose_bar,
    compose_song,
    plan_song,
)
from jamd.compose.melody import strong_beats
from jamd.compose.song import event_order
from jamd.styles import PATCHES, REGISTERS
from jamd.styles.model import DRUM_NOTES
from jamd.theory import Chord, Key, Mode

CASES = [(genre, seed) for genre in GENRES for seed in SEEDS]


def voiced(genre: str, part: Part, chord: Chord) -> frozenset[int]:
    """The pitch classes a part may voice for ``chord``: its own, plus the ninth on keys for
    styles that voice in colour (jazz).
    """
    if part is Part.KEYS and style_of(genre).comping.colour:
        return chord.pitch_classes | {(chord.root + 2) % 12}
    return chord.pitch_classes


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_events_are_sorted_valid_and_end_with_the_song(genre: str, seed: int) -> None:
    composed = song(genre, seed)
    plan = composed.plan
    assert list(composed.events) == sorted(composed.events, key=event_order)
    assert all(event.end <= plan.end_beat + 1e-9 for event in composed.events)
    assert plan.end_beat * 60 / plan.tempo <= plan.params.duration
    assert list(composed.arrangement.patches) == list(Part)
    for part, patch in composed.arrangement.patches.items():
        assert patch in PATCHES[part.value]


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_pitched_parts_stay_in_their_registers(genre: str, seed: int) -> None:
    for event in song(genre, seed).events:
        if event.part is Part.DRUMS:
            assert event.pitch in DRUM_NOTES.values()
        else:
            low, high = REGISTERS[event.part.value]  # type: ignore[index]
            assert low <= event.pitch <= high, event


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_chords_change_only_on_bar_lines(genre: str, seed: int) -> None:
    """Keys and pad play only the pitches of the chord of the bar they start in (with its ninth,
    for styles whose keys voice in colour).
    """
    composed = song(genre, seed)
    plan = composed.plan
    colour = style_of(genre).comping.colour
    for part in (Part.KEYS, Part.PAD):
        for bar, events in by_bar(plan, composed.events, part).items():
            chord = plan.chords[bar].chord
            allowed = chord.pitch_classes
            if colour and part is Part.KEYS:
                allowed |= {(chord.root + 2) % 12}
            assert {e.pitch % 12 for e in events} <= allowed, (bar, chord.symbol)


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_the_bass_follows_the_chords(genre: str, seed: int) -> None:
    composed = song(genre, seed)
    plan = composed.plan
    bars = by_bar(plan, composed.events, Part.BASS)
    downbeats = [
        events[0].pitch % 12 in (plan.chords[bar].chord.bass, plan.chords[bar].chord.root)
        for bar, events in bars.items()
        if events[0].start == plan.bar_start(bar)
    ]
    assert downbeats
    assert all(downbeats)


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_melody_lands_chord_tones_on_strong_beats(genre: str, seed: int) -> None:
    composed = song(genre, seed)
    plan = composed.plan
    strong = strong_beats(plan.beats_per_bar)
    landed = [
        event.pitch % 12 in plan.chords[bar].chord.chord_tones
        for bar, events in by_bar(plan, composed.events, Part.LEAD).items()
        for event in events
        if event.start - plan.bar_start(bar) in strong
    ]
    assert len(landed) >= 10
    assert sum(landed) / len(landed) >= 0.8


REPEATED = {
    "blues": SectionKind.VERSE,
    "classical": SectionKind.THEME,
    "country": SectionKind.CHORUS,
    "electronic": SectionKind.DROP,
    "hip-hop": SectionKind.CHORUS,
    "jazz": SectionKind.HEAD,
    "pop": SectionKind.CHORUS,
    "rock": SectionKind.CHORUS,
}


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_a_chorus_s_melody_returns_with_it(genre: str, seed: int) -> None:
    """A section kind that comes back over the same chords brings back its melody."""
    composed = song(genre, seed, seconds=240)
    plan = composed.plan
    lead = by_bar(plan, composed.events, Part.LEAD)

    def melody(section_index: int) -> list[tuple[float, float, int]]:
        section = plan.sections[section_index]
        last = min(section.end_bar, plan.total_bars - 1)  # the final bar holds the tonic
        return [
            (round(e.start - plan.bar_start(section.start_bar), 6), e.length, e.pitch)
            for bar in range(section.start_bar, last)
            for e in lead.get(bar, [])
        ]

    def chart(section_index: int) -> tuple[object, ...]:
        section = plan.sections[section_index]
        return tuple(plan.chords[section.start_bar : section.end_bar])

    returns = [i for i, s in enumerate(plan.sections) if s.kind is REPEATED[genre]]
    pairs = [(a, b) for a in returns for b in returns if a < b and chart(a) == chart(b)]
    assert pairs
    for first, again in pairs:
        assert melody(first)
        assert melody(first) == melody(again)


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_the_ending_resolves_on_the_tonic(genre: str, seed: int) -> None:
    composed = song(genre, seed)
    plan = composed.plan
    last = plan.total_bars - 1
    tonic = plan.key.tonic
    assert plan.chords[last].chord.root == tonic
    final = [e for e in composed.events if e.start >= plan.bar_start(last)]
    bass = [e for e in final if e.part is Part.BASS]
    lead = [e for e in final if e.part is Part.LEAD]
    drums = {e.pitch for e in final if e.part is Part.DRUMS and e.start == plan.bar_start(last)}
    assert [e.pitch % 12 for e in bass] == [tonic]
    assert [e.pitch % 12 for e in lead] == [tonic]
    assert drums & {DRUM_NOTES["crash"], DRUM_NOTES["tom_floor"]}
    downbeat = plan.bar_start(last)
    held = [
        e
        for e in composed.events
        if e.part in (Part.KEYS, Part.PAD) and e.start <= downbeat < e.end
    ]
    assert held
    for part in (Part.KEYS, Part.PAD):
        sounding = {e.pitch % 12 for e in held if e.part is part}
        assert sounding <= voiced(genre, part, plan.chords[last].chord)
    assert all(e.end >= plan.end_beat - 0.1 for e in held)


@pytest.mark.parametrize("genre", GENRES)
def test_the_same_seed_gives_the_same_song(genre: str) -> None:
    style = style_of(genre)
    plan = song(genre, 7).plan
    again = compose_song(plan_song(plan.params, style, random.Random(7)), style, 7)
    assert again.plan == plan
    assert again.events == song(genre, 7).events
    assert again.arrangement == song(genre, 7).arrangement


@pytest.mark.parametrize("genre", GENRES)
def test_different_seeds_give_different_songs(genre: str) -> None:
    songs = [song(genre, seed).events for seed in SEEDS]
    assert len(set(songs)) == len(SEEDS)


@pytest.mark.parametrize("genre", GENRES)
def test_any_bar_can_be_composed_again_alone(genre: str) -> None:
    """The fold's step is pure: from the state before a bar, that bar comes out the same; and
    parts that keep no state (drums) come out the same even from a blank state.
    """
    composed = song(genre, 7, seconds=60)
    plan, style, arrangement = composed.plan, style_of(genre), composed.arrangement
    states = [BarState()]
    bars = []
    for bar in range(plan.total_bars):
        events, state = compose_bar(plan, style, arrangement, bar, states[-1], seed=7)
        bars.append(events)
        states.append(state)
    assert tuple(sorted((e for b in bars for e in b), key=event_order)) == composed.events
    for bar in random.Random(genre).sample(range(plan.total_bars), 5):
        again, _ = compose_bar(plan, style, arrangement, bar, states[bar], seed=7)
        assert again == bars[bar]
        alone, _ = compose_bar(plan, style, arrangement, bar, BarState(), seed=7)
        drums = [e for e in alone if e.part is Part.DRUMS]
        assert drums == [e for e in bars[bar] if e.part is Part.DRUMS]


@pytest.mark.parametrize(("genre", "seed"), CASES)
def test_drums_fill_into_every_new_section(genre: str, seed: int) -> None:
    """The last bar before a section change is not the groove: the drums play a fill (or a
    build's roll), also as a pickup when they only come in with the next section.
    """
    composed = song(genre, seed, seconds=150)
    plan = composed.plan
    drums = by_bar(plan, composed.events, Part.DRUMS)
    style = style_of(genre)

    def pattern(bar: int) -> set[tuple[float, int]]:
        return {(e.start - plan.bar_start(bar), e.pitch) for e in drums.get(bar, [])}

    for index, section in enumerate(plan.sections[:-1]):
        playing = [composed.arrangement.intensity(i, Part.DRUMS) > 0 for i in (index, index + 1)]
        if not any(playing):
            continue
        last = section.end_bar - 1
        tail = [at for at, _ in pattern(last) if at >= plan.beats_per_bar - 1]
        assert tail, (section.label, "no drums in the last beat")
        if playing[0] and section.bars >= 3 and section.kind not in style.drums.ramp:
            assert pattern(last) != pattern(last - 2), (section.label, "no fill")


@pytest.mark.parametrize("genre", ["pop", "rock", "country"])
def test_a_crash_marks_the_downbeat_after_a_fill(genre: str) -> None:
    composed = song(genre, 1, seconds=150)
    plan = composed.plan
    crashes = {e.start for e in composed.events if e.pitch == DRUM_NOTES["crash"]}
    for index, section in enumerate(plan.sections[1:], start=1):
        if composed.arrangement.intensity(index, Part.DRUMS) > 0:
            assert plan.bar_start(section.start_bar) in crashes, section.label


def test_jazz_swings_walks_and_comps_off_the_beat() -> None:
    composed = song("jazz", 7, seconds=120, key="Bb")
    plan = composed.plan
    ride = [round(e.start % 1, 6) for e in composed.events if e.pitch == DRUM_NOTES["ride"]]
    assert ride
    assert set(ride) <= {0.0, 0.64}
    walking = [
        events
        for bar, events in by_bar(plan, composed.events, Part.BASS).items()
        if plan.section_at(bar).kind in (SectionKind.HEAD, SectionKind.SOLO)
        and bar < plan.total_bars - 1
    ]
    assert walking
    assert all(len(events) == 4 for events in walking)
    assert all([e.start % 4 for e in events] == [0, 1, 2, 3] for events in walking)
    assert all(
        events[0].pitch % 12 == plan.chords[int(events[0].start // 4)].chord.bass
        for events in walking
    )
    # Each bar's last note leads into the next bar's root: a semitone, a step or its dominant.
    for events in walking:
        bar = int(events[0].start // 4)
        following = [e for e in composed.events if e.part is Part.BASS and e.start == (bar + 1) * 4]
        if following:
            assert abs(following[0].pitch - events[-1].pitch) in (1, 2, 5, 7)
    keys = [
        e
        for e in composed.events
        if e.part is Part.KEYS and e.start < plan.bar_start(plan.total_bars - 1)
    ]
    off_beat = [e for e in keys if e.start % 1 != 0]
    assert len(off_beat) > len(keys) / 3
    assert composed.arrangement.patch(Part.BASS) == "bass/pluck-upright"
    assert composed.arrangement.patch(Part.LEAD) in ("lead/horn", "lead/flute")


def test_blues_shuffles_in_12_bar_choruses_with_a_boogie_bass() -> None:
    composed = song("blues", 7, seconds=120, key="E")
    hats = [round(e.start % 1, 6) for e in composed.events if e.pitch == DRUM_NOTES["hat"]]
    assert set(hats) <= {0.0, 0.67}
    assert 0.67 in hats
    plan = composed.plan
    verse = next(s for s in plan.sections if s.kind is SectionKind.VERSE)
    first = by_bar(plan, composed.events, Part.BASS)[verse.start_bar]
    root = plan.chords[verse.start_bar].chord.root
    assert [(e.pitch - first[0].pitch) for e in first] == [0, 4, 7, 9, 10, 9, 7, 4]
    assert first[0].pitch % 12 == root


def test_electronic_builds_drops_and_breaks_down() -> None:
    composed = song("electronic", 3, seconds=240)
    plan = composed.plan
    kicks = by_bar(
        plan, tuple(e for e in composed.events if e.pitch == DRUM_NOTES["kick"]), Part.DRUMS
    )
    drop = next(s for s in plan.sections if s.kind is SectionKind.DROP)
    assert [e.start % 4 for e in kicks[drop.start_bar + 1]] == [0, 1, 2, 3]
    build = next(s for s in plan.sections if s.kind is SectionKind.BUILD)
    snares = by_bar(
        plan, tuple(e for e in composed.events if e.pitch == DRUM_NOTES["snare"]), Part.DRUMS
    )
    counts = [len(snares.get(bar, [])) for bar in range(build.start_bar, build.end_bar)]
    assert counts == sorted(counts)
    assert counts[-1] > counts[0]
    breakdown = plan.sections.index(
        next(s for s in plan.sections if s.kind is SectionKind.BREAKDOWN)
    )
    assert [role.part for role in composed.arrangement.sections[breakdown].parts] == [Part.PAD]
    assert composed.arrangement.patch(Part.DRUMS) == "drums/909"


def test_hip_hop_808_bass_glides_with_overlapping_notes() -> None:
    composed = song("hip-hop", 7, seconds=120)
    bass = [e for e in composed.events if e.part is Part.BASS]
    glides = [a for a, b in itertools.pairwise(bass) if b.start < a.end and a.pitch != b.pitch]
    assert glides
    assert composed.arrangement.patch(Part.BASS) == "bass/808"
    assert composed.arrangement.patch(Part.DRUMS) == "drums/808"
    rolls = [e for e in composed.events if e.pitch == DRUM_NOTES["hat"] and e.length < 0.2]
    assert rolls


def test_classical_is_in_three_with_alberti_keys_and_no_kit() -> None:
    composed = song("classical", 7, seconds=90)
    plan = composed.plan
    assert plan.meter == (3, 4)
    assert plan.beats_per_bar == 3
    drums = {e.pitch for e in composed.events if e.part is Part.DRUMS}
    assert drums <= {DRUM_NOTES["tom_floor"]}
    theme = next(s for s in plan.sections if s.kind is SectionKind.THEME)
    keys = by_bar(plan, composed.events, Part.KEYS)[theme.start_bar + 1]
    assert len(keys) == 6
    assert len({e.pitch for e in keys}) == 3


def test_country_plays_boom_chick() -> None:
    composed = song("country", 7, seconds=60)
    plan = composed.plan
    verse = next(s for s in plan.sections if s.kind is SectionKind.VERSE)
    bass = by_bar(plan, composed.events, Part.BASS)[verse.start_bar]
    keys = by_bar(plan, composed.events, Part.KEYS)[verse.start_bar]
    assert {round(e.start % 4) for e in bass} == {0, 2}
    assert {round(e.start % 4, 1) for e in keys} >= {1.0, 3.0}
    assert composed.arrangement.patch(Part.KEYS) in ("keys/clean-guitar", "keys/grand")


def test_energy_makes_the_band_play_harder_and_busier() -> None:
    quiet = song("pop", 7, seconds=90, energy=0.1)
    loud = song("pop", 7, seconds=90, energy=0.9)

    def loudness(events: tuple[NoteEvent, ...]) -> float:
        return sum(e.velocity for e in events) / len(events)

    assert loudness(loud.events) > loudness(quiet.events) + 10
    assert len(loud.events) > len(quiet.events)


def test_verses_are_sparser_than_choruses() -> None:
    composed = song("pop", 7, seconds=120)
    parts = defaultdict(set)
    for section, arranged in zip(
        composed.plan.sections, composed.arrangement.sections, strict=True
    ):
        parts[section.kind] |= {role.part for role in arranged.parts}
    assert parts[SectionKind.VERSE] < parts[SectionKind.CHORUS]


KEYS = st.builds(Key, st.integers(0, 11), st.sampled_from(list(Mode)))


@given(
    genre=st.sampled_from(GENRES),
    key=KEYS,
    tempo=st.floats(20, 300),
    seconds=st.floats(5, 600),
    seed=st.integers(0, 2**32),
    energy=st.floats(0, 1),
)
@settings(max_examples=40, deadline=None)
def test_any_song_composes_within_its_time_and_registers(
    genre: str, key: Key, tempo: float, seconds: float, seed: int, energy: float
) -> None:
    style = style_of(genre)
    plan = plan_song(
        SongParams(genre, key, tempo, seconds, seed, energy), style, random.Random(seed)
    )
    composed = compose_song(plan, style, seed)
    assert composed.events
    assert all(e.end <= plan.end_beat + 1e-9 for e in composed.events)
    assert plan.end_beat * 60 / tempo <= seconds + 1e-9
    for event in composed.events:
        if event.part is not Part.DRUMS:
            low, high = REGISTERS[event.part.value]  # type: ignore[index]
            assert low <= event.pitch <= high
    last = plan.total_bars - 1
    lead = [e for e in composed.events if e.part is Part.LEAD and e.start >= plan.bar_start(last)]
    assert all(e.pitch % 12 == key.tonic for e in lead)

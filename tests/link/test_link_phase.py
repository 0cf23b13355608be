"""The arithmetic that puts jamd's bars on the Link session's: pure, no Link."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamd.link import Timeline, bar_offset, beat_samples, next_bar_line, phase

RATE = 48000


def test_a_timeline_places_beats_on_samples_at_its_tempo() -> None:
    timeline = Timeline(beat=10.0, sample=48000.0, bpm=120.0, sample_rate=RATE)
    assert timeline.samples_per_beat == 24000.0
    assert timeline.sample_at(11.0) == 72000.0
    assert timeline.beat_at(0.0) == 8.0


def test_phase_and_the_next_bar_line() -> None:
    assert phase(9.5, 4.0) == 1.5
    assert phase(-0.5, 4.0) == 3.5
    assert next_bar_line(8.0, 4.0) == 8.0
    assert next_bar_line(8.01, 4.0) == 12.0
    assert next_bar_line(7.0, 3.0) == 9.0


def test_joining_shifts_the_next_bar_onto_the_sessions_next_bar_line() -> None:
    # session beat 10 at sample 48000, 120 BPM: its bar lines (quantum 4) at beats 12, 16...
    timeline = Timeline(10.0, 48000.0, 120.0, RATE)
    # jamd's next bar line is transport beat 8, planned at sample 60000 (session beat 10.5)
    offset = bar_offset(timeline, 8.0, 60000.0, 4.0, earliest=50000.0)
    assert offset == 4.0  # transport beat 8 on session beat 12
    assert timeline.sample_at(8.0 + offset) == 96000.0


def test_a_bar_line_goes_to_the_nearest_session_bar_line() -> None:
    timeline = Timeline(12.0, 96000.0, 120.0, RATE)
    # 100 samples after the session's bar line at beat 12: that bar line, not the next
    assert bar_offset(timeline, 4.0, 96100.0, 4.0, earliest=0.0) == 8.0
    # 1.9 beats after it: still that one; 2.1 beats after: the next
    assert bar_offset(timeline, 4.0, 96000.0 + 1.9 * 24000, 4.0, earliest=0.0) == 8.0
    assert bar_offset(timeline, 4.0, 96000.0 + 2.1 * 24000, 4.0, earliest=0.0) == 12.0


def test_a_bar_line_the_engine_has_taken_goes_to_the_next() -> None:
    timeline = Timeline(12.0, 96000.0, 120.0, RATE)
    assert bar_offset(timeline, 4.0, 96000.0, 4.0, earliest=96001.0) == 12.0


def test_beat_samples_follow_the_sessions_tempo() -> None:
    timeline = Timeline(0.0, 0.0, 133.0, RATE)
    first, second = beat_samples(timeline, 3.0, 1.0)
    assert first == pytest.approx(4 * RATE * 60 / 133)
    assert second - first == pytest.approx(RATE * 60 / 133)


@given(
    beat=st.floats(-1e4, 1e4),
    sample=st.floats(0, 1e9),
    bpm=st.floats(20, 300),
    bar_beat=st.integers(0, 10_000).map(float),
    quantum=st.sampled_from([2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
    ahead=st.floats(0, 1e6),
)
def test_the_bar_line_lands_on_phase_zero_never_before_earliest(
    beat: float, sample: float, bpm: float, bar_beat: float, quantum: float, ahead: float
) -> None:
    timeline = Timeline(beat, sample, bpm, RATE)
    bar_sample = sample + ahead
    earliest = bar_sample - ahead / 2
    offset = bar_offset(timeline, bar_beat, bar_sample, quantum, earliest)
    target = bar_beat + offset
    assert min(phase(target, quantum), quantum - phase(target, quantum)) < 1e-6 * max(
        1.0, abs(target)
    )
    assert timeline.sample_at(target) >= earliest
    # at most half a bar earlier, at most a bar later than where it was planned
    moved = (timeline.sample_at(target) - bar_sample) / timeline.samples_per_beat
    assert -quantum / 2 - 1e-6 <= moved <= quantum + 1e-6


def test_joining_mid_bar_moves_the_bar_line_from_the_next_beat() -> None:
    # jamd's bar line, transport beat 8, played at sample 60000 (session beat 10.5): the bar
    # goes onto the session's bar line at 12 from transport beat 9, the next beat the engine
    # can take (session beat 13, at sample 120000); the bar is drawn out there
    timeline = Timeline(10.0, 48000.0, 120.0, RATE)
    offset = bar_offset(timeline, 8.0, 60000.0, 4.0, earliest=70000.0, beat=9.0)
    assert offset == 4.0
    assert timeline.sample_at(9.0 + offset) == 120000.0
    # were beat 9 to land before what the engine has taken, a bar later
    assert bar_offset(timeline, 8.0, 60000.0, 4.0, earliest=120001.0, beat=9.0) == 8.0

"""MIDI clock: the follower's tempo and beats from tick times, and the ticks jamd sends.

Tick times here are made up (a steady clock, one with jitter from a seeded generator, ramps
and jumps), so every figure is exact and repeatable; the daemon's tests send real clock over
JACK MIDI.
"""

import random

import pytest

from jamd.midi.clock import (
    TICKS_PER_BEAT,
    ClockFollower,
    DriverTime,
    Started,
    Stopped,
    clock_ticks,
    song_position,
)


def tick_times(bpm_at: "list[float]", start: float = 100.0) -> list[float]:
    """The times of ticks whose spacing follows ``bpm_at`` (one tempo per tick)."""
    times, now = [], start
    for bpm in bpm_at:
        times.append(now)
        now += 60.0 / (bpm * TICKS_PER_BEAT)
    return times


def follow(times: list[float]) -> tuple[ClockFollower, list[float | None]]:
    follower = ClockFollower()
    estimates = []
    for moment in times:
        follower.tick(moment)
        estimates.append(follower.bpm)
    return follower, estimates


def test_a_steady_clock_gives_its_tempo_exactly_and_locks_within_a_beat() -> None:
    follower, estimates = follow(tick_times([120.0] * 96))
    assert all(bpm == pytest.approx(120.0, abs=1e-6) for bpm in estimates[1:])
    assert follower.locked
    follower2, _ = follow(tick_times([120.0] * (TICKS_PER_BEAT - 1)))
    assert not follower2.locked  # a beat of ticks first


def test_a_clock_with_a_millisecond_of_jitter_is_within_a_tenth_of_a_bpm_after_two_beats() -> None:
    generator = random.Random(5)
    for bpm in (90.0, 120.0, 174.0):
        times = [t + generator.uniform(-0.001, 0.001) for t in tick_times([bpm] * 480)]
        _, estimates = follow(times)
        after_two_beats = estimates[2 * TICKS_PER_BEAT :]
        assert max(abs(e - bpm) for e in after_two_beats if e is not None) <= 0.1


def test_a_ramp_from_120_to_128_is_tracked_and_settles_within_two_beats() -> None:
    steady = [120.0] * 96
    ramp = [120.0 + 8.0 * i / (32 * TICKS_PER_BEAT) for i in range(32 * TICKS_PER_BEAT)]
    after = [128.0] * 96
    _, estimates = follow(tick_times(steady + ramp + after))
    during = estimates[96 + 48 : 96 + len(ramp)]
    truth = ramp[48:]
    assert max(abs(e - t) for e, t in zip(during, truth, strict=True) if e) <= 0.3
    settled = estimates[96 + len(ramp) + 2 * TICKS_PER_BEAT :]
    assert max(abs(e - 128.0) for e in settled if e is not None) <= 0.1


def test_a_tempo_jump_starts_the_fit_again_within_a_few_ticks() -> None:
    follower, estimates = follow(tick_times([120.0] * 96 + [90.0] * 48))
    assert follower.jumps == 1
    assert estimates[96 + 6] == pytest.approx(90.0, abs=0.01)


def test_the_beats_of_a_running_master_are_predicted_from_the_line() -> None:
    follower = ClockFollower()
    times = tick_times([100.0] * 200)
    follower.start()
    event = follower.tick(times[0])
    assert event == Started(times[0], 0.0, continued=False)
    for moment in times[1:50]:
        assert follower.tick(moment) is None
    beat = 60.0 / 100.0
    assert follower.time_at(0) == pytest.approx(times[0], abs=1e-9)
    assert follower.time_at(5) == pytest.approx(times[0] + 5 * beat, abs=1e-9)
    assert follower.beat_at(times[0] + 2.5 * beat) == pytest.approx(2.5, abs=1e-9)


def test_stop_then_song_position_then_continue_goes_on_from_that_position() -> None:
    follower = ClockFollower()
    times = iter(tick_times([120.0] * 400))
    follower.start()
    for _ in range(48):
        follower.tick(last := next(times))
    assert follower.stop(last + 0.001) is not None  # between two ticks
    follower.song_position(32)  # 32 sixteenths: bar 3's downbeat in 4/4
    follower.continue_()
    moment = next(times)
    event = follower.tick(moment)
    assert event == Started(moment, 8.0, continued=True)
    assert follower.time_at(8.0) == pytest.approx(moment, abs=1e-9)


def test_a_continue_without_a_song_position_goes_on_where_the_master_stopped() -> None:
    follower = ClockFollower()
    times = iter(tick_times([120.0] * 200))
    follower.start()
    for _ in range(36):  # beat 0 to the middle of beat 1
        follower.tick(last := next(times))
    assert isinstance(follower.stop(last + 0.001), Stopped)
    follower.continue_()
    event = follower.tick(next(times))
    assert isinstance(event, Started)
    assert event.beat == 36 / TICKS_PER_BEAT


def test_song_position_while_running_is_ignored_and_stop_while_stopped_is_nothing() -> None:
    follower = ClockFollower()
    assert follower.stop(1.0) is None
    follower.start()
    for moment in tick_times([120.0] * 30):
        follower.tick(moment)
    follower.song_position(64)
    before = follower.time_at(1.0)
    assert before is not None
    follower.tick(tick_times([120.0] * 31)[-1])
    assert follower.time_at(1.0) == pytest.approx(before, abs=1e-9)


def test_a_clock_lost_for_half_a_second_starts_a_new_fit() -> None:
    follower, _ = follow(tick_times([120.0] * 48))
    last = follower.last_tick
    assert last is not None
    for moment in tick_times([80.0] * 30, start=last + 2.0):
        follower.tick(moment)
    assert follower.bpm == pytest.approx(80.0, abs=1e-6)


def test_driver_time_keeps_the_driver_spacing_placed_by_the_least_delayed_arrival() -> None:
    stamps = DriverTime()
    delays = [0.004, 0.001, 0.006, 0.002]
    got = [stamps.stamp(0.0 if i == 0 else 0.5, 10.0 + 0.5 * i + d) for i, d in enumerate(delays)]
    assert got == pytest.approx([0.0, 0.5, 1.0, 1.5])  # the driver's own timeline
    assert stamps.offset == pytest.approx(10.001)  # by the smallest delay seen: 1 ms


def test_ticks_fall_every_24th_of_a_beat_from_the_first_at_or_after() -> None:
    ticks = clock_ticks(1.0, 3.0)
    assert len(ticks) == 48
    assert ticks[0] == 1.0
    assert ticks[1] == pytest.approx(1 + 1 / 24)
    assert clock_ticks(1.01, 1.05) == [pytest.approx(25 / 24)]
    assert clock_ticks(2.0, 2.0) == []


def test_song_position_counts_sixteenths_in_fourteen_bits() -> None:
    assert song_position(0) == bytes((0xF2, 0, 0))
    assert song_position(8) == bytes((0xF2, 32, 0))
    assert song_position(1000) == bytes((0xF2, 4000 & 0x7F, 4000 >> 7))
    assert song_position(10**6) == bytes((0xF2, 0x7F, 0x7F))


def test_a_tick_lost_on_the_way_is_counted_so_the_beats_stay_the_masters() -> None:
    follower = ClockFollower()
    times = tick_times([120.0] * 200)
    follower.start()
    for index, moment in enumerate(times[:100]):
        if index != 60:  # an xrun dropped it
            follower.tick(moment)
    assert follower.lost == 1
    assert follower.time_at(4.0) == pytest.approx(times[96], abs=1e-9)


def test_a_tempo_halved_is_a_jump_not_a_run_of_lost_ticks() -> None:
    follower, estimates = follow(tick_times([120.0] * 96 + [60.0] * 48))
    assert follower.jumps == 1
    assert estimates[-1] == pytest.approx(60.0, abs=0.01)

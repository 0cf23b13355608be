"""Karplus-Strong plucked strings: in tune, shaped by their parameters, cached within bounds,
and played as pitched one-shots (voices, release, re-strike, exact onsets, retraction)."""

import numpy as np
import pytest

from jamd.engine.control import HitScheduler
from jamd.engine.notes import Note
from jamd.engine.offline import OfflineEngine
from jamd.engine.patches import (
    PatchError,
    PatchLibrary,
    PluckPatch,
    default_patch_dirs,
    parse_patch,
)
from jamd.engine.pluck import PEAK, PluckSounds, render_pluck, ring
from jamd.engine.sounds import SoundCache

SR = 48000
PLUCK = parse_patch({"kind": "pluck", "decay": 1.5}, "test pluck")
assert isinstance(PLUCK, PluckPatch)


def fundamental(sound: np.ndarray, guess: float) -> float:
    """The strongest frequency within a tone of ``guess`` in the first second: a zero-padded,
    windowed FFT with the peak refined by a parabola through its log magnitudes."""
    part = sound[:SR].astype(np.float64)
    size = 1 << 22
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)), size))
    frequencies = np.fft.rfftfreq(size, 1.0 / SR)
    near = np.flatnonzero((frequencies > guess / 1.12) & (frequencies < guess * 1.12))
    peak = near[np.argmax(spectrum[near])]
    a, b, c = np.log(spectrum[peak - 1 : peak + 2])
    return float(frequencies[peak] + 0.5 * (a - c) / (a - 2 * b + c) * frequencies[1])


def cents(measured: float, pitch: float) -> float:
    return float(1200.0 * np.log2(measured / (440.0 * 2.0 ** ((pitch - 69.0) / 12.0))))


@pytest.mark.parametrize("pitch", [28.0, 40.0, 52.0, 61.5, 69.0, 77.0, 84.0, 90.3, 96.0])
def test_every_note_is_within_five_cents_of_its_pitch(pitch: float) -> None:
    """Without the fractional delay, a period rounded to whole samples would be up to 19 cents
    out at C6 (45.9 samples) and 38 at C7."""
    sound = render_pluck(PLUCK, pitch, 1, SR)[0]
    frequency = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
    assert abs(cents(fundamental(sound, frequency), pitch)) < 5.0


def test_the_string_computed_a_period_at_a_time_is_the_recursion_sample_by_sample() -> None:
    rng = np.random.default_rng(3)
    drive = rng.uniform(-1.0, 1.0, 40)
    taps = np.array([0.1, 0.4, 0.3, 0.15])
    lag, frames = 7, 500
    expected = np.zeros(frames)
    for n in range(frames):
        expected[n] = drive[n] if n < len(drive) else 0.0
        for j, tap in enumerate(taps):
            if n - lag - j >= 0:
                expected[n] += tap * expected[n - lag - j]
    np.testing.assert_allclose(ring(drive, taps, lag, frames), expected, rtol=1e-12, atol=1e-12)


def test_a_note_starts_on_its_first_sample_peaks_at_its_level_and_falls_to_silence() -> None:
    sound = render_pluck(PLUCK, 57.0, 2, SR)[0]
    assert sound.dtype == np.float32
    assert sound[0] != 0.0
    assert np.all(np.isfinite(sound))
    assert float(np.max(np.abs(sound))) == pytest.approx(PEAK, rel=1e-6)
    assert sound[-1] == 0.0
    onset = np.sqrt(np.mean(sound[: SR // 20] ** 2))
    tail = np.sqrt(np.mean(sound[-SR // 20 :] ** 2))
    assert 20 * np.log10(tail / onset) < -50  # it rang until it had died away
    assert abs(float(np.mean(sound))) < 0.01 * float(np.sqrt(np.mean(sound**2)))  # no DC


def test_decay_sets_how_long_a_note_rings_and_higher_notes_fall_sooner() -> None:
    short = parse_patch({"kind": "pluck", "decay": 0.5, "decay_tracking": 0.0}, "short")
    long = parse_patch({"kind": "pluck", "decay": 2.0, "decay_tracking": 0.0}, "long")
    assert isinstance(short, PluckPatch)
    assert isinstance(long, PluckPatch)
    assert render_pluck(short, 60.0, 1, SR).shape[1] == pytest.approx(0.5 * SR, abs=2)
    assert render_pluck(long, 60.0, 1, SR).shape[1] == pytest.approx(2.0 * SR, abs=2)
    tracked = PLUCK.model_copy(update={"decay_tracking": 0.5})
    low, high = (render_pluck(tracked, pitch, 1, SR).shape[1] for pitch in (48.0, 72.0))
    assert high == pytest.approx(low / 2, rel=0.01)  # two octaves up: half as long


def spectral_centroid(sound: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(sound[: SR // 4].astype(np.float64))) ** 2
    return float(np.sum(power * np.fft.rfftfreq(SR // 4, 1.0 / SR)) / np.sum(power))


def test_a_harder_pluck_is_brighter_and_damping_and_brightness_colour_the_string() -> None:
    soft, medium, hard = (
        spectral_centroid(render_pluck(PLUCK, 57.0, layer, SR)[0]) for layer in range(3)
    )
    assert soft < medium < hard
    dull, bright = (
        spectral_centroid(render_pluck(PLUCK.model_copy(update=change), 57.0, 2, SR)[0])
        for change in ({"damping": 1.0, "brightness": 0.2}, {"damping": 0.0, "brightness": 1.0})
    )
    assert dull < 0.5 * bright


def test_the_same_note_renders_the_same_and_another_pitch_differently() -> None:
    np.testing.assert_array_equal(
        render_pluck(PLUCK, 60.0, 1, SR), render_pluck(PLUCK, 60.0, 1, SR)
    )
    assert render_pluck(PLUCK, 60.0, 1, SR).shape != render_pluck(PLUCK, 62.0, 1, SR).shape


def test_the_cache_keeps_within_its_budget_and_renders_again_what_it_forgot() -> None:
    budget = 3 * render_pluck(PLUCK, 60.0, 2, SR).nbytes
    sounds = PluckSounds(PLUCK, SR, cache=SoundCache(max_bytes=budget))
    first = sounds(60.0, 0.9)
    for pitch in range(40, 90):  # a long set wanders over the keyboard
        sounds(float(pitch), 0.9)
        assert sounds.cache.bytes <= budget
    assert len(sounds.cache) <= 6
    rendered = sounds.cache.rendered
    again = sounds(60.0, 0.9)
    assert sounds.cache.rendered == rendered + 1  # it had been forgotten: rendered again
    np.testing.assert_array_equal(again, first)
    sounds(60.0, 0.95)  # the same layer, the same pitch: from the cache
    assert sounds.cache.rendered == rendered + 1


def test_velocity_picks_a_layer_and_cents_pick_a_rendering() -> None:
    sounds = PluckSounds(PLUCK, SR)
    assert [sounds.layer(v) for v in (0.1, 0.34, 0.4, 0.7, 1.0)] == [0, 1, 1, 2, 2]
    assert sounds(60.0, 0.5) is sounds(60.001, 0.5)
    assert sounds(60.0, 0.5) is not sounds(60.5, 0.5)


def test_an_envelope_filter_is_refused_for_a_pluck_with_the_key_and_the_reason() -> None:
    with pytest.raises(PatchError) as caught:
        parse_patch({"kind": "pluck", "filter": {"env_amount": 2.0}, "damping": 3}, "keys/x.toml")
    message = str(caught.value)
    assert "keys/x.toml: filter.env_amount: must be 0: a rendered note has no envelope" in message
    assert "keys/x.toml: damping: must be at most 1, got 3" in message
    with pytest.raises(PatchError, match=r"envelope\.attack: unknown key"):
        parse_patch({"kind": "pluck", "envelope": {"attack": 0.01}}, "keys/x.toml")


# Played as one-shots: the scheduler with real plucks.


def pluck_scheduler(voices: int = 3, release: int = 2400) -> tuple[HitScheduler, np.ndarray]:
    played = np.zeros(1 << 16, dtype=np.float32)
    scheduler = HitScheduler(
        PluckSounds(PLUCK, SR), rings=[played], velocity_curve=1.0, cut=240, voices=voices,
        release=release,
    )  # fmt: skip
    return scheduler, played


def test_each_note_starts_exactly_on_its_sample_and_ends_its_release_after_key_up() -> None:
    scheduler, played = pluck_scheduler()
    scheduler.add(Note("keys", 1001, 5000, 64.0, 1.0))
    scheduler.render(0, 20000)
    assert np.count_nonzero(played[:1001]) == 0
    assert played[1001] == render_pluck(PLUCK, 64.0, 2, SR)[0, 0]
    assert np.count_nonzero(played[5000 : 5000 + 2400]) > 2000  # the release fades ...
    assert np.count_nonzero(played[5000 + 2400 :]) == 0  # ... to silence at its end
    assert scheduler.silent_from(7400)
    assert not scheduler.silent_from(7399)


def test_a_retracted_pluck_leaves_the_ring_as_if_it_had_never_been_planned() -> None:
    planned, replanned = pluck_scheduler(voices=1), pluck_scheduler(voices=1)
    for scheduler, _ in (planned, replanned):
        scheduler.add(Note("keys", 0, 9000, 52.0, 0.8))
    replanned[0].add(Note("keys", 4000, 6000, 59.0, 0.8))  # steals the only voice
    replanned[0].render(0, 8000)
    replanned[0].retract(4000)
    replanned[0].render(0, 20000)
    planned[0].render(0, 20000)
    np.testing.assert_array_equal(replanned[1], planned[1])


def test_an_offline_render_starts_each_pluck_on_its_sample_through_the_track() -> None:
    dry = parse_patch(
        {
            "kind": "pluck", "decay": 0.1, "decay_tracking": 0.0, "envelope": {"release": 0.002},
            "filter": {"cutoff": 20000.0}, "mix": {"reverb": 0.0},
        },
        "dry pluck",
    )  # fmt: skip
    starts = [4801, 20003, 33333]  # between buffer boundaries
    notes = [
        Note("t", start, start + 2000, 55.0 + index, 0.8) for index, start in enumerate(starts)
    ]
    with OfflineEngine({"t": dry}, stems=True, buffer_size=256) as engine:
        engine.schedule(notes)
        stem = np.concatenate([block.stems["t"][:, 0] for block in engine.blocks(48000)])
    for start in starts:
        assert np.count_nonzero(stem[start - 2000 : start]) == 0
        assert stem[start] != 0.0


def test_the_shipped_plucks_sound_within_full_scale_over_their_range() -> None:
    library = PatchLibrary(default_patch_dirs())
    for name in ("keys/clean-guitar", "keys/nylon", "bass/pluck-upright"):
        patch = library.load(name)
        assert isinstance(patch, PluckPatch), name
        for pitch in (28.0, 45.0, 60.0, 76.0, 96.0):
            for layer in range(patch.layers):
                sound = render_pluck(patch, pitch, layer, SR)
                assert np.all(np.isfinite(sound))
                assert 0.5 < float(np.max(np.abs(sound))) <= PEAK

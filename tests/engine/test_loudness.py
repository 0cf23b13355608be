"""Loudness and true peak of reference signals whose figures BS.1770-4 states or geometry
gives."""

import math

import numpy as np
import pytest
from scipy.signal import sosfilt

from jamd.engine.loudness import LoudnessMeter, LoudnessTarget, k_weighting, measure

RATE = 48000


def tone(frequency: float, seconds: float = 5.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return np.sin(2 * np.pi * frequency * t + phase).astype(np.float32)


def test_a_full_scale_1khz_sine_in_one_channel_is_minus_3_lufs() -> None:
    """BS.1770-4: a 0 dBFS 1 kHz sine into one channel reads -3.01 LKFS."""
    left = tone(1000.0)
    loudness = measure(np.stack([left, np.zeros_like(left)], axis=1), RATE)
    assert loudness.integrated_lufs == pytest.approx(-3.01, abs=0.05)
    assert loudness.sample_peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_the_same_sine_in_both_channels_is_3_db_louder_and_20_db_down_is_20_lower() -> None:
    both = np.stack([tone(1000.0)] * 2, axis=1)
    assert measure(both, RATE).integrated_lufs == pytest.approx(0.0, abs=0.05)
    assert measure(both * 0.1, RATE).integrated_lufs == pytest.approx(-20.0, abs=0.05)


def test_true_peak_finds_the_peak_between_samples() -> None:
    """A sine at a quarter of the rate, 45 degrees off: every sample is at 0.707 of the peak."""
    wave = 0.5 * tone(RATE / 4, phase=math.pi / 4)
    loudness = measure(np.stack([wave, wave], axis=1), RATE)
    assert loudness.sample_peak_dbfs == pytest.approx(-9.03, abs=0.01)
    assert loudness.true_peak_dbtp == pytest.approx(-6.02, abs=0.2)


def test_silence_has_no_loudness_and_no_peak() -> None:
    loudness = measure(np.zeros((RATE, 2), dtype=np.float32), RATE)
    assert loudness.integrated_lufs == -math.inf
    assert loudness.true_peak_dbtp == -math.inf


def test_mono_is_measured_as_one_channel() -> None:
    assert measure(tone(1000.0), RATE).integrated_lufs == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_the_streaming_meter_reads_as_measure_does_whatever_the_blocks(rate: int) -> None:
    """A swelling noise after two seconds of silence (the gates have work to do), K-weighted
    as the engine does it: through ``k_weighting``'s biquads."""
    noise = np.random.default_rng(3).standard_normal((12 * rate, 2)).astype(np.float32)
    signal = noise * np.linspace(0.0, 0.3, len(noise), dtype=np.float32)[:, np.newaxis]
    signal[: 2 * rate] = 0.0
    sections = np.array([[*b, *a] for b, a in k_weighting(rate)])
    squares = np.square(sosfilt(sections, signal.astype(np.float64), axis=0))
    meter = LoudnessMeter(rate)
    for start in range(0, len(squares), 7919):  # blocks that do not divide the 100 ms hops
        meter.add(squares[start : start + 7919])
    assert meter.integrated_lufs == pytest.approx(measure(signal, rate).integrated_lufs, abs=0.01)


def test_the_streaming_meter_reads_silence_and_short_signals_as_no_loudness() -> None:
    meter = LoudnessMeter(RATE)
    meter.add(np.zeros((RATE, 2), dtype=np.float32))
    assert meter.integrated_lufs == -math.inf
    short = LoudnessMeter(RATE)
    short.add(np.stack([tone(1000.0, seconds=0.3)] * 2, axis=1) ** 2)
    assert short.integrated_lufs == -math.inf


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"lufs": 3.0, "window_lu": 0.5}, "a loudness target must be -70..0 LUFS, got 3"),
        ({"lufs": -14.0, "window_lu": 0.0}, "a loudness window must be over 0 LU, got 0"),
        ({"lufs": -14.0, "window_lu": 1.0, "passes": -1}, "must be 0 or more, got -1"),
    ],
)
def test_a_loudness_target_states_its_valid_range(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LoudnessTarget(**arguments)

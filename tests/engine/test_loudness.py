"""Loudness and true peak of reference signals whose figures BS.1770-4 states or geometry
gives."""

import math

import numpy as np
import pytest

from jamd.engine.loudness import measure

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

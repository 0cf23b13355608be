"""Plucked strings by Karplus-Strong, rendered per note in numpy (patch kind ``pluck``).

A plucked string is a delay line one period long fed back through a gentle low-pass: each trip
round the loop loses a little, the overtones more than the fundamental. The pluck is a burst
of noise one period long, smoothed by the pick's softness, with the notches of where it is
plucked (a comb), through the body's resonances: the string and the body are linear, so the
body may come first (commuted synthesis), and a short burst is cheaper to filter than the note.

The loop's shortest lag is a whole period less a sample or two, so a block that long depends
only on blocks before it: the string is computed one period at a time, each block a vectorised
step (no Python loop per sample). The fractional part of the period is a linear interpolation
whose phase delay at the fundamental is solved exactly, so every note is in tune.
"""

import math
import zlib

import numpy as np
import numpy.typing as npt

from jamd.engine.patches import PluckPatch
from jamd.engine.sounds import Sound, SoundCache, fade_out

Samples = npt.NDArray[np.float64]

MIDDLE_C = 261.6256  # Hz: where ``decay`` is measured
LONGEST_SECONDS = 8.0  # no note renders longer, whatever its decay
PEAK = 0.9  # every rendered note peaks here at full velocity; the gain follows velocity
_END_FADE_SECONDS = 0.01
_BODY_SECONDS = 0.08  # the body's impulse response: its resonances have died by then
_BODY_MODES = ((1.0, 1.0, 0.025), (2.1, 0.6, 0.015), (3.4, 0.35, 0.008))  # ratio, level, decay
_MAX_DAMPING_TAP = 0.25  # the loop low-pass [g, 1 - 2g, g] stays non-negative up to Nyquist


class PluckSounds:
    """The sound of each (pitch, velocity layer) of a pluck patch, rendered on first use and
    kept in a bounded cache. Call it with (pitch, velocity), as ``HitScheduler`` does."""

    def __init__(
        self, patch: PluckPatch, sample_rate: int, *, cache: SoundCache | None = None
    ) -> None:
        self.patch = patch
        self.sample_rate = sample_rate
        self.cache = SoundCache() if cache is None else cache

    def layer(self, velocity: float) -> int:
        return min(self.patch.layers - 1, int(velocity * self.patch.layers))

    def key(self, pitch: float, velocity: float) -> tuple[int, int]:
        """What the note's sound is kept under: its pitch in cents and its layer."""
        return round(pitch * 100.0), self.layer(velocity)

    def make(self, key: tuple[int, int]) -> Sound:
        """The sound kept under ``key``, made now (uncached)."""
        cents, layer = key
        return render_pluck(self.patch, cents / 100.0, layer, self.sample_rate)

    def __call__(self, pitch: float, velocity: float) -> Sound:
        key = self.key(pitch, velocity)
        return self.cache.get(key, lambda: self.make(key))


def render_pluck(patch: PluckPatch, pitch: float, layer: int, sample_rate: int) -> Sound:
    """One note of the string as a (1, frames) array, peaking at ``PEAK``, ending in silence.

    It rings until its fundamental has fallen 60 dB (at most ``LONGEST_SECONDS``). The noise
    is seeded by the pitch and the layer: the same note always sounds the same.
    """
    frequency = min(440.0 * 2.0 ** ((pitch - 69.0) / 12.0), sample_rate / 2.5)
    period = sample_rate / frequency
    seconds = min(LONGEST_SECONDS, patch.decay * (frequency / MIDDLE_C) ** -patch.decay_tracking)
    frames = math.ceil(seconds * sample_rate)
    lag, taps = loop_filter(patch, period, seconds * frequency)
    rng = np.random.default_rng(zlib.crc32(f"pluck:{pitch:.2f}:{layer}".encode()))
    string = ring(excitation(patch, period, layer, sample_rate, rng), taps, lag, frames)
    string *= PEAK / (float(np.max(np.abs(string))) or 1.0)
    note = string[np.newaxis, :]
    fade_out(note, int(_END_FADE_SECONDS * sample_rate))
    return note.astype(np.float32)


def loop_filter(patch: PluckPatch, period: float, trips: float) -> tuple[int, Samples]:
    """The loop's shortest lag and its taps (at that lag and the next three).

    The taps are the damping low-pass ``[g, 1 - 2g, g]`` (linear phase: a delay of one sample
    at every frequency) times the interpolation ``[1 - a, a]`` times the loss per trip. ``a`` is
    chosen so the whole loop delays the fundamental by exactly ``period`` samples; the loss, so
    the fundamental falls 60 dB after ``trips`` trips round the loop.
    """
    lag = math.floor(period) - 1
    omega = 2.0 * math.pi / period
    wanted = period - lag - 1.0  # the interpolation's phase delay at the fundamental, 0..1
    tangent = math.tan(wanted * omega)
    fraction = tangent / (math.sin(omega) + tangent * (1.0 - math.cos(omega)))
    damping = _MAX_DAMPING_TAP * patch.damping
    taps = np.convolve([damping, 1.0 - 2.0 * damping, damping], [1.0 - fraction, fraction])
    at_fundamental = abs(np.sum(taps * np.exp(-1j * omega * np.arange(len(taps)))))
    loss = min(10.0 ** (-3.0 / trips) / at_fundamental, 0.99999)  # the loop's gain stays < 1
    return lag, taps * loss


def excitation(
    patch: PluckPatch, period: float, layer: int, sample_rate: int, rng: np.random.Generator
) -> Samples:
    """The pluck: a period of noise, smoothed the softer it is, notched by the pick position,
    through the body. Its first sample is already non-zero: the onset is exact."""
    length = max(2, round(period))
    hardness = (layer + 1) / patch.layers
    brightness = patch.brightness * (0.45 + 0.55 * hardness)
    width = 1 + round((1.0 - brightness) ** 2 * length / 2)  # a dark pluck: over half a period
    smoothing = np.hanning(width + 2)[1:-1]
    burst = np.convolve(rng.uniform(-1.0, 1.0, length), smoothing / smoothing.sum())
    pick = max(1, round(patch.pick_position * period))
    picked = np.concatenate([burst, np.zeros(pick)])
    picked[pick:] -= burst  # the harmonics with a node at the pick are not excited
    return np.convolve(picked, body_response(patch, sample_rate))


def body_response(patch: PluckPatch, sample_rate: int) -> Samples:
    """The body: the direct sound plus three decaying resonances from ``body_frequency`` up,
    each lifting its band by up to about 6 dB (``body`` = 1)."""
    t = np.arange(int(_BODY_SECONDS * sample_rate)) / sample_rate
    response = np.zeros(len(t))
    response[0] = 1.0
    for ratio, level, decay in _BODY_MODES:
        hz = patch.body_frequency * ratio
        if hz < 0.45 * sample_rate:
            amplitude = 4.0 * patch.body * level / (decay * sample_rate)  # ~2x at resonance
            response += amplitude * np.sin(2.0 * np.pi * hz * t) * np.exp(-t / decay)
    return response


def ring(drive: Samples, taps: Samples, lag: int, frames: int) -> Samples:
    """``frames`` samples of y[n] = drive[n] + sum_j taps[j] * y[n - lag - j], a block of
    ``lag`` samples at a time: every sample a block needs lies in the blocks before it."""
    order = len(taps) - 1
    out = np.zeros(order + frames)  # y[-order..-1] = 0: the string is at rest before the pluck
    driven = np.zeros(frames)
    driven[: min(frames, len(drive))] = drive[:frames]
    out[order : order + lag] = driven[:lag]  # nothing has come back round the loop yet
    for begin in range(lag, frames, lag):
        end = min(begin + lag, frames)
        past = out[begin - lag : end - lag + order]  # y[begin - lag - order .. end - lag)
        out[order + begin : order + end] = driven[begin:end] + np.convolve(past, taps, "valid")
    return out[order:]

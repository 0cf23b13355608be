"""How loud a render is: integrated loudness (ITU-R BS.1770-4, as streaming services measure
it) and true peak (the peak between the samples, as a DAC or an encoder meets it).

Loudness comes from pyloudnorm (K-weighting, 400 ms blocks, the absolute and relative gates).
True peak is the sample peak of the signal oversampled 4x with a polyphase filter, as
BS.1770-4's Annex 2 describes; a peak between samples can be some dB above the samples'.

``measure`` needs the whole signal in memory; ``LoudnessMeter`` takes it block by block (an
hour's render would not fit), K-weighted by the engine with the filters of ``k_weighting``, and
reads the same integrated loudness. pyloudnorm and scipy are imported by ``measure`` alone:
scipy.signal adds 40 MB to a process, which a render, the meter's user, need not carry.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

OVERSAMPLING = 4
SILENCE = -math.inf
_HOPS_PER_BLOCK = 4  # a 400 ms gating block, stepped by 100 ms (75 % overlap)
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_OFFSET_DB = -0.691  # BS.1770's K-weighted mean square to LKFS


@dataclass(frozen=True, slots=True)
class Loudness:
    integrated_lufs: float  # -inf for silence (everything gated away)
    true_peak_dbtp: float
    sample_peak_dbfs: float


@dataclass(frozen=True, slots=True)
class LoudnessTarget:
    """Where an offline render's master is to land: ``lufs`` integrated, within ``window_lu``
    either side; one outside goes through the master chain again, ``passes`` times at most."""

    lufs: float
    window_lu: float
    passes: int = 3

    def __post_init__(self) -> None:
        if not -70.0 < self.lufs < 0.0:
            raise ValueError(f"a loudness target must be -70..0 LUFS, got {self.lufs:g}")
        if not self.window_lu > 0.0:
            raise ValueError(f"a loudness window must be over 0 LU, got {self.window_lu:g}")
        if self.passes < 0:
            raise ValueError(f"passes of the master chain must be 0 or more, got {self.passes}")

    def misses(self, lufs: float) -> bool:
        return abs(lufs - self.lufs) > self.window_lu


def _db(level: float) -> float:
    return 20.0 * math.log10(level) if level > 0 else SILENCE


def measure(frames: npt.NDArray[np.float32], sample_rate: int) -> Loudness:
    """``frames`` (samples by channels, or mono) measured; at least 400 ms of them."""
    import pyloudnorm  # noqa: PLC0415  (heavy: see the module's docstring)
    from scipy.signal import resample_poly  # noqa: PLC0415

    audio = np.asarray(frames, dtype=np.float64)
    if audio.ndim == 1:
        audio = audio[:, np.newaxis]
    meter = pyloudnorm.Meter(sample_rate)  # BS.1770-4
    integrated = float(meter.integrated_loudness(audio))
    oversampled = resample_poly(audio, OVERSAMPLING, 1, axis=0)
    return Loudness(
        integrated_lufs=integrated if math.isfinite(integrated) else SILENCE,
        true_peak_dbtp=_db(float(np.max(np.abs(oversampled), initial=0.0))),
        sample_peak_dbfs=_db(float(np.max(np.abs(audio), initial=0.0))),
    )


def k_weighting(sample_rate: int) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """BS.1770's K-weighting as two biquads, (b, a) each with a0 = 1: the head's high shelf
    (+4 dB over 1.5 kHz) then the high-pass at 38 Hz. The coefficients pyloudnorm computes
    (RBJ's cookbook at pyloudnorm's parameters), so a meter fed through them reads as it does."""
    sections = []
    for kind, gain_db, q, frequency in (("shelf", 4.0, 1 / math.sqrt(2), 1500.0),
                                        ("high-pass", 0.0, 0.5, 38.0)):  # fmt: skip
        amplitude = 10.0 ** (gain_db / 40.0)
        w0 = 2.0 * math.pi * frequency / sample_rate
        cos, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
        if kind == "shelf":
            root = 2.0 * math.sqrt(amplitude) * alpha
            up, down = amplitude + 1.0, amplitude - 1.0
            b = (
                amplitude * (up + down * cos + root),
                -2.0 * amplitude * (down + up * cos),
                amplitude * (up + down * cos - root),
            )
            a = (up - down * cos + root, 2.0 * (down - up * cos), up - down * cos - root)
        else:
            b = ((1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0)
            a = (1.0 + alpha, -2.0 * cos, 1.0 - alpha)
        sections.append((tuple(c / a[0] for c in b), tuple(c / a[0] for c in a)))
    return sections


class LoudnessMeter:
    """Integrated loudness (BS.1770-4) of a signal fed in blocks of any length, as its squares
    after ``k_weighting`` (the engine filters and squares the master as it computes it).

    What is kept is one sum of squares per channel per 100 ms (a 400 ms gating block is four of
    them), so an hour costs 288 kB. Reads as ``measure`` does within 0.01 LU.
    """

    def __init__(self, sample_rate: int, channels: int = 2) -> None:
        self._hop = sample_rate // 10
        self._partial = np.zeros(channels)  # the squares summed so far in the hop under way
        self._partial_samples = 0
        self._hops: list[npt.NDArray[np.float64]] = []  # each hop's summed squares, per channel

    def add(self, squares: npt.NDArray[np.float32]) -> None:
        """The next frames' K-weighted squares (samples by channels)."""
        squares = np.asarray(squares, dtype=np.float64)
        position = 0
        while position < len(squares):
            take = min(self._hop - self._partial_samples, len(squares) - position)
            self._partial += squares[position : position + take].sum(axis=0)
            self._partial_samples += take
            position += take
            if self._partial_samples == self._hop:
                self._hops.append(self._partial)
                self._partial = np.zeros_like(self._partial)
                self._partial_samples = 0

    @property
    def integrated_lufs(self) -> float:
        """The loudness of everything added so far; -inf for silence or under 400 ms."""
        if len(self._hops) < _HOPS_PER_BLOCK:
            return SILENCE
        hops = np.array(self._hops)
        summed = np.cumsum(np.vstack([np.zeros(hops.shape[1]), hops]), axis=0)
        blocks = (summed[_HOPS_PER_BLOCK:] - summed[:-_HOPS_PER_BLOCK]) / (
            _HOPS_PER_BLOCK * self._hop
        )  # mean square per block and channel
        with np.errstate(divide="ignore"):
            block_lufs = _OFFSET_DB + 10.0 * np.log10(blocks.sum(axis=1))
            gated = blocks[block_lufs >= _ABSOLUTE_GATE_LUFS]
            if not len(gated):
                return SILENCE
            relative = _OFFSET_DB + 10.0 * np.log10(gated.mean(axis=0).sum()) + _RELATIVE_GATE_LU
            kept = blocks[(block_lufs > relative) & (block_lufs > _ABSOLUTE_GATE_LUFS)]
            return float(_OFFSET_DB + 10.0 * np.log10(kept.mean(axis=0).sum()))

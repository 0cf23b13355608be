"""How loud a render is: integrated loudness (ITU-R BS.1770-4, as streaming services measure
it) and true peak (the peak between the samples, as a DAC or an encoder meets it).

Loudness comes from pyloudnorm (K-weighting, 400 ms blocks, the absolute and relative gates).
True peak is the sample peak of the signal oversampled 4x with a polyphase filter, as
BS.1770-4's Annex 2 describes; a peak between samples can be some dB above the samples'.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyloudnorm
from scipy.signal import resample_poly

OVERSAMPLING = 4
SILENCE = -math.inf


@dataclass(frozen=True, slots=True)
class Loudness:
    integrated_lufs: float  # -inf for silence (everything gated away)
    true_peak_dbtp: float
    sample_peak_dbfs: float


def _db(level: float) -> float:
    return 20.0 * math.log10(level) if level > 0 else SILENCE


def measure(frames: npt.NDArray[np.float32], sample_rate: int) -> Loudness:
    """``frames`` (samples by channels, or mono) measured; at least 400 ms of them."""
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

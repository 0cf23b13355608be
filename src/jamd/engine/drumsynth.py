"""Synthesized drum hits, rendered once per kit piece when a patch loads.

A hit is a fixed sound: rendering it ahead costs nothing while playing (pyo replays it from a
table at the trigger's sample) and makes every kit deterministic. The models follow the classic
analog recipes: a swept sine for kicks and toms, tone plus filtered noise for snares, clustered
square waves for hats and cymbals (as in the TR-808), noise bursts for claps.
"""

import functools
import zlib
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from jamd.engine.patches import DrumKitPatch, DrumPiece

Samples = npt.NDArray[np.float64]

_METALLIC_RATIOS = (1.0, 1.4828, 1.8003, 2.5464, 2.6304, 3.8975)  # the 808's six oscillators
_PEAK = 0.95


@functools.lru_cache(maxsize=48)  # four kits: a live set switches kits without waiting
def render_piece(name: str, piece: DrumPiece, sample_rate: int) -> npt.NDArray[np.float32]:
    """The piece's hit at full velocity as (left, right) rows: peak-normalised, gained, panned.

    Panning is constant-power (-3 dB each side in the centre). Hits are cached (read-only):
    the same piece sounds the same in every kit that has it.
    """
    rng = np.random.default_rng(zlib.crc32(f"{name}:{piece.model}".encode()))
    length = int(sample_rate * min(8.0, piece.decay * 1.5 + 0.02))
    t = np.arange(length, dtype=np.float64) / sample_rate
    hit = _MODELS[piece.model](piece, t, sample_rate, rng)
    hit *= _fade_out(length, int(0.005 * sample_rate))
    peak = float(np.max(np.abs(hit))) or 1.0
    gain = 10.0 ** (piece.gain_db / 20.0)
    angle = (piece.pan + 1.0) * np.pi / 4.0
    stereo: Samples = np.stack([hit * np.cos(angle), hit * np.sin(angle)]) * (_PEAK * gain / peak)
    samples = stereo.astype(np.float32)
    samples.setflags(write=False)
    return samples


def warm_kit(kit: DrumKitPatch, sample_rate: int) -> None:
    """Synthesize a kit's hits into the cache ahead of the track that will need them."""
    for name, piece in kit.pieces.items():
        render_piece(name, piece, sample_rate)


def _kick(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    sweep = piece.tune * (1.0 + 5.0 * piece.tone * np.exp(-t / 0.035))
    body = np.cos(_phase(sweep, sr)) * _decay(t, piece.decay)
    click = _band(rng.standard_normal(len(t)), sr, 1500.0, 9000.0) * _decay(t, 0.004)
    return body + 0.5 * piece.noise * click / (np.max(np.abs(click)) or 1.0)


def _tom(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    sweep = piece.tune * (1.0 + 0.6 * np.exp(-t / 0.08))
    body = np.cos(_phase(sweep, sr)) * _decay(t, piece.decay)
    skin = _band(rng.standard_normal(len(t)), sr, 200.0, 3000.0 + 5000.0 * piece.tone)
    return body + piece.noise * 0.3 * _normalised(skin) * _decay(t, piece.decay * 0.3)


def _snare(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    drum = np.cos(_phase(piece.tune * (1.0 + 0.3 * np.exp(-t / 0.01)), sr))
    drum += 0.6 * np.cos(_steady(piece.tune * 1.63, t))
    drum *= _decay(t, min(piece.decay, 0.12))
    wires = _band(rng.standard_normal(len(t)), sr, 1200.0, 4000.0 + 10000.0 * piece.tone)
    wires = _normalised(wires) * _decay(t, piece.decay)
    return (1.0 - piece.noise) * _normalised(drum) + piece.noise * 1.3 * wires


def _clap(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    noise = _normalised(_band(rng.standard_normal(len(t)), sr, 700.0, 2500.0 + 4000.0 * piece.tone))
    bursts = sum(
        (_decay(t - start, 0.008) * (t >= start) for start in (0.0, 0.011, 0.021)), np.zeros_like(t)
    )
    tail = _decay(t - 0.03, piece.decay) * (t >= 0.03)
    return noise * np.maximum(bursts, 0.8 * tail)


def _metallic(
    piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator, low: float
) -> Samples:
    squares = sum(np.sign(np.sin(_steady(piece.tune * r, t) + r)) for r in _METALLIC_RATIOS)
    metal = _band(np.asarray(squares, dtype=np.float64), sr, low, 16000.0)
    hiss = _band(rng.standard_normal(len(t)), sr, low, 8000.0 + 10000.0 * piece.tone)
    return (1.0 - piece.noise) * _normalised(metal) + piece.noise * _normalised(hiss)


def _hat(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    return _metallic(piece, t, sr, rng, 6000.0 + 2000.0 * piece.tone) * _decay(t, piece.decay)


def _cymbal(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    bloom = 1.0 - np.exp(-t / 0.004)
    return (
        _metallic(piece, t, sr, rng, 2500.0 + 3000.0 * piece.tone) * _decay(t, piece.decay) * bloom
    )


def _rim(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    knock = np.cos(_steady(piece.tune, t)) + 0.5 * np.cos(_steady(piece.tune * 2.7, t))
    click = _normalised(_band(rng.standard_normal(len(t)), sr, 2000.0, 12000.0)) * _decay(t, 0.003)
    return (knock * _decay(t, piece.decay) + piece.noise * click) * 0.7


def _brush(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    swish = _normalised(_band(rng.standard_normal(len(t)), sr, 800.0, 3000.0 + 9000.0 * piece.tone))
    onset = 1.0 - np.exp(-t / 0.002)  # bristles, not a stick: soft but immediate
    return swish * onset * _decay(t, piece.decay)


def _shaker(piece: DrumPiece, t: Samples, sr: int, rng: np.random.Generator) -> Samples:
    grains = _normalised(
        _band(rng.standard_normal(len(t)), sr, 4000.0 + 3000.0 * piece.tone, 16000.0)
    )
    return grains * (1.0 - np.exp(-t / 0.006)) * _decay(t, piece.decay)


def _cowbell(piece: DrumPiece, t: Samples, sr: int, _rng: np.random.Generator) -> Samples:
    tones = sum(np.sign(np.sin(_steady(f, t))) for f in (piece.tune, piece.tune * 1.48))
    body = _band(np.asarray(tones, dtype=np.float64), sr, 400.0, 4000.0 + 4000.0 * piece.tone)
    return _normalised(body) * (0.6 * _decay(t, 0.03) + 0.4 * _decay(t, piece.decay))


_MODELS: dict[str, Callable[[DrumPiece, Samples, int, np.random.Generator], Samples]] = {
    "kick": _kick,
    "tom": _tom,
    "snare": _snare,
    "clap": _clap,
    "hat": _hat,
    "cymbal": _cymbal,
    "rim": _rim,
    "brush": _brush,
    "shaker": _shaker,
    "cowbell": _cowbell,
}


def _phase(frequency: Samples, sr: int) -> Samples:
    """Phase of an oscillator following ``frequency`` (Hz, one value per sample), starting at 0."""
    phase: Samples = 2.0 * np.pi * (np.cumsum(frequency) - frequency[0]) / sr
    return phase


def _steady(frequency: float, t: Samples) -> Samples:
    return 2.0 * np.pi * frequency * t


def _decay(t: Samples, seconds: float) -> Samples:
    """Exponential decay reaching -43 dB after ``seconds``; 0 before t = 0."""
    return np.where(t >= 0, np.exp(-5.0 * np.maximum(t, 0.0) / seconds), 0.0)


def _band(x: Samples, sr: int, low: float, high: float) -> Samples:
    """Band-limit a stationary signal in the frequency domain (4th-order Butterworth slopes).

    The transform runs on a length with no prime factor above 5 (the signal padded with
    silence): a 2.1 s ride is 101,760 samples, 53 times a smooth number, and took 200 ms.
    """
    size = _smooth_length(len(x))
    spectrum = np.fft.rfft(x, n=size)
    frequency = np.fft.rfftfreq(size, 1.0 / sr)
    frequency[0] = 1e-3
    high = min(high, 0.45 * sr)
    response = 1.0 / np.sqrt((1.0 + (low / frequency) ** 8) * (1.0 + (frequency / high) ** 8))
    return np.fft.irfft(spectrum * response, n=size)[: len(x)]


def _smooth_length(n: int) -> int:
    """The smallest length at least ``n`` whose prime factors are 2, 3 and 5 (fast FFTs)."""
    best = 1 << max(0, (n - 1).bit_length())
    fives = 1
    while fives < best:
        threes = fives
        while threes < best:
            length = threes
            while length < n:
                length *= 2
            best = min(best, length)
            threes *= 3
        fives *= 5
    return best


def _normalised(x: Samples) -> Samples:
    peak = float(np.max(np.abs(x)))
    return x / peak if peak > 0 else x


def _fade_out(length: int, fade: int) -> Samples:
    envelope = np.ones(length)
    fade = min(fade, length)
    envelope[length - fade :] = np.linspace(1.0, 0.0, fade)
    return envelope

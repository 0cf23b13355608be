"""Effects as pyo objects: one builder per kind, from a validated spec and an input signal.

Every builder takes ``own``, which keeps each pyo object it makes referenced as long as the graph
(pyo crashes when a wrapper is collected while C objects still read it). A track passes its
``_after_voices``, so its effects also sleep while none of its voices sounds. An effect keeps
its input's channels: mono in an instrument's chain (the track is panned after it), stereo on
the master.

The limiter holds true peak (the peak between the samples, as ``jamd.engine.loudness`` measures
it by 4x oversampling) under its ``ceiling_dbtp``. pyo has no true-peak limiter; this one is
built from its parts:

- it follows the louder channel's level halfway between the samples, estimated by a 4-tap
  interpolator that errs high (``_halfway``): a drum kit's hit starts with a step that
  overshoots its samples by up to 1.4 dB, which a limiter of the samples lets through;
- each new peak of that level is taken at once and decays with ``release`` (its time
  constant); the gain follows it with an attack of a fifth of the look-ahead (1 ms: 99.3% of
  the way, a smooth fade, when the peak, delayed by the look-ahead, passes), and the threshold
  is lowered by what a held peak decays during the look-ahead (0.29 dB at the defaults), so a
  lone peak is held exactly and a sustained one a little under;
- it limits ``TRUE_PEAK_MARGIN_DB`` under the ceiling, and a ``Clip`` there is the last safety.

Measured at 48 kHz (saw and square chords and the 808, 909 and acoustic kits, 9 to 30 dB over
full scale, through the shipped master and through the limiter alone): true peak -1.46 dBTP at
most for a -1 dBTP ceiling; white noise limited by 25 dB, which no patch plays, -1.21 dBTP.
Limiting the samples instead (no halfway estimate) let the kits reach -0.57 dBTP at a 1 dB
margin and needed 1.75 dB; a 16-tap interpolator held them at 0.5 dB but cost 12% more pyo
time in a render, where these 4 taps cost 3%. On the genres' renders the limiter takes more
than 1 dB off under 0.5% of the time (2.9 dB at most, in rock): it catches peaks and does not
pump.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jamd.engine.patches import (
    ChorusEffect,
    CompressorEffect,
    CutBand,
    DelayEffect,
    DriveEffect,
    EchoSend,
    Effect,
    EffectSlot,
    EqEffect,
    LimiterEffect,
    PhaserEffect,
    ReverbEffect,
    ReverbSend,
    chain_problems,
)
from jamd.engine.server import pyo

Own = Callable[[Any], Any]

TRUE_PEAK_MARGIN_DB = 0.3  # the limiter's sample ceiling under its true-peak ceiling (measured)
_DETECTOR_DB = -24.0  # levels are followed this far down: pyo's Compress reads all over 0 dBFS as 0
_LIMITER_RATIO = 1000.0  # 24 dB over the ceiling comes out 0.02 dB over it
_INSTANT = 1e-6  # seconds: a follower's rise that takes every new peak at once
_FOLLOWER2_TIME = 2.0 * math.pi  # pyo 1.1.0's Follower2 decays with time constant falltime / 2 pi
_HALFWAY_TAPS = 4  # the limiter's estimate between the samples (see _halfway)
_REVERB_SIZE_MAX = 0.95  # Freeverb's size 1 never decays
_OPEN = 20000.0  # a tone at this cutoff is no filter at all
_SILENT = 0.001  # -60 dB: where a tail is over
_BIQUAD_LOWPASS, _BIQUAD_HIGHPASS = 0, 1
_EQ_TYPES = {"peak": 0, "low-shelf": 1, "high-shelf": 2}


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def check_chain(effects: Sequence[EffectSlot], *, master: bool) -> None:
    """Refuse a chain that cannot be built: a patch made in code is held to the rules a loaded
    one is (``chain_problems``), and its effect files must have been read in. Graphs check
    before they make any pyo object: a half-built graph's objects could outlive the server."""
    unresolved = [effect for effect in effects if isinstance(effect, str)]
    if unresolved:
        raise ValueError(f"effect files never read in: {', '.join(unresolved)} (PatchLibrary does)")
    problems = chain_problems(tuple(effects), master=master)
    if problems:
        raise ValueError("; ".join(problems))


def build_chain(
    effects: Sequence[EffectSlot], signal: Any, own: Own, sample_rate: int, *, master: bool
) -> Any:
    """``signal`` through ``effects`` in order."""
    check_chain(effects, master=master)
    for effect in effects:
        assert not isinstance(effect, str)
        signal = build_effect(effect, signal, own, sample_rate)
    return signal


def build_effect(effect: Effect, signal: Any, own: Own, sample_rate: int) -> Any:
    if isinstance(effect, ReverbEffect):
        return _reverb(effect, effect.mix, signal, own)
    if isinstance(effect, DelayEffect):
        return _delay(effect, signal, own, sample_rate)
    if isinstance(effect, ChorusEffect):
        return own(pyo.Chorus(signal, depth=effect.depth, feedback=effect.feedback, bal=effect.mix))
    if isinstance(effect, PhaserEffect):
        return _phaser(effect, signal, own)
    if isinstance(effect, DriveEffect):
        wet = own(pyo.Disto(signal, drive=effect.drive, slope=effect.slope))
        return _mixed(signal, wet, effect.mix, own)
    if isinstance(effect, EqEffect):
        return _eq(effect, signal, own)
    if isinstance(effect, CompressorEffect):
        return _compressor(effect, signal, own, sample_rate)
    return _limiter(effect, signal, own, sample_rate)


def latency(effects: Sequence[EffectSlot], sample_rate: int) -> int:
    """Samples the chain delays its input by: its look-aheads (each a whole number of samples)."""
    return sum(
        _lookahead_samples(effect.lookahead_ms, sample_rate)
        for effect in effects
        if isinstance(effect, CompressorEffect | LimiterEffect)
    )


def tail_seconds(effects: Sequence[EffectSlot]) -> float:
    """How long the chain rings on after its input falls silent, to -60 dB (an estimate that
    errs long: a track's chain sleeps only after it)."""
    return sum(_tail(effect) for effect in effects if not isinstance(effect, str))


def build_reverb_send(send: ReverbSend, signal: Any, own: Own) -> Any:
    """The reverb send's return: stereo from the mono send, wet only."""
    return _reverb(send, 1.0, signal, own, stereo=True)


def build_echo_send(send: EchoSend, signal: Any, own: Own, times: list[float]) -> tuple[Any, Any]:
    """The echo send's ``Delay`` (its ``delay`` follows the tempo) and its stereo return."""
    echoes = own(pyo.Delay(signal, delay=times, feedback=send.feedback, maxdelay=4.0))
    return echoes, _toned(echoes, send.tone, own)


def echo_times(seconds: float, spread: float, sample_rate: int) -> list[float]:
    """Left and right echo times, each a whole number of samples and a half."""
    return [whole_and_a_half(t, sample_rate) for t in (seconds, seconds + spread)]


def whole_and_a_half(seconds: float, sample_rate: int) -> float:
    """A delay time for pyo's ``Delay``: a whole number of samples and a half.

    pyo's Delay interpolates between buffer[i] and buffer[i + 1]; when the delay in samples
    is a hair over a whole number, float32 rounds its read position up to the buffer's
    end and it reads one sample past it (valgrind: 'Invalid read ... 0 bytes after a
    block'), whatever memory holds, NaN included, which the feedback keeps for good. A
    0.3 s echo at 48 kHz hit it one run in three. Half a sample keeps the read inside.
    """
    return (math.floor(seconds * sample_rate) + 0.5) / sample_rate


def _reverb(room: ReverbSend, mix: float, signal: Any, own: Own, *, stereo: bool = False) -> Any:
    size: float | list[float] = room.size
    if stereo or len(signal) > 1:
        size = [room.size, min(_REVERB_SIZE_MAX, room.size + room.width)]
    return own(pyo.Freeverb(signal, size=size, damp=room.damp, bal=mix))


def _delay(effect: DelayEffect, signal: Any, own: Own, sample_rate: int) -> Any:
    echoes = own(
        pyo.Delay(
            signal,
            delay=whole_and_a_half(effect.time, sample_rate),
            feedback=effect.feedback,
            maxdelay=effect.time + 0.01,
        )
    )
    return _mixed(signal, _toned(echoes, effect.tone, own), effect.mix, own)


def _phaser(effect: PhaserEffect, signal: Any, own: Own) -> Any:
    sweep = own(pyo.Sine(freq=effect.rate, mul=effect.freq * effect.depth, add=effect.freq))
    wet = own(
        pyo.Phaser(
            signal,
            freq=sweep,
            spread=effect.spread,
            q=effect.q,
            feedback=effect.feedback,
            num=effect.stages,
        )
    )
    return _mixed(signal, wet, effect.mix, own)


def _eq(effect: EqEffect, signal: Any, own: Own) -> Any:
    for band in effect.bands:
        if isinstance(band, CutBand):
            kind = _BIQUAD_HIGHPASS if band.kind == "low-cut" else _BIQUAD_LOWPASS
            signal = own(pyo.Biquad(signal, freq=band.freq, q=band.q, type=kind))
        else:
            signal = own(
                pyo.EQ(
                    signal, freq=band.freq, q=band.q, boost=band.gain_db, type=_EQ_TYPES[band.kind]
                )
            )
    return signal


def _compressor(effect: CompressorEffect, signal: Any, own: Own, sample_rate: int) -> Any:
    gain = own(
        pyo.Compress(
            _level(signal, own),
            thresh=effect.threshold_db + _DETECTOR_DB,
            ratio=effect.ratio,
            risetime=effect.attack,
            falltime=effect.release,
            knee=effect.knee,
            outputAmp=True,
            mul=db_to_gain(effect.makeup_db),
        )
    )
    samples = _lookahead_samples(effect.lookahead_ms, sample_rate)
    return _delayed(signal, samples, own, sample_rate, gain=gain)


def _limiter(effect: LimiterEffect, signal: Any, own: Own, sample_rate: int) -> Any:
    ceiling_db = effect.ceiling_dbtp - TRUE_PEAK_MARGIN_DB
    samples = _lookahead_samples(effect.lookahead_ms, sample_rate)
    attack = samples / 5 / sample_rate
    # a peak's held level has decayed for the look-ahead by the time the peak passes, and the
    # attack has come 1 - e^-5 of the way: the threshold is lowered by both
    shortfall = math.exp(-samples / (sample_rate * effect.release)) * (1.0 - math.exp(-5.0))
    peak = own(
        pyo.Follower2(
            _level(_halfway(signal, own), own),
            risetime=_INSTANT,
            falltime=_FOLLOWER2_TIME * effect.release,
        )
    )
    gain = own(
        pyo.Compress(
            peak,
            thresh=ceiling_db + 20.0 * math.log10(shortfall) + _DETECTOR_DB,
            ratio=_LIMITER_RATIO,
            risetime=attack,
            falltime=attack,
            knee=0.0,
            outputAmp=True,
        )
    )
    limited = _delayed(signal, samples, own, sample_rate, gain=gain)
    ceiling = db_to_gain(ceiling_db)
    return own(pyo.Clip(limited, min=-ceiling, max=ceiling))


def _level(signal: Any, own: Own) -> Any:
    """The louder channel's magnitude, ``_DETECTOR_DB`` down: one detector links the channels,
    so a compressor or the limiter does not move the stereo image."""
    magnitude = own(pyo.Abs(signal, mul=db_to_gain(_DETECTOR_DB)))
    if len(magnitude) == 1:
        return magnitude
    return own(pyo.Max(magnitude[0], magnitude[1]))


def _halfway(signal: Any, own: Own) -> Any:
    """An estimate of ``signal`` halfway between its samples, 2.5 samples late, that errs high.

    Four taps of a sinc shifted by half a sample, scaled to pass DC as it is: it reads true
    down low, hot in the highs (+3 dB at a quarter of the rate, where a long interpolator
    reads true: bright peaks are limited a little more than they need) and low only above
    0.78 of Nyquist (18.7 kHz at 48 kHz), where the clip is the guard. A sample peak always
    has a halfway point as loud beside it, so the samples need no detector of their own.
    """
    taps = np.sinc(np.arange(_HALFWAY_TAPS) - (_HALFWAY_TAPS - 1) / 2.0)
    kernel = own(pyo.DataTable(_HALFWAY_TAPS, init=(taps / taps.sum()).tolist()))
    return own(pyo.Convolve(signal, kernel, size=_HALFWAY_TAPS))


def _delayed(signal: Any, samples: int, own: Own, sample_rate: int, *, gain: Any = 1.0) -> Any:
    """``signal`` exactly ``samples`` late (``SDelay`` truncates its delay to whole samples),
    times ``gain``."""
    if samples == 0:
        return own(pyo.Sig(signal, mul=gain))
    delay = (samples + 0.5) / sample_rate
    return own(pyo.SDelay(signal, delay=delay, maxdelay=2.0 * delay, mul=gain))


def _lookahead_samples(milliseconds: float, sample_rate: int) -> int:
    return round(milliseconds * sample_rate / 1000.0)


def _mixed(dry: Any, wet: Any, mix: float, own: Own) -> Any:
    return wet if mix >= 1.0 else own(pyo.Interp(dry, wet, interp=mix))


def _toned(signal: Any, cutoff: float, own: Own) -> Any:
    return signal if cutoff >= _OPEN else own(pyo.Tone(signal, freq=cutoff))


def _tail(effect: Effect) -> float:
    if isinstance(effect, ReverbEffect):
        # Freeverb's combs feed back 0.7 + 0.28 * size over ~37 ms: this fits its -60 dB decay,
        # measured from 0.7 s (size 0) to 9 s (size 0.95)
        size = min(_REVERB_SIZE_MAX, effect.size + effect.width)
        return 0.14 / -math.log10(0.7 + 0.28 * size)
    if isinstance(effect, DelayEffect):
        return effect.time * (1.0 + _repeats(effect.feedback))
    if isinstance(effect, ChorusEffect | PhaserEffect):
        return 0.05 * (1.0 + _repeats(effect.feedback))
    return 0.0


def _repeats(feedback: float) -> float:
    """How many times a loop feeding back ``feedback`` goes round before -60 dB."""
    return math.log(_SILENT) / math.log(feedback) if feedback > _SILENT else 0.0

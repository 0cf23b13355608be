"""jamd's own voiced instrument kinds, registered exactly as a plugin's would be.

Each ``build`` turns the host's per-voice frequency and amplitude (``instruments.Voices``) into
pyo objects with one stream per voice. Wavetables are band-limited by construction: a table
holds only the harmonics the patch asks for.
"""

from collections.abc import Sequence
from typing import Any

from jamd.engine.instruments import InstrumentKind, Voices, plugin_kinds
from jamd.engine.patches import (
    FmPatch,
    OrganPatch,
    SubtractivePatch,
    SupersawPatch,
    VoicePatch,
    WavetablePatch,
)
from jamd.engine.server import pyo

_DRAWBAR_HARMONICS = (1, 3, 2, 4, 6, 8, 10, 12, 16)  # 16' 5 1/3' 8' 4' 2 2/3' 2' 1 3/5' 1 1/3' 1'


def _fm(patch: FmPatch, voices: Voices) -> Sequence[Any]:
    index = voices.per_voice(voices.amplitude * patch.index)  # brighter while louder
    fm = pyo.FM(carrier=voices.frequency, ratio=patch.ratio, index=index, mul=voices.amplitude)
    return [voices.per_voice(fm)]


def _supersaw(patch: SupersawPatch, voices: Voices) -> Sequence[Any]:
    saws = pyo.SuperSaw(
        freq=voices.frequency,
        detune=patch.detune,
        bal=patch.sides,
        mul=voices.amplitude * patch.gain,
    )
    return [voices.per_voice(saws)]


def _wavetable(
    partials: Sequence[float], unison: int, detune: float, voices: Voices
) -> Sequence[Any]:
    """Oscillators reading one normalised cycle of ``partials``, detuned in unison."""
    table = voices.keep(pyo.HarmTable(list(partials)))
    table.normalize()
    oscillators = []
    for index in range(unison):
        ratio = 2.0 ** ((index - (unison - 1) / 2) * detune / 1200.0)
        pitch = voices.frequency if ratio == 1.0 else voices.per_voice(voices.frequency * ratio)
        oscillator = pyo.Osc(table, freq=pitch, phase=index / 3, mul=voices.amplitude)
        oscillators.append(voices.per_voice(oscillator))
    return oscillators


def _subtractive(patch: SubtractivePatch, voices: Voices) -> Sequence[Any]:
    return _wavetable(subtractive_partials(patch), patch.unison, patch.detune, voices)


def _organ(patch: OrganPatch, voices: Voices) -> Sequence[Any]:
    return _wavetable(drawbar_partials(patch), 1, 0.0, voices)


def _drawn(patch: WavetablePatch, voices: Voices) -> Sequence[Any]:
    return _wavetable(patch.partials, patch.unison, patch.detune, voices)


def subtractive_partials(patch: SubtractivePatch) -> list[float]:
    """The wave's harmonics; a sub oscillator makes it a table an octave down (see below)."""
    n = range(1, patch.harmonics + 1)
    wave = {
        "saw": [1.0 / k for k in n],
        "square": [1.0 / k if k % 2 else 0.0 for k in n],
        "triangle": [(-1.0) ** (k // 2) / k**2 if k % 2 else 0.0 for k in n],
        "sine": [1.0],
    }[patch.wave]
    if patch.sub == 0:
        return wave
    octave_down = [0.0] * (2 * len(wave))
    octave_down[0] = patch.sub
    octave_down[1::2] = wave
    return octave_down


def drawbar_partials(patch: OrganPatch) -> list[float]:
    partials = [0.0] * max(_DRAWBAR_HARMONICS)
    for harmonic, level in zip(_DRAWBAR_HARMONICS, patch.drawbars, strict=True):
        partials[harmonic - 1] = level / 8.0
    return partials


def _octave_down(patch: SubtractivePatch | OrganPatch) -> float:
    """A table whose first partial is an octave down (organ 16', a sub) plays at half the
    note's frequency."""
    return 0.5 if isinstance(patch, OrganPatch) or patch.sub > 0 else 1.0


BUILTIN: dict[str, InstrumentKind] = {
    kind.name: kind
    for kind in (
        InstrumentKind("subtractive", SubtractivePatch, _subtractive, _octave_down),
        InstrumentKind("fm", FmPatch, _fm),
        InstrumentKind("organ", OrganPatch, _organ, _octave_down),
        InstrumentKind("supersaw", SupersawPatch, _supersaw),
        InstrumentKind("wavetable", WavetablePatch, _drawn),
    )
}


def instrument_kind(patch: VoicePatch) -> InstrumentKind:
    """The kind that builds ``patch``'s voices: jamd's own, else a plugin's."""
    kind = BUILTIN.get(patch.kind) or plugin_kinds().get(patch.kind)
    if kind is None:  # the patch validated, so its plugin was there; it cannot vanish
        raise KeyError(f"no instrument kind {patch.kind!r}")
    return kind

"""A struck bell for jamd: inharmonic partials, each quieter than the one below.

The host gives ``build`` each voice's frequency and envelope; the bell sounds one sine per
partial at its ratio of the note's frequency. Every pyo object that follows a voice is handed
to ``voices.per_voice`` so it sleeps while that voice is silent.
"""

from typing import Any, Literal

from pydantic import Field

from jamd.engine.instruments import InstrumentKind, Voices
from jamd.engine.patches import VoicePatch
from jamd.engine.server import pyo


class BellPatch(VoicePatch):
    kind: Literal["bell"]
    ratios: tuple[float, ...] = Field(
        (0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011),  # a minor-third church bell
        min_length=1,
        max_length=16,
        description="each partial's frequency over the note's",
    )
    brightness: float = Field(0.6, ge=0.0, le=1.0, description="each partial's level over the last")


def build(patch: BellPatch, voices: Voices) -> list[Any]:
    total = sum(patch.brightness**n for n in range(len(patch.ratios)))
    partials = []
    for n, ratio in enumerate(patch.ratios):
        pitch = voices.per_voice(voices.frequency * ratio)
        level = voices.per_voice(voices.amplitude * (patch.brightness**n / total))
        partials.append(voices.per_voice(pyo.Sine(freq=pitch, mul=level)))
    return partials


KIND = InstrumentKind("bell", BellPatch, build)

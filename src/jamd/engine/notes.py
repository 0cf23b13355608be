"""What the engine plays: notes placed on the sample clock."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jamd.engine.patches import Patch


@dataclass(frozen=True, slots=True)
class Note:
    """One note for one track, in samples from the engine's start.

    ``end`` is where the key is released; the patch's release tail sounds after it. ``pitch`` is a
    MIDI note number (fractions detune); for drum kits it selects the piece (General MIDI drums).
    """

    track: str
    start: int
    end: int
    pitch: float
    velocity: float

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"note start must be >= 0 samples, got {self.start}")
        if self.end <= self.start:
            raise ValueError(f"note end must be after its start ({self.start}), got {self.end}")
        if not 0.0 < self.velocity <= 1.0:
            raise ValueError(f"velocity must be in (0, 1], got {self.velocity}")
        if not 0.0 <= self.pitch <= 127.0:
            raise ValueError(f"pitch must be 0..127, got {self.pitch}")


@dataclass(frozen=True, slots=True)
class PatchChange:
    """From sample ``at`` on, ``lane`` plays ``patch`` (notes held across it cross-fade)."""

    lane: str
    patch: "Patch"
    at: int

"""The values composition hands downstream: parts and note events."""

from dataclasses import dataclass
from enum import StrEnum


class Part(StrEnum):
    """The band's parts, in mixer order. Each becomes one engine track and one MIDI track."""

    DRUMS = "drums"
    BASS = "bass"
    KEYS = "keys"
    PAD = "pad"
    LEAD = "lead"


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """One note of one part.

    Times are in quarter-note beats from the start of the song (beat 0 is the downbeat of bar 0),
    so the same events serve a tempo map, a MIDI file and a sample-accurate engine schedule.
    Drum notes use General MIDI drum numbers (36 kick, 38 snare, 42 closed hat, ...).
    """

    part: Part
    start: float
    length: float
    pitch: int
    velocity: int

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be 0..127, got {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be 1..127, got {self.velocity}")
        if self.start < 0:
            raise ValueError(f"start must be >= 0 beats, got {self.start}")
        if self.length <= 0:
            raise ValueError(f"length must be > 0 beats, got {self.length}")

    @property
    def end(self) -> float:
        return self.start + self.length

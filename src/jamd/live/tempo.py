"""The tempo map: beats counted from the transport's start, read off the engine's sample clock.

There is one clock, the audio sample counter; beats and bars are derived from it through this
map, a list of segments each holding a steady tempo from a beat on. A tempo change starts a new
segment on a beat; a transport that stops and starts again starts one at a later sample (the
stopped time belongs to no beat).
"""

import bisect
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    beat: float
    sample: float
    bpm: float


class TempoMap:
    def __init__(self, sample_rate: int, start_sample: float, bpm: float) -> None:
        self.sample_rate = sample_rate
        self._segments = [Segment(0.0, float(start_sample), bpm)]

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._segments)

    def samples_per_beat(self, bpm: float) -> float:
        return self.sample_rate * 60.0 / bpm

    def _at_beat(self, beat: float) -> Segment:
        index = bisect.bisect_right([s.beat for s in self._segments], beat) - 1
        return self._segments[max(0, index)]

    def sample_at(self, beat: float) -> float:
        segment = self._at_beat(beat)
        return segment.sample + (beat - segment.beat) * self.samples_per_beat(segment.bpm)

    def beat_at(self, sample: float) -> float:
        """The beat playing at ``sample``; stopped time reads as the beat playing resumes on."""
        index = bisect.bisect_right([s.sample for s in self._segments], sample) - 1
        segment = self._segments[max(0, index)]
        beat = segment.beat + (sample - segment.sample) / self.samples_per_beat(segment.bpm)
        if index + 1 < len(self._segments):
            beat = min(beat, self._segments[index + 1].beat)
        return beat

    def tempo_at(self, beat: float) -> float:
        return self._at_beat(beat).bpm

    def change(self, beat: float, bpm: float) -> None:
        """From ``beat`` on the tempo is ``bpm`` (later changes are forgotten)."""
        self.resume(beat, self.sample_at(beat), bpm)

    def resume(self, beat: float, sample: float, bpm: float) -> None:
        """Beat ``beat`` falls on ``sample`` (the transport started again there) at ``bpm``."""
        self._segments = [s for s in self._segments if s.beat < beat] or []
        self._segments.append(Segment(beat, float(sample), bpm))

    def forget_before(self, beat: float) -> None:
        """Drop segments wholly before ``beat``: the map stays short in an endless set."""
        keep = bisect.bisect_right([s.beat for s in self._segments], beat) - 1
        if keep > 0:
            del self._segments[:keep]

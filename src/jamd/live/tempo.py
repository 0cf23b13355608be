"""The tempo map: beats counted from the transport's start, read off the engine's sample clock.

There is one clock, the audio sample counter; beats and bars are derived from it through this
map, a list of segments each holding a steady tempo from a beat on. A tempo change starts a new
segment on a beat; a transport that stops and starts again starts one at a later sample (the
stopped time belongs to no beat). ``TapTempo`` turns taps into a tempo.
"""

import bisect
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from jamd.compose.plan import TEMPO_RANGE


@dataclass(frozen=True, slots=True)
class Segment:
    beat: float
    sample: float
    bpm: float


_VERSIONS = itertools.count()


class TempoMap:
    def __init__(self, sample_rate: int, start_sample: float, bpm: float) -> None:
        self.sample_rate = sample_rate
        self._set([Segment(0.0, float(start_sample), bpm)])
        self.version = next(_VERSIONS)
        """New with every map and every change that moves a beat's sample (``change``,
        ``resume``), unique in the process: what was worked out from a map at one version
        holds while the map (or its ``copy``) has it."""

    def _set(self, segments: list[Segment]) -> None:
        self._segments = segments
        self._beats = [s.beat for s in segments]  # for the bisections, kept with the segments
        self._samples = [s.sample for s in segments]

    def copy(self) -> "TempoMap":
        """A map of its own with these segments (for another thread to read)."""
        twin = TempoMap.__new__(TempoMap)
        twin.sample_rate = self.sample_rate
        twin._set(list(self._segments))
        twin.version = self.version
        return twin

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(self._segments)

    def samples_per_beat(self, bpm: float) -> float:
        return self.sample_rate * 60.0 / bpm

    def _at_beat(self, beat: float) -> Segment:
        index = bisect.bisect_right(self._beats, beat) - 1
        return self._segments[max(0, index)]

    def sample_at(self, beat: float) -> float:
        segment = self._at_beat(beat)
        return segment.sample + (beat - segment.beat) * self.samples_per_beat(segment.bpm)

    def beat_at(self, sample: float) -> float:
        """The beat playing at ``sample``; stopped time reads as the beat playing resumes on."""
        index = bisect.bisect_right(self._samples, sample) - 1
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
        self._set(
            [*(s for s in self._segments if s.beat < beat), Segment(beat, float(sample), bpm)]
        )
        self.version = next(_VERSIONS)

    def forget_before(self, beat: float) -> None:
        """Drop segments wholly before ``beat``: the map stays short in an endless set."""
        keep = bisect.bisect_right(self._beats, beat) - 1
        if keep > 0:
            self._set(self._segments[keep:])


class TapTempo:
    """A tempo from taps (a pad, a button): the median of the last intervals, so one uneven
    tap moves it little. A pause longer than ``reset`` seconds starts counting again."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, reset: float = 2.0, keep: int = 4
    ) -> None:
        self._clock = clock
        self.reset = reset
        self.keep = keep
        self._taps: list[float] = []

    def tap(self) -> float | None:
        """This tap's tempo in BPM, or None while there is no interval yet (or the taps are
        too slow or too fast for a tempo)."""
        now = self._clock()
        if self._taps and now - self._taps[-1] > self.reset:
            self._taps = []
        self._taps = [*self._taps[-self.keep :], now]
        intervals = [b - a for a, b in itertools.pairwise(self._taps)]
        if not intervals:
            return None
        bpm = 60.0 / statistics.median(intervals)
        return bpm if TEMPO_RANGE[0] <= bpm <= TEMPO_RANGE[1] else None

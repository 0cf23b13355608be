"""The audio clock against the monotonic clock: which engine sample plays at which time.

The engine's position is read in steps (its process publishes the sample count a callback left
and when it read it), so a reading is late by up to a buffer and never early. ``AudioClock``
keeps the earliest-looking reading of the last few seconds, the upper envelope of
``position - rate * time``: that envelope is the clock without the readings' lateness, smooth
enough to send MIDI clock ticks against and to place a master's beats on engine samples.
"""

import collections
import time
from collections.abc import Callable

WINDOW_SECONDS = 2.0  # readings kept: a sound card's drift (ppm) moves the envelope slowly


class AudioClock:
    def __init__(
        self,
        position: Callable[[], int],
        sample_rate: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._position = position
        self.sample_rate = sample_rate
        self._clock = clock
        self._readings: collections.deque[tuple[float, float]] = collections.deque()
        self._offset: float | None = None  # samples at monotonic time 0, by the envelope

    def update(self) -> None:
        """Read the engine's position once more."""
        now = self._clock()
        offset = self._position() - self.sample_rate * now
        readings = self._readings
        while readings and readings[0][0] < now - WINDOW_SECONDS:
            readings.popleft()
        while readings and readings[-1][1] <= offset:  # a later, earlier-looking reading wins
            readings.pop()
        readings.append((now, offset))
        self._offset = readings[0][1]

    def sample_at(self, moment: float) -> float:
        """The engine sample that plays at monotonic time ``moment``."""
        if self._offset is None:
            self.update()
        assert self._offset is not None
        return self._offset + self.sample_rate * moment

    def time_at(self, sample: float) -> float:
        """The monotonic time at which engine sample ``sample`` plays."""
        if self._offset is None:
            self.update()
        assert self._offset is not None
        return (sample - self._offset) / self.sample_rate

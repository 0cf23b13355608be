"""Rendered one-shot sounds: what ``HitScheduler`` mixes, and a cache bounded by size.

Drum hits, plucked strings and samples are all fixed recordings once rendered: playing one is a
scaled copy into a ring. The pitched ones are rendered per note on first use and kept in a
``SoundCache`` that forgets the least recently used sounds beyond its budget, so a long set that
wanders over the keyboard does not grow without bound.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import numpy.typing as npt

Sound = npt.NDArray[np.float32]
"""A one-shot's samples as (channels, frames), read-only."""

SoundFor = Callable[[float, float], Sound | None]
"""Picks a note's sound from its (pitch, velocity); None where the instrument has nothing."""

CACHE_BYTES = 24 << 20  # per instrument: 50 or so rendered notes of two to three seconds


class SoundCache:
    """The sounds used last, at most ``max_bytes`` of them; a sound bigger than that alone is
    made each time it is asked for, never kept."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.rendered = 0  # cache misses: sounds made
        self._sounds: OrderedDict[Hashable, Sound] = OrderedDict()
        self._lock = threading.Lock()  # the live engine's warmer fills it ahead of the writer

    def __len__(self) -> int:
        return len(self._sounds)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._sounds

    def get(self, key: Hashable, make: Callable[[], Sound]) -> Sound:
        with self._lock:
            sound = self._sounds.get(key)
            if sound is not None:
                self._sounds.move_to_end(key)
                return sound
        # outside the lock: two threads may both make it, never wait on each other
        return self.put(key, make())

    def put(self, key: Hashable, sound: Sound) -> Sound:
        """Keep ``sound`` as ``key``'s (unless one is kept already: that one is returned)."""
        sound.setflags(write=False)
        with self._lock:
            self.rendered += 1
            if sound.nbytes > self.max_bytes or key in self._sounds:
                return self._sounds.get(key, sound)
            self.bytes += sound.nbytes
            while self.bytes > self.max_bytes:
                _, oldest = self._sounds.popitem(last=False)
                self.bytes -= oldest.nbytes
            self._sounds[key] = sound
        return sound


def fade_out(sound: npt.NDArray[np.float64], samples: int) -> None:
    """Bring the last ``samples`` of a (channels, frames) sound linearly to zero, in place, so a
    sound cut off where it was rendered or recorded ends without a click."""
    samples = min(samples, sound.shape[-1])
    if samples > 0:
        sound[..., sound.shape[-1] - samples :] *= np.linspace(1.0, 0.0, samples)

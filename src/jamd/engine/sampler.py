"""Sampled instruments (patch kind ``sampler``): WAV recordings played at the note's pitch.

A sampler patch names a folder of recordings; each zone plays one of them over a range of keys
and velocities (``SamplerPatch`` fills in what the patch leaves out, from the file names, and
checks every file before the patch reaches the engine). A note takes the zone of its key and
velocity and the recording is resampled to its pitch (linear interpolation: shifting by a few
semitones, as zones a few notes apart do, keeps it clean), once per pitch, into a bounded cache.
Stereo recordings are mixed to mono: the track's filter and effects take one channel.
"""

import functools
import logging
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from jamd.engine.patches import PatchError, SamplerPatch, SampleZone
from jamd.engine.sounds import Sound, SoundCache, fade_out
from jamd.engine.wavfile import read_pcm

log = logging.getLogger(__name__)

_END_FADE_SECONDS = 0.005  # a recording cut off mid-sound ends without a click


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A zone with its recording (mono) in memory."""

    root: int
    keys: tuple[int, int]
    velocities: tuple[float, float]
    audio: npt.NDArray[np.float32]
    rate: int


class SampledSounds:
    """Each note's sound from a sampler patch's recordings, read when a note first needs them
    (or all at once by ``load``): the live engine makes its sounds in a worker process, so the
    engine's own process never reads them unless it must make a note itself.

    Call it with (pitch, velocity), as ``HitScheduler`` does: None for a key no zone plays, or
    whose recording can no longer be read (said once in the log).
    """

    def __init__(
        self, patch: SamplerPatch, sample_rate: int, *, cache: SoundCache | None = None
    ) -> None:
        self.patch = patch
        self.sample_rate = sample_rate
        self.cache = SoundCache() if cache is None else cache
        self._zones = patch.zones  # completed by validating the patch
        self._unreadable: set[int] = set()

    def load(self) -> None:
        """Read every zone's recording now."""
        for index in range(len(self._zones)):
            self._recording(index)

    def _recording(self, index: int) -> _Loaded:
        zone = self._zones[index]
        return _load(self.patch.samples / zone.file, zone)

    def key(self, pitch: float, velocity: float) -> tuple[int, int] | None:
        """What the note's sound is kept under (its zone and pitch in cents); None for a key
        no zone plays."""
        index = self.zone_for(pitch, velocity)
        return None if index is None else (index, round(pitch * 100.0))

    def make(self, key: tuple[int, int]) -> Sound:
        """The sound kept under ``key``, made now (uncached)."""
        index, cents = key
        return self._shifted(index, cents / 100.0)

    def __call__(self, pitch: float, velocity: float) -> Sound | None:
        key = self.key(pitch, velocity)
        if key is None or key[0] in self._unreadable:
            return None
        try:
            return self.cache.get(key, lambda: self.make(key))
        except PatchError as error:  # changed on disk since the patch was checked
            log.error("%s; its notes are silent", error)
            self._unreadable.add(key[0])
            return None

    def zone_for(self, pitch: float, velocity: float) -> int | None:
        """The zone playing the key, whose velocities hold ``velocity`` (or come nearest)."""
        key = round(pitch)
        best: tuple[float, int] | None = None
        for index, zone in enumerate(self._zones):
            assert zone.keys is not None
            assert zone.velocities is not None
            if not zone.keys[0] <= key <= zone.keys[1]:
                continue
            low, high = zone.velocities
            miss = max(0.0, low - velocity, velocity - high)
            if velocity == low and low > 0:
                miss = 1e-9  # a range holds velocities above its first: this is its neighbour's
            if best is None or miss < best[0]:
                best = (miss, index)
        return None if best is None else best[1]

    def _shifted(self, index: int, pitch: float) -> Sound:
        """The zone's recording resampled to ``pitch`` and the output rate, as (1, frames)."""
        zone = self._recording(index)
        step = 2.0 ** ((pitch - zone.root) / 12.0) * zone.rate / self.sample_rate
        audio = zone.audio
        if step == 1.0:
            return audio[np.newaxis, :].copy()
        positions = np.arange(int((len(audio) - 1) / step) + 1) * step
        below = positions.astype(np.int64)
        above = np.minimum(below + 1, len(audio) - 1)
        fraction = (positions - below).astype(np.float32)
        shifted: Sound = (audio[below] + (audio[above] - audio[below]) * fraction)[np.newaxis, :]
        return shifted


def _load(path: Path, zone: SampleZone) -> _Loaded:
    """A zone (completed by its patch) and its recording as mono float32, ending in silence;
    read once while the file stays as it is (a patch swapped back reads nothing)."""
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        changed = 0  # _read says what is wrong
    return _read(path, zone, changed)


@functools.lru_cache(maxsize=64)  # the shipped grand is 16 files, 10 MB as float32
def _read(path: Path, zone: SampleZone, _changed: int) -> _Loaded:
    if zone.root is None or zone.keys is None or zone.velocities is None:
        raise ValueError(f"{path}: the zone was not completed by validating its patch")
    try:
        frames, rate = read_pcm(path)
    except (OSError, EOFError, wave.Error) as error:  # changed since the patch was checked
        raise PatchError(str(path), [f"cannot read the sample: {error}"]) from None
    mono: npt.NDArray[np.float64] = frames.mean(axis=1, dtype=np.float64)[np.newaxis, :]
    fade_out(mono, int(_END_FADE_SECONDS * rate))
    return _Loaded(zone.root, zone.keys, zone.velocities, mono[0].astype(np.float32), rate)

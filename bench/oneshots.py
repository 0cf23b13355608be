"""Rendered one-shots (pluck, sampler): what a note costs in numpy.

Prints, for the shipped rendered patches:
- render: the one-time cost of a note's sound per (pitch, velocity layer), before it is
  cached: a Karplus-Strong string computed a period at a time, or a recording resampled;
- mix: the cost of a sounding note while it plays, per second of audio, when the hit
  scheduler writes the ring in the live writer's 20 ms windows and in the offline twin's
  16,384-sample blocks (64 buffers of 256), for 1, 6 and 12 notes sounding at once.
pyo's side costs nothing per note: a rendered kind's track reads its one ring, and its chain
sleeps while nothing sounds.

Run: .venv/bin/python bench/oneshots.py [--repeat N]
"""

import argparse
import statistics
import time

import numpy as np

from jamd.engine.control import HitScheduler
from jamd.engine.notes import Note
from jamd.engine.patches import PatchLibrary, PluckPatch, SamplerPatch, default_patch_dirs
from jamd.engine.pluck import PluckSounds
from jamd.engine.sampler import SampledSounds
from jamd.engine.sounds import SoundCache

SR = 48000
PATCHES = ("keys/clean-guitar", "keys/nylon", "bass/pluck-upright", "keys/grand")
PITCHES = (40, 52, 60, 67, 76, 88)


def sounds_of(name: str) -> PluckSounds | SampledSounds:
    patch = PatchLibrary(default_patch_dirs()).load(name)
    if isinstance(patch, PluckPatch):
        return PluckSounds(patch, SR, cache=SoundCache(max_bytes=0))  # every call renders
    assert isinstance(patch, SamplerPatch)
    return SampledSounds(patch, SR, cache=SoundCache(max_bytes=0))


def render_costs(name: str, repeat: int) -> dict[int, float]:
    """Milliseconds to render one note, per pitch (the loudest layer), median of ``repeat``."""
    sounds = sounds_of(name)
    costs = {}
    for pitch in PITCHES:
        runs = []
        for _ in range(repeat):
            began = time.perf_counter()
            sounds(float(pitch), 1.0)
            runs.append(time.perf_counter() - began)
        costs[pitch] = 1000.0 * statistics.median(runs)
    return costs


def mix_cost(name: str, notes: int, window: int, repeat: int) -> float:
    """Microseconds of ``HitScheduler.render`` per sounding note per second of audio."""
    sounds = sounds_of(name)
    rendered = {pitch: sounds(float(pitch), 0.8) for pitch in range(48, 48 + notes)}
    runs = []
    for _ in range(repeat):
        ring = np.zeros(1 << 16, dtype=np.float32)
        scheduler = HitScheduler(
            lambda pitch, _velocity: rendered[round(pitch)], rings=[ring], voices=16, release=9600
        )
        for pitch in rendered:
            scheduler.add(Note("keys", 0, SR, float(pitch), 0.8))
        shortest = min(sound.shape[1] for sound in rendered.values())
        span = min(SR, shortest)  # every note sounds the whole time measured
        began = time.perf_counter()
        for start in range(0, span - window + 1, window):
            scheduler.render(start, start + window)
        elapsed = time.perf_counter() - began
        runs.append(elapsed / (span // window * window / SR) / notes)
    return 1e6 * statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs per figure; the median is shown"
    )
    arguments = parser.parse_args()
    print("render, ms per note (loudest layer), by MIDI pitch")
    print(f"{'patch':<20} " + " ".join(f"{pitch:>7}" for pitch in PITCHES))
    for name in PATCHES:
        costs = render_costs(name, arguments.repeat)
        print(f"{name:<20} " + " ".join(f"{costs[pitch]:>7.2f}" for pitch in PITCHES))
    print("\nmix, us of numpy per sounding note per second of audio")
    print(f"{'patch':<20} {'notes':>5} {'20 ms windows':>14} {'16384-sample blocks':>20}")
    for name in PATCHES:
        for notes in (1, 6, 12):
            live = mix_cost(name, notes, SR // 50, arguments.repeat)
            offline = mix_cost(name, notes, 16384, arguments.repeat)
            print(f"{name:<20} {notes:>5} {live:>14.0f} {offline:>20.0f}")


if __name__ == "__main__":
    main()

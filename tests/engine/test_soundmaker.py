"""The sound worker: what it makes in its own process is the sound the engine would make itself,
sample for sample; a worker that dies is said once, and the engine makes its sounds from then on."""

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from jamd.engine.patches import PatchLibrary, PluckPatch, SamplerPatch, default_patch_dirs
from jamd.engine.pluck import PluckSounds
from jamd.engine.sampler import SampledSounds
from jamd.engine.soundmaker import SoundMaker
from processes import orphans_of_a_killed_parent

SR = 48000


def _patch(name: str) -> PluckPatch | SamplerPatch:
    patch = PatchLibrary(default_patch_dirs()).load(name)
    assert isinstance(patch, PluckPatch | SamplerPatch), name
    return patch


def _sounds(patch: PluckPatch | SamplerPatch) -> PluckSounds | SampledSounds:
    return PluckSounds(patch, SR) if isinstance(patch, PluckPatch) else SampledSounds(patch, SR)


@pytest.fixture
def maker() -> "SoundMaker":
    made = SoundMaker()
    made.start()
    yield made
    made.close()


@pytest.mark.parametrize("name", ["keys/grand", "keys/nylon", "bass/pluck-upright"])
def test_the_worker_makes_the_sound_the_engine_would(maker: SoundMaker, name: str) -> None:
    patch = _patch(name)
    maker.prepare(patch, SR)
    sounds = _sounds(patch)
    for pitch, velocity in ((40.0, 0.3), (60.0, 0.8), (84.0, 1.0)):
        key = sounds.key(pitch, velocity)
        assert key is not None
        maker.warm(sounds, pitch, velocity)
        assert key in sounds.cache  # made in the worker, put in the instrument's cache
        from_worker = sounds.cache.get(key, lambda: pytest.fail("not in the cache"))
        here = _sounds(patch).make(key)
        assert from_worker.dtype == here.dtype
        assert np.array_equal(from_worker, here)
        assert np.abs(from_worker).max() > 0.01  # a sound, not silence
    assert sounds.cache.rendered == 3
    maker.warm(sounds, 60.0, 0.8)  # kept already: not asked for again
    assert sounds.cache.rendered == 3


def test_a_dead_worker_is_said_once_and_the_engine_makes_the_sounds(
    maker: SoundMaker, caplog: pytest.LogCaptureFixture
) -> None:
    patch = _patch("keys/nylon")
    sounds = _sounds(patch)
    maker.warm(sounds, 60.0, 0.8)
    assert len(sounds.cache) == 1
    pool = maker._pool
    assert pool is not None
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    with caplog.at_level(logging.ERROR, logger="jamd.engine.soundmaker"):
        maker.warm(sounds, 62.0, 0.8)
        maker.warm(sounds, 64.0, 0.8)
    said = [r for r in caplog.records if "the sound worker failed" in r.getMessage()]
    assert len(said) == 1
    assert len(sounds.cache) == 1  # nothing more from the worker: left to the writer
    key = sounds.key(62.0, 0.8)
    made = sounds.cache.get(key, lambda: sounds.make(key))  # as the writer does when it is due
    assert np.abs(made).max() > 0.01
    maker.prepare(patch, SR)  # no worker to ask: nothing happens, nothing raises


KILLED_ENGINE = """
import multiprocessing, os
from jamd.engine.soundmaker import SoundMaker

if __name__ == "__main__":
    maker = SoundMaker()
    maker.start()
    maker._pool.submit(int).result()  # the worker is up
    print(*(child.pid for child in multiprocessing.active_children()), flush=True)
    os.kill(os.getpid(), 9)
"""


def test_the_worker_ends_when_the_engine_is_killed(tmp_path: Path) -> None:
    assert orphans_of_a_killed_parent(KILLED_ENGINE, tmp_path) == []

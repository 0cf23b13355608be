"""Pitched one-shots (a sampler's shifted notes, a pluck's strings) made in a process of their own.

Making one is 1 to 14 ms of numpy, and numpy holds the GIL for most of it: on a thread of the
engine's process that is time pyo's audio callback waits for its GIL, and under JACK it cost
xruns (a change to the sampled grand, then its first bar of new pitches: 4 runs in 9 of
tests/app/test_patch_swaps.py failed with it, 0 in 5 without it). So the live engine's warmer
thread asks a worker process for each sound and waits for it without the GIL; the sound comes
back as an array (a pipe and a copy) and goes into the instrument's cache, where the writer
finds it when the note is due. The worker runs at a lower priority than the engine: its sounds
are wanted a bar ahead, the audio now. It does not clear the test on its own: with it, the
same test still failed 4 runs in 6 on 2026-12-02 (xruns in the change windows of the grand and
the epiano; docs/performance.md has what followed).

Should the worker fail, the writer makes each sound when its note is due (said once in the
log), as it does for a note too soon to hand to the worker (a key played live).
"""

import logging
import multiprocessing
import os
from collections import OrderedDict
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from jamd.engine.patches import PluckPatch, SamplerPatch
from jamd.engine.pluck import PluckSounds
from jamd.engine.process import die_with_parent
from jamd.engine.sampler import SampledSounds
from jamd.engine.sounds import Sound

log = logging.getLogger(__name__)

WORKER_NICE = 5
"""The worker's niceness: below the engine's writer and JACK's threads."""

_KEPT = 8  # instruments the worker keeps ready (a sampler's recordings stay read)


class SoundMaker:
    """Makes pitched sounds in a worker process, from ``start`` until the worker fails."""

    def __init__(self) -> None:
        self._pool: Executor | None = None
        self._failed = False

    def start(self) -> None:
        """Start the worker now (it takes a few tenths of a second to import numpy)."""
        if self._pool is None and not self._failed:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                1, mp_context=context, initializer=_prepare_worker, initargs=(os.getpid(),)
            )
            self._pool.submit(int)  # the worker starts now, not at the first note

    def prepare(self, patch: PluckPatch | SamplerPatch, sample_rate: int) -> None:
        """Have the worker ready ``patch`` (a sampler's recordings read) before its notes."""
        if self._pool is not None:
            self._pool.submit(_ready, patch, sample_rate).add_done_callback(_said)

    def warm(self, sounds: PluckSounds | SampledSounds, pitch: float, velocity: float) -> None:
        """Put the note's sound into its instrument's cache (runs on the warmer thread)."""
        key = sounds.key(pitch, velocity)
        if key is None or key in sounds.cache:
            return
        if self._pool is not None:
            try:
                made = self._pool.submit(_make, sounds.patch, sounds.sample_rate, key).result()
            except BrokenProcessPool as error:
                self._give_up(error)
                return  # the writer makes it when the note is due
            except Exception as error:  # noqa: BLE001  (e.g. a recording changed on disk)
                log.debug("the sound worker could not make %s: %s", key, error)
                return  # the writer tries, and says why once
            sounds.cache.put(key, made)

    def _give_up(self, error: BaseException) -> None:
        if not self._failed:
            log.error("the sound worker failed (%s): sounds are made in the engine now", error)
        self._failed = True
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _prepare_worker(engine: int) -> None:
    """In the worker, first: killed when the engine's process dies (it would outlive a killed
    engine otherwise; the thread that spawned it is the engine's for its life); at
    ``WORKER_NICE``."""
    die_with_parent(engine)
    os.setpriority(os.PRIO_PROCESS, 0, max(WORKER_NICE, os.getpriority(os.PRIO_PROCESS, 0)))


_makers: OrderedDict[tuple[PluckPatch | SamplerPatch, int], PluckSounds | SampledSounds] = (
    OrderedDict()
)


def _maker(patch: PluckPatch | SamplerPatch, sample_rate: int) -> PluckSounds | SampledSounds:
    """The instrument that makes ``patch``'s sounds, kept for the next note (in the worker)."""
    maker = _makers.get((patch, sample_rate))
    if maker is None:
        maker = (  # only ``make`` is called here: their caches stay empty
            PluckSounds(patch, sample_rate)
            if isinstance(patch, PluckPatch)
            else SampledSounds(patch, sample_rate)
        )
        _makers[(patch, sample_rate)] = maker
        while len(_makers) > _KEPT:
            _makers.popitem(last=False)
    else:
        _makers.move_to_end((patch, sample_rate))
    return maker


def _said(job: "Future[None]") -> None:
    if not job.cancelled() and (error := job.exception()) is not None:
        log.warning("the sound worker could not ready a patch: %s", error)


def _ready(patch: PluckPatch | SamplerPatch, sample_rate: int) -> None:
    """The worker's side: the patch's instrument made, a sampler's recordings read."""
    maker = _maker(patch, sample_rate)
    if isinstance(maker, SampledSounds):
        maker.load()


def _make(patch: PluckPatch | SamplerPatch, sample_rate: int, key: tuple[int, int]) -> Sound:
    """The worker's side: one sound."""
    return _maker(patch, sample_rate).make(key)

"""The training side's worker processes: one pool, spawned, at idle priority, started ahead.

One ``WorkerPool`` serves a trainer and its MIDI source (the source's files, then the model's
fit, one genre after another). Spawned, not forked: the daemon's process has threads
(aiosqlite's, MIDI's, the engine's pipe) a fork would copy mid-lock, and a forkserver would
outlive the pool.

Each worker runs SCHED_IDLE (niced by ``WORKER_NICENESS`` too, where there is no SCHED_IDLE):
any thread of the daemon that wakes takes a core from a worker at once. Niced alone, a worker
kept a core for up to a scheduler slice (0.75 ms) from a daemon thread that woke to take the
GIL, or held it, while the loop waited for the GIL behind that thread: with the loop's thread
on SCHED_FIFO and the workers started ahead, a refresh's longest stall was 0.38 to 2.05 ms
niced against 0.37 to 0.90 ms idle, at the same files per second (docs/performance.md; with
the loop at ordinary priority and workers spawned mid-refresh, idle had only made the refresh
slower).

The daemon starts its workers (``start``) before READY=1, and they wait, idle, between
refreshes: a process spawned while the music plays held the loop up 3 to 10 ms (the new
interpreter's start takes a core at the daemon's priority, and the thread that spawned it
holds the GIL meanwhile when it is the one preempted). ``jamd train`` starts them at its
first file. Until they are started, work is submitted from a thread (a submit may spawn a
worker, ~10 ms the loop would otherwise wait); once they are, from the loop (a submit that
spawns nothing is some 30 us: one thread's hand-over less, in and out, for each task). A worker
that dies (``BrokenProcessPool``) takes its pool with it: the next submit starts a new one.
"""

import asyncio
import logging
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from jamd.engine.process import die_with_parent

logger = logging.getLogger(__name__)

WORKER_NICENESS = 10  # without SCHED_IDLE: how much lower the workers' priority is
START_SECONDS = 60.0  # how long ``WorkerPool.start`` waits for every worker to be there

T = TypeVar("T")


class WorkerPool:
    """``workers`` spawned worker processes at idle priority (module docstring), started at
    the first ``submit`` or by ``start``."""

    def __init__(self, workers: int = 1) -> None:
        if not 1 <= workers <= 64:
            raise ValueError(f"workers must be 1..64, got {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._started: ProcessPoolExecutor | None = None  # the pool whose workers all run
        self._making = asyncio.Lock()  # a start and a refresh's first submit make one pool

    @property
    def started(self) -> bool:
        """Whether every worker runs (``start`` ended, and none has died since)."""
        return self._started is not None and self._started is self._pool

    async def start(self) -> list[int]:
        """Every worker spawned and answering now; their process ids. One task a worker, each
        waiting for all to be there (so no worker takes two), in a folder of their pids."""
        pool = await self._running()
        with tempfile.TemporaryDirectory(prefix="jamd-workers-") as folder:
            futures = await asyncio.to_thread(_submit_each, pool, self.workers, folder)
            pids = list(await asyncio.gather(*(self._wrap(pool, future) for future in futures)))
        if self._pool is pool:
            self._started = pool
        return pids

    async def submit(self, function: Callable[..., T], *args: Any) -> "asyncio.Future[T]":
        """``function(*args)`` in a worker, submitted from the loop once every worker runs, from
        a thread before (the submit may spawn one); its future, for the loop."""
        pool = await self._running()
        try:
            if pool is self._started:  # all its workers run: this spawns none
                future = pool.submit(function, *args)
            else:
                future = await asyncio.to_thread(pool.submit, function, *args)
        except BrokenProcessPool:
            self._lost(pool)
            raise
        return self._wrap(pool, future)

    async def close(self) -> None:
        """Stops the workers (waiting for them, off the loop); a later submit starts new ones."""
        pool, self._pool, self._started = self._pool, None, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def _running(self) -> ProcessPoolExecutor:
        """The pool, made in a thread the first time (2.6 ms of Python, then 0.4 to 0.7 ms) and
        kept before anything is submitted to it, so that close() finds what was started."""
        async with self._making:
            if self._pool is None:
                self._pool = await asyncio.to_thread(
                    ProcessPoolExecutor,
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=prepare_worker,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def _wrap(self, pool: ProcessPoolExecutor, future: "Future[T]") -> "asyncio.Future[T]":
        wrapped = asyncio.wrap_future(future)
        wrapped.add_done_callback(partial(self._check, pool))
        return wrapped

    def _check(self, pool: ProcessPoolExecutor, future: "asyncio.Future[Any]") -> None:
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            self._lost(pool)

    def _lost(self, pool: ProcessPoolExecutor) -> None:
        """A worker of ``pool`` died: the pool is let go (once), the next submit starts anew."""
        if self._pool is pool:
            logger.error("a training worker process died; the next task starts new workers")
            self._pool = self._started = None
            pool.shutdown(wait=False, cancel_futures=True)


def _submit_each(pool: ProcessPoolExecutor, count: int, folder: str) -> list["Future[int]"]:
    """``count`` submits in a row: none finds a worker idle yet, so each spawns one."""
    return [pool.submit(_present, folder, count) for _ in range(count)]


def _present(folder: str, count: int) -> int:
    """In a worker: its pid in ``folder``, then a wait until ``count`` are there."""
    Path(folder, str(os.getpid())).touch()
    deadline = time.monotonic() + START_SECONDS
    while len(os.listdir(folder)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(os.listdir(folder))} of {count} workers started")
        time.sleep(0.01)
    return os.getpid()


def prepare_worker(parent: int) -> None:
    """In a worker process, first: killed when the daemon dies (an idle worker would outlive
    it otherwise; the pools are closed before the threads that spawn workers end); SCHED_IDLE,
    niced by ``WORKER_NICENESS``; deaf to the signals the daemon acts on (a Ctrl-C in a
    terminal reaches the whole process group; the daemon then closes the pool itself)."""
    die_with_parent(parent)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    try:
        os.nice(WORKER_NICENESS)
        if hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError as error:
        logger.warning("a training worker could not lower its priority: %s", error)

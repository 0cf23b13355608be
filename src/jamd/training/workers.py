"""The training side's worker processes: spawned, niced, and handed work from a thread.

Spawned, not forked: the daemon's process has threads (aiosqlite's, MIDI's, the engine's pipe)
a fork would copy mid-lock, and a forkserver would outlive the pool. Niced by
``WORKER_NICENESS``, so that on a machine of few cores the daemon's loop and the engine win
the CPU (SCHED_IDLE was tried twice: a refresh took a third longer, then 8 % longer, for no
clear gain in the loop's stalls nor in its waits for a core). Pools are made and work is
submitted from a thread: a submit may spawn a worker, ~10 ms the event loop would otherwise
wait.
"""

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

WORKER_NICENESS = 10  # how much lower the workers' CPU priority is than the daemon's

T = TypeVar("T")


async def make_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned, niced processes, made in a thread (2.6 ms of Python the
    first time, 0.4 to 0.7 ms after, which the event loop would wait). It starts its processes
    at the first submit, so a caller cancelled while it is made leaves nothing running."""
    return await asyncio.to_thread(
        ProcessPoolExecutor,
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=lower_priority,
    )


async def submit(pool: Executor, function: Callable[..., T], *args: Any) -> "asyncio.Future[T]":
    """``function(*args)`` on the pool, submitted from a thread; its future, for the loop."""
    return asyncio.wrap_future(await asyncio.to_thread(pool.submit, function, *args))


def lower_priority() -> None:
    """In a worker process, first: niced by ``WORKER_NICENESS``."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError as error:
        logger.warning("a training worker could not lower its priority: %s", error)

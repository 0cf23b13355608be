"""The training side's worker processes (jamd.training.workers.WorkerPool): started ahead,
niced, shared by the MIDI source and the trainer, started anew when one dies."""

import asyncio
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from jamd.settings import MidiLibrary
from jamd.training.midilib import MidiLibrarySource
from jamd.training.workers import WORKER_NICENESS, WorkerPool
from processes import gone, orphans_of_a_killed_parent

ORPHANING = """
import asyncio, os
from jamd.training.workers import WorkerPool

async def main():
    print(*await WorkerPool(2).start(), flush=True)
    os.kill(os.getpid(), 9)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_start_spawns_every_worker_niced_and_later_work_goes_to_them() -> None:
    async def perform() -> tuple[list[int], set[int], list[int], list[int]]:
        pool = WorkerPool(2)
        try:
            started = await pool.start()
            nice = [os.getpriority(os.PRIO_PROCESS, pid) for pid in started]
            policies = [os.sched_getscheduler(pid) for pid in started]
            ran = {await (await pool.submit(os.getpid)) for _ in range(12)}
        finally:
            await pool.close()
        return started, ran, nice, policies

    started, ran, nice, policies = asyncio.run(perform())
    assert len(set(started)) == 2
    assert ran <= set(started)  # no new process for the work after start
    assert nice == [os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS] * 2
    assert policies == [os.SCHED_IDLE] * 2  # a daemon thread that wakes takes the core
    assert all(gone(pid) for pid in started)  # close() waited for them


def test_a_start_and_a_first_submit_at_once_make_one_pool() -> None:
    async def perform() -> tuple[list[int], int]:
        pool = WorkerPool(1)
        try:
            started, future = await asyncio.gather(pool.start(), pool.submit(os.getpid))
            return started, await future
        finally:
            await pool.close()

    started, ran = asyncio.run(perform())
    assert [ran] == started


def test_a_dead_worker_fails_its_task_and_the_next_submit_starts_a_new_one() -> None:
    async def perform() -> tuple[int, int]:
        pool = WorkerPool(1)
        try:
            assert not pool.started
            (first,) = await pool.start()
            assert pool.started
            sleeping = await pool.submit(time.sleep, 30)
            await asyncio.sleep(0.2)  # the worker has taken the task
            os.kill(first, signal.SIGKILL)
            with pytest.raises(BrokenProcessPool):
                await sleeping
            assert not pool.started  # the next submit starts the new pool from a thread
            second = await (await pool.submit(os.getpid))
            assert await (await pool.submit(os.getpid)) == second  # one new pool, kept
            return first, second
        finally:
            await pool.close()

    first, second = asyncio.run(perform())
    assert second != first


def test_the_workers_end_when_the_daemon_is_killed(tmp_path: Path) -> None:
    assert orphans_of_a_killed_parent(ORPHANING, tmp_path) == []


def test_a_source_leaves_a_shared_pool_running_when_it_closes(tmp_path: Path) -> None:
    async def perform() -> tuple[list[int], int]:
        pool = WorkerPool(1)
        try:
            started = await pool.start()
            source = MidiLibrarySource(MidiLibrary(folders=(tmp_path,)), genres=["pop"], pool=pool)
            await source.close()
            return started, await (await pool.submit(os.getpid))
        finally:
            await pool.close()

    started, ran = asyncio.run(perform())
    assert [ran] == started


@pytest.mark.parametrize("workers", [0, 65])
def test_a_worker_count_out_of_range_is_refused(workers: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.64"):
        WorkerPool(workers)

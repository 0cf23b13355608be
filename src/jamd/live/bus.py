"""The command bus: every surface puts commands on it; one task (the daemon's) takes them off.

It is bounded. A continuous command (a fader) supersedes a queued one on the same control, so
a flood of moves on one fader costs one command; past ``continuous_limit`` the oldest fader
moves are dropped. Discrete commands (transport, sections, harmony) are never dropped: past
``discrete_limit`` a new one is refused with an error its sender hears, the queue untouched.

Each submission returns a future: the ``Outcome`` (where it lands) or the error that refused
it. Threads other than the loop's (MIDI callbacks) use ``submit_threadsafe``.
"""

import asyncio
import concurrent.futures
import itertools
import logging
from dataclasses import dataclass, replace

from jamd.live.commands import Command, CommandError

log = logging.getLogger("jamd.live")


@dataclass(frozen=True, slots=True)
class BusStats:
    submitted: int = 0
    superseded: int = 0  # a newer move of the same control took its place
    dropped: int = 0  # continuous commands dropped, oldest first, past the bound
    refused: int = 0  # discrete commands refused past the bound


class CommandBus:
    def __init__(self, *, continuous_limit: int = 256, discrete_limit: int = 1024) -> None:
        self.continuous_limit = continuous_limit
        self.discrete_limit = discrete_limit
        self._queue: dict[int, tuple[Command, asyncio.Future[object]]] = {}
        self._by_control: dict[tuple[object, ...], int] = {}
        self._continuous = 0
        self._numbers = itertools.count()
        self._waiter: asyncio.Future[None] | None = None  # the task in ``wait``, if any
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stats = BusStats()

    def __len__(self) -> int:
        return len(self._queue)

    def submit(self, command: Command) -> "asyncio.Future[object]":
        """Queue ``command`` (on the loop's thread); the future holds its outcome."""
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        future: asyncio.Future[object] = loop.create_future()
        stats = self.stats
        if command.continuous:
            earlier = self._by_control.pop(command.control, None)
            if earlier is not None:
                _, superseded = self._queue.pop(earlier)
                self._continuous -= 1
                if not superseded.done():
                    superseded.set_result(None)
                stats = _count(stats, superseded=1)
            while self._continuous >= self.continuous_limit:
                self._drop_oldest_continuous()
                stats = _count(stats, dropped=1)
        elif len(self._queue) - self._continuous >= self.discrete_limit:
            self.stats = _count(stats, refused=1)
            future.set_exception(
                CommandError(f"busy: {self.discrete_limit} commands are waiting; try again")
            )
            return future
        number = next(self._numbers)
        self._queue[number] = (command, future)
        if command.continuous:
            self._by_control[command.control] = number
            self._continuous += 1
        self.stats = _count(stats, submitted=1)
        self.wake()
        return future

    def submit_threadsafe(
        self, command: Command, loop: asyncio.AbstractEventLoop
    ) -> "concurrent.futures.Future[object]":
        """From any thread: queue ``command`` on ``loop``'s thread."""

        async def submit() -> object:
            return await self.submit(command)

        return asyncio.run_coroutine_threadsafe(submit(), loop)

    async def wait(self, timeout: float) -> bool:
        """Until a command is queued or ``timeout`` passes; whether one is. (A future and a
        timer: ``asyncio.wait_for`` makes a task each time, a cost on every command's path.)"""
        if not self._queue:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return bool(self._queue)

    def wake(self) -> None:
        """Wake the waiting task (a command came, or a signal arrived)."""
        if self._waiter is not None:
            _wake(self._waiter)

    def take(self) -> list[tuple[Command, "asyncio.Future[object]"]]:
        """Everything queued, oldest first."""
        items = list(self._queue.values())
        self._queue.clear()
        self._by_control.clear()
        self._continuous = 0
        return items

    def _drop_oldest_continuous(self) -> None:
        number = next(n for n, (command, _) in self._queue.items() if command.continuous)
        command, future = self._queue.pop(number)
        self._by_control.pop(command.control, None)
        self._continuous -= 1
        if not future.done():
            future.set_exception(CommandError("dropped: too many control moves at once"))
            future.exception()  # nobody may be waiting for it: mark it retrieved


def _wake(waiter: "asyncio.Future[None]") -> None:
    if not waiter.done():
        waiter.set_result(None)


def _count(stats: BusStats, **increments: int) -> BusStats:
    return replace(stats, **{name: getattr(stats, name) + n for name, n in increments.items()})

"""The command bus: fader moves coalesce, floods drop the oldest, discrete commands never."""

import asyncio
import threading

import pytest

from jamd.live.bus import CommandBus
from jamd.live.commands import CommandError, Fill, NextSection, SetLevel, SetTempo


def test_a_newer_move_of_a_control_supersedes_the_queued_one() -> None:
    async def scenario() -> None:
        bus = CommandBus()
        first = bus.submit(SetLevel("bass", -3.0))
        other = bus.submit(SetLevel("keys", -1.0))
        second = bus.submit(SetLevel("bass", -6.0))
        assert first.done()
        assert first.result() is None  # superseded: nothing to report
        taken = [command for command, _ in bus.take()]
        assert taken == [SetLevel("keys", -1.0), SetLevel("bass", -6.0)]
        assert bus.stats.superseded == 1
        assert not other.done()
        assert not second.done()

    asyncio.run(scenario())


def test_a_flood_drops_the_oldest_moves_and_keeps_every_discrete_command() -> None:
    async def scenario() -> None:
        bus = CommandBus(continuous_limit=4, discrete_limit=3)
        futures = [bus.submit(SetTempo(100.0 + n)) for n in range(1)]
        futures += [bus.submit(SetLevel(part, -1.0)) for part in ("drums", "bass", "keys", "pad")]
        discrete = [bus.submit(Fill()), bus.submit(NextSection()), bus.submit(Fill())]
        refused = bus.submit(NextSection())
        assert bus.stats.dropped == 1
        with pytest.raises(CommandError, match="too many control moves"):
            futures[0].result()  # the oldest fader move, the tempo
        with pytest.raises(CommandError, match="busy: 3 commands are waiting"):
            refused.result()
        kinds = [type(command).__name__ for command, _ in bus.take()]
        assert kinds.count("SetLevel") == 4
        assert kinds.count("Fill") + kinds.count("NextSection") == 3
        assert all(not future.done() for future in discrete)

    asyncio.run(scenario())


def test_other_threads_submit_through_the_loop() -> None:
    async def scenario() -> None:
        bus = CommandBus()
        loop = asyncio.get_running_loop()
        results = []

        def midi_thread() -> None:
            results.append(bus.submit_threadsafe(SetTempo(99.0), loop))

        thread = threading.Thread(target=midi_thread)
        thread.start()
        while not len(bus):
            await asyncio.sleep(0.001)
        thread.join()
        ((command, future),) = bus.take()
        assert command == SetTempo(99.0)
        future.set_result("landed")
        while not results[0].done():
            await asyncio.sleep(0.001)
        assert results[0].result() == "landed"

    asyncio.run(scenario())


def test_waiting_wakes_on_a_command_or_times_out() -> None:
    async def scenario() -> None:
        bus = CommandBus()
        assert await bus.wait(0.01) is False
        asyncio.get_running_loop().call_later(0.01, bus.submit, Fill())
        assert await bus.wait(5.0) is True

    asyncio.run(scenario())

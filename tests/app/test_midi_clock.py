"""MIDI clock against the running daemon, over real JACK MIDI (``jackd -d dummy``).

The master and the listener are JACK clients in processes of their own (tests/app/jackpeers.py)
that write and read every message at its exact frame, as a DAW does.
"""

import asyncio
import itertools
import multiprocessing
import statistics
from typing import Any

from helpers import click_settings, playing, until, wait_for_the_host
from jackpeers import RATE, clock_master, listener

from jamd.app.daemon import Daemon
from jamd.live.commands import CommandError, Play, SetTempo, Stop
from jamd.live.session import Transport

MIDI = {"midi.api": "jack", "midi.rescan_seconds": 0.2, "midi.inputs": []}
SPAWN = multiprocessing.get_context("spawn")


async def _received(connection: Any) -> Any:
    while not connection.poll():
        await asyncio.sleep(0.02)
    return connection.recv()


async def follow(daemon: Daemon, mine: Any, tempos: list[float]) -> None:
    """The daemon through the master's Start, ramp and Stop. The bounds are the following's,
    not its precision: RtMidi's JACK timestamps wobble with the machine's load, and
    bench/midi.py measures how close it gets."""
    assert daemon.clock_follow is not None
    await until(lambda: daemon.session.section != "", seconds=20)
    assert daemon.session.transport is Transport.PLAYING
    assert daemon.session.section.startswith("intro")  # the song's top, no count-in
    assert daemon.session.bar == 1
    refused = daemon.submit(SetTempo(90.0))
    await asyncio.wait([refused])
    assert isinstance(refused.exception(), CommandError)
    tempos_seen: list[float] = []
    while not mine.poll():
        tempos_seen.append(daemon.session.tempo)
        await asyncio.sleep(0.05)
    ticks, _ = mine.recv()
    await until(lambda: daemon.session.transport is Transport.STOPPED)
    bpm = daemon.clock_follow.follower.bpm
    assert bpm is not None
    assert abs(bpm - 128.0) <= 1.0
    assert len(ticks) == len(tempos)
    # the band's tempo went up with the master's and ended at its last
    assert min(tempos_seen) >= 118.0
    assert max(tempos_seen) <= 130.0
    assert abs(tempos_seen[-1] - 128.0) <= 1.0


def test_jamd_follows_a_ramp_from_120_to_128_and_stops_with_the_master(on_jack: str) -> None:
    tempos = [120.0] * 96 + [120.0 + 8.0 * i / 384 for i in range(384)] + [128.0] * 192

    wait_for_the_host()  # a ramp read off ticks a stolen VM delayed is not the master's

    async def perform() -> None:
        daemon = Daemon(click_settings(on_jack, **MIDI, **{"midi.clock": "follow"}))
        async with playing(daemon):
            assert daemon.clock_follow is not None
            assert daemon.session.transport is Transport.STOPPED  # it waits for the Start
            mine, theirs = SPAWN.Pipe()
            master = SPAWN.Process(target=clock_master, args=(on_jack, tempos, 0, theirs))
            master.start()
            try:
                await follow(daemon, mine, tempos)
            finally:  # a master left ticking would load the next tests' JACK graph
                master.terminate()
                master.join()

    asyncio.run(perform())


def test_jamd_sends_24_ticks_a_beat_on_exact_frames_with_start_and_stop(on_jack: str) -> None:
    async def perform() -> None:
        daemon = Daemon(
            click_settings(on_jack, **MIDI, **{"midi.clock": "send", "live.autoplay": False})
        )
        async with playing(daemon):
            assert daemon.clock_out is not None
            mine, theirs = SPAWN.Pipe()
            peer = SPAWN.Process(target=listener, args=(on_jack, 6.0, theirs))
            peer.start()
            assert await _received(mine) == "listening"
            await asyncio.sleep(0.3)  # the connection is made
            daemon.submit(Play())
            await asyncio.sleep(3.0)
            daemon.submit(Stop())
            got = await _received(mine)
            peer.join()
        kinds = [message[0] for _, message in got if message[0] >= 0xF0]
        start, stop = kinds.index(0xFA), kinds.index(0xFC)
        assert start < kinds.index(0xF8)
        assert 0xF8 not in kinds[stop:]
        ticks = [frame for frame, message in got if message == b"\xf8"]
        intervals = [b - a for a, b in itertools.pairwise(ticks)]
        assert statistics.median(intervals) == RATE * 60 / (120 * 24)  # 1000 frames at 120 BPM
        on_frame = [i for i in intervals if abs(i - 1000) <= 1]
        # most on their exact frame (some runs here put a fifth of a 3 s run off it: not yet
        # understood, see docs/performance.md; bench/midi.py measures the jitter)
        assert len(on_frame) >= 0.75 * len(intervals)
        assert len(ticks) >= 24 * 5  # the 3 s played: six beats and more

    asyncio.run(perform())


def test_jamd_stops_cleanly_while_a_master_is_still_sending(on_jack: str) -> None:
    """MIDI in closes while RtMidi's thread is delivering ticks (a hang seen in a stress test
    of close with a callback; this run does not show it every time, it shows the exit)."""

    async def perform() -> None:
        daemon = Daemon(click_settings(on_jack, **MIDI, **{"midi.clock": "follow"}))
        _, theirs = SPAWN.Pipe()
        master = SPAWN.Process(target=clock_master, args=(on_jack, [120.0] * 2400, 0, theirs))
        try:
            async with playing(daemon):
                master.start()
                await until(lambda: daemon.session.section != "", seconds=20)
                await asyncio.sleep(0.5)  # ticking: the daemon stops now, mid-stream
            assert daemon.stopped_at is not None
        finally:
            master.terminate()
            master.join()

    asyncio.run(perform())

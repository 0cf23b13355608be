"""The daemon in this process, on a real JACK server (dummy driver) or the silent backend.

Commands go through the daemon's real bus to its conductor; the engine runs in its own process
on JACK; what lands where is read from the recording the engine made, sample by sample, and
compared with the beats the tempo map promised.
"""

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
from helpers import click_settings, notify_socket, playing

from audio import onsets
from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.engine.interface import Recording
from jamd.engine.wavfile import read_wav
from jamd.live.commands import GotoSection, SetLevel, SetTempo


async def until_beat(daemon: Daemon, beat: float) -> None:
    tempo = daemon.conductor.tempo_map if daemon.conductor else None
    assert tempo is not None
    while daemon.engine.position() < tempo.sample_at(beat):
        await asyncio.sleep(0.005)


def test_commands_land_on_their_boundaries_in_the_recorded_audio(
    jack_server: str, tmp_path: Path
) -> None:
    stems = tmp_path / "stems"

    async def perform() -> tuple[list[int], list[int], Any, Any]:
        daemon = Daemon(click_settings(jack_server), recording=Recording(stems=stems))
        async with playing(daemon):
            await until_beat(daemon, 17.5)  # a verse beat (count-in 0-3, intro 4-11, verse 12-)
            tempo = await daemon.submit(SetTempo(150.0))
            await until_beat(daemon, 21.3)  # the verse's third bar (beats 20-23)
            jump = await daemon.submit(GotoSection("chorus"))
            await until_beat(daemon, 30.5)
            assert daemon.conductor is not None
            segments = daemon.conductor.tempo_map.segments  # type: ignore[union-attr]
        drums, rate = read_wav(stems / "drums.wav")
        assert rate == 48000
        return onsets(drums[:, 0]), [int(s.sample) for s in segments], tempo, jump

    clicks, _, tempo, jump = asyncio.run(perform())
    assert tempo.beat == 18
    assert jump.beat == 24
    start = clicks[0]  # the count-in's first stick: beat 0
    old, new = 24000, 19200  # samples per beat at 120 and 150 BPM
    expected = [start + beat * old for beat in range(19)]  # beats 0..18 at the old tempo
    expected += [expected[-1] + n * new for n in range(1, 13)]  # beats 19..30 at the new one
    # a click on every beat, within a sample (as offline: a click's first sample can fall
    # under the threshold), besides the intro's fill on beat 11
    errors = [min(abs(click - beat) for click in clicks) for beat in expected]
    assert max(errors) <= 1, [(i, e) for i, e in enumerate(errors) if e]
    assert len(clicks) == len(expected) + 3  # the fill's other three strokes, nothing else
    assert abs(tempo.at - (start + 18 * old)) <= 1
    assert abs(jump.at - (start + 18 * old + 6 * new)) <= 1
    chorus = [c for c in clicks if c >= jump.at - 1]
    assert len(chorus) == 7  # beats 24..30: the snares of the chorus, from its bar line


def test_ready_is_sent_only_once_audio_runs_and_the_watchdog_is_fed(
    jack_server: str, tmp_path: Path
) -> None:
    with notify_socket(tmp_path) as systemd:

        async def perform() -> tuple[int, int]:
            notifier = Notifier({"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "100000"})
            daemon = Daemon(click_settings(jack_server), notifier=notifier)
            task = asyncio.create_task(daemon.run())
            while not any("READY" in m for m in systemd.received()):
                assert not task.done(), task
                await asyncio.sleep(0.001)
            at_ready = daemon.engine.position()
            await asyncio.sleep(0.5)
            later = daemon.engine.position()
            daemon.stop()
            assert await task == 0
            return at_ready, later

        at_ready, later = asyncio.run(perform())
        messages = systemd.received()
    ready = next(m for m in messages if "READY" in m)
    assert ready["READY"] == "1"
    assert ready["STATUS"].startswith("playing click in C major, 120 BPM")
    assert at_ready > 0  # the audio clock ran before READY=1 went out
    assert later - at_ready >= 48000 * 0.4  # and keeps running (JACK's dummy driver paces it)
    pings = [m for m in messages if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 4  # every 50 ms (half of WATCHDOG_USEC) for half a second
    stopping = [i for i, m in enumerate(messages) if m.get("STOPPING") == "1"]
    assert len(stopping) == 1
    assert stopping[0] > max(i for i, m in enumerate(messages) if "WATCHDOG" in m)


def test_the_inline_engine_plays_in_the_daemons_process_on_the_null_backend(
    tmp_path: Path,
) -> None:
    master = tmp_path / "set.wav"
    settings = click_settings(None, **{"audio.engine": "inline", "music.genre": "rock"})

    async def perform() -> float:
        daemon = Daemon(settings, recording=Recording(master=master))
        async with playing(daemon):
            await asyncio.sleep(3.0)
            outcome = await daemon.submit(SetLevel("drums", -6.0))
            assert outcome.detail == "now"
            return daemon.engine.stats().position / 48000

    seconds = asyncio.run(perform())
    audio, _ = read_wav(master)
    assert len(audio) / 48000 >= seconds - 0.05
    assert float(np.sqrt(np.mean(audio[48000:] ** 2))) > 0.01


def test_with_jack_realtime_the_loop_runs_on_sched_fifo_and_goes_back_when_it_stops(
    jack_server: str, jack_realtime: bool
) -> None:
    """The loop's thread follows JACK: SCHED_FIFO under JACK's audio thread while the daemon
    plays on a realtime JACK, ordinary on one that is not; ordinary again once it stops (the
    process goes on), and the threads it starts meanwhile are ordinary."""

    async def perform() -> tuple[int, int, int]:
        async with playing(Daemon(click_settings(jack_server))) as daemon:
            while_playing = os.sched_getscheduler(0)
            seen: list[int] = []
            thread = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0)))
            thread.start()  # from the loop's thread
            thread.join()
            started = seen[0]
            assert daemon.engine.info is not None
            assert daemon.engine.info.realtime == jack_realtime
        return while_playing, started, os.sched_getscheduler(0)

    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    while_playing, started, after = asyncio.run(perform())
    fifo = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
    assert while_playing == (fifo if jack_realtime else os.SCHED_OTHER)
    assert started == os.SCHED_OTHER
    assert after == os.SCHED_OTHER

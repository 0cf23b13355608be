"""MIDI benchmark (docs/performance.md): MIDI in to the engine, following a clock, the clock sent.

The daemon runs in this process on a private JACK server (``jackd -d dummy``, 48 kHz, 256
frames) with ``midi.api = "jack"``.

- latency: one CC at a time (fader 1 of the default map: the drums' volume) to the moment the
  engine's process applied the new fader (``EngineProcess.faders_applied``, on
  ``time.monotonic``), two ways. Sent: from ``send_message`` in a process forked from the
  daemon (python-rtmidi, which waits for JACK's next cycle). From the cycle: a JACK client in
  a process of its own writes each CC into a cycle and tells when that cycle began.
- follow: with ``midi.clock = "follow"``, a master in a process of its own (a JACK client
  writing each clock byte at its exact frame, as a DAW does) sends Start and 24 ticks a beat
  into ``jamd in``: steady at 120 BPM, the same with each tick moved by up to +-1 ms at random,
  and a ramp 120 -> 128 BPM over 32 beats. Measured: the follower's tempo against the master's
  true one at each beat from the 2nd on; the tempo of the band's own beats (its tempo map);
  and the phase of the band's beats against the master's (plus jamd's delay).
- send: with ``midi.clock = "send"``, a JACK client records the frame of every clock byte jamd
  sends on ``jamd out``; the jitter is each interval's distance from 60 / (BPM * 24) s.

Run: .venv/bin/python bench/midi.py [latency|follow|send|all] [--count 1000] [--beats 64]
     [--realtime]
Targets (issue 5): p99 <= 2 ms MIDI in to engine; +-0.1 BPM on the steady clock (within 2
beats); sent-clock jitter p99 <= 1 ms.
"""

import argparse
import asyncio
import itertools
import math
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import rtmidi

import live

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "app"))
from jackpeers import RATE, clock_master, controller, listener

from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.engine.process import EngineProcess


def peer(method: str, target: Any, *args: Any) -> tuple[Any, Any]:
    """``target(*args, connection)`` in a process of its own; (the process, our end)."""
    context = multiprocessing.get_context(method)
    mine, theirs = context.Pipe()
    process = context.Process(target=target, args=(*args, theirs))
    process.start()
    return process, mine


async def answer(connection: Any) -> Any:
    """The next thing the peer sends, without holding up the daemon's loop."""
    while not connection.poll():
        await asyncio.sleep(0.02)
    return connection.recv()


def probe(engine: EngineProcess, count: int, results: Any) -> None:
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "bench-controller")
    index = next(i for i, port in enumerate(out.get_ports()) if port.endswith(":jamd in"))
    out.open_port(index)
    time.sleep(0.5)
    times = []
    for n in range(count):
        applied, _ = engine.faders_applied()
        sent = time.monotonic()
        out.send_message([0xB0, 41, 20 + n % 100])
        deadline = sent + 1.0
        while engine.faders_applied()[0] == applied and time.monotonic() < deadline:
            time.sleep(0.0001)
        done, at = engine.faders_applied()
        if done == applied + 1:
            times.append((at - sent) * 1000)
        time.sleep(0.01 + (n % 7) / 1000)
    out.close_port()
    results.send(times)


def poll_faders(engine: EngineProcess, seconds: float, results: Any) -> None:
    """Every change of the engine's applied-fader count, with its time, for ``seconds``."""
    seen, changes = engine.faders_applied()[0], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        count, at = engine.faders_applied()
        if count != seen:
            seen = count
            changes.append(at)
        time.sleep(0.0001)
    results.send(changes)


async def measure_from_frame(daemon: Daemon, server: str, count: int) -> None:
    """From the start of the JACK cycle that carries a controller's CC (on the monotonic
    clock) to the engine applying it: what jamd adds, without the sender's own wait for a
    cycle."""
    engine = daemon.engine
    assert isinstance(engine, EngineProcess)
    seconds = 3.0 + count * 7 * 256 / RATE
    poller, changes = peer("fork", poll_faders, engine, seconds)
    sender, frames = peer("spawn", controller, server, count)
    written = await answer(frames)
    applied = await answer(changes)
    sender.join()
    poller.join()
    times = []
    for moment, following in zip(written, [*written[1:], float("inf")], strict=True):
        after = [at for at in applied if moment <= at < following]
        if after:
            times.append((after[0] - moment) * 1000)
    print(
        f"latency, the CC's JACK cycle to the engine's parameter change, {len(times)} of {count}: "
        + live.percentiles(times)
    )


async def measure(server: str, count: int) -> None:
    settings = live.settings_for(server, "process")
    settings = settings.model_copy(
        update={"midi": settings.midi.model_copy(update={"api": "jack", "inputs": ()})}
    )
    daemon = Daemon(settings, notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    engine = daemon.engine
    assert isinstance(engine, EngineProcess)
    assert daemon.midi is not None
    prober, answers = peer("fork", probe, engine, count)
    times = await answer(answers)
    prober.join()
    print(
        f"latency, MIDI CC sent to the engine's parameter change, {len(times)} of {count}: "
        + live.percentiles(times)
    )
    await measure_from_frame(daemon, server, count)
    daemon.stop()
    await task


def master_tempos(mode: str, beats: int) -> list[float]:
    """The master's tempo at each tick."""
    ticks = beats * 24
    if mode != "ramp":
        return [120.0] * ticks
    steady, ramp = 8 * 24, 32 * 24
    return [
        120.0 if i < steady else min(128.0, 120.0 + 8.0 * (i - steady) / ramp) for i in range(ticks)
    ]


async def measure_follow(server: str, mode: str, beats: int) -> None:
    settings = live.settings_for(server, "process")
    midi = settings.midi.model_copy(update={"api": "jack", "inputs": (), "clock": "follow"})
    daemon = Daemon(settings.model_copy(update={"midi": midi}), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    follow, conductor, engine = daemon.clock_follow, daemon.conductor, daemon.engine
    assert follow is not None
    assert conductor is not None
    tempos = master_tempos(mode, beats)
    jitter = 48 if mode == "jitter" else 0  # +-1 ms at 48 kHz
    master, mine = peer("spawn", clock_master, server, tempos, jitter)
    band: dict[float, tuple[float, float]] = {}  # beats played: (monotonic time, song beat)
    estimates: list[tuple[float, float]] = []  # (when, the follower's BPM)
    while not mine.poll():
        await asyncio.sleep(0.01)
        tempo_map = conductor.tempo_map
        if tempo_map is None or not conductor.playing or follow.follower.bpm is None:
            continue
        estimates.append((time.monotonic(), follow.follower.bpm))
        now = tempo_map.beat_at(engine.position())
        for beat in range(math.floor(now) - 2, math.floor(now) + 1):
            song = follow.song_beat(beat)
            if song is not None and beat not in band and tempo_map.segments[0].beat <= beat:
                band[float(beat)] = (follow.audio.time_at(tempo_map.sample_at(beat)), song)
    ticks, offset = mine.recv()
    follower = follow.follower
    heard = (follower.strays, follower.lost, follower.jumps)
    master.join()
    daemon.stop()
    await task
    master_beat = [ticks[24 * b] / RATE + offset for b in range(beats)]
    true_bpm = [tempos[24 * b] for b in range(beats)]
    start = master_beat[0]
    follower_errors = []
    for b in range(2, beats - 1):  # the follower's last estimate before each beat
        before = [bpm for when, bpm in estimates if when <= master_beat[b]]
        if before:
            follower_errors.append(abs(before[-1] - true_bpm[b]))
    phase, band_errors = [], []
    for beat, (moment, song) in sorted(band.items()):
        if not 2 <= song < beats - 1 or (beat + 1) not in band:
            continue
        index = round(song)
        phase.append((moment - master_beat[index] - follow.delay) * 1000)
        length = band[beat + 1][0] - moment
        true = master_beat[index + 1] - master_beat[index]
        band_errors.append(abs(60.0 / length - 60.0 / true))
    label = {
        "steady": "steady 120 BPM",
        "jitter": "120 BPM, ticks +-1 ms",
        "ramp": "120 -> 128 BPM ramp",
    }
    print(f"clock follow, {label[mode]}, {beats} beats from the master's Start at {start:.1f}:")
    print("  follower's tempo error from beat 2: " + live.percentiles(follower_errors, "BPM"))
    print("  band's beat tempo error from beat 2: " + live.percentiles(band_errors, "BPM"))
    print("  band's beats minus the master's (+ delay): " + live.percentiles(phase))
    print(
        f"  ({len(phase)} beats compared, jamd's delay {follow.delay * 1000:.1f} ms; of "
        f"{len(ticks)} ticks, {heard[0]} left out of the fit, {heard[1]} lost on the way; "
        f"{heard[2]} jumps)"
    )


async def measure_send(server: str, seconds: float) -> None:
    settings = live.settings_for(server, "process")
    midi = settings.midi.model_copy(update={"api": "jack", "inputs": (), "clock": "send"})
    daemon = Daemon(settings.model_copy(update={"midi": midi}), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    conductor = daemon.conductor
    assert conductor is not None
    receiver, answers = peer("spawn", listener, server, seconds)
    assert await answer(answers) == "listening"
    got = await answer(answers)
    receiver.join()
    bpm = conductor.session.tempo
    daemon.stop()
    await task
    ticks = [frame for frame, message in got if message == b"\xf8"]
    nominal = 60.0 / (bpm * 24) * 1000
    jitter = [abs((b - a) / RATE * 1000 - nominal) for a, b in itertools.pairwise(ticks)]
    print(
        f"clock sent at {bpm:g} BPM, {len(ticks)} ticks over {seconds:g} s "
        f"(interval {nominal:.2f} ms): jitter " + live.percentiles(jitter)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "part", nargs="?", default="all", choices=("latency", "follow", "send", "all")
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--beats", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--realtime", action="store_true", help="jackd with realtime scheduling")
    arguments = parser.parse_args()
    with live.bench_jack(arguments.realtime) as server:
        if arguments.part in ("latency", "all"):
            asyncio.run(measure(server, arguments.count))
        if arguments.part in ("follow", "all"):
            for mode in ("steady", "jitter", "ramp"):
                beats = max(arguments.beats, 56) if mode == "ramp" else arguments.beats
                asyncio.run(measure_follow(server, mode, beats))
        if arguments.part in ("send", "all"):
            asyncio.run(measure_send(server, arguments.seconds))


if __name__ == "__main__":
    main()

"""MIDI benchmark (docs/performance.md): MIDI in to the engine's parameter change.

The daemon runs in this process on a private JACK server (``jackd -d dummy``, 48 kHz, 256
frames) with ``midi.api = "jack"``. A process forked from it (so the engine's shared memory is
mapped there, and its polling is not the daemon's work) plays a JACK MIDI output of its own
(python-rtmidi) into ``jamd in``: one CC at a time (fader 1 of the default map: the drums'
volume), timed from ``send_message`` to the moment the engine's process applied the new
fader (``EngineProcess.faders_applied``, both on ``time.monotonic``): JACK MIDI, RtMidi's
thread, the loop, the parser, the map, the bus, the conductor, the engine's process.

Run: .venv/bin/python bench/midi.py [--count 1000] [--realtime]
Targets (issue 5): p99 <= 2 ms MIDI in to engine. (Clock following and the sent clock's
jitter come with the clock.)
"""

import argparse
import asyncio
import multiprocessing
import os
import time
from typing import Any

import rtmidi

import live
from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.engine.process import EngineProcess
from jamd.logs import configure_logging


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
    fork = multiprocessing.get_context("fork")
    mine, theirs = fork.Pipe()
    prober = fork.Process(target=probe, args=(engine, count, theirs))
    prober.start()
    while not mine.poll():
        await asyncio.sleep(0.05)
    times = mine.recv()
    prober.join()
    print(
        f"latency, MIDI CC sent to the engine's parameter change, {len(times)} of {count}: "
        + live.percentiles(times)
    )
    daemon.stop()
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--realtime", action="store_true", help="jackd with realtime scheduling")
    arguments = parser.parse_args()
    live.REALTIME = arguments.realtime
    configure_logging("error")
    os.environ["PYO_GUI_WX"] = "0"
    print(f"jackd {'--realtime' if live.REALTIME else '--no-realtime'} -d dummy -r 48000 -p 256")
    with live.jack_server(256) as server:
        os.environ["JACK_DEFAULT_SERVER"] = server
        os.environ["JACK_NO_START_SERVER"] = "1"
        asyncio.run(measure(server, arguments.count))


if __name__ == "__main__":
    main()

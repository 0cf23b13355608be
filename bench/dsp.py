"""DSP load benchmark: every genre's fullest arrangement live on JACK, and patch changes.

For each genre the daemon plays a song at energy 1.0 (every part in, the loud patches) on a
private ``jackd -d dummy -r 48000 -p 256`` (no-realtime unless ``--realtime``). After a warm-up
it reads, every 0.25 s for ``--seconds``:

- *DSP load*: JACK's own figure (the time its clients' process callbacks take over the period,
  in percent), as ``jack_cpu_load`` gives it to jamd's monitor client;
- *engine CPU*: the share of one core the engine's process used over the run (all its threads:
  pyo computing audio, the writer filling control rings);
- xruns over the run.

``swaps`` then changes a patch every bar for ``--seconds`` on one genre and counts xruns while
each change is taken (0.25 s from the command) against as many quiet windows between them.

Run: .venv/bin/python bench/dsp.py [load|swaps|all] [--seconds 20] [--realtime]
Targets (issue 6): DSP load <= 25 % of one core at 48 kHz and 256 frames; no xrun from a change.
"""

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import live
from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.live.commands import SetPatch

GENRES = ("pop", "rock", "jazz", "electronic", "hip-hop", "classical", "country", "blues")
SWAPS = ["keys/organ", "keys/grand", "keys/clean-guitar", "keys/epiano"]


def settings(server: str, genre: str) -> Any:
    made = live.settings_for(server, "process", genre)
    return made.model_copy(update={"music": made.music.model_copy(update={"energy": 1.0})})


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure_load(server: str, genre: str, seconds: float) -> dict[str, float]:
    daemon = Daemon(settings(server, genre), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await asyncio.sleep(3.0)  # past the count-in, into the song
    pid = live.engine_pid(daemon)
    assert pid is not None
    loads = []
    xruns = daemon.engine.stats().xruns
    cpu, began = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - began < seconds:
        await asyncio.sleep(0.25)
        load = daemon.engine.stats().load
        if load is not None:
            loads.append(load)
    used = (cpu_seconds(pid) - cpu) / (time.monotonic() - began)
    xruns = daemon.engine.stats().xruns - xruns
    daemon.stop()
    await task
    loads.sort()
    return {
        "p50": statistics.median(loads),
        "p99": loads[max(0, int(len(loads) * 0.99) - 1)],
        "max": loads[-1],
        "cpu": 100.0 * used,
        "xruns": xruns,
    }


async def measure_swaps(server: str, seconds: float) -> tuple[list[int], list[int]]:
    daemon = Daemon(settings(server, "pop"), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await asyncio.sleep(2.0)
    bar = 4 * 60.0 / daemon.conductor.session.tempo if daemon.conductor else 2.0
    swapping, quiet = [], []
    began, turn = time.monotonic(), 0
    while time.monotonic() - began < seconds:
        before = daemon.engine.stats().xruns
        await daemon.submit(SetPatch("keys", SWAPS[turn % len(SWAPS)]))
        await asyncio.sleep(0.25)
        swapping.append(daemon.engine.stats().xruns - before)
        await asyncio.sleep(bar / 2 - 0.25)
        before = daemon.engine.stats().xruns
        await asyncio.sleep(0.25)
        quiet.append(daemon.engine.stats().xruns - before)
        await asyncio.sleep(max(0.0, bar / 2 - 0.25))
        turn += 1
    daemon.stop()
    await task
    return swapping, quiet


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", nargs="?", default="all", choices=("load", "swaps", "all"))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--realtime", action="store_true")
    arguments = parser.parse_args()
    with live.bench_jack(arguments.realtime) as server:
        if arguments.part in ("load", "all"):
            print(f"energy 1.0, {arguments.seconds:g} s per genre")
            columns = f"{'DSP load % p50':>15} {'p99':>6} {'max':>6} {'engine CPU %':>13}"
            print(f"{'genre':<11} {columns} {'xruns':>6}")
            for genre in GENRES:
                row = asyncio.run(measure_load(server, genre, arguments.seconds))
                print(
                    f"{genre:<11} {row['p50']:>15.1f} {row['p99']:>6.1f} {row['max']:>6.1f}"
                    f" {row['cpu']:>13.1f} {row['xruns']:>6.0f}"
                )
        if arguments.part in ("swaps", "all"):
            swapping, quiet = asyncio.run(measure_swaps(server, arguments.seconds))
            print(
                f"\npatch changes (keys, every bar, pop at energy 1.0): {len(swapping)} changes;"
                f" xruns in the 0.25 s after each change {sum(swapping)},"
                f" in as many quiet 0.25 s windows {sum(quiet)}"
            )
            print(f"  after each change: {swapping}\n  quiet windows:     {quiet}")


if __name__ == "__main__":
    main()

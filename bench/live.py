"""Live benchmark: xruns under load, time to READY=1, memory over time (docs/performance.md).

Each part starts its own JACK server (``jackd --no-realtime -d dummy -r 48000``) under a
private name, so nothing else on the machine is touched.

- xruns: the daemon runs in this process (so the load below is *in the daemon*) for
  ``--seconds`` at buffers of 256, 128 and 64 frames, with the default arrangement, commands
  arriving at 1,000/s, and another thread doing continuous pure-Python work. JACK's xrun count
  (jamd's monitor client) is read after the first second and at the end. ``--engine inline``
  runs the same with the engine in the daemon's process, for comparison.
- ready: ``jamd run`` started as a fresh process, time until READY=1 on a notify socket.
- cpu: the share of a core the daemon and the engine's process (and its busiest threads)
  take while the music plays unsteered, over ``--seconds`` (at most 30).
- memory: RSS (and PSS, shared pages divided among the processes that map them) of the daemon
  and of its engine process after 60 s, and their growth over ``--minutes`` with a command
  every 100 ms.

Run: .venv/bin/python bench/live.py [xruns|ready|memory|cpu|all] [--seconds 60] [--minutes 10]
     [--realtime]  (jackd with realtime scheduling, as a studio runs it; the tests use
                   --no-realtime)
Targets: 0 xruns at 256 frames after the first second; READY=1 within 1.5 s; RSS <= 120 MB,
growing <= 1 MB over 10 minutes.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.live.commands import (
    Command,
    Fill,
    SetLevel,
    SetMood,
    SetPan,
    SetSend,
    SetTempo,
    SetTone,
)
from jamd.logs import configure_logging
from jamd.settings import PARTS, load_settings

JAMD = Path(sys.executable).with_name("jamd")


REALTIME = False  # --realtime: jackd with realtime scheduling, as a studio runs it
LOAD = "full"  # --load: which of the busy thread and the commands run, to tell their shares
PERIODS = (256, 128, 64)  # --frames: the JACK buffer sizes the xrun part measures


@contextlib.contextmanager
def jack_server(period: int) -> Iterator[str]:
    jackd = shutil.which("jackd")
    if jackd is None:
        sys.exit("jackd is not installed (sudo apt install jackd2)")
    name = f"jamd-bench-{os.getpid()}-{period}"
    scheduling = ["--realtime"] if REALTIME else ["--no-realtime"]
    server = subprocess.Popen(
        [jackd, *scheduling, "-n", name, "-d", "dummy", "-r", "48000", "-p", str(period)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            probe = subprocess.run(
                ["jack_wait", "-s", name, "-c"], capture_output=True, text=True, check=False
            )
            if probe.stdout.strip() == "running":
                break
            time.sleep(0.05)
        else:
            sys.exit(f"jackd -p {period} did not start")
        yield name
    finally:
        server.terminate()
        server.wait()


@contextlib.contextmanager
def bench_jack(realtime: bool, period: int = 256) -> Iterator[str]:
    """The OSC and MIDI benches' set-up: quiet logs, a private jackd at ``period`` frames (the
    first line says which), named for the JACK clients of this process and its children."""
    global REALTIME  # noqa: PLW0603  (a switch for the whole run)
    REALTIME = realtime
    configure_logging("error")
    os.environ["PYO_GUI_WX"] = "0"
    scheduling = "--realtime" if realtime else "--no-realtime"
    print(f"jackd {scheduling} -d dummy -r 48000 -p {period}")
    with jack_server(period) as server:
        os.environ["JACK_DEFAULT_SERVER"] = server
        os.environ["JACK_NO_START_SERVER"] = "1"
        yield server


def settings_for(server: str, engine: str, genre: str = "pop", **extra: Any) -> Any:
    """A daemon's settings on the bench's JACK server (``extra``: more overrides by key)."""
    return load_settings(
        None,
        overrides={
            "audio.backend": "jack",
            "audio.jack_server": server,
            "audio.connect": [],
            "audio.engine": engine,
            "music.genre": genre,
            "music.seed": 7,
            "log.level": "warning",
            "osc.port": 0,
            **extra,
        },
    )


def percentiles(values: list[float], unit: str = "ms") -> str:
    """p50, p99 and max of ``values``, as the benches print them."""
    ordered = sorted(values)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (
        f"p50 {statistics.median(ordered):.2f} {unit}, p99 {p99:.2f} {unit}, "
        f"max {ordered[-1]:.2f} {unit}"
    )


def busy(stop: threading.Event, counter: list[int]) -> None:
    """Continuous pure-Python work, as a background task in the daemon may do."""
    x = 0
    while not stop.is_set():
        for _ in range(1000):
            x = (x * 31 + 7) % 1000003
        counter[0] += 1


def random_command(rng: random.Random, n: int) -> Command:
    if n % 1000 == 0:
        return Fill()
    if n % 50 == 0:
        return SetTempo(rng.uniform(100, 124))
    part = rng.choice(PARTS)
    kind = n % 5
    if kind == 0:
        return SetLevel(part, rng.uniform(-12, 0))
    if kind == 1:
        return SetPan(part, rng.uniform(-1, 1))
    if kind == 2:
        return SetSend(part, rng.choice(("reverb", "delay")), rng.uniform(0, 0.5))
    if kind == 3:
        return SetTone(part, rng.uniform(0.3, 0.7))
    return SetMood(rng.uniform(0.3, 0.7))


async def commands(daemon: Daemon, rate: float, stop: asyncio.Event, sent: list[int]) -> None:
    """``rate`` commands a second against absolute deadlines."""
    if rate <= 0:
        await stop.wait()
        return
    rng = random.Random(7)
    period = 1.0 / rate
    next_at = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        while next_at <= now:
            future = daemon.submit(random_command(rng, sent[0]))
            future.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)
            sent[0] += 1
            next_at += period
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def memory_of(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if parts and parts[0] in ("Rss:", "Pss:"):
                values[parts[0]] = int(parts[1]) / 1024
    return values["Rss:"], values["Pss:"]


def engine_pid(daemon: Daemon) -> int | None:
    return getattr(daemon.engine, "pid", None)


async def measure_xruns(server: str, engine: str, seconds: float) -> dict[str, float]:
    daemon = Daemon(settings_for(server, engine), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    stop_thread = threading.Event()
    loops = [0]
    worker = threading.Thread(target=busy, args=(stop_thread, loops), daemon=True)
    stop_commands = asyncio.Event()
    sent = [0]
    rate = 1000.0 if LOAD in ("full", "commands") else 0.0
    if LOAD in ("full", "thread"):
        worker.start()
    sender = asyncio.create_task(commands(daemon, rate, stop_commands, sent))
    await asyncio.sleep(1.0)
    first = daemon.engine.stats()
    began = time.monotonic()
    sent_before = sent[0]
    await asyncio.sleep(seconds)
    last = daemon.engine.stats()
    elapsed = time.monotonic() - began
    stop_commands.set()
    await sender
    stop_thread.set()
    if worker.is_alive():
        worker.join()
    bus = daemon.bus.stats
    daemon.stop()
    await task
    return {
        "xruns": last.xruns - first.xruns,
        "first_second_xruns": first.xruns,
        "underruns": last.underruns - first.underruns,
        "late": last.late_notes - first.late_notes,
        "commands_per_s": (sent[0] - sent_before) / elapsed,
        "superseded": bus.superseded,
        "load": last.load or 0.0,
        "busy_loops_per_s": loops[0] / (elapsed + 1),
    }


def xruns(seconds: float, engines: list[str]) -> None:
    load = {
        "full": "1,000 commands/s and a busy thread",
        "commands": "1,000 commands/s, no busy thread",
        "thread": "a busy thread, no commands",
        "none": "no commands, no busy thread",
    }[LOAD]
    print(f"xruns over {seconds:g} s after the first, {load}")
    header = "engine   frames  xruns  (1st s)  underruns  late notes  cmds/s  DSP load %"
    print(header)
    for engine in engines:
        for period in PERIODS:
            if engine == "inline" and period != PERIODS[0]:
                continue
            with jack_server(period) as server:
                result = asyncio.run(measure_xruns(server, engine, seconds))
            print(
                f"{engine:<8} {period:>6}  {result['xruns']:>5.0f}"
                f"  {result['first_second_xruns']:>7.0f}"
                f"  {result['underruns']:>9.0f}  {result['late']:>10.0f}"
                f"  {result['commands_per_s']:>6.0f}  {result['load']:>10.1f}",
                flush=True,
            )


def ready(repeats: int, library: Path | None = None) -> None:
    """Start to READY=1 of ``jamd run``; with ``library``, the training side set up with that
    MIDI folder (a store of its own, no refresh at start), so its worker process starts too."""
    times = []
    with jack_server(256) as server, tempfile.TemporaryDirectory() as directory:
        training = []
        if library is not None:
            training = [
                "--set", f"training.midi.folders=[{json.dumps(str(library))}]",
                "--set", "training.sources=[\"midi\"]",
                "--set", "training.refresh_on_start=false",
                "--set", f"paths.database={Path(directory) / 'jamd.sqlite3'}",
            ]  # fmt: skip
        for _ in range(repeats):
            path = Path(directory) / "notify.sock"
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            listener.bind(str(path))
            listener.settimeout(30)
            began = time.monotonic()
            process = subprocess.Popen(
                [str(JAMD), "run", "--audio", "jack", "--jack-server", server,
                 "--log-level", "warning", "--set", "audio.connect=[]", "--osc-port", "0",
                 *training],
                env={**os.environ, "NOTIFY_SOCKET": str(path)},
            )  # fmt: skip
            while b"READY=1" not in listener.recv(4096):
                pass
            times.append(time.monotonic() - began)
            stopping = time.monotonic()
            process.terminate()
            process.wait(30)
            stop_seconds = time.monotonic() - stopping
            listener.close()
            path.unlink()
            print(f"  READY=1 after {times[-1]:.2f} s; SIGTERM to exit {stop_seconds:.2f} s")
    print(
        f"start to READY=1 over {repeats} starts: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s"
    )


async def measure_memory(server: str, minutes: float) -> None:
    daemon = Daemon(settings_for(server, "process"), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    stop = asyncio.Event()
    sent = [0]
    sender = asyncio.create_task(commands(daemon, 10.0, stop, sent))
    engine = engine_pid(daemon)
    assert engine is not None
    await asyncio.sleep(60.0)
    own0, child0 = memory_of(os.getpid()), memory_of(engine)
    print(
        f"after 60 s: daemon RSS {own0[0]:.1f} MB (PSS {own0[1]:.1f}), "
        f"engine RSS {child0[0]:.1f} MB (PSS {child0[1]:.1f})",
        flush=True,
    )
    end = time.monotonic() + minutes * 60
    while time.monotonic() < end:
        await asyncio.sleep(60.0)
        own, child = memory_of(os.getpid()), memory_of(engine)
        print(
            f"  {(own[0] - own0[0]):+.2f} MB daemon, {(child[0] - child0[0]):+.2f} MB engine "
            f"RSS ({daemon.conductor.session.status() if daemon.conductor else ''})",
            flush=True,
        )
    own, child = memory_of(os.getpid()), memory_of(engine)
    print(
        f"growth over {minutes:g} min with a command every 100 ms ({sent[0]} commands): daemon "
        f"{own[0] - own0[0]:+.2f} MB RSS ({own[1] - own0[1]:+.2f} PSS), engine "
        f"{child[0] - child0[0]:+.2f} MB RSS ({child[1] - child0[1]:+.2f} PSS)"
    )
    stop.set()
    await sender
    daemon.stop()
    await task


def cpu_ticks(pid: int) -> dict[str, int]:
    """Each thread's user + system clock ticks so far, by thread name and id."""
    ticks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        name = (task / "comm").read_text().strip()
        ticks[f"{name} {task.name}"] = int(fields[11]) + int(fields[12])
    return ticks


async def measure_cpu(server: str, seconds: float) -> None:
    """Share of a core each process (and the engine's busiest threads) takes while the music
    plays with nothing steering it."""
    daemon = Daemon(settings_for(server, "process"), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    engine = engine_pid(daemon)
    assert engine is not None
    await asyncio.sleep(2.0)
    hz = os.sysconf("SC_CLK_TCK")
    before, own_before, began = cpu_ticks(engine), os.times(), time.monotonic()
    await asyncio.sleep(seconds)
    after, own_after, elapsed = cpu_ticks(engine), os.times(), time.monotonic() - began
    shares = sorted(
        ((after[name] - before.get(name, 0)) / hz / elapsed * 100, name) for name in after
    )
    own = (own_after.user + own_after.system - own_before.user - own_before.system) / elapsed
    print(
        f"CPU over {seconds:g} s of playing (% of one core): daemon {own * 100:.1f}, engine "
        f"{sum(share for share, _ in shares):.1f}, of which "
        + ", ".join(
            f"{'the writer (main thread)' if name.split()[1] == str(engine) else 'the next'} "
            f"{share:.1f}"
            for share, name in shares[-2:][::-1]
        )
    )
    daemon.stop()
    await task


def cpu(seconds: float) -> None:
    with jack_server(256) as server:
        asyncio.run(measure_cpu(server, min(seconds, 30.0)))


def memory(minutes: float) -> None:
    with jack_server(256) as server:
        asyncio.run(measure_memory(server, minutes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "part", nargs="?", default="all", choices=("xruns", "ready", "memory", "cpu", "all")
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", action="append", choices=("process", "inline"))
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run jackd with realtime scheduling (needs root or RLIMIT_RTPRIO), as in a studio",
    )
    parser.add_argument(
        "--load",
        choices=("full", "commands", "thread", "none"),
        default="full",
        help="xruns under both loads (the target's), one of them, or none (default full)",
    )
    parser.add_argument("--frames", type=int, action="append", help="JACK buffer size (may repeat)")
    parser.add_argument(
        "--library", type=Path, help="ready: with the training side set up on this MIDI folder"
    )
    arguments = parser.parse_args()
    global REALTIME, LOAD, PERIODS  # noqa: PLW0603  (switches for the whole run)
    REALTIME = arguments.realtime
    LOAD = arguments.load
    PERIODS = tuple(arguments.frames or PERIODS)
    print(f"jackd {'--realtime' if REALTIME else '--no-realtime'} -d dummy -r 48000")
    configure_logging("warning")
    os.environ["PYO_GUI_WX"] = "0"
    if arguments.part in ("ready", "all"):
        ready(arguments.repeat, arguments.library)
    if arguments.part in ("xruns", "all"):
        xruns(arguments.seconds, arguments.engine or ["process", "inline"])
    if arguments.part in ("cpu", "all"):
        cpu(arguments.seconds)
    if arguments.part in ("memory", "all"):
        memory(arguments.minutes)


if __name__ == "__main__":
    main()

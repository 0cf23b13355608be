"""Training benchmark (docs/performance.md): how fast the MIDI library source reads files, and
what a refresh does to the live loop.

- files: writes a library of ``--files`` songs (``jamd.training.synthetic``: every genre in
  turn, 8 to 48 bars, drums, bass, chords and a lead; the same library for the same
  ``--seed``) into a temporary folder, then times ``MidiLibrarySource.fetch`` over every
  genre, once per worker count in ``--workers``, each with a fresh pool whose start-up is
  counted. Printed: files per second, and each file's analysis time in its worker (p50, p99).
- stall: a ``jamd.app.daemon.Daemon`` plays (pop, the engine in its own process) in this
  process on a private ``jackd --realtime -d dummy -r 48000 -p 256`` the bench starts and
  stops (``--no-realtime``, with a warning, where SCHED_FIFO is not allowed), with the
  training side task on a generated library of ``--files`` songs (``--library DIR`` keeps it
  there for the next run) and a fresh store in a temporary folder. After 2 s of playing,
  ``--quiet`` seconds with nothing else going on, then one refresh of every genre asked for
  with ``/jamd/training/refresh`` over OSC (UDP to 127.0.0.1), until it ends. For each of the
  two stretches: JACK's xruns (``daemon.engine.stats()``; and those of the quiet stretch's
  last seconds as long as the refresh, read every 0.1 s); every asyncio callback's duration
  (longest, p99, p50, and the 5 longest: a task's step by the task and the last three frames
  it waits in afterwards, with the CPU the loop's thread spent in it and the time it waited
  for a core, runnable, from the kernel's ``/proc/thread-self/schedstat``; the rest is waits
  for the GIL or the host), timed by wrapping ``asyncio.events.Handle._run`` in this process
  only (a ``perf_counter``, a ``thread_time`` and a schedstat read pair a callback, 2 us; not
  debug mode, which slows every callback and reports only those over its threshold); how late
  a 5 ms timer fires (a stall between callbacks too: the GIL held by a thread, the process
  descheduled); the garbage collector's passes; the conductor's longest ``tick`` and
  ``set_model``; the refresh task's longest step. Then the refresh's duration and files per
  second (files read, from the refresh log).

Run: .venv/bin/python bench/training.py files [--files 2000] [--workers 1 2] [--seed 7]
     .venv/bin/python bench/training.py stall [--files 2000] [--workers 1] [--quiet 30]
     [--library DIR] [--no-realtime]
Targets (issue 7): >= 200 files/s on this machine; while a refresh runs, the longest
event-loop stall <= 1 ms and 0 xruns at 256 frames.
"""

import argparse
import asyncio
import contextlib
import gc
import heapq
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from jamd.settings import MidiLibrary
from jamd.styles.library import StyleLibrary
from jamd.training.midilib import MidiLibrarySource
from jamd.training.synthetic import write_library

# What only ``stall`` uses (the daemon, bench/live.py, python-osc) is imported in its functions:
# a spawned worker imports this module again, as its __main__, and with those at the top each
# MIDI worker of ``files`` took 0.5 to 0.9 s longer to start than under ``jamd train``, whose
# worker imports jamd.cli alone.


async def _fetch_all(source: MidiLibrarySource) -> tuple[int, int, list[float]]:
    """Files read, samples made, per-file seconds; the pool is closed inside the timing."""
    read = samples = 0
    timings: list[float] = []
    try:
        for genre in await source.genres():
            fetched = await source.fetch(genre)
            read += fetched.read
            samples += len(fetched.samples)
            timings += source.timings
    finally:
        await source.close()
    return read, samples, timings


def files(count: int, workers: list[int], seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="jamd-bench-midi-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        write_library(root, count, random.Random(seed))
        written = time.perf_counter() - started
        size = sum(path.stat().st_size for path in root.rglob("*.mid"))
        print(
            f"library: {count} files, {size / count / 1024:.1f} kB each on average, "
            f"written in {written:.1f} s"
        )
        genres = StyleLibrary().names()
        for processes in workers:
            settings = MidiLibrary(folders=(root,))
            source = MidiLibrarySource(settings, genres=genres, workers=processes)
            started = time.perf_counter()
            read, samples, timings = asyncio.run(_fetch_all(source))
            elapsed = time.perf_counter() - started
            cuts = statistics.quantiles(timings, n=100)
            print(
                f"workers={processes}: {read} files read, {samples} samples in {elapsed:.2f} s: "
                f"{read / elapsed:.0f} files/s; per file p50 {cuts[49] * 1000:.2f} ms, "
                f"p99 {cuts[98] * 1000:.2f} ms"
            )


# -- stall: the refresh's effect on the live loop ----------------------------------------------


class CallbackTimer:
    """Times every callback the asyncio loops of this process run, by wrapping
    ``asyncio.events.Handle._run`` (the one method the loop calls for each ready callback,
    task steps and timers included). Cost per callback: two ``perf_counter`` calls and an
    append; a callback is described (its task and where it now waits) only when it is among
    the slowest so far."""

    KEEP = 5

    def __init__(self) -> None:
        self.phase: str | None = None  # None: not recording
        self.durations: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}  # each callback's CPU on the loop's thread
        self.slowest: dict[str, list[tuple[float, int, str]]] = {}  # min-heaps of KEEP
        self.heaviest: dict[str, list[tuple[float, int, str]]] = {}  # by CPU, the same
        self.by_task: dict[str, dict[str, float]] = {}  # the longest step of each task
        self.stolen: dict[str, int] = {}  # ms the VM's host took from this machine's cores
        self._count = 0
        self._original: Any = None
        self._schedstat: int | None = None  # this thread's /proc schedstat, open while installed

    def install(self) -> None:
        """Time the callbacks of the loop that runs on this thread (from now on)."""
        original = self._original = asyncio.events.Handle._run
        timer = self
        schedstat = self._schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY)

        def waited() -> int:
            """ns this thread has spent runnable but not running (waiting for a core)."""
            return int(os.pread(schedstat, 64, 0).split()[1])

        def timed(handle: asyncio.Handle) -> None:
            phase, began, cpu = timer.phase, time.perf_counter(), time.thread_time()
            delay = waited()
            try:
                original(handle)
            finally:
                if phase is not None and timer.phase == phase:  # not one that began a phase
                    wall, cpu = time.perf_counter() - began, time.thread_time() - cpu
                    timer.add(wall, cpu, (waited() - delay) / 1e9, handle)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        if self._schedstat is not None:
            os.close(self._schedstat)
            self._schedstat = None

    def start(self, phase: str) -> None:
        self.stolen[phase] = -stolen_ms()
        self.durations[phase] = []
        self.cpu[phase] = []
        self.slowest[phase] = []
        self.heaviest[phase] = []
        self.by_task[phase] = {}
        self.phase = phase

    def stop(self) -> None:
        if self.phase is not None:
            self.stolen[self.phase] += stolen_ms()
        self.phase = None

    def add(self, seconds: float, cpu: float, runnable: float, handle: asyncio.Handle) -> None:
        """One callback's wall-clock ``seconds``, of which ``cpu`` on this thread and
        ``runnable`` waiting for a core (the rest: waiting for the GIL, or the host)."""
        assert self.phase is not None
        self.durations[self.phase].append(seconds)
        self.cpu[self.phase].append(cpu)
        owner = getattr(getattr(handle, "_callback", None), "__self__", None)
        if isinstance(owner, asyncio.Task):
            tasks = self.by_task[self.phase]
            name = owner.get_name()
            tasks[name] = max(tasks.get(name, 0.0), seconds)
        note = f"(CPU {cpu * 1000:.2f} ms, waiting for a core {runnable * 1000:.2f} ms)"
        self._keep(self.slowest[self.phase], seconds, note, handle)
        self._keep(self.heaviest[self.phase], cpu, f"(wall {seconds * 1000:.2f} ms)", handle)

    def _keep(
        self, heap: list[tuple[float, int, str]], value: float, note: str, handle: asyncio.Handle
    ) -> None:
        if len(heap) < self.KEEP or value > heap[0][0]:
            self._count += 1
            entry = (value, self._count, f"{note} {describe(handle)}")
            if len(heap) < self.KEEP:
                heapq.heappush(heap, entry)
            else:
                heapq.heapreplace(heap, entry)


def stolen_ms() -> int:
    """CPU time the hypervisor took from this machine's cores so far (the steal column of
    /proc/stat, summed over the cores), in ms; 0 on bare metal."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = sum(
            int(line.split()[8]) for line in stat if line.startswith("cpu") and line[3] != " "
        )
    return ticks * 1000 // os.sysconf("SC_CLK_TCK")


def describe(handle: asyncio.Handle) -> str:
    """What a callback was: a task's step (the task, and where its coroutine waits now, after
    the step) or the function called."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coroutine: Any = owner.get_coro()
        chain: list[str] = []
        while coroutine is not None:
            frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                chain.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
            coroutine = getattr(coroutine, "cr_await", None) or getattr(
                coroutine, "gi_yieldfrom", None
            )
        state = f", now at {' > '.join(chain[-3:])}" if chain else " (finished)"
        return f"task {owner.get_name()!r} step{state}"
    name = getattr(callback, "__qualname__", None) or repr(callback)
    module = getattr(callback, "__module__", "") or ""
    return f"{module}.{name}" if module else name


class Collections:
    """The garbage collector's passes (``gc.callbacks``): how many, and the longest, by
    generation, so a stall can be told from a collection inside a callback."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.passes: dict[str, list[tuple[float, int]]] = {}
        self._began = 0.0

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        gc.callbacks.remove(self._callback)

    def start(self, phase: str) -> None:
        self.passes[phase] = []
        self.phase = phase

    def stop(self) -> None:
        self.phase = None

    def _callback(self, event: str, info: dict[str, int]) -> None:
        if event == "start":
            self._began = time.perf_counter()
        elif self.phase is not None:
            self.passes[self.phase].append((time.perf_counter() - self._began, info["generation"]))

    def line(self, phase: str) -> str:
        passes = self.passes[phase]
        if not passes:
            return "no collections"
        longest = max(passes)
        oldest = sum(1 for _, generation in passes if generation == 2)
        return (
            f"{len(passes)} collections ({oldest} of generation 2), longest "
            f"{longest[0] * 1000:.2f} ms (generation {longest[1]})"
        )


class Lateness:
    """A timer every ``period`` seconds on the loop; how late each fires (the loop busy with
    something else, or waiting for the GIL another thread holds)."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.phase: str | None = None
        self.late: dict[str, list[float]] = {}
        self._handle: asyncio.TimerHandle | None = None

    def start(self, phase: str) -> None:
        self.late[phase] = []
        self.phase = phase
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = loop.call_at(
                loop.time() + self.period, self._tick, loop.time() + self.period
            )

    def _tick(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.phase is not None:
            self.late[self.phase].append(max(0.0, now - when))
        self._handle = loop.call_at(now + self.period, self._tick, now + self.period)

    def stop(self) -> None:
        self.phase = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class Timed:
    """The longest call of some of the conductor's methods, per phase: the live side's own
    work, which the loop runs whether training runs or not (``set_model``: a new model
    taken, the song planned again from its next section)."""

    def __init__(self, owner: Any, names: tuple[str, ...]) -> None:
        self.phase: str | None = None
        self.longest: dict[str, dict[str, tuple[float, int]]] = {}
        for name in names:
            setattr(owner, name, self._wrap(name, getattr(owner, name)))

    def _wrap(self, name: str, method: Any) -> Any:
        def timed(*arguments: Any, **keywords: Any) -> Any:
            began = time.perf_counter()
            try:
                return method(*arguments, **keywords)
            finally:
                if self.phase is not None:
                    calls = self.longest[self.phase]
                    seconds, count = calls.get(name, (0.0, 0))
                    calls[name] = (max(seconds, time.perf_counter() - began), count + 1)

        return timed

    def start(self, phase: str) -> None:
        self.longest[phase] = {}
        self.phase = phase

    def stop(self) -> None:
        self.phase = None

    def line(self, phase: str) -> str:
        return ", ".join(
            f"{name} {seconds * 1000:.2f} ms ({count} calls)"
            for name, (seconds, count) in sorted(self.longest[phase].items())
        )


def realtime_allowed() -> bool:
    """Whether this process may use SCHED_FIFO (root, or RLIMIT_RTPRIO), as jackd --realtime
    needs: a child asks for it."""
    chrt = shutil.which("chrt")
    if chrt is None:
        return os.geteuid() == 0
    probe = subprocess.run([chrt, "-f", "10", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def stall_settings(server: str, library: Path, state: Path) -> Any:
    import live  # noqa: PLC0415  (stall only: see the imports)

    return live.settings_for(
        server,
        "process",
        **{
            "osc.host": "127.0.0.1",
            "midi.enabled": False,
            "paths.database": str(state / "jamd.sqlite3"),
            "paths.presets": str(state / "presets"),
            "training.enabled": True,
            "training.refresh_on_start": False,
            "training.refresh_hours": 0,
            "training.sources": ["midi"],
            "training.workers": WORKERS,
            "training.midi.folders": [str(library)],
        },
    )


WORKERS = 1  # --workers: the daemon's MIDI worker processes (training.workers)


def refresh_message() -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder  # noqa: PLC0415

    return bytes(OscMessageBuilder(address="/jamd/training/refresh").build().dgram)


def stretch_line(
    name: str,
    seconds: float,
    *,
    timer: CallbackTimer,
    lateness: Lateness,
    collections: Collections,
    conductor: Timed,
    xruns: int,
) -> list[str]:
    durations = sorted(timer.durations[name])
    cuts = statistics.quantiles(durations, n=100) if len(durations) > 1 else durations * 99
    late = sorted(lateness.late[name]) or [0.0]
    late_cuts = statistics.quantiles(late, n=100) if len(late) > 1 else late * 99
    lines = [
        f"{name}: {seconds:.1f} s, {xruns} xruns; {len(durations)} callbacks: longest "
        f"{durations[-1] * 1000:.2f} ms, p99 {cuts[98] * 1000:.3f} ms, p50 "
        f"{cuts[49] * 1000:.3f} ms; a 5 ms timer late by p99 {late_cuts[98] * 1000:.2f} ms, "
        f"max {late[-1] * 1000:.2f} ms; {collections.line(name)}; the VM's host took "
        f"{timer.stolen[name]} ms of the cores' time (steal)",
    ]
    for seconds_taken, _, what in sorted(timer.slowest[name], reverse=True):
        lines.append(f"    {seconds_taken * 1000:7.2f} ms  {what}")
    cpu = sorted(timer.cpu[name])
    cpu_cuts = statistics.quantiles(cpu, n=100) if len(cpu) > 1 else cpu * 99
    lines.append(
        f"  the loop's CPU in a callback (its own work; the wall time adds waits for the GIL, "
        f"a core and the host): longest {cpu[-1] * 1000:.2f} ms, p99 {cpu_cuts[98] * 1000:.3f} ms"
    )
    for cpu_taken, _, what in sorted(timer.heaviest[name], reverse=True):
        lines.append(f"    {cpu_taken * 1000:7.2f} ms CPU  {what}")
    lines.append(f"    the conductor's longest: {conductor.line(name)}")
    refresh = timer.by_task[name].get("jamd refresh")
    if refresh is not None:
        lines.append(f"    the refresh task's longest step: {refresh * 1000:.2f} ms")
    return lines


async def measure_stall(server: str, library: Path, state: Path, quiet: float) -> None:
    from jamd.app.daemon import Daemon  # noqa: PLC0415  (stall only: see the imports)
    from jamd.app.notify import Notifier  # noqa: PLC0415

    daemon = Daemon(stall_settings(server, library, state), notifier=Notifier({}))
    timer = CallbackTimer()
    timer.install()
    lateness = Lateness()
    collections = Collections()
    collections.install()
    task = asyncio.create_task(daemon.run())
    try:
        await daemon.started.wait()
        trainer = daemon.trainer
        assert trainer is not None
        assert daemon.osc_address is not None
        assert daemon.store is not None
        assert daemon.conductor is not None
        conductor = Timed(daemon.conductor, ("tick", "set_model"))
        await asyncio.sleep(2.0)  # past the first second's xruns and the first song's start-up
        lines: list[str] = []
        before = daemon.engine.stats().xruns
        began = time.monotonic()
        timer.start("quiet")
        lateness.start("quiet")
        collections.start("quiet")
        conductor.start("quiet")
        counts = [(began, before)]  # (time, xruns so far): the stretch as long as the refresh
        while time.monotonic() - began < quiet:
            await asyncio.sleep(min(0.1, max(0.0, began + quiet - time.monotonic())))
            counts.append((time.monotonic(), daemon.engine.stats().xruns))
        timer.stop()
        lateness.stop()
        collections.stop()
        conductor.stop()
        quiet_seconds = time.monotonic() - began
        quiet_xruns = daemon.engine.stats().xruns - before
        lines += stretch_line(
            "quiet",
            quiet_seconds,
            timer=timer,
            lateness=lateness,
            collections=collections,
            conductor=conductor,
            xruns=quiet_xruns,
        )

        runs = trainer.runs
        wall = time.time()
        before = daemon.engine.stats().xruns
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            timer.start("refresh")
            lateness.start("refresh")
            collections.start("refresh")
            conductor.start("refresh")
            began = time.monotonic()
            client.sendto(refresh_message(), ("127.0.0.1", daemon.osc_address[1]))
            while trainer.runs == runs:
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - began
            timer.stop()
            lateness.stop()
            collections.stop()
            conductor.stop()
        refresh_xruns = daemon.engine.stats().xruns - before
        lines += stretch_line(
            "refresh",
            elapsed,
            timer=timer,
            lateness=lateness,
            collections=collections,
            conductor=conductor,
            xruns=refresh_xruns,
        )
        logged = [row for row in await daemon.store.refreshes(200) if row["started"] >= wall - 1]
        read = sum(int(row["result"]["read"]) for row in logged)
        stored = sum(int(row["result"]["stored"]) for row in logged)
        print(
            f"refresh over OSC: {read} files read, {stored} samples stored, "
            f"{len(await daemon.store.latest_styles())} models fitted in {elapsed:.2f} s: "
            f"{read / elapsed:.0f} files/s ({trainer.state.last_summary})"
        )
        quiet_end, quiet_total = counts[-1]
        if elapsed <= quiet_seconds:
            start = next(xruns for at, xruns in counts if at >= quiet_end - elapsed)
            print(
                f"xruns in the last {elapsed:.1f} s of the quiet stretch (as long as the "
                f"refresh): {quiet_total - start}; during the refresh: {refresh_xruns}"
            )
        else:
            print(
                f"note: the refresh took longer than the quiet stretch (--quiet {quiet:g}); "
                f"xruns: {quiet_xruns} in the quiet, {refresh_xruns} in the refresh"
            )
        for line in lines:
            print(line)
    finally:
        timer.stop()
        lateness.stop()
        collections.stop()
        daemon.stop()
        await task
        timer.uninstall()
        collections.uninstall()


def stall(count: int, seed: int, quiet: float, realtime: bool, keep: Path | None) -> None:
    import live  # noqa: PLC0415  (stall only: see the imports)

    if realtime and not realtime_allowed():
        print("warning: SCHED_FIFO is not allowed here: jackd runs --no-realtime")
        realtime = False
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jamd-bench-stall-")))
        library, state = keep or root / "library", root / "state"
        if keep is not None and any(keep.rglob("*.mid")):
            count = sum(1 for _ in keep.rglob("*.mid"))
        else:
            write_library(library, count, random.Random(seed))
        print(f"library: {count} files; a fresh store in a temporary folder; workers={WORKERS}")
        server = stack.enter_context(live.bench_jack(realtime, 256))
        asyncio.run(measure_stall(server, library, state, quiet))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    files_mode = modes.add_parser("files", help="files analysed per second")
    files_mode.add_argument("--files", type=int, default=2000)
    files_mode.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    files_mode.add_argument("--seed", type=int, default=7)
    stall_mode = modes.add_parser("stall", help="the refresh's effect on the live loop")
    stall_mode.add_argument("--files", type=int, default=2000)
    stall_mode.add_argument("--workers", type=int, default=1)
    stall_mode.add_argument("--seed", type=int, default=7)
    stall_mode.add_argument("--quiet", type=float, default=30.0, help="seconds of quiet first")
    stall_mode.add_argument(
        "--library", type=Path, help="keep the library in this folder (reused when it has files)"
    )
    stall_mode.add_argument(
        "--no-realtime", action="store_true", help="jackd --no-realtime (default: --realtime)"
    )
    arguments = parser.parse_args()
    if arguments.mode == "files":
        files(arguments.files, arguments.workers, arguments.seed)
    elif arguments.mode == "stall":
        global WORKERS  # noqa: PLW0603  (a switch for the whole run)
        WORKERS = arguments.workers
        stall(
            arguments.files,
            arguments.seed,
            arguments.quiet,
            not arguments.no_realtime,
            arguments.library,
        )


if __name__ == "__main__":
    main()

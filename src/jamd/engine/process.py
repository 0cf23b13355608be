"""The live engine in a process of its own, behind the same interface as ``LiveEngine``.

pyo's audio callback needs the GIL. In the daemon's interpreter, any Python that runs long
(a burst of commands, composing, a training task, the garbage collector) makes the callback
wait, and at a 5 ms period that is an xrun: the scsynth/sclang split of SuperCollider, for the
same reason. Here the child process runs the engine and nothing else; the daemon sends it
messages through a pipe and reads the audio clock from shared memory.

The child dies with the daemon (``PR_SET_PDEATHSIG``, and the pipe closing), ignores the
terminal's and systemd's signals (the daemon fades out and closes it), and reports whether the
audio started before anything is sent to it.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import mmap
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jamd.engine.backends import AudioSpec, AudioUnavailable
from jamd.engine.interface import EngineStats, Fader
from jamd.engine.notes import Note

if TYPE_CHECKING:  # the patch models (pydantic) load only where patches are read
    from jamd.engine.patches import Patch

log = logging.getLogger("jamd.engine")

SWITCH_INTERVAL = 0.0002
"""Seconds a Python thread may keep the GIL while another waits: pyo's callback waits at most
this long for the engine's own thread (DESIGN.md measured 5 ms: 1,500 xruns in 8 s; 0.2 ms: 6)."""

_QUIET_MATH = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""numpy's BLAS would start a thread per core (and their buffers) that the engine never uses
and that would only compete with the audio thread."""

_FIELDS = ("sequence", "position", "at", "faders", "fader_at", *EngineStats.__dataclass_fields__)
# faders: set_fader requests the child has applied; fader_at: when it applied the last one
# (time.monotonic, the same clock in both processes: bench/osc.py's arrival-to-engine figure)
_INDEX = {name: index for index, name in enumerate(_FIELDS)}
_EXTRAPOLATE_AT_MOST = 0.5  # seconds the clock is carried past its last reading (reading it
# late would plan notes too early; reading it early only moves a boundary on)
_METHODS = frozenset(
    {
        "schedule",
        "retract",
        "release",
        "prepare",
        "change_patch",
        "set_fader",
        "set_tone",
        "set_tilt",
        "set_delay_time",
        "set_master",
        "fade_out",
    }
)


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """What the child reports once its audio runs."""

    sample_rate: int
    buffer_size: int
    lead: int
    backend: str
    description: str
    realtime: bool = False  # JACK runs realtime: the engine's threads are on SCHED_FIFO


class EngineProcess:
    """Starts the child, forwards the ``Engine`` interface to it, reads its clock."""

    def __init__(self) -> None:
        self._memory = os.memfd_create("jamd-engine-clock")
        os.ftruncate(self._memory, 8 * len(_FIELDS))
        self._map = mmap.mmap(self._memory, 8 * len(_FIELDS))
        self._shared = memoryview(self._map).cast("d")
        mine, theirs = socket.socketpair()
        self._conn = multiprocessing.connection.Connection(mine.detach())
        self._theirs = theirs
        self._process: subprocess.Popen[bytes] | None = None
        self._configured = False
        self.info: EngineInfo | None = None

    @classmethod
    def spawn(cls) -> EngineProcess:
        """A child started at once: it loads numpy and pyo while the daemon reads its
        settings; ``configure`` then tells it what to open."""
        process = cls()
        process.launch()
        return process

    def launch(self) -> None:
        """Start the child: it loads numpy and pyo while the daemon reads its settings."""
        child = self._theirs.fileno()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "jamd.engine", str(child), str(self._memory)],
            pass_fds=(child, self._memory),
            stdin=subprocess.DEVNULL,
            env={**os.environ, **_QUIET_MATH},
        )
        self._theirs.close()

    def configure(
        self,
        spec: AudioSpec,
        lanes: Sequence[str],
        *,
        delay_seconds: float,
        recording: Any,
        log_level: int = logging.INFO,
    ) -> None:
        """What the engine is to open: its audio, its lanes, its echo and its recordings."""
        if self._process is None:
            self.launch()
        self._conn.send((spec, tuple(lanes), delay_seconds, recording, log_level))
        self._configured = True

    async def start(
        self, patches: Mapping[str, Patch] | None = None, timeout: float = 20.0
    ) -> EngineInfo:
        """Hand the child the patches its lanes start with (built before the audio runs, so
        the first bar is never late) and wait until its audio runs; ``AudioUnavailable``."""
        assert self._process is not None, "configure() first"
        self._send("patches", dict(patches or {}))
        reply = await self._receive(timeout)
        if reply is None:
            self._process.kill()
            self._process.wait()
            raise AudioUnavailable(f"the engine did not start within {timeout:g} s")
        kind, payload = reply
        if kind != "ready":
            self._process.wait(5)
            raise AudioUnavailable(str(payload))
        self.info = payload
        assert isinstance(payload, EngineInfo)
        return payload

    async def _receive(self, timeout: float) -> tuple[str, Any] | None:
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, self._conn.poll, timeout)
        if not ready:
            return None
        try:
            message: tuple[str, Any] = self._conn.recv()
        except EOFError:
            assert self._process is not None
            code = self._process.wait()
            return ("failed", f"the engine process ended (exit status {code}); see the log")
        return message

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    # -- the Engine interface -------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        assert self.info is not None
        return self.info.sample_rate

    @property
    def lead(self) -> int:
        assert self.info is not None
        return self.info.lead

    def position(self) -> int:
        """The child's last clock reading, carried forward by the time since."""
        position, at = self._read_clock()
        ahead = min(max(0.0, time.monotonic() - at), _EXTRAPOLATE_AT_MOST)
        return int(position + ahead * self.sample_rate)

    def _read_clock(self) -> tuple[float, float]:
        shared = self._shared
        while True:  # a seqlock: the child bumps the sequence before and after writing
            before = shared[0]
            position, at = shared[1], shared[2]
            if before == shared[0] and int(before) % 2 == 0:
                return position, at

    def faders_applied(self) -> tuple[int, float]:
        """How many fader moves the child has applied, and when (``time.monotonic``) it
        applied the last: the moment the mixer's parameters changed."""
        shared = self._shared
        while True:
            count, at = shared[_INDEX["faders"]], shared[_INDEX["fader_at"]]
            if count == shared[_INDEX["faders"]]:
                return int(count), at

    def stats(self) -> EngineStats:
        values = list(self._shared)
        counters = {
            name: int(values[_INDEX[name]])
            for name in EngineStats.__dataclass_fields__
            if name != "load"
        }
        load = values[_INDEX["load"]]
        counters["position"] = self.position()
        return EngineStats(**counters, load=None if load < 0 else load)

    def schedule(self, notes: Sequence[Note]) -> None:
        self._send("schedule", [_on_the_wire(note) for note in notes])

    def retract(self, at: int) -> None:
        self._send("retract", at)

    def release(self, at: int) -> None:
        self._send("release", at)

    def prepare(self, patches: Iterable[Patch]) -> None:
        self._send("prepare", list(patches))

    def change_patch(self, lane: str, patch: Patch, at: int) -> None:
        self._send("change_patch", lane, patch, at)

    def set_fader(self, lane: str, fader: Fader) -> None:
        self._send("set_fader", lane, fader)

    def set_tone(self, lane: str, factor: float) -> None:
        self._send("set_tone", lane, factor)

    def set_tilt(self, db: float) -> None:
        self._send("set_tilt", db)

    def set_delay_time(self, seconds: float) -> None:
        self._send("set_delay_time", seconds)

    def set_master(self, level: float) -> None:
        self._send("set_master", level)

    def fade_out(self, seconds: float) -> None:
        self._send("fade_out", seconds)

    def _send(self, method: str, *args: Any) -> None:
        try:
            self._conn.send((method, args))
        except (BrokenPipeError, ConnectionResetError, OSError) as error:
            log.error("the engine process is gone (%s); %s not sent", error, method)

    async def close(self, timeout: float = 5.0) -> None:
        """Ask the child to finish (recordings closed), wait for it, kill it if it hangs."""
        process = self._process
        if process is not None and process.poll() is None:
            if self._configured:
                self._send("close")
            self._conn.close()  # a child still waiting for its setup ends at once
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, process.wait, timeout)
            except subprocess.TimeoutExpired:
                log.error("the engine process did not stop within %g s: killed", timeout)
                process.kill()
                process.wait()
        if not self._conn.closed:
            self._conn.close()
        self._shared.release()
        self._map.close()
        os.close(self._memory)


def _on_the_wire(note: Note) -> tuple[str, int, int, float, float]:
    """A note as the pipe carries it: plain values, which pickle in C (a bar's notes as
    dataclasses took 0.5 ms to pickle on the daemon's loop and 0.5 ms to load in the engine's
    writer, which shares its GIL with the audio callback; as tuples 0.02 and 0.25 ms, the
    notes checked again as they are made)."""
    return (note.track, note.start, note.end, note.pitch, note.velocity)


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to kill this process when its parent dies, however it dies (the signal comes
    when the parent's thread that started it ends). Given the ``parent`` it was started by, a
    process whose parent died before this call ends at once."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError) as error:
        log.debug("PR_SET_PDEATHSIG unavailable: %s", error)
    if parent is not None and os.getppid() != parent:
        os._exit(0)


ENGINE_NICE = -10
"""The engine's threads (and the audio threads libjack starts from them, when JACK is not
realtime) run ahead of ordinary work, where the limits allow it (root, or systemd's
LimitNICE=-10 in jamd.service); elsewhere it runs at the usual priority."""


def raise_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, 0, ENGINE_NICE)
    except OSError as error:
        log.debug("the engine keeps its priority (nice %d not allowed: %s)", ENGINE_NICE, error)


ENGINE_FIFO_PRIORITY = 1
"""With JACK realtime, the engine's own threads run SCHED_FIFO at this priority: under the
audio thread libjack made (JACK's priority less 5), over all ordinary work."""


def follow_jack_realtime() -> int:
    """Put the engine's ordinary threads (the writer, the warmer, the recorder, the worker
    pool's) on SCHED_FIFO under JACK's audio thread; how many moved.

    pyo's callback needs the GIL, so any of them holding it is on the audio's critical path.
    At ordinary priority, even nice -10, Linux's EEVDF scheduler (6.6 on) lets a busy
    neighbour run out its slice first: measured with ``perf sched`` under
    tests/app/test_patch_swaps.py, a GIL holder of the engine waited 4.8 ms for a CPU held by
    a nice-0 process while the audio thread waited for the GIL, an xrun. Children and threads
    started later do not inherit it (SCHED_RESET_ON_FORK): the sound worker stays below."""
    moved = 0
    for entry in os.listdir("/proc/self/task"):
        tid = int(entry)
        try:
            if os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK != os.SCHED_OTHER:
                continue  # JACK's audio thread: realtime already, higher
            to_fifo(tid)
        except OSError as error:  # not allowed, or the thread has just ended
            log.info("the engine's threads stay at ordinary priority (%s)", error)
            break
        moved += 1
    return moved


def to_fifo(tid: int = 0) -> None:
    """Thread ``tid`` (0: the calling one) on SCHED_FIFO at ``ENGINE_FIFO_PRIORITY``; threads
    and processes it starts later begin at ordinary priority (SCHED_RESET_ON_FORK). OSError
    where the limits do not allow it."""
    param = os.sched_param(ENGINE_FIFO_PRIORITY)
    os.sched_setscheduler(tid, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, param)


def _publish(shared: Any, engine: Any, position: int) -> None:
    stats = engine.stats()
    shared[0] += 1
    shared[1] = position
    shared[2] = time.monotonic()
    for name in EngineStats.__dataclass_fields__:
        value = getattr(stats, name)
        shared[_INDEX[name]] = -1.0 if value is None else float(value)
    shared[0] += 1


def main(argv: Sequence[str]) -> int:
    """The child's entry point: ``python -m jamd.engine CONNECTION_FD MEMORY_FD``."""
    die_with_parent()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    conn = multiprocessing.connection.Connection(int(argv[0]))
    size = 8 * len(_FIELDS)
    shared = memoryview(mmap.mmap(int(argv[1]), size)).cast("d")
    from jamd.engine.live import STEP_SECONDS, LiveEngine  # noqa: PLC0415  (loads pyo)
    from jamd.logs import configure_logging  # noqa: PLC0415

    try:
        spec, lanes, delay_seconds, recording, log_level = conn.recv()
    except EOFError:  # the daemon did not need an engine process after all
        return 0
    configure_logging(log_level)
    sys.setswitchinterval(SWITCH_INTERVAL)
    raise_priority()
    try:
        _, (patches,) = conn.recv()  # the lanes' first patches, once the daemon knows them
    except EOFError:
        return 1
    try:
        engine = LiveEngine(
            spec, lanes, delay_seconds=delay_seconds, recording=recording, patches=patches
        )
    except (AudioUnavailable, OSError) as error:
        conn.send(("failed", str(error)))
        return 1
    backend = engine.backend
    realtime = bool(getattr(backend, "realtime", False))
    if realtime:
        log.debug(
            "engine threads on SCHED_FIFO %d: %d", ENGINE_FIFO_PRIORITY, follow_jack_realtime()
        )
    info = EngineInfo(
        backend.sample_rate,
        backend.buffer_size,
        engine.lead,
        backend.name,
        backend.describe(),
        realtime,
    )
    gc.collect()
    gc.freeze()  # what start-up made stays put: the collector's passes stay short
    _publish(shared, engine, engine.position())
    conn.send(("ready", info))
    try:
        _run(conn, shared, engine, STEP_SECONDS)
    except EOFError:
        log.warning("the daemon went away: the engine stops")
    finally:
        engine.close()
    return 0


def _run(
    conn: multiprocessing.connection.Connection, shared: Any, engine: Any, period: float
) -> None:
    next_step = 0.0
    while True:
        now = time.monotonic()
        if now >= next_step:
            wait = engine.step()
            _publish(shared, engine, engine.position())
            next_step = now + min(wait, period)
        if not conn.poll(max(0.0, next_step - time.monotonic())):
            continue
        while conn.poll():
            method, args = conn.recv()
            if method == "close":
                return
            if method not in _METHODS:
                log.error("the engine was sent an unknown request %r", method)
                continue
            try:
                if method == "schedule":
                    args = ([Note(*fields) for fields in args[0]],)
                getattr(engine, method)(*args)
            except (ValueError, TypeError, KeyError) as error:
                log.error("the engine refused %s: %s", method, error)
            else:
                if method == "set_fader":
                    shared[_INDEX["fader_at"]] = time.monotonic()  # written before the count
                    shared[_INDEX["faders"]] += 1
        if engine.rewound:
            next_step = 0.0  # written control changed: write it again at once, not in 5 ms

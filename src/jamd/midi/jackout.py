"""MIDI out through JACK, each message on the frame its time falls on.

RtMidi's JACK output writes every message at the start of the next cycle, so a message lands
up to a buffer (5.3 ms at 256 frames) from its time: too coarse for a clock. Here a process of
its own (``python -m jamd.midi.jackout``: a JACK client whose process callback runs in Python,
kept out of the daemon's interpreter, where the loop would hold it up) owns the output port.
The daemon hands it each message a little before its time with that time (monotonic seconds,
the engine's samples already turned into time by ``AudioClock``); the callback writes it at the
frame that time falls on. The frame-to-time relation is the earliest-looking callback of the
last two seconds (``frame / rate + offset``), as ``AudioClock`` does for the engine: the same
relation on both sides, so what is sent stays with the audio.

The child opens the ports whose names match the patterns (connects its port to them) and
looks again every ``rescan`` seconds, as ``MidiInputs`` does; it exits when its input closes
(the daemon closed it, or died).

Records on the child's input: ``<d`` deadline, ``B`` length, then the message's bytes.
"""

import argparse
import collections
import contextlib
import heapq
import itertools
import logging
import os
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

from jamd.logs import configure_logging
from jamd.midi.ports import MidiUnavailable, wanted

log = logging.getLogger("jamd.midi")

HEADER = struct.Struct("<dB")
WINDOW_SECONDS = 2.0
EARLY_SECONDS = 0.02  # messages go to the child this long before their time
READY = b"ready\n"


class JackMidiOut:
    """The daemon's side: starts the child, hands it messages (``send``), closes it."""

    early = EARLY_SECONDS

    def __init__(
        self,
        port: str,
        patterns: Sequence[str],
        *,
        client: str = "jamd",
        server: str = "",
        rescan: float = 2.0,
    ) -> None:
        environment = dict(os.environ, JACK_NO_START_SERVER="1")
        if server:
            environment["JACK_DEFAULT_SERVER"] = server
        command = [sys.executable, "-m", "jamd.midi.jackout", f"{client}-out", client, port]
        command.append(str(rescan))
        self._child = subprocess.Popen(
            [*command, *patterns],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        assert self._child.stdin is not None
        assert self._child.stdout is not None
        self._pipe: IO[bytes] = self._child.stdin
        line = self._child.stdout.readline()
        if line != READY:
            self._child.kill()
            self._child.wait()
            raise MidiUnavailable(f"MIDI out through JACK is not available (port {port!r})")
        self.lost = 0  # messages the child was gone for
        self._lock = threading.Lock()

    def send(self, data: bytes, at: float) -> None:
        """``data`` at monotonic time ``at`` (send it at least ``early`` before)."""
        record = HEADER.pack(at, len(data)) + data
        with self._lock:
            try:
                self._pipe.write(record)
                self._pipe.flush()
            except (BrokenPipeError, ValueError):
                self.lost += 1
                if self.lost == 1:
                    log.error("MIDI out through JACK stopped: its process is gone")

    def close(self) -> None:
        with self._lock, contextlib.suppress(BrokenPipeError):
            self._pipe.close()
        try:
            self._child.wait(2.0)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        if self._child.stdout is not None:
            self._child.stdout.close()


class _FrameClock:
    """Frame to monotonic time: the earliest-looking callback of the last few seconds."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._readings: collections.deque[tuple[float, float]] = collections.deque()

    def update(self, frame: int, now: float) -> None:
        offset = now - frame / self.rate
        readings = self._readings
        while readings and readings[0][0] < now - WINDOW_SECONDS:
            readings.popleft()
        while readings and readings[-1][1] >= offset:
            readings.pop()
        readings.append((now, offset))

    def frame_at(self, moment: float) -> int:
        return round((moment - self._readings[0][1]) * self.rate)


def _child(
    client_name: str, own: str, port_name: str, rescan: float, patterns: Sequence[str]
) -> int:
    import jack  # noqa: PLC0415  (only the child needs it)

    from jamd.engine.process import die_with_parent, raise_priority  # noqa: PLC0415

    die_with_parent()
    raise_priority()
    try:
        client = jack.Client(client_name, no_start_server=True)
        port = client.midi_outports.register(port_name)
    except jack.JackError as error:
        log.error("MIDI out through JACK: %s", error)
        return 1
    incoming: collections.deque[tuple[float, bytes]] = collections.deque()
    waiting: list[tuple[int, int, bytes]] = []  # (frame, order, data)
    order = itertools.count()
    clock = _FrameClock(client.samplerate)
    done = threading.Event()

    def process(frames: int) -> None:
        port.clear_buffer()
        base = client.last_frame_time
        clock.update(base, time.monotonic())
        while incoming:
            moment, data = incoming.popleft()
            heapq.heappush(waiting, (clock.frame_at(moment), next(order), data))
        end = base + frames
        while waiting and waiting[0][0] < end:
            frame, _, data = heapq.heappop(waiting)
            with contextlib.suppress(jack.JackError):  # a full buffer drops it, not the cycle
                port.write_midi_event(max(0, frame - base), data)

    def read(stream: IO[bytes]) -> None:
        while True:
            header = stream.read(HEADER.size)
            if len(header) < HEADER.size:
                break
            moment, length = HEADER.unpack(header)
            data = stream.read(length)
            if len(data) < length:
                break
            incoming.append((moment, data))
        done.set()

    client.set_process_callback(process)
    client.activate()
    threading.Thread(target=read, args=(sys.stdin.buffer,), daemon=True).start()
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    while True:
        _connect(client, port, own, patterns)
        if done.wait(rescan):
            break
    time.sleep(0.05)  # the last messages' cycle
    client.deactivate()
    client.close()
    return 0


def _connect(client: Any, port: Any, own: str, patterns: Sequence[str]) -> None:
    import jack  # noqa: PLC0415

    connected = {p.name for p in port.connections}
    for target in client.get_ports(is_midi=True, is_input=True):
        if target.name not in connected and wanted(target.name, patterns, own):
            try:
                client.connect(port, target)
            except jack.JackError as error:
                log.warning("MIDI output %s cannot be connected: %s", target.name, error)
            else:
                log.info("MIDI output %s connected", target.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jamd.midi.jackout")
    parser.add_argument("client")
    parser.add_argument("own", help="the start of every JACK client name jamd's ports have")
    parser.add_argument("port")
    parser.add_argument("rescan", type=float)
    parser.add_argument("patterns", nargs="*")
    parser.add_argument("--log-level", default="warning")
    arguments = parser.parse_args(argv)
    configure_logging(arguments.log_level)
    return _child(
        arguments.client, arguments.own, arguments.port, arguments.rescan, arguments.patterns
    )


if __name__ == "__main__":
    sys.exit(main())

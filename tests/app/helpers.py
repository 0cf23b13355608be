"""Helpers for the daemon's tests: a systemd notify socket, an OSC client, the click genre's
settings, a daemon playing for the length of a test."""

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from jamd.app.daemon import Daemon
from jamd.settings import Settings, load_settings

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_STYLES = REPOSITORY / "tests" / "live" / "styles"
TEST_PATCHES = REPOSITORY / "tests" / "live" / "patches"


class NotifySocket:
    """The socket systemd listens on for sd_notify datagrams, bound in a test directory and
    read at once by a thread of its own, as systemd reads it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "notify.sock"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(self.path))
        self.socket.settimeout(0.05)
        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._running = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._running:
            try:
                data = self.socket.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append(fields)

    def received(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, key: str, value: str | None = None, timeout: float = 30.0) -> dict[str, str]:
        """The first message with ``key`` (equal to ``value`` if given), waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received():
                if key in message and (value is None or message[key] == value):
                    return message
            time.sleep(0.005)
        raise AssertionError(f"no {key}={value or '*'} within {timeout} s: {self.received()}")

    def close(self) -> None:
        self._running = False
        self._reader.join()
        self.socket.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@contextlib.contextmanager
def notify_socket(directory: Path) -> Iterator[NotifySocket]:
    made = NotifySocket(directory)
    try:
        yield made
    finally:
        made.close()


def click_settings(jack_server: str | None, **extra: Any) -> Settings:
    return load_settings(None, environ={}, overrides=click_overrides(jack_server, **extra))


def click_overrides(jack_server: str | None, **extra: Any) -> dict[str, Any]:
    """The settings of a daemon playing the click genre (on JACK, or silent), as overrides."""
    overrides: dict[str, Any] = {
        "music.genre": "click",
        "music.tempo": 120.0,
        "music.seed": 3,
        "live.song_minutes": 1.0,
        "paths.styles": [str(TEST_STYLES)],
        "paths.patches": [str(TEST_PATCHES)],
        "log.level": "debug",
        "osc.port": 0,  # any free port: daemons in the suite never collide
    }
    if jack_server is None:
        overrides["audio.backend"] = "null"
    else:
        overrides.update(
            {
                "audio.backend": "jack",
                "audio.jack_server": jack_server,
                "audio.jack_client": "jamd-inproc",
                "audio.connect": [],
            }
        )
    overrides.update(extra)
    return overrides


@contextlib.asynccontextmanager
async def playing(daemon: Daemon) -> AsyncIterator[Daemon]:
    task = asyncio.create_task(daemon.run())
    started = asyncio.create_task(daemon.started.wait())
    done, _ = await asyncio.wait({task, started}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if started not in done:
        started.cancel()
        raise AssertionError(f"the daemon did not start: {task.result() if task.done() else '?'}")
    try:
        yield daemon
    finally:
        daemon.stop()
        assert await asyncio.wait_for(task, 30) == 0


Reply = tuple[str, tuple[Any, ...]]


class Client:
    """A UDP socket on 127.0.0.1 that sends OSC and collects every message that comes back."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((host, 0))
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]
        self.received: list[Reply] = []
        self.packets = 0

    def send(self, daemon: Daemon, address: str, *args: Any) -> None:
        builder = OscMessageBuilder(address=address)
        for value in args:
            builder.add_arg(value)
        self.send_bytes(daemon, builder.build().dgram)

    def send_bytes(self, daemon: Daemon, data: bytes) -> None:
        assert daemon.osc_address is not None
        self.socket.sendto(data, daemon.osc_address)

    def drain(self) -> None:
        while True:
            try:
                data = self.socket.recv(65536)
            except BlockingIOError:
                return
            self.packets += 1
            for timed in OscPacket(data).messages:
                self.received.append((timed.message.address, tuple(timed.message.params)))

    async def until(self, predicate: Any, seconds: float = 10.0) -> list[Reply]:
        """Poll until some received message satisfies ``predicate``; those that do."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            self.drain()
            found = [reply for reply in self.received if predicate(reply)]
            if found:
                return found
            assert loop.time() < deadline, self.received[-30:]
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.socket.close()


async def until(condition: Any, seconds: float = 10.0) -> None:
    """Poll ``condition`` on the running loop until it holds (an AssertionError after
    ``seconds``: a wait for an event, never a timed assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline
        await asyncio.sleep(0.01)


QUIET_WAIT_SECONDS = 90.0


def wait_for_the_host() -> None:
    """Wait (at most ``QUIET_WAIT_SECONDS``) for a second in which the host takes no CPU time
    from this machine. A fresh clone's CI reaches the JACK tests right after installing, and
    there the host took 30 to 40 ticks of 10 ms in each 0.4 s window of the patch-change test
    (xruns in all of them), while the same test run alone minutes later passed with none (the
    host evening out the install's burst, most likely). What follows is judged either way."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    while time.monotonic() < deadline:
        before = stolen_ticks()
        time.sleep(1.0)
        if stolen_ticks() == before:
            return


def stolen_ticks() -> int:
    """The time the hypervisor took from this machine's CPUs so far, in clock ticks (the
    steal column of /proc/stat; 0 on bare metal)."""
    with open("/proc/stat", encoding="ascii") as stat:
        return sum(
            int(line.split()[8]) for line in stat if line.startswith("cpu") and line[3] != " "
        )

"""Helpers for the daemon's tests: a systemd notify socket, recordings, click onsets."""

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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

"""sd_notify, written against the protocol (sd_notify(3)): datagrams of ``KEY=value`` lines on
the AF_UNIX socket systemd names in ``NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract
namespace). Without that variable every call does nothing, so jamd runs the same by hand.

The watchdog interval comes from ``WATCHDOG_USEC`` (for this process only if ``WATCHDOG_PID``
names it); pinging at half of it is what systemd's documentation recommends.
"""

import logging
import os
import socket
import time

log = logging.getLogger("jamd.service")


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        environ = dict(os.environ if environ is None else environ)
        self.address = environ.get("NOTIFY_SOCKET", "")
        self._socket: socket.socket | None = None
        if self.address:
            target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
            self._target = target
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.setblocking(False)  # a listener that does not read never stalls jamd
        self.watchdog_seconds = _watchdog_interval(environ)
        self.failures = 0

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (keys upper-cased); False if it could not be delivered."""
        if self._socket is None:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value).replace("\n", " ")
            lines.append(f"{key.upper()}={text}")
        try:
            self._socket.sendto("\n".join(lines).encode(), self._target)
        except OSError as error:
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                log.warning("cannot notify systemd at %s: %s", self.address, error)
            return False
        return True

    def ready(self, status: str) -> None:
        self.send(ready=1, status=status)

    def status(self, status: str) -> None:
        self.send(status=status)

    def reloading(self) -> None:
        """RELOADING=1 with the monotonic clock, as Type=notify-reload expects."""
        self.send(reloading=1, monotonic_usec=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self) -> None:
        self.send(stopping=1, status="stopping")

    def watchdog(self) -> None:
        self.send(watchdog=1)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_interval(environ: dict[str, str]) -> float | None:
    """Seconds between WATCHDOG=1 pings: half of ``WATCHDOG_USEC``, None without one."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2e6

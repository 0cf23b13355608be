"""MIDI ports through python-rtmidi: ALSA's sequencer (Linux's default) or JACK MIDI.

``MidiInputs`` opens a virtual input (``jamd in``) and every port whose name matches one of
the patterns (shell-style, any case: ``"*"`` takes every port, ``"nanoKONTROL*"`` one
controller), never jamd's own; ``MidiOutputs`` does the same for outputs (``jamd out``).
RtMidi tells nothing when a port comes or goes, so the ports are listed again every
``rescan`` seconds on the loop: a new match is opened, one that vanished is closed (and
opened again when it comes back). Bytes in arrive on RtMidi's thread and are handed to the
loop's thread with the driver's delta time; nothing else happens there. Bytes out are sent
from the MIDI sender's thread, under a lock the rescan takes to change the ports.
"""

import asyncio
import fnmatch
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import rtmidi

log = logging.getLogger("jamd.midi")

APIS = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}
Received = Callable[[str, bytes, float, float], None]
"""(port, bytes, seconds since the port's last message by the driver, monotonic arrival)"""
CALLBACK_DRAIN_SECONDS = 0.02  # a callback under way finishes in this, once the GIL is free


class MidiUnavailable(Exception):
    """The MIDI API cannot be opened here (no ALSA sequencer, no JACK server)."""


def use_jack_server(name: str) -> None:
    """RtMidi's JACK clients join server ``name`` ("" the default) and never start one."""
    os.environ["JACK_NO_START_SERVER"] = "1"
    if name:
        os.environ["JACK_DEFAULT_SERVER"] = name


def list_ports(api: str, client: str = "jamd-list") -> tuple[list[str], list[str]]:
    """(inputs jamd could open, outputs it could send to), as the API names them."""
    try:
        probe_in = rtmidi.MidiIn(APIS[api], client)
        probe_out = rtmidi.MidiOut(APIS[api], client)
    except rtmidi.SystemError as error:
        raise MidiUnavailable(f"MIDI through {api} is not available here: {error}") from None
    try:
        return list(probe_in.get_ports()), list(probe_out.get_ports())
    finally:
        probe_in.delete()
        probe_out.delete()


def wanted(name: str, patterns: Sequence[str], own: str) -> bool:
    """Whether jamd opens the port ``name`` ("client:port"): it matches one of ``patterns``
    (shell-style, any case) and is not jamd's own (its client's name starts with ``own``)."""
    if name.split(":", 1)[0].startswith(own):  # never jamd's own ports (nor a loop through them)
        return False
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


class _Ports(ABC):
    """A virtual port and the ports whose names match ``patterns``, kept up to date: RtMidi
    tells nothing when a port comes or goes, so they are listed again every ``rescan``
    seconds on the loop, a new match opened and one that vanished closed."""

    kind = ""  # "input" or "output", for the log
    _Port: Any = None  # rtmidi.MidiIn or rtmidi.MidiOut
    _prefix = ""  # jamd's port for the port X is named "from X" or "to X"

    def __init__(
        self, api: str, patterns: Sequence[str], *, virtual: str, client: str, rescan: float
    ) -> None:
        self.api = api
        self.patterns = tuple(patterns)
        self.virtual = virtual
        self.client = client
        self.rescan = rescan
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probe: Any = None
        self._own: list[Any] = []  # the virtual port's
        self.opened: dict[str, Any] = {}  # port name -> jamd's port for it
        self.went_away = 0  # ports closed because they vanished
        self.errors = 0  # ports that could not be opened, listings that failed
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Open the virtual port and the matching ports, then rescan on the running loop;
        ``MidiUnavailable`` if the API is not there."""
        self._loop = asyncio.get_running_loop()
        try:
            self._probe = self._Port(APIS[self.api], f"{self.client}-scan")
            if self.virtual:
                port = self._new(self.virtual)
                port.open_virtual_port(self.virtual)
                self._own.append(port)
            self.scan()
        except rtmidi.SystemError as error:
            self.close()
            raise MidiUnavailable(
                f"MIDI {self.kind}s through {self.api} are not available: {error}"
            ) from None
        self._task = self._loop.create_task(self._rescan())
        log.info(
            "MIDI %ss (%s): %s, and %d ports matching %s",
            self.kind,
            self.api,
            f"virtual {self.kind} '{self.virtual}'" if self.virtual else f"no virtual {self.kind}",
            len(self.opened),
            ", ".join(self.patterns) or "nothing",
        )

    def scan(self) -> None:
        """Open ports that match and are not open; close those that went away."""
        names = list(self._probe.get_ports())
        opened = {name: port for name, port in self.opened.items() if name in names}
        gone = [(name, port) for name, port in self.opened.items() if name not in names]
        for index, name in enumerate(names):
            if name in opened or not wanted(name, self.patterns, self.client):
                continue
            port = self._new(name)
            try:
                port.open_port(index, f"{self._prefix} {name}"[:60])
            except (rtmidi.SystemError, rtmidi.InvalidPortError) as error:
                port.delete()
                self.errors += 1
                log.warning("MIDI %s %s cannot be opened: %s", self.kind, name, error)
                continue
            opened[name] = port
            log.info("MIDI %s %s opened", self.kind, name)
        self._use(opened)
        self._close([port for _, port in gone], sending=False)  # gone ports send nothing
        for name, _ in gone:
            self.went_away += 1
            log.info("MIDI %s %s went away", self.kind, name)

    @abstractmethod
    def _new(self, name: str) -> Any:
        """An unopened port of jamd's, for ``name`` (the virtual port's, or another's)."""

    def _use(self, opened: dict[str, Any]) -> None:
        """From now on the ports ``opened`` are the open ones."""
        self.opened = opened

    @abstractmethod
    def _close(self, ports: Sequence[Any], *, sending: bool = True) -> None: ...

    async def _rescan(self) -> None:
        while True:
            await asyncio.sleep(self.rescan)
            try:
                self.scan()
            except rtmidi.SystemError as error:
                self.errors += 1
                log.warning("MIDI %ss cannot be listed: %s", self.kind, error)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        ports = [*self._own, *self.opened.values()]
        self._own.clear()
        self._use({})
        self._close(ports)
        if self._probe is not None:
            self._probe.delete()
            self._probe = None


class MidiInputs(_Ports):
    """What the ports play, handed to ``received`` on the loop's thread."""

    kind = "input"
    _Port = rtmidi.MidiIn
    _prefix = "from"

    def __init__(
        self,
        api: str,
        patterns: Sequence[str],
        received: Received,
        *,
        virtual: str = "jamd in",
        client: str = "jamd",
        rescan: float = 2.0,
    ) -> None:
        super().__init__(api, patterns, virtual=virtual, client=client, rescan=rescan)
        self._received = received

    def _new(self, name: str) -> Any:
        port = rtmidi.MidiIn(APIS[self.api], self.client, queue_size_limit=1024)
        port.ignore_types(sysex=False, timing=False, active_sense=True)
        port.set_callback(self._on_message, name)
        return port

    def _on_message(self, event: tuple[list[int], float], name: str) -> None:
        """RtMidi's thread: hand the bytes to the loop with when they came, nothing more."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            data, delta = event
            arrived = time.monotonic()
            loop.call_soon_threadsafe(self._received, name, bytes(data), delta, arrived)

    def _close(self, ports: Sequence[Any], *, sending: bool = True) -> None:
        """Callbacks off first, then a pause without the GIL, then the ports: RtMidi's thread
        may be inside a callback waiting for the GIL, and closing a port waits for that
        thread (a deadlock when a controller or a clock is sending at that moment)."""
        for port in ports:
            port.cancel_callback()
        if ports and sending:
            time.sleep(CALLBACK_DRAIN_SECONDS)
        for port in ports:
            port.delete()


class MidiOutputs(_Ports):
    """``send`` gives a message to each open port, from any thread (the sender's)."""

    kind = "output"
    _Port = rtmidi.MidiOut
    _prefix = "to"

    def __init__(
        self,
        api: str,
        patterns: Sequence[str],
        *,
        virtual: str = "jamd out",
        client: str = "jamd",
        rescan: float = 2.0,
    ) -> None:
        super().__init__(api, patterns, virtual=virtual, client=client, rescan=rescan)
        # held while sending: a port is closed only once no send can be using it
        self._sending = threading.Lock()
        self._targets: tuple[Any, ...] = ()

    def send(self, data: bytes, at: float | None = None) -> None:  # noqa: ARG002
        """``data`` to every open port, now. ``at`` (when it is due, in monotonic seconds) is
        for outputs that place each message themselves; RtMidi's ports are given it at its
        time."""
        with self._sending:
            for port in self._targets:
                port.send_message(data)

    def _new(self, _name: str) -> Any:
        return rtmidi.MidiOut(APIS[self.api], self.client)

    def _use(self, opened: dict[str, Any]) -> None:
        with self._sending:
            self.opened = opened
            self._targets = (*self._own, *opened.values())

    def _close(self, ports: Sequence[Any], *, sending: bool = True) -> None:  # noqa: ARG002
        for port in ports:
            port.close_port()
            port.delete()

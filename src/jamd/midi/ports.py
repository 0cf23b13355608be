"""MIDI ports through python-rtmidi: ALSA's sequencer (Linux's default) or JACK MIDI.

``MidiInputs`` opens a virtual input (``jamd in``) and every port whose name matches one of
the patterns (shell-style, any case: ``"*"`` takes every port, ``"nanoKONTROL*"`` one
controller), never jamd's own. RtMidi tells nothing when a port comes or goes, so the ports
are listed again every ``rescan`` seconds: a new match is opened, one that vanished is closed
(and opened again when it comes back). Bytes arrive on RtMidi's thread and are handed to the
loop's thread with the driver's delta time; nothing else happens there.
"""

import asyncio
import fnmatch
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import rtmidi

log = logging.getLogger("jamd.midi")

APIS = {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}
Received = Callable[[str, bytes, float], None]  # (port, bytes, seconds since its last)


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


class MidiInputs:
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
        self.api = api
        self.patterns = tuple(pattern.lower() for pattern in patterns)
        self.virtual = virtual
        self.client = client
        self.rescan = rescan
        self._received = received
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probe: Any = None
        self._own: list[Any] = []  # the virtual port's MidiIn
        self.opened: dict[str, Any] = {}  # port name -> its MidiIn
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Open the virtual input and the matching ports; ``MidiUnavailable`` if the API is."""
        self._loop = asyncio.get_running_loop()
        try:
            self._probe = rtmidi.MidiIn(APIS[self.api], f"{self.client}-scan")
            if self.virtual:
                port = self._input(self.virtual)
                port.open_virtual_port(self.virtual)
                self._own.append(port)
        except rtmidi.SystemError as error:
            self.close()
            raise MidiUnavailable(f"MIDI through {self.api} is not available: {error}") from None
        self.scan()
        self._task = self._loop.create_task(self._rescan())
        log.info(
            "MIDI (%s): %s, and %d ports matching %s",
            self.api,
            f"virtual input '{self.virtual}'" if self.virtual else "no virtual input",
            len(self.opened),
            ", ".join(self.patterns) or "nothing",
        )

    def scan(self) -> None:
        """Open ports that match and are not open; close those that went away."""
        names = list(self._probe.get_ports())
        for name in list(self.opened):
            if name not in names:
                self.opened.pop(name).delete()
                log.info("MIDI input %s went away", name)
        for index, name in enumerate(names):
            if name in self.opened or not self._wanted(name):
                continue
            port = self._input(name)
            try:
                port.open_port(index, f"from {name}"[:60])
            except (rtmidi.SystemError, rtmidi.InvalidPortError) as error:
                port.delete()
                log.warning("MIDI input %s cannot be opened: %s", name, error)
                continue
            self.opened[name] = port
            log.info("MIDI input %s opened", name)

    def _wanted(self, name: str) -> bool:
        client = name.split(":", 1)[0]
        if client.startswith(self.client):  # never jamd's own ports (nor a loop through them)
            return False
        return any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in self.patterns)

    def _input(self, name: str) -> Any:
        port = rtmidi.MidiIn(APIS[self.api], self.client, queue_size_limit=1024)
        port.ignore_types(sysex=False, timing=False, active_sense=True)
        port.set_callback(self._on_message, name)
        return port

    def _on_message(self, event: tuple[list[int], float], name: str) -> None:
        """RtMidi's thread: hand the bytes to the loop, nothing more."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            data, delta = event
            loop.call_soon_threadsafe(self._received, name, bytes(data), delta)

    async def _rescan(self) -> None:
        while True:
            await asyncio.sleep(self.rescan)
            try:
                self.scan()
            except rtmidi.SystemError as error:
                log.warning("MIDI ports cannot be listed: %s", error)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for port in [*self._own, *self.opened.values()]:
            port.cancel_callback()
            port.delete()
        self._own.clear()
        self.opened.clear()
        if self._probe is not None:
            self._probe.delete()
            self._probe = None


class MidiOutputs:
    """A virtual output (``jamd out``) and the ports matching ``patterns``, opened at start;
    ``send`` gives a message to each of them."""

    def __init__(
        self, api: str, patterns: Sequence[str], *, virtual: str = "jamd out", client: str = "jamd"
    ) -> None:
        self.ports: list[Any] = []
        try:
            if virtual:
                port = rtmidi.MidiOut(APIS[api], client)
                port.open_virtual_port(virtual)
                self.ports.append(port)
            probe = rtmidi.MidiOut(APIS[api], f"{client}-scan")
            names = list(probe.get_ports())
            probe.delete()
            for index, name in enumerate(names):
                if name.split(":", 1)[0].startswith(client):
                    continue
                if any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns):
                    port = rtmidi.MidiOut(APIS[api], client)
                    port.open_port(index, f"to {name}"[:60])
                    self.ports.append(port)
                    log.info("MIDI output %s opened", name)
        except (rtmidi.SystemError, rtmidi.InvalidPortError) as error:
            self.close()
            raise MidiUnavailable(f"MIDI out through {api} is not available: {error}") from None

    def send(self, data: bytes) -> None:
        for port in self.ports:
            port.send_message(data)

    def close(self) -> None:
        for port in self.ports:
            port.close_port()
            port.delete()
        self.ports.clear()

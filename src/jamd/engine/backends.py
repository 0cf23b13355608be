"""Audio backends for the live engine: JACK, PortAudio, and a silent one paced by the clock.

Each boots a pyo server the graph is built on, reports the audio clock (samples computed since
start) and what went wrong with the sound card (xruns). ``open_backend("auto")`` takes JACK if a
server runs, else PortAudio's default output, else the silent backend, and says so.

jamd never starts a JACK server: libjack would start one on demand, which on a studio machine
steals the sound card from the session the user set up. ``JACK_NO_START_SERVER`` is set before
libjack is loaded, and a named server (``jack_server``) is chosen through
``JACK_DEFAULT_SERVER``, which both pyo's libjack and the JACK-Client package read.
"""

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jamd.errors import JamdError

log = logging.getLogger("jamd.engine")

BACKENDS = ("auto", "jack", "portaudio", "null")
_CATCH_UP_SECONDS = 0.2  # the silent backend skips ahead rather than race to catch up more
_LATE_SECONDS = 0.02  # ... and counts a buffer computed later than this as an xrun


class AudioUnavailable(JamdError):
    """The audio the settings ask for cannot be started; the message says what to do."""


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """How to open the sound: the backend and its options (see config/jamd.toml)."""

    backend: str = "auto"
    sample_rate: int = 48000
    buffer_size: int = 256
    jack_client: str = "jamd"
    jack_server: str = ""
    connect: tuple[str, ...] = ("system:playback_1", "system:playback_2")
    device: str = ""


class Backend(Protocol):
    name: str
    sample_rate: int
    buffer_size: int
    server: Any

    def start(self) -> None: ...

    def position(self) -> int:
        """Samples the server has computed since it started: the audio clock."""
        ...

    def pump(self) -> float:
        """Compute what is due (only a paced backend computes here); seconds until more is."""
        ...

    def xruns(self) -> int: ...

    def load(self) -> float | None:
        """DSP load in percent, where the backend measures it."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence what C libraries print on file descriptor 2 while probing devices (ALSA's and
    PortAudio's complaints about absent cards would otherwise land in the journal)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _prepare_jack_environment(server_name: str) -> None:
    os.environ["JACK_NO_START_SERVER"] = "1"
    if server_name:
        os.environ["JACK_DEFAULT_SERVER"] = server_name


def import_jack() -> Any:
    """The JACK-Client module, with libjack's messages sent to our log; None without libjack."""
    try:
        import jack  # noqa: PLC0415  (libjack is optional: PortAudio users may not have it)
    except (ImportError, OSError) as error:
        log.debug("JACK client library unavailable: %s", error)
        return None
    jack.set_error_function(lambda message: log.debug("libjack: %s", message))
    jack.set_info_function(lambda message: log.debug("libjack: %s", message))
    return jack


def jack_server_running(server_name: str = "") -> bool:
    """Whether a JACK server answers (never starting one)."""
    _prepare_jack_environment(server_name)
    jack = import_jack()
    if jack is None:
        return False
    try:
        client = jack.Client("jamd-probe", no_start_server=True, servername=server_name or None)
    except jack.JackOpenError:
        return False
    client.close()
    return True


def portaudio_outputs() -> tuple[list[tuple[int, str]], int]:
    """PortAudio's output devices as (index, name), and the default one's index (-1: none)."""
    from jamd.engine.server import pyo  # noqa: PLC0415  (pyo loads only where audio is made)

    with quiet_stderr():
        names, indexes = pyo.pa_get_output_devices()
        default = pyo.pa_get_default_output()
    return list(zip(indexes, names, strict=True)), int(default)


def open_backend(spec: AudioSpec) -> Backend:
    """Boot a pyo server on the backend ``spec`` names (``auto``: the first that works)."""
    if spec.backend not in BACKENDS:
        raise AudioUnavailable(f"audio.backend must be one of {', '.join(BACKENDS)}")
    if spec.backend == "jack":
        return JackBackend(spec)
    if spec.backend == "portaudio":
        return PortAudioBackend(spec)
    if spec.backend == "null":
        return NullBackend(spec)
    if jack_server_running(spec.jack_server):
        try:
            return JackBackend(spec)
        except AudioUnavailable as error:  # a server pyo's own libjack cannot join (PipeWire)
            log.warning("a JACK server runs but jamd cannot join it (%s): trying PortAudio", error)
    devices, default = portaudio_outputs()
    if devices and (spec.device or default >= 0):
        try:
            return PortAudioBackend(spec)
        except AudioUnavailable as error:
            log.warning("PortAudio could not start (%s)", error)
    log.warning(
        "no JACK server is running and PortAudio has no output device: playing silently "
        "(audio.backend = null). Start JACK or PipeWire, or set audio.backend, to hear jamd"
    )
    return NullBackend(spec)


def _boot(server: Any, what: str) -> Any:
    server.setVerbosity(1)  # errors only
    server.deactivateMidi()  # MIDI is jamd's own (python-rtmidi), not pyo's PortMidi
    with quiet_stderr():
        server.boot()
    if not server.getIsBooted():
        raise AudioUnavailable(f"{what} did not start")
    return server


class JackBackend:
    """A JACK client: the server's rate and period rule; ports are connected as configured."""

    name = "jack"

    def __init__(self, spec: AudioSpec) -> None:
        _prepare_jack_environment(spec.jack_server)
        server_label = spec.jack_server or "default"
        jack = import_jack()
        if jack is None:
            raise AudioUnavailable(
                "audio.backend = jack, but libjack is not installed (Debian: apt install jackd2, "
                "or pipewire-jack)"
            )
        try:
            self._monitor = jack.Client(
                f"{spec.jack_client}-monitor",
                no_start_server=True,
                servername=spec.jack_server or None,
            )
        except jack.JackOpenError:
            raise AudioUnavailable(
                f"audio.backend = jack, but no JACK server '{server_label}' is running; jamd "
                "never starts one: start jackd (or PipeWire), or use audio.backend = auto"
            ) from None
        self._jack = jack
        self._xruns = 0
        self._monitor.set_xrun_callback(self._on_xrun)
        self._monitor.activate()
        self.sample_rate = int(self._monitor.samplerate)
        self.buffer_size = int(self._monitor.blocksize)
        self.realtime = bool(self._monitor.realtime)  # jackd -R: its clients' threads FIFO
        for asked, actual, what in (
            (spec.sample_rate, self.sample_rate, "sample_rate"),
            (spec.buffer_size, self.buffer_size, "buffer_size"),
        ):
            if asked != actual:
                log.warning(
                    "audio.%s is %d but JACK server '%s' runs at %d: using %d",
                    what,
                    asked,
                    server_label,
                    actual,
                    actual,
                )
        from jamd.engine.server import pyo  # noqa: PLC0415

        before = {port.name for port in self._monitor.get_ports()}
        try:
            self.server = _boot(
                pyo.Server(
                    sr=self.sample_rate,
                    nchnls=2,
                    buffersize=self.buffer_size,
                    duplex=0,
                    audio="jack",
                    jackname=spec.jack_client,
                ),
                f"JACK client '{spec.jack_client}'",
            )
        except BaseException:
            self._monitor.close()
            raise
        self.server.setJackAuto(False, False)
        pattern = re.compile(rf"^{re.escape(spec.jack_client)}(-\d+)?:")
        self.ports = sorted(
            port.name
            for port in self._monitor.get_ports(is_audio=True, is_output=True)
            if port.name not in before and pattern.match(port.name)
        )
        self._server_label = server_label
        self._spec = spec
        self.connected: list[str] = []

    def _on_xrun(self, _delay_usecs: float) -> None:
        self._xruns += 1

    def start(self) -> None:
        self.server.start()
        self.connect(self._spec.connect)

    def connect(self, destinations: Sequence[str]) -> None:
        """Connect output channel i to destination i (a port name); missing ports are warned
        about, never fatal."""
        for port in self.ports:
            for connection in self._monitor.get_all_connections(port):
                self._monitor.disconnect(port, connection)
        self.connected = []
        for index, destination in enumerate(destinations):
            if not self.ports:
                break
            source = self.ports[index % len(self.ports)]
            try:
                self._monitor.connect(source, destination)
                self.connected.append(destination)
            except (self._jack.JackError, ValueError) as error:
                log.warning("cannot connect %s to %s: %s", source, destination, error)

    def position(self) -> int:
        return int(self.server.getCurrentTimeInSamples())

    def pump(self) -> float:
        return 1.0  # JACK's own thread computes the audio

    def xruns(self) -> int:
        return self._xruns

    def load(self) -> float | None:
        return float(self._monitor.cpu_load())

    def describe(self) -> str:
        ports = ", ".join(self.ports) or "no ports"
        to = ", ".join(self.connected) or "nothing"
        return (
            f"JACK server '{self._server_label}', {self.sample_rate} Hz, {self.buffer_size} "
            f"frames: {ports} -> {to}"
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the server may already be gone; nothing to save
            self._monitor.deactivate()
        self._monitor.close()


class PortAudioBackend:
    """PortAudio's output device, chosen by index or by (part of) its name."""

    name = "portaudio"

    def __init__(self, spec: AudioSpec) -> None:
        from jamd.engine.server import pyo  # noqa: PLC0415

        devices, default = portaudio_outputs()
        index, self._device = self._choose(spec.device, devices, default)
        self.sample_rate = spec.sample_rate
        self.buffer_size = spec.buffer_size
        server = pyo.Server(
            sr=spec.sample_rate,
            nchnls=2,
            buffersize=spec.buffer_size,
            duplex=0,
            audio="portaudio",
        )
        server.setOutputDevice(index)
        self.server = _boot(server, f"PortAudio device '{self._device}'")

    @staticmethod
    def _choose(wanted: str, devices: list[tuple[int, str]], default: int) -> tuple[int, str]:
        names = dict(devices)
        if not devices:
            raise AudioUnavailable("PortAudio finds no output device")
        if not wanted:
            if default not in names:
                raise AudioUnavailable("PortAudio has no default output device")
            return default, names[default]
        if wanted.isdigit() and int(wanted) in names:
            return int(wanted), names[int(wanted)]
        matches = [(i, name) for i, name in devices if wanted.lower() in name.lower()]
        if not matches:
            known = "; ".join(f"{i}: {name}" for i, name in devices)
            raise AudioUnavailable(f"audio.device '{wanted}' matches no output device ({known})")
        return matches[0]

    def start(self) -> None:
        self.server.start()

    def position(self) -> int:
        return int(self.server.getCurrentTimeInSamples())

    def pump(self) -> float:
        return 1.0

    def xruns(self) -> int:
        return 0  # PortAudio does not tell pyo

    def load(self) -> float | None:
        return None

    def describe(self) -> str:
        rate, frames = self.sample_rate, self.buffer_size
        return f"PortAudio device '{self._device}', {rate} Hz, {frames} frames"

    def close(self) -> None:
        pass


class NullBackend:
    """No sound card: the server computes each buffer when the clock says it is due, so the
    music runs in real time (recordings, MIDI and control all work), and nothing is heard.

    Buffers computed more than 20 ms late count as an xrun; after a stall longer than 0.2 s
    the clock skips ahead instead of racing.
    """

    name = "null"

    def __init__(self, spec: AudioSpec, clock: Callable[[], float] = time.monotonic) -> None:
        from jamd.engine.server import pyo  # noqa: PLC0415

        self.sample_rate = spec.sample_rate
        self.buffer_size = spec.buffer_size
        self.server = _boot(
            pyo.Server(
                sr=spec.sample_rate,
                nchnls=2,
                buffersize=spec.buffer_size,
                duplex=0,
                audio="manual",
            ),
            "the silent (null) audio backend",
        )
        self._clock = clock
        self._period = spec.buffer_size / spec.sample_rate
        self._origin = 0.0
        self._buffers = 0
        self._late = 0

    def start(self) -> None:
        self.server.start()
        self._origin = self._clock()

    def position(self) -> int:
        return self._buffers * self.buffer_size

    def pump(self) -> float:
        now = self._clock()
        due = int((now - self._origin) / self._period)
        behind = (due - self._buffers) * self._period
        if behind > _CATCH_UP_SECONDS:
            self._late += 1
            self._origin = now - (self._buffers + 1) * self._period
            due = self._buffers + 1
        elif behind > _LATE_SECONDS:
            self._late += 1
        while self._buffers < due:
            self.server.process()
            self._buffers += 1
        return self._origin + (self._buffers + 1) * self._period - now

    def xruns(self) -> int:
        return self._late

    def load(self) -> float | None:
        return None

    def describe(self) -> str:
        return f"no audio device (null), {self.sample_rate} Hz, {self.buffer_size} frames"

    def close(self) -> None:
        pass

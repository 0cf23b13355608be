"""``jamd doctor``: checks what jamd needs from this machine and says what to fix.

Each check gives ``ok``, ``warn`` (jamd runs, but not at its best) or ``fail`` (what the config
asks for cannot work), with the fix in words. It only looks: it starts no audio and no JACK
server, and opens no device for longer than it takes to list it.
"""

import grp
import os
import pwd
import resource
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jamd.app.config import libraries, read_settings, resolve_recording
from jamd.engine.backends import (
    import_jack,
    jack_server_running,
    portaudio_outputs,
    quiet_stderr,
)
from jamd.errors import InputError
from jamd.settings import Settings, SettingsError

_MEMLOCK_WANTED = 256 * 1024 * 1024  # JACK and pyo lock their buffers; 64 kB is the usual default


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # ok, warn, fail
    topic: str
    text: str

    def __str__(self) -> str:
        return f"  {self.level:<5} {self.topic}: {self.text}"


def diagnose(config: Path | None, overrides: Mapping[str, Any]) -> list[Finding]:
    """Every check, in the order a user would fix things."""
    try:
        settings = read_settings(config, overrides)
    except SettingsError as error:
        return [Finding("fail", "config", problem) for problem in error.problems]
    return [
        *_config(settings, config),
        *_audio(settings),
        *_realtime(),
        *_midi(settings),
        *_cpu(),
    ]


def _config(settings: Settings, config: Path | None) -> Iterator[Finding]:
    where = str(config) if config else "the defaults (no --config)"
    styles, patches = libraries(settings)
    try:
        resolve_recording(settings.record.master, settings.record.stems)
    except InputError as error:
        yield Finding("fail", "config", f"record: {error}")
        return
    yield Finding(
        "ok",
        "config",
        f"{where} is valid ({len(styles.names())} genres, {len(patches.names())} patches)",
    )


def _audio(settings: Settings) -> Iterator[Finding]:
    audio = settings.audio
    wants = audio.backend
    server = audio.jack_server or "default"
    jack = jack_server_running(audio.jack_server)
    if wants in ("jack", "auto"):
        if jack:
            yield Finding("ok", "audio", _jack_summary(settings))
            return
        if wants == "jack":
            yield Finding(
                "fail",
                "audio",
                f"audio.backend = jack, but no JACK server '{server}' is running: start jackd "
                "(or PipeWire's JACK), or set audio.backend = auto",
            )
            return
    if wants in ("portaudio", "auto"):
        devices, default = portaudio_outputs()
        if devices and (audio.device or default >= 0):
            names = dict(devices)
            chosen = audio.device or names.get(default, "?")
            yield Finding("ok", "audio", f"PortAudio output '{chosen}' ({len(devices)} devices)")
            return
        if wants == "portaudio":
            yield Finding(
                "fail", "audio", "audio.backend = portaudio, but PortAudio finds no output device"
            )
            return
        yield Finding(
            "warn",
            "audio",
            "no JACK server and no PortAudio output device: jamd will play silently (null). "
            "Start JACK or PipeWire, or connect a sound card",
        )
        return
    yield Finding("ok", "audio", "audio.backend = null: silent by choice (recordings still work)")


def _jack_summary(settings: Settings) -> str:
    jack = import_jack()  # present: a server answered
    server = settings.audio.jack_server or None
    client = jack.Client("jamd-doctor", no_start_server=True, servername=server)
    try:
        rate, frames = client.samplerate, client.blocksize
        missing = [
            port
            for port in settings.audio.connect
            if not client.get_ports(name_pattern=f"^{port}$")
        ]
    finally:
        client.close()
    latency = 1000.0 * frames / rate
    text = f"JACK server runs at {rate} Hz, {frames} frames ({latency:.1f} ms a period)"
    if missing:
        text += f"; audio.connect names ports that do not exist: {', '.join(missing)}"
    return text


def _realtime() -> Iterator[Finding]:
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if soft > 0:
        yield Finding("ok", "realtime", f"realtime priority allowed (RLIMIT_RTPRIO {soft})")
    else:
        yield Finding(
            "warn",
            "realtime",
            "RLIMIT_RTPRIO is 0: JACK cannot give its threads realtime priority, so other "
            "programs can interrupt the audio. Fix: add the user to the 'audio' group with "
            "'@audio - rtprio 95' in /etc/security/limits.d/audio.conf (Debian's jackd2 offers "
            "it), or run jamd as the systemd service, which sets LimitRTPRIO",
        )
    memlock, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if memlock == resource.RLIM_INFINITY or memlock >= _MEMLOCK_WANTED:
        yield Finding("ok", "realtime", "memory locking allowed")
    else:
        yield Finding(
            "warn",
            "realtime",
            f"RLIMIT_MEMLOCK is {memlock // 1024} kB: audio buffers may be paged out. Fix: "
            "'@audio - memlock unlimited' in /etc/security/limits.d/audio.conf, or the "
            "systemd service (LimitMEMLOCK)",
        )
    user = pwd.getpwuid(os.getuid()).pw_name
    groups = {grp.getgrgid(g).gr_name for g in os.getgroups()}
    if user != "root" and "audio" not in groups:
        yield Finding(
            "warn",
            "realtime",
            f"user {user} is not in the 'audio' group: sudo adduser {user} audio",
        )


def _midi(settings: Settings) -> Iterator[Finding]:
    try:
        import rtmidi  # noqa: PLC0415
    except ImportError:
        yield Finding("fail", "midi", "python-rtmidi is not installed: pip install python-rtmidi")
        return
    compiled = [rtmidi.get_api_name(api) for api in rtmidi.get_compiled_api()]
    sequencer = Path("/dev/snd/seq")
    if sequencer.exists():
        try:
            with quiet_stderr():
                probe = rtmidi.MidiIn(rtmidi.API_LINUX_ALSA)
            ports = probe.get_ports()
            probe.delete()
            yield Finding("ok", "midi", f"ALSA sequencer: {len(ports)} input ports")
        except rtmidi.SystemError as error:
            yield Finding("warn", "midi", f"the ALSA sequencer does not open: {error}")
    else:
        yield Finding(
            "warn",
            "midi",
            "no ALSA sequencer (/dev/snd/seq): ALSA MIDI ports are unavailable; load "
            "snd-seq (sudo modprobe snd-seq) or use JACK MIDI",
        )
    if jack_server_running(settings.audio.jack_server):
        yield Finding("ok", "midi", "JACK MIDI is available (the JACK server runs)")
    yield Finding("ok", "midi", f"RtMidi APIs built in: {', '.join(compiled)}")


def _cpu() -> Iterator[Finding]:
    governor = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    if governor.exists():
        mode = governor.read_text().strip()
        if mode != "performance":
            yield Finding(
                "warn",
                "cpu",
                f"CPU frequency governor is '{mode}': clock changes can cause xruns at small "
                "buffers. Fix: cpupower frequency-set -g performance",
            )
            return
        yield Finding("ok", "cpu", "CPU frequency governor is 'performance'")
    cores = os.cpu_count() or 1
    yield Finding("ok", "cpu", f"{cores} cores")

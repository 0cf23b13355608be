"""Choosing the audio backend: ``auto`` takes JACK if a server runs, else PortAudio's default
output, else the silent backend with a warning; each named backend that cannot start says why.

Against the real libraries: a JACK server (the session's ``jackd -d dummy``), PortAudio as this
machine has it (on the CI machine, which has no sound card, it lists no output device), and
pyo servers booted and shut down in turn.
"""

import logging
from typing import Any

import pytest

from jamd.engine.backends import AudioSpec, AudioUnavailable, open_backend, portaudio_outputs


@pytest.fixture(autouse=True)
def _jack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a backend names its JACK server in the environment; monkeypatch puts it back."""
    monkeypatch.delenv("JACK_DEFAULT_SERVER", raising=False)
    monkeypatch.delenv("JACK_NO_START_SERVER", raising=False)


def _close(backend: Any) -> None:
    backend.server.shutdown()
    backend.close()


def test_auto_takes_jack_when_a_server_runs(jack_server: str) -> None:
    spec = AudioSpec(backend="auto", jack_server=jack_server, jack_client="jamd-auto", connect=())
    backend: Any = open_backend(spec)
    try:
        assert backend.name == "jack"
        assert backend.ports == ["jamd-auto:output_1", "jamd-auto:output_2"]
        assert backend.sample_rate == 48000
    finally:
        _close(backend)


def test_auto_without_jack_takes_portaudio_or_plays_silently_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    devices, default = portaudio_outputs()
    with caplog.at_level(logging.WARNING, logger="jamd.engine"):
        backend = open_backend(AudioSpec(backend="auto", jack_server="no-such-server"))
    try:
        if devices and default >= 0:
            assert backend.name == "portaudio"
        else:
            assert backend.name == "null"
            assert "no JACK server is running and PortAudio has no output device" in caplog.text
            assert "playing silently (audio.backend = null)" in caplog.text
    finally:
        _close(backend)


def test_portaudio_that_cannot_find_its_device_says_what_there_is() -> None:
    devices, _ = portaudio_outputs()
    spec = AudioSpec(backend="portaudio", device="no-such-device-at-all")
    with pytest.raises(AudioUnavailable) as raised:
        open_backend(spec)
    if devices:
        assert "audio.device 'no-such-device-at-all' matches no output device" in str(raised.value)
    else:
        assert str(raised.value) == "PortAudio finds no output device"


def test_jack_without_a_server_says_jamd_never_starts_one() -> None:
    with pytest.raises(AudioUnavailable) as raised:
        open_backend(AudioSpec(backend="jack", jack_server="no-such-server"))
    assert "no JACK server 'no-such-server' is running; jamd never starts one" in str(raised.value)

"""jamd doctor: what it finds on this machine, and what it tells you to fix."""

import subprocess
import sys
from pathlib import Path

JAMD = Path(sys.executable).with_name("jamd")


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JAMD), "doctor", *args], capture_output=True, text=True, check=False, timeout=60
    )


def test_a_running_jack_server_is_found_and_described(jack_server: str) -> None:
    result = doctor("--set", 'audio.backend="jack"', "--set", f'audio.jack_server="{jack_server}"')
    assert result.returncode == 0, result.stdout
    assert (
        "ok    audio: JACK server runs at 48000 Hz, 256 frames (5.3 ms a period)" in result.stdout
    )
    assert "audio.connect names ports that do not exist" not in result.stdout
    assert "ok    midi: JACK MIDI is available" in result.stdout
    assert "ok    config: the defaults (no --config) is valid" in result.stdout


def test_jack_asked_for_without_a_server_is_a_failure_with_the_fix() -> None:
    result = doctor("--set", 'audio.backend="jack"', "--set", 'audio.jack_server="nowhere"')
    assert result.returncode == 1
    assert "fail  audio: audio.backend = jack, but no JACK server 'nowhere' is running" in (
        result.stdout
    )
    assert "1 to fix" in result.stdout


def test_missing_ports_realtime_limits_and_midi_are_reported(jack_server: str) -> None:
    result = doctor(
        "--set", 'audio.backend="jack"', "--set", f'audio.jack_server="{jack_server}"',
        "--set", 'audio.connect=["system:playback_1", "nowhere:in"]',
    )  # fmt: skip
    assert "audio.connect names ports that do not exist: nowhere:in" in result.stdout
    assert "realtime:" in result.stdout
    assert "RtMidi APIs built in: alsa, jack" in result.stdout


def test_a_bad_config_fails_with_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "jamd.toml"
    config.write_text('[music]\ngenre = "polka"\ntempo = 1000\n')
    result = doctor("--config", str(config))
    assert result.returncode == 1
    assert "fail  config: " in result.stdout
    assert "music.tempo: must be at most 300" in result.stdout
    assert "music.genre: unknown genre 'polka'" in result.stdout

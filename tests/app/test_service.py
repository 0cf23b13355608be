"""``jamd run`` as systemd runs it: a real process, a real notify socket, real signals, real
JACK ports recorded by JACK's own ``jack_rec``, and the unit files checked by systemd."""

import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import REPOSITORY, TEST_PATCHES, TEST_STYLES, NotifySocket, notify_socket

from audio import onsets
from jamd.engine.wavfile import read_wav

JAMD = Path(sys.executable).with_name("jamd")


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jack_config(path: Path, jack_server: str, client: str, music: str = "") -> Path:
    return write_config(
        path,
        f"""
[audio]
backend = "jack"
jack_server = "{jack_server}"
jack_client = "{client}"
connect = []

[music]
{music}
""",
    )


class Jamd:
    """A ``jamd run`` process with its stderr in a file and systemd's socket."""

    def __init__(self, args: list[str], directory: Path, systemd: NotifySocket, **env: str):
        self.log = directory / "jamd.log"
        self.systemd = systemd
        environment = {
            **os.environ,
            "NOTIFY_SOCKET": str(systemd.path),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(JAMD), "run", *args], stderr=log, stdout=log, env=environment
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, words: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, f"no {words!r} in the log:\n{self.text()}"
            time.sleep(0.02)

    def stop(self, timeout: float = 30.0) -> tuple[int, float]:
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - began

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[NotifySocket]:
    with notify_socket(tmp_path) as made:
        yield made


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as reader:
        width = reader.getsampwidth()
        data = reader.readframes(reader.getnframes())
    dtype = {2: np.int16, 4: np.int32}[width]
    return np.frombuffer(data, dtype=dtype).astype(np.float64) / np.iinfo(dtype).max


def test_jamd_run_on_jack_is_ready_plays_on_its_ports_and_stops_on_sigterm(
    jack_server: str, tmp_path: Path, systemd: NotifySocket
) -> None:
    config = jack_config(tmp_path / "jamd.toml", jack_server, "jamd-svc", 'genre = "rock"')
    jamd = Jamd(["--config", str(config)], tmp_path, systemd, WATCHDOG_USEC="1000000")
    try:
        ready = systemd.wait_for("READY", "1")
        assert ready["STATUS"].startswith("playing rock in ")
        take = tmp_path / "take.wav"
        recorded = subprocess.run(
            ["jack_rec", "-f", str(take), "-d", "3", "-b", "16",
             "jamd-svc:output_1", "jamd-svc:output_2"],
            env={**os.environ, "JACK_DEFAULT_SERVER": jack_server},
            capture_output=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
        audio = read_pcm(take)
        assert float(np.sqrt(np.mean(audio**2))) > 0.01  # jamd's ports carry the band
        systemd.wait_for("WATCHDOG", "1")
        code, _ = jamd.stop()  # bench/live.py measures how long it takes
        assert code == 0, jamd.text()
        assert systemd.wait_for("STOPPING", "1")
        assert "stopped" in jamd.text()
    finally:
        jamd.kill()


def test_sighup_reloads_a_good_config_and_refuses_a_bad_one_while_the_music_plays_on(
    tmp_path: Path, systemd: NotifySocket
) -> None:
    patches = tmp_path / "patches" / "drums"
    patches.mkdir(parents=True)
    kit = patches / "acoustic.toml"
    kit.write_text((TEST_PATCHES / "drums" / "acoustic.toml").read_text())
    stems = tmp_path / "stems"
    base = f"""
[audio]
backend = "null"
[music]
genre = "click"
seed = 3
tempo = 120.0
[record]
stems = "{stems}"
[paths]
styles = ["{TEST_STYLES}"]
patches = ["{tmp_path / "patches"}"]
"""
    config = write_config(tmp_path / "jamd.toml", base)
    jamd = Jamd(["--config", str(config)], tmp_path, systemd)
    try:
        systemd.wait_for("READY", "1")
        time.sleep(2.0)
        write_config(config, base.replace("tempo = 120.0", "tempo = 100.0"))
        kit.write_text(kit.read_text().replace("tune = 2500.0", "tune = 2600.0"))
        jamd.process.send_signal(signal.SIGHUP)
        jamd.wait_for_log("reloaded")
        assert "reload: SetTempo(bpm=100.0)" in jamd.text()
        assert "the patches as the files now say" in jamd.text()
        deadline = time.monotonic() + 20
        while not any("100 BPM" in m.get("STATUS", "") for m in systemd.received()):
            assert time.monotonic() < deadline, systemd.received()
            time.sleep(0.02)
        beat_100 = round(48000 * 60 / 100)
        while _beats_of(stems / "drums.wav", beat_100) < 8:  # the new tempo plays
            assert time.monotonic() < deadline
            time.sleep(0.1)
        write_config(
            config,
            base.replace("tempo = 120.0", "tempo = 900.0").replace(
                "[audio]", "[audio]\nbakend = 1"
            ),
        )
        jamd.process.send_signal(signal.SIGHUP)
        jamd.wait_for_log("the old config keeps playing")
        refused = [line for line in jamd.text().splitlines() if "reload refused" in line]
        assert len(refused) == 2  # both problems at once
        assert any("music.tempo: must be at most 300" in line for line in refused)
        assert any("audio.bakend: unknown key; did you mean 'backend'" in line for line in refused)
        deadline = time.monotonic() + 20
        while _beats_of(stems / "drums.wav", beat_100) < 8 + 3:  # it plays on
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert jamd.process.poll() is None
        reloads = [m for m in systemd.received() if m.get("RELOADING") == "1"]
        assert len(reloads) == 2
        assert all("MONOTONIC_USEC" in m for m in reloads)
        code, _ = jamd.stop()
        assert code == 0
    finally:
        jamd.kill()
    drums, _ = read_wav(stems / "drums.wav")
    gaps = np.diff(onsets(drums[:, 0]))
    assert max(gaps) <= beat_100 + 1  # no beat missing across either reload: no gap


def _beats_of(stem: Path, beat: int) -> int:
    """Beats of ``beat`` samples in a stem being recorded (its header is kept up to date)."""
    drums, _ = read_wav(stem)
    return int(sum(abs(gap - beat) <= 1 for gap in np.diff(onsets(drums[:, 0]))))


def test_config_errors_are_reported_all_at_once_and_nothing_starts(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bad.toml",
        """
[audio]
backend = "alsa"
buffer_size = 3
[music]
genre = "jaz"
energy = 2
[mixer.bas]
level_db = 0
""",
    )
    result = subprocess.run(
        [str(JAMD), "run", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 5, result.stderr
    assert all(line.startswith("jamd run: error: ") for line in lines)
    text = result.stderr
    assert "audio.backend: input should be 'auto', 'jack', 'portaudio' or 'null'" in text
    assert "audio.buffer_size: must be at least 16, got 3" in text
    assert "music.energy: must be at most 1, got 2" in text
    assert "mixer.bas: unknown key; did you mean 'bass'?" in text
    assert "music.genre: unknown genre 'jaz'; did you mean 'jazz'?" in text


def test_jack_asked_for_without_a_server_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(JAMD), "run", "--audio", "jack", "--jack-server", "no-such-server"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no JACK server 'no-such-server' is running; jamd never starts one" in result.stderr


def test_an_existing_recording_is_never_overwritten(tmp_path: Path) -> None:
    take = tmp_path / "set.wav"
    take.write_bytes(b"precious")
    result = subprocess.run(
        [str(JAMD), "run", "--audio", "null", "--record", str(take)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "it exists (jamd never overwrites)" in result.stderr
    assert take.read_bytes() == b"precious"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_the_daemon_never_loads_pyo_and_ends_with_status_1_if_its_engine_dies(
    tmp_path: Path, systemd: NotifySocket
) -> None:
    jamd = Jamd(["--audio", "null"], tmp_path, systemd)
    try:
        systemd.wait_for("READY", "1")
        maps = Path(f"/proc/{jamd.process.pid}/maps").read_text()
        assert "_pyo" not in maps  # the daemon's own process: no pyo, no audio callback
        (engine,) = _children(jamd.process.pid)
        assert "_pyo" in Path(f"/proc/{engine}/maps").read_text()
        os.kill(engine, signal.SIGKILL)
        assert jamd.process.wait(30) == 1
        assert "the engine process ended unexpectedly" in jamd.text()
    finally:
        jamd.kill()


@pytest.mark.parametrize(("unit", "user"), [("jamd.service", False), ("jamd-user.service", True)])
def test_the_unit_files_pass_systemd_analyze_verify(unit: str, user: bool, tmp_path: Path) -> None:
    """Verified as installed: jamd at the path ExecStart names (here, this environment's)."""
    text = (REPOSITORY / "systemd" / unit).read_text()
    assert "ExecStart=/usr/local/bin/jamd run --config " in text
    installed = tmp_path / ("jamd.service" if user else unit)
    installed.write_text(text.replace("/usr/local/bin/jamd", str(JAMD)))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    command = ["systemd-analyze", *(["--user"] if user else []), "verify", str(installed)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr

"""`jamd render` as a user runs it: a real process, real files."""

import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from jamd import __version__
from jamd.engine.wavfile import read_wav


def jamd(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jamd.cli", *map(str, arguments)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_version_prints_and_exits_zero() -> None:
    result = jamd("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"jamd {__version__}"


@pytest.fixture(scope="module")
def jazz(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The issue's example: 30 s of jazz in B-flat at 132 BPM, seed 7, with MIDI and stems."""
    directory = tmp_path_factory.mktemp("jazz")
    result = jamd(
        "render", "--genre", "jazz", "--key", "Bb", "--tempo", "132", "--duration", "30",
        "--seed", "7", "--out", directory / "jam.wav", "--midi", directory / "jam.mid",
        "--stems", directory / "stems",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return directory, result


def test_render_writes_an_exact_length_stereo_wav_that_sounds(jazz: tuple[Path, object]) -> None:
    directory, _ = jazz
    audio, rate = read_wav(directory / "jam.wav")
    assert rate == 48000
    assert audio.shape == (30 * 48000, 2)
    assert float(np.sqrt(np.mean(audio**2))) > 0.01
    assert float(np.max(np.abs(audio))) <= 10 ** (-1 / 20)


def test_render_writes_one_stem_per_part_plus_effects(jazz: tuple[Path, object]) -> None:
    directory, _ = jazz
    stems = sorted(path.stem for path in (directory / "stems").glob("*.wav"))
    assert stems == ["bass", "drums", "fx", "keys", "lead", "pad"]
    for name in ("bass", "drums", "keys", "lead"):
        audio, _ = read_wav(directory / "stems" / f"{name}.wav")
        assert audio.shape == (30 * 48000, 2)
        assert float(np.max(np.abs(audio))) > 0.001, f"{name} stem is silent"


def test_render_writes_a_midi_file_with_tempo_meter_key_and_one_track_per_part(
    jazz: tuple[Path, object],
) -> None:
    directory, _ = jazz
    midi = mido.MidiFile(directory / "jam.mid")
    assert midi.type == 1
    conductor = {message.type: message for message in midi.tracks[0] if message.is_meta}
    assert conductor["set_tempo"].tempo == mido.bpm2tempo(132)
    assert (conductor["time_signature"].numerator, conductor["time_signature"].denominator) == (
        4,
        4,
    )
    assert conductor["key_signature"].key == "Bb"
    names = [next(m.name for m in track if m.type == "track_name") for track in midi.tracks[1:]]
    assert names == ["drums", "bass", "keys", "pad", "lead"]
    channels = {
        name: {m.channel for m in track if m.type == "note_on"}
        for name, track in zip(names, midi.tracks[1:], strict=True)
    }
    assert channels["drums"] == {9}
    assert all(9 not in used for name, used in channels.items() if name != "drums")
    assert all(channels[name] for name in ("drums", "bass", "keys", "lead"))


def test_render_prints_the_plan_with_bars_and_chords(
    jazz: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = jazz
    assert "jazz in Bb major, 132 BPM, 4/4, seed 7" in result.stdout
    plan = [line for line in result.stdout.splitlines() if line.strip().startswith("bars")]
    assert plan, result.stdout
    assert plan[0].split()[1].startswith("1-")
    assert "Bb" in plan[-1]  # the song ends on the tonic


def test_render_prints_the_masters_loudness(
    jazz: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = jazz
    line = next(line for line in result.stdout.splitlines() if line.startswith("master: "))
    lufs = float(line.split()[1])
    assert -14.5 <= lufs <= -13.5, line
    assert "LUFS integrated (" in line


def test_the_same_arguments_give_the_same_bytes(tmp_path: Path, jazz: tuple[Path, object]) -> None:
    directory, _ = jazz
    result = jamd(
        "render", "--genre", "jazz", "--key", "Bb", "--tempo", "132", "--duration", "30",
        "--seed", "7", "--out", tmp_path / "jam.wav", "--midi", tmp_path / "jam.mid",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "jam.mid").read_bytes() == (directory / "jam.mid").read_bytes()
    assert (tmp_path / "jam.wav").read_bytes() == (directory / "jam.wav").read_bytes()


def test_another_seed_gives_another_song(tmp_path: Path, jazz: tuple[Path, object]) -> None:
    directory, _ = jazz
    result = jamd(
        "render", "--genre", "jazz", "--key", "Bb", "--tempo", "132", "--duration", "30",
        "--seed", "8", "--midi", tmp_path / "jam.mid",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "jam.mid").read_bytes() != (directory / "jam.mid").read_bytes()


@pytest.mark.parametrize(
    "genre", ["pop", "rock", "electronic", "hip-hop", "classical", "country", "blues"]
)
def test_every_genre_renders(tmp_path: Path, genre: str) -> None:
    result = jamd("render", "--genre", genre, "--duration", "12", "--out", tmp_path / "song.wav")
    assert result.returncode == 0, result.stderr
    audio, _ = read_wav(tmp_path / "song.wav")
    assert audio.shape == (12 * 48000, 2)
    assert float(np.sqrt(np.mean(audio**2))) > 0.01


BAD_INPUT = [
    (["--genre", "jaz"], "unknown genre 'jaz'; did you mean 'jazz'?"),
    (
        ["--genre", "polka"],
        "genres: blues, classical, country, electronic, hip-hop, jazz, pop, rock",
    ),
    (["--key", "H#"], "cannot read key 'H#'"),
    (["--key", "C flurbian"], "e.g. C, F#m, Bb, Eb minor, D dorian"),
    (["--tempo", "400"], "tempo must be 20..300 BPM, got 400"),
    (["--tempo", "19.5"], "tempo must be 20..300 BPM, got 19.5"),
    (["--duration", "0"], "duration must be > 0 and <= 3600 seconds, got 0"),
    (["--duration", "-3"], "duration must be > 0 and <= 3600 seconds, got -3"),
    (["--duration", "3601"], "duration must be > 0 and <= 3600 seconds, got 3601"),
    (["--energy", "1.5"], "energy must be 0..1, got 1.5"),
    (
        ["--sample-rate", "12345"],
        "sample rate must be one of 22050, 32000, 44100, 48000, 88200, 96000",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_clear_line_and_writes_nothing(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    defaults = {"--genre": "pop", "--duration": "5"}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        defaults[flag] = value
    flags = [item for pair in defaults.items() for item in pair]
    result = jamd(
        "render",
        *flags,
        "--out",
        tmp_path / "a.wav",
        "--midi",
        tmp_path / "a.mid",
        "--stems",
        tmp_path / "s",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jamd render: error: ")
    assert message in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/dir/a.wav", "directory"),
        ("/proc/a.wav", "cannot write /proc/a.wav"),
        (".", "it is a directory"),
    ],
)
def test_an_unwritable_path_exits_2_before_any_work(
    tmp_path: Path, target: str, message: str
) -> None:
    out = target if target.startswith("/") else tmp_path / target
    result = jamd(
        "render", "--genre", "pop", "--duration", "5", "--out", out, "--midi", tmp_path / "a.mid"
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "a.mid").exists()


def test_stems_into_a_file_exit_2(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory")
    result = jamd("render", "--genre", "pop", "--duration", "5", "--stems", tmp_path / "taken")
    assert result.returncode == 2
    assert "not a directory" in result.stderr


def test_nothing_to_write_exits_2() -> None:
    result = jamd("render", "--genre", "pop")
    assert result.returncode == 2
    assert "nothing to write" in result.stderr

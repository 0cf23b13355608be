"""Settings: where values come from, every error at once, the documented file, jamd config."""

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from jamd.app.config import read_settings
from jamd.app.daemon import settings_changes
from jamd.compose import Part
from jamd.live.commands import SetKey, SetLevel, SetMute, SetTempo
from jamd.settings import (
    MASK,
    Band,
    PartName,
    Settings,
    SettingsError,
    dump_settings,
    load_settings,
    parse_assignment,
)

REPOSITORY = Path(__file__).resolve().parents[1]
SHIPPED = REPOSITORY / "config" / "jamd.toml"
JAMD = Path(sys.executable).with_name("jamd")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_loads_and_equals_the_defaults() -> None:
    assert load_settings(SHIPPED, environ={}) == Settings()


def test_every_setting_is_documented_in_the_shipped_config() -> None:
    text = SHIPPED.read_text()
    for section, field in Settings.model_fields.items():
        assert f"[{section}]" in text
        model = field.annotation
        assert model is not None
        for key in model.model_fields:  # type: ignore[union-attr]
            assert f"{key} =" in text or f"[{section}.{key}]" in text, f"{section}.{key}"


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    config = write(tmp_path / "jamd.toml", '[music]\ngenre = "jazz"\ntempo = 90\nenergy = 0.2\n')
    environ = {"JAMD_MUSIC__TEMPO": "100", "JAMD_MUSIC__ENERGY": "0.3"}
    settings = load_settings(config, environ=environ, overrides={"music.energy": 0.9})
    assert settings.music.genre == "jazz"  # the file
    assert settings.music.tempo == 100.0  # the environment beats the file
    assert settings.music.energy == 0.9  # the command line beats both
    listed = load_settings(None, environ={"JAMD_AUDIO__CONNECT": '["a:1", "b:2"]'})
    assert listed.audio.connect == ("a:1", "b:2")


def test_every_problem_is_reported_at_once_with_where_it_came_from(tmp_path: Path) -> None:
    config = write(
        tmp_path / "jamd.toml",
        '[audio]\nbakend = "jack"\n[music]\ngenre = "jaz"\nkey = "H"\n[live]\nsong_minutes = 0\n',
    )
    environ = {"JAMD_MIXER__MASTER_DB": "20", "JAMD_AUDI__BACKEND": "null"}
    with pytest.raises(SettingsError) as caught:
        read_settings_with(config, environ, {"music.mood": 3})
    problems = caught.value.problems
    assert len(problems) == 7, problems
    text = "\n".join(problems)
    assert "JAMD_AUDI__BACKEND: no settings section 'audi'; did you mean JAMD_AUDIO__...?" in text
    assert f"{config}: audio.bakend: unknown key; did you mean 'backend'?" in text
    assert f"{config}: live.song_minutes: must be more than 0, got 0" in text
    assert "JAMD_MIXER__MASTER_DB: mixer.master_db: must be at most 6, got '20'" in text
    assert "command line: music.mood: must be at most 1, got 3" in text
    assert f"{config}: music.genre: unknown genre 'jaz'; did you mean 'jazz'?" in text
    assert f"{config}: music.key: " in text


def read_settings_with(path: Path, environ: dict[str, str], overrides: dict[str, object]) -> None:
    from jamd.app.config import check_settings  # noqa: PLC0415

    load_settings(path, environ=environ, overrides=overrides, check=check_settings)


def test_an_unreadable_or_broken_file_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such config file"):
        load_settings(tmp_path / "missing.toml", environ={})
    broken = write(tmp_path / "broken.toml", "[audio\nbackend = 1\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_set_reads_its_value_as_toml_or_as_text() -> None:
    assert parse_assignment("music.tempo=128") == ("music.tempo", 128)
    assert parse_assignment('music.genre="jazz"') == ("music.genre", "jazz")
    assert parse_assignment("music.genre=jazz") == ("music.genre", "jazz")
    assert parse_assignment('audio.connect=["a", "b"]') == ("audio.connect", ["a", "b"])
    with pytest.raises(SettingsError, match=r"expected section\.key=value"):
        parse_assignment("tempo128")


def test_jamd_config_prints_the_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    config = write(
        tmp_path / "jamd.toml", '[training.spotify]\nclient_id = "me"\nclient_secret = "s3cr3t"\n'
    )
    result = subprocess.run(
        [str(JAMD), "config", "--config", str(config), "--set", "music.tempo=99"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "s3cr3t" not in result.stdout
    assert f'client_secret = "{MASK}"' in result.stdout
    assert f'client_id = "{MASK}"' in result.stdout
    assert "tempo = 99.0" in result.stdout
    assert "# key = (not set)" in result.stdout
    reread = write(tmp_path / "printed.toml", result.stdout.replace(f'"{MASK}"', '"x"'))
    assert load_settings(reread, environ={}).music.tempo == 99.0  # the output is a config


def test_dump_masks_only_set_secrets() -> None:
    assert 'client_secret = ""' in dump_settings(Settings())


def test_a_reload_turns_only_what_the_file_changed_into_commands() -> None:
    old = load_settings(None, environ={}, overrides={"music.tempo": 120, "music.key": "C"})
    new = load_settings(
        None,
        environ={},
        overrides={
            "music.tempo": 128,
            "music.key": "Eb",
            "mixer.bass.level_db": -3,
            "mixer.pad.mute": True,
            "log.level": "debug",
        },
    )
    assert settings_changes(old, new) == [
        SetKey.parse("Eb"),
        SetTempo(128.0),
        SetLevel("bass", -3.0),
        SetMute("pad", True),
    ]
    assert settings_changes(new, new) == []


def test_read_settings_checks_the_genre_key_and_directories(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        read_settings(None, {"music.key": "H#", "paths.styles": [str(tmp_path / "none")]})
    text = "\n".join(caught.value.problems)
    assert "music.key:" in text
    assert f"paths.styles: {tmp_path / 'none'} is not a directory" in text


def test_the_band_s_parts_are_the_composer_s_and_peers_are_host_and_port() -> None:
    assert set(get_args(PartName)) == {part.value for part in Part}
    assert Band(parts=("drums",), peers=("127.0.0.1:9001", "[::1]:9002")).enabled
    assert not Band().enabled
    for wrong in ("127.0.0.1", "host:", ":9000", "host:99999", "host:port"):
        with pytest.raises(ValueError, match="a peer is host:port"):
            Band(peers=(wrong,))
    with pytest.raises(ValueError, match="parts"):
        Band(parts=("guitar",))  # type: ignore[arg-type]

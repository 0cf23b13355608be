"""Presets: saved whole, read back as they were, refused whole when broken; loading one gives
the commands for what differs, each a real Command (so it lands on its own boundary)."""

import os
from pathlib import Path

import pytest

from jamd.live.commands import SetGenre, SetLevel, SetPatch, SetSend, SetTempo
from jamd.live.presets import Preset, PresetError, PresetStore
from jamd.live.session import Session


def _session() -> Session:
    session = Session(genre="jazz", key="F major", tempo=92.5, energy=0.3, mood=0.7)
    session = session.with_part("bass", level_db=-4.5, patch="bass/upright", muted=True)
    return session.with_part("keys", reverb=0.4, pan=-0.5, soloed=True, tone=0.25)


def test_a_saved_preset_reads_back_as_the_session_was(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / "presets")
    assert store.names() == []
    path = store.save("Late set 2", _session())
    assert path == tmp_path / "presets" / "Late set 2.toml"
    text = path.read_text()
    assert text.startswith('# jamd preset "Late set 2", saved ')
    assert 'patch = "bass/upright"' in text
    assert store.names() == ["Late set 2"]
    assert store.load("Late set 2") == Preset.of(_session())
    assert [p.name for p in path.parent.iterdir()] == ["Late set 2.toml"]  # no leftovers


def test_loading_gives_commands_for_what_differs_only(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("a", _session())
    now = Session(genre="jazz", key="F major", tempo=120.0, energy=0.3, mood=0.7)
    commands = store.load("a").commands(now)
    assert SetTempo(92.5) in commands
    assert SetLevel("bass", -4.5) in commands
    assert SetPatch("bass", "bass/upright") in commands
    assert SetSend("keys", "reverb", 0.4) in commands
    assert not any(isinstance(c, SetGenre) for c in commands)  # same genre: no new song
    assert store.load("a").commands(_session()) == []


def test_a_preset_saved_again_replaces_the_old_one_whole(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("a", _session())
    store.save("a", Session(genre="rock", key="E minor", tempo=140.0))
    preset = store.load("a")
    assert preset.music.genre == "rock"
    assert preset.mixer.part("bass").patch is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[music\n", "cannot be read"),
        (b"\xff\xfe".decode("latin-1"), "cannot be read"),
        ('[music]\ngenre = "pop"\nkey = "C"\ntempo = 400\n', "music.tempo: must be at most 300"),
        ('[music]\ngenre = "pop"\nkey = "C"\ntempo = 100\nloud = 1\n', "music.loud: unknown key"),
        ("[mixer]\nmaster_db = 0\n", "music: required"),
        ('[music]\ngenre = "pop"\nkey = "C"\ntempo = 100\n[mixer.bass]\npan = 3\n', "pan"),
    ],
)
def test_a_broken_preset_is_refused_with_what_is_wrong(
    tmp_path: Path, text: str, error: str
) -> None:
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PresetError, match=error):
        PresetStore(tmp_path).load("bad")


def test_names_that_are_not_plain_are_refused(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    for name in ["", "../x", "a/b", ".hidden", "x" * 65, "tab\there"]:
        with pytest.raises(PresetError, match="a preset name is"):
            store.save(name, _session())
    with pytest.raises(PresetError, match=r"no preset 'nope' \(presets: none saved yet\)"):
        store.load("nope")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_that_cannot_be_written_is_an_error_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    store = PresetStore(tmp_path / "presets")
    store.save("kept", _session())
    os.chmod(store.directory, 0o500)
    try:
        if os.access(store.directory, os.W_OK):  # root writes anywhere: use a file as the dir
            store = PresetStore(tmp_path / "presets" / "kept.toml")
        with pytest.raises(PresetError, match="cannot save preset 'new'"):
            store.save("new", _session())
    finally:
        os.chmod(tmp_path / "presets", 0o700)
    assert sorted(p.name for p in (tmp_path / "presets").iterdir()) == ["kept.toml"]

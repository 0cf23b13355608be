"""Presets: saved whole in the store, read back as they were, refused whole when broken; loading
one gives the commands for what differs, each a real Command (so it lands on its own boundary);
TOML presets of the old presets directory are imported once, and their files left alone."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jamd.live.commands import SetGenre, SetLevel, SetPatch, SetSend, SetTempo
from jamd.live.presets import Preset, PresetError, PresetStore
from jamd.live.session import Session
from jamd.store import Store

T = TypeVar("T")


def _session() -> Session:
    session = Session(genre="jazz", key="F major", tempo=92.5, energy=0.3, mood=0.7)
    session = session.with_part("bass", level_db=-4.5, patch="bass/upright", muted=True)
    return session.with_part("keys", reverb=0.4, pan=-0.5, soloed=True, tone=0.25)


def _with_presets(path: Path, work: Callable[[PresetStore], Awaitable[T]]) -> T:
    async def go() -> T:
        async with await Store.open(path) as store:
            return await work(PresetStore(store))

    return asyncio.run(go())


def test_a_saved_preset_reads_back_as_the_session_was(tmp_path: Path) -> None:
    async def work(presets: PresetStore) -> None:
        assert await presets.names() == []
        await presets.save("Late set 2", _session())
        assert await presets.names() == ["Late set 2"]
        assert await presets.load("Late set 2") == Preset.of(_session())
        data = await presets.store.load_preset("Late set 2")
        assert data is not None
        assert data["mixer"]["bass"]["patch"] == "bass/upright"

    _with_presets(tmp_path / "jamd.sqlite3", work)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "jamd.sqlite3"
    ]


def test_presets_survive_a_restart_of_the_store(tmp_path: Path) -> None:
    async def save(presets: PresetStore) -> None:
        await presets.save("kept", _session())

    async def load(presets: PresetStore) -> Preset:
        return await presets.load("kept")

    _with_presets(tmp_path / "jamd.sqlite3", save)
    assert _with_presets(tmp_path / "jamd.sqlite3", load) == Preset.of(_session())


def test_loading_gives_commands_for_what_differs_only(tmp_path: Path) -> None:
    async def work(presets: PresetStore) -> None:
        await presets.save("a", _session())
        now = Session(genre="jazz", key="F major", tempo=120.0, energy=0.3, mood=0.7)
        commands = (await presets.load("a")).commands(now)
        assert SetTempo(92.5) in commands
        assert SetLevel("bass", -4.5) in commands
        assert SetPatch("bass", "bass/upright") in commands
        assert SetSend("keys", "reverb", 0.4) in commands
        assert not any(isinstance(c, SetGenre) for c in commands)  # same genre: no new song
        assert (await presets.load("a")).commands(_session()) == []

    _with_presets(tmp_path / "jamd.sqlite3", work)


def test_a_preset_saved_again_replaces_the_old_one_whole(tmp_path: Path) -> None:
    async def work(presets: PresetStore) -> None:
        await presets.save("a", _session())
        await presets.save("a", Session(genre="rock", key="E minor", tempo=140.0))
        preset = await presets.load("a")
        assert preset.music.genre == "rock"
        assert preset.mixer.part("bass").patch is None

    _with_presets(tmp_path / "jamd.sqlite3", work)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"music": {"genre": "pop", "key": "C", "tempo": 400}}, "music.tempo: must be at most 300"),
        ({"music": {"genre": "pop", "key": "C", "tempo": 100, "loud": 1}}, "music.loud: unknown"),
        ({"mixer": {"master_db": 0}}, "music: required"),
        (
            {"music": {"genre": "pop", "key": "C", "tempo": 100}, "mixer": {"bass": {"pan": 3}}},
            "pan",
        ),
    ],
)
def test_a_broken_preset_row_is_refused_with_what_is_wrong(
    tmp_path: Path, data: dict[str, Any], error: str
) -> None:
    async def work(presets: PresetStore) -> None:
        await presets.store.save_preset("bad", data)
        with pytest.raises(PresetError, match=f"preset 'bad' .in .*is broken: .*{error}"):
            await presets.load("bad")

    _with_presets(tmp_path / "jamd.sqlite3", work)


def test_names_that_are_not_plain_are_refused(tmp_path: Path) -> None:
    async def work(presets: PresetStore) -> None:
        for name in ["", "../x", "a/b", ".hidden", "x" * 65, "tab\there"]:
            with pytest.raises(PresetError, match="a preset name is"):
                await presets.save(name, _session())
        with pytest.raises(PresetError, match=r"no preset 'nope' \(presets: none saved yet\)"):
            await presets.load("nope")
        assert await presets.names() == []

    _with_presets(tmp_path / "jamd.sqlite3", work)


def test_old_toml_presets_are_imported_once_and_their_files_kept(tmp_path: Path) -> None:
    old = tmp_path / "presets"
    old.mkdir()
    files = {
        "ballad.toml": '[music]\ngenre = "jazz"\nkey = "F major"\ntempo = 70.0\n'
        '[mixer.bass]\nlevel_db = -6.0\npatch = "bass/upright"\n',
        "broken.toml": '[music]\ngenre = "pop"\nkey = "C"\ntempo = 900\n',
        "unreadable.toml": "[music\n",
        ".hidden.toml": '[music]\ngenre = "pop"\nkey = "C"\ntempo = 100\n',
        "notes.txt": "not a preset",
    }
    for name, text in files.items():
        (old / name).write_text(text, encoding="utf-8")
    database = tmp_path / "jamd.sqlite3"

    async def first(presets: PresetStore) -> tuple[int, list[str]]:
        added = await presets.import_files(old)
        return added, await presets.names()

    async def again(presets: PresetStore) -> tuple[int, Preset, str]:
        await presets.store.delete_preset("broken")  # deleted stays deleted
        added = await presets.import_files(old)
        ballad = await presets.load("ballad")
        with pytest.raises(PresetError) as caught:
            await presets.load("broken")
        return added, ballad, str(caught.value)

    assert _with_presets(database, first) == (2, ["ballad", "broken"])
    added, ballad, error = _with_presets(database, again)
    assert added == 0
    assert (ballad.music.tempo, ballad.mixer.part("bass").patch) == (70.0, "bass/upright")
    assert "no preset 'broken' (presets: ballad)" in error
    assert sorted(p.name for p in old.iterdir()) == sorted(files)  # never deleted
    assert (old / "ballad.toml").read_text(encoding="utf-8") == files["ballad.toml"]
    nowhere = tmp_path / "none"
    assert _with_presets(tmp_path / "other.sqlite3", lambda p: p.import_files(nowhere)) == 0


def test_a_store_that_cannot_write_is_a_preset_error_and_keeps_what_was_there(
    tmp_path: Path,
) -> None:
    async def work(presets: PresetStore) -> None:
        await presets.save("kept", _session())
        connection = presets.store._connection
        assert connection is not None
        await connection.execute("PRAGMA query_only = ON")  # as a read-only disk would refuse
        with pytest.raises(PresetError, match="cannot save preset 'new'"):
            await presets.save("new", _session())
        await connection.execute("PRAGMA query_only = OFF")
        assert await presets.names() == ["kept"]

    _with_presets(tmp_path / "jamd.sqlite3", work)

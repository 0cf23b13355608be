"""The daemon and its store: every song played is a row (``jamd songs`` lists it, ``jamd render
--song`` renders it note for note as ``jamd render`` would with its flags, ``/jamd/song/replay``
plays it again), likes and skips over real UDP are rows against the song and bar, old files are
imported once, and a store that cannot open leaves the music playing."""

import asyncio
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from helpers import Client, click_settings, playing, until

from jamd.app.daemon import Daemon, import_old_files
from jamd.compose.model import Chain, StyleModel
from jamd.store import Feedback, SongRecord, Store
from jamd.styles.library import StyleLibrary
from jamd.theory import Mode

JAMD = str(Path(sys.executable).with_name("jamd"))


async def _rows(store: Store) -> tuple[list[SongRecord], list[Feedback]]:
    return await store.songs(), await store.feedback()


def _blues(database: Path, **extra: Any) -> Daemon:
    settings = {
        "paths.database": str(database),
        "music.genre": "blues",
        "music.tempo": 150.0,
        "music.seed": 5,
        **extra,
    }
    return Daemon(click_settings(None, **settings))


def test_songs_likes_skips_and_replays_are_kept_and_render_again(tmp_path: Path) -> None:
    database = tmp_path / "jamd.sqlite3"
    seen: dict[str, Any] = {}

    async def perform() -> None:
        async with playing(_blues(database)) as daemon:
            client = Client()
            store, conductor = daemon.store, daemon.conductor
            assert store is not None
            assert conductor is not None
            try:
                await until(lambda: conductor.session.bar >= 1, 30)
                client.send(daemon, "/jamd/like")
                client.send(daemon, "/jamd/like", 1)  # takes nothing: an error, no row
                client.send(daemon, "/jamd/song/replay", "one")  # not an id
                client.send(daemon, "/jamd/song/replay", 999)  # no such song
                errors = await client.until(lambda r: r[0] == "/jamd/error")
                await client.until(lambda r: r[0] == "/jamd/error" and "no song 999" in r[1][1])
                first_song = conductor.session.song
                client.send(daemon, "/jamd/skip")  # recorded, then a new song
                await until(lambda: conductor.session.song == first_song + 1, 30)
                songs, feedback = await _rows(store)
                first = songs[-1]
                seen["first"] = first
                assert [f.kind for f in feedback] == ["like", "skip"]
                assert {f.song_id for f in feedback} == {first.id}
                assert all(f.bar is not None and f.bar >= 1 for f in feedback)
                assert conductor.session.seed != first.seed
                client.send(daemon, "/jamd/song/replay", first.id)
                await until(lambda: conductor.session.seed == first.seed, 30)
                assert conductor.session.genre == "blues"
                texts = [r[1][1] for r in client.received if r[0] == "/jamd/error"]
                assert len(texts) == 3, errors
                assert any("takes nothing" in text for text in texts)
                assert any("takes a song's id" in text for text in texts)
            finally:
                client.close()

    asyncio.run(perform())

    async def read() -> tuple[list[SongRecord], list[Feedback]]:
        async with await Store.open(database) as store:
            return await _rows(store)

    songs, feedback = asyncio.run(read())
    assert len(songs) == 3  # the first, the one the skip started, the first again
    first = next(song for song in songs if song.id == seen["first"].id)
    again = songs[0]
    assert (again.seed, again.params["genre"]) == (first.seed, "blues")
    assert all(song.ended_at is not None for song in songs)  # the stop ended the last one
    assert first.params["tempo"] == 150.0
    assert first.params["duration"] == 60.0
    assert set(first.params["patches"]) == {"drums", "bass", "keys", "pad", "lead"}
    assert first.timings["sections"][0][1] >= 0.0
    assert first.timings["bars"] >= 1
    assert len(feedback) == 2

    listed = subprocess.run(
        [JAMD, "songs", "--db", str(database)], capture_output=True, text=True, check=True
    )
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "started", "genre"]
    assert [line.split()[0] for line in lines[1:]] == [str(song.id) for song in songs]
    first_line = next(line for line in lines[1:] if line.split()[0] == str(first.id))
    assert "blues" in first_line
    assert first_line.split()[-2:] == ["1", "1"]  # a like and a skip

    by_row = tmp_path / "by-row.mid"
    by_flags = tmp_path / "by-flags.mid"
    subprocess.run(
        [JAMD, "render", "--song", str(first.id), "--db", str(database), "--midi", str(by_row)],
        check=True,
        capture_output=True,
    )
    params = first.params
    subprocess.run(
        [
            JAMD, "render", "--genre", "blues", "--key", params["key"],
            "--tempo", str(params["tempo"]), "--energy", str(params["energy"]),
            "--duration", str(params["duration"]), "--seed", str(first.seed),
            "--midi", str(by_flags),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert by_row.read_bytes() == by_flags.read_bytes()
    assert len(by_row.read_bytes()) > 1000


def test_render_and_songs_refuse_a_missing_store_or_song(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    result = subprocess.run(
        [JAMD, "songs", "--db", str(missing)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert f"no store at {missing}" in result.stderr
    assert not missing.exists()  # reading never makes one
    asyncio.run(_make(tmp_path / "empty.sqlite3"))
    empty = subprocess.run(
        [JAMD, "songs", "--db", str(tmp_path / "empty.sqlite3")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert empty.stdout == "no songs yet\n"
    result = subprocess.run(
        [JAMD, "render", "--song", "4", "--db", str(tmp_path / "empty.sqlite3"), "--midi", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "no song 4 in the store" in result.stderr


async def _make(path: Path) -> None:
    await (await Store.open(path)).close()


def test_a_store_that_cannot_open_leaves_the_music_playing(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"not a database at all\n" * 100)
    before = bad.read_bytes()

    async def perform() -> None:
        settings = {"paths.database": str(bad)}
        async with playing(Daemon(click_settings(None, **settings))) as daemon:
            client = Client()
            conductor = daemon.conductor
            assert conductor is not None
            assert daemon.store is None
            try:
                await until(lambda: conductor.session.bar >= 1, 30)
                client.send(daemon, "/jamd/preset/save", "x")
                client.send(daemon, "/jamd/like")
                client.send(daemon, "/jamd/tempo", 100.0)
                await client.until(lambda r: r == ("/jamd/tempo", (100.0,)))
                await client.until(lambda r: r[0] == "/jamd/error" and "songs are not" in r[1][1])
                await client.until(
                    lambda r: r[0] == "/jamd/error" and "presets are off: the store" in r[1][1]
                )
                assert conductor.session.tempo == 100.0
            finally:
                client.close()

    asyncio.run(perform())
    assert bad.read_bytes() == before


def test_old_presets_and_learned_controls_are_imported_once(tmp_path: Path) -> None:
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "gig.toml").write_text('[music]\ngenre = "blues"\nkey = "A"\ntempo = 90.0\n')
    learned = tmp_path / "learned.toml"
    learned.write_text('[[cc]]\ncontrol = 21\nchannel = 1\ntarget = "/jamd/energy"\n')
    settings = click_settings(None, **{"paths.presets": str(presets), "midi.learned": str(learned)})

    async def go() -> tuple[list[str], Any, list[str], Any]:
        async with await Store.open(tmp_path / "jamd.sqlite3") as store:
            await import_old_files(settings, store)
            first = (await store.preset_names(), await store.load_midi_map("learned"))
            await store.delete_preset("gig")
            await store.save_midi_map("learned", {"cc": []})
            await import_old_files(settings, store)  # once: deleted and changed stay so
            return *first, await store.preset_names(), await store.load_midi_map("learned")

    names, learned_map, names_after, learned_after = asyncio.run(go())
    assert names == ["gig"]
    assert learned_map["cc"][0]["control"] == 21
    assert names_after == []
    assert learned_after == {"cc": []}
    assert (presets / "gig.toml").is_file()
    assert learned.is_file()


async def _store_model(path: Path, model: dict[str, object]) -> int:
    """The model stored as the next version, and a song row that played it (its id)."""
    async with await Store.open(path) as store:
        stats = await store.put_style("blues", model, 0, {})
        params = {"genre": "blues", "key": "E major", "tempo": 100.0, "duration": 20.0}
        return await store.add_song({**params, "model": stats.version}, 5, 0.0, {})


def test_render_plans_with_the_stored_model_of_the_genre(tmp_path: Path) -> None:
    database = tmp_path / "jamd.sqlite3"
    builtin = StyleModel.builtin(StyleLibrary().get("blues"))
    chain = Chain({"bVII7": {"bVII7": 1.0}})  # a blues no style file plays
    chords = {pool: {"major": chain, "minor": chain} for pool in builtin.chords}
    odd = replace(builtin, tempo=((77.0, 1.0),), keys=((2, Mode.MINOR, 1.0),), chords=chords)
    played_v1 = asyncio.run(_store_model(database, odd.to_dict()))

    def render(*extra: str) -> str:
        midi = str(tmp_path / "blues.mid")
        done = subprocess.run(
            [JAMD, "render", "--genre", "blues", "--db", str(database), "--midi", midi, *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    learned = render()
    assert "style model: blues v1 (0 samples) from the store" in learned
    assert "blues in D minor, 77 BPM" in learned  # no key or tempo asked: the model's draws
    assert "C7" in learned  # bVII7 in D
    asked = render("--key", "E", "--tempo", "100")
    assert "blues in E major, 100 BPM" in asked
    alone = render("--no-model")
    assert "style model: none (--no-model)" in alone
    assert "blues in E major, 92 BPM" in alone  # the genre file's own
    assert "C7" not in alone
    asyncio.run(_store_model(database, builtin.to_dict()))  # v2: the latest
    assert "style model: blues v2 (0 samples) from the store" in render()
    again = render("--song", str(played_v1))  # the song row says which model it played
    assert "style model: blues v1 (0 samples) from the store" in again
    assert "D7" in again  # bVII7 in the song's E

"""The store on real SQLite files: migrations, refusals that leave a file as it was, every
table's round trip, one writer, and no committed row lost to kill -9."""

import asyncio
import math
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jamd.store import MIGRATIONS, VERSION, Sample, Store, StoreError, read_samples
from jamd.store.db import APPLICATION_ID
from jamd.store.records import EncodedFeatures

T = TypeVar("T")
WRITER = Path(__file__).with_name("store_writer.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]


class Clock:
    """Seconds that count up by one per reading: times the test can name."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _sample(external_id: str, genre: str = "blues", **features: Any) -> Sample:
    return Sample("midi", genre, external_id, features or {"tempo": 96.0}, 0.8, 5.0)


def _pragma(path: Path, name: str) -> Any:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


# -- opening and migrating ---------------------------------------------------------------------


def test_a_new_store_is_made_with_its_directories_in_wal_at_the_latest_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "deeper" / "jamd.sqlite3"

    async def go() -> tuple[int, list[str], list[Any]]:
        async with await Store.open(path) as store:
            settings = [
                (await store._read("", f"PRAGMA {name}"))[0][0]
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
            return await store.version(), await store.integrity(), settings

    version, integrity, settings = run(go)
    assert version == VERSION == len(MIGRATIONS)
    assert integrity == ["ok"]
    assert settings == ["wal", 2, 1, 5000]  # synchronous 2 is FULL
    assert _pragma(path, "user_version") == VERSION
    assert _pragma(path, "application_id") == APPLICATION_ID
    assert _pragma(path, "journal_mode") == "wal"  # kept in the file


def test_an_empty_file_is_taken_as_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "jamd.sqlite3"
    path.write_bytes(b"")

    async def go() -> int:
        async with await Store.open(path) as store:
            return await store.version()

    assert run(go) == VERSION


def test_an_older_store_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO samples (source, genre, external_id, features, quality, fetched_at) "
            "VALUES ('midi', 'blues', 'a.mid', '{\"tempo\": 90}', 0.5, 3.0)"
        )
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute("PRAGMA user_version = 1")
    connection.close()

    async def go() -> tuple[int, list[Sample], list[str]]:
        async with await Store.open(path) as store:
            await store.save_preset("kept", {"music": {"genre": "blues"}})
            return await store.version(), await store.samples("blues"), await store.preset_names()

    version, samples, names = run(go)
    assert version == VERSION == 2
    assert samples == [Sample("midi", "blues", "a.mid", {"tempo": 90}, 0.5, 3.0)]
    assert names == ["kept"]


def test_a_store_from_a_newer_jamd_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE future (x)")
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {VERSION + 5}")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        run(lambda: Store.open(path))
    text = str(caught.value)
    assert str(path) in text
    assert f"newer jamd (schema version {VERSION + 5}; this jamd knows 1..{VERSION})" in text
    assert path.read_bytes() == before
    assert _pragma(path, "journal_mode") == "delete"  # not switched to WAL either


def test_a_file_that_is_no_database_is_refused_by_name_and_left_intact(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        run(lambda: Store.open(path))
    assert str(caught.value).startswith(f"store {path}: it is not an SQLite database")
    assert "left as it is" in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_sqlite_database_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE contacts (name)")
        connection.execute("INSERT INTO contacts VALUES ('Ann')")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="database of something else, not jamd's"):
        run(lambda: Store.open(path))
    assert path.read_bytes() == before


def test_a_directory_in_the_way_is_a_plain_error(tmp_path: Path) -> None:
    (tmp_path / "jamd.sqlite3").mkdir()
    with pytest.raises(StoreError, match="cannot be opened"):
        run(lambda: Store.open(tmp_path / "jamd.sqlite3"))
    # the failed connection's thread has ended with the call: nothing of it outlives the loop
    assert not [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


# -- round trips -------------------------------------------------------------------------------


def test_samples_are_upserted_by_source_and_id_and_counted(tmp_path: Path) -> None:
    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            written = await store.put_samples(
                [
                    _sample("a.mid", progression=["I7", "IV7"], drums={"kick": [1.0] + [0.0] * 15}),
                    _sample("b.mid"),
                    Sample("spotify", "blues", "t1", {"tempo": 120.5, "key": 4, "mode": 1}, 1, 9),
                    _sample("c.mid", genre="jazz"),
                ]
            )
            assert written == 4
            assert await store.put_samples([]) == 0
            again = await store.put_samples([_sample("a.mid", genre="blues", tempo=80.0)])
            assert again == 1
            blues = await store.samples("blues")
            assert [s.external_id for s in blues] == ["a.mid", "b.mid", "t1"]
            assert blues[0].features == {"tempo": 80.0}  # replaced whole
            assert [s.external_id for s in await store.samples("blues", "spotify")] == ["t1"]
            assert (await store.samples("blues", "spotify"))[0].features["key"] == 4
            # another process reads the same from the file, beside the open store
            assert read_samples(store.path, "blues") == blues
            assert read_samples(store.path, "rock") == []
            assert await store.sample_counts() == {
                ("midi", "blues"): 2,
                ("midi", "jazz"): 1,
                ("spotify", "blues"): 1,
            }
            assert await store.delete_samples("midi", "blues") == 2
            assert await store.sample_counts() == {("midi", "jazz"): 1, ("spotify", "blues"): 1}

    run(go)


def test_a_sample_that_is_not_plain_json_refuses_its_batch_whole(tmp_path: Path) -> None:
    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            with pytest.raises(StoreError, match=r"sample midi:bad.mid cannot be stored"):
                await store.put_samples([_sample("ok.mid"), _sample("bad.mid", tempo=math.nan)])
            with pytest.raises(StoreError, match="quality must be a finite number"):
                await store.put_samples([Sample("midi", "blues", "q", {}, math.inf, 1.0)])
            with pytest.raises(StoreError, match="not plain JSON"):
                await store.put_samples([_sample("set.mid", tags={1, 2})])
            assert await store.sample_counts() == {}

    run(go)


def test_style_models_count_versions_up_per_genre(tmp_path: Path) -> None:
    clock = Clock()

    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3", clock=clock) as store:
            assert await store.latest_style("blues") is None
            assert await store.latest_styles() == {}
            first = await store.put_style("blues", {"tempo": [90, 100]}, 12, {"midi": 12})
            second = await store.put_style("blues", {"tempo": [95]}, 20, {"midi": 15, "spotify": 5})
            jazz = await store.put_style("jazz", {"tempo": [140]}, 3, {"midi": 3})
            assert (first.version, second.version, jazz.version) == (1, 2, 1)
            latest = await store.latest_style("blues")
            assert latest == second
            assert latest is not None
            assert latest.model == {"tempo": [95]}
            assert latest.sources == {"midi": 15, "spotify": 5}
            assert latest.samples == 20
            assert latest.fitted_at > first.fitted_at
            assert await store.latest_styles() == {"blues": second, "jazz": jazz}

    run(go)


def test_the_refresh_log_says_when_each_source_and_genre_last_finished(tmp_path: Path) -> None:
    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            assert await store.last_refresh() is None
            await store.record_refresh("midi", "blues", 10.0, 20.0, {"read": 5, "skipped": {}})
            await store.record_refresh("midi", "jazz", 30.0, 40.0, {"read": 2})
            await store.record_refresh("spotify", "blues", 50.0, 55.0, {"error": "403"})
            assert await store.last_refresh() == 55.0
            assert await store.last_refresh("midi") == 40.0
            assert await store.last_refresh("midi", "blues") == 20.0
            assert await store.last_refresh(genre="blues") == 55.0
            assert await store.last_refresh("midi", "rock") is None
            newest = await store.refreshes(limit=2)
            assert [(r["source"], r["genre"]) for r in newest] == [
                ("spotify", "blues"),
                ("midi", "jazz"),
            ]
            assert newest[0]["result"] == {"error": "403"}

    run(go)


def test_presets_and_midi_maps_round_trip_by_name(tmp_path: Path) -> None:
    preset = {"music": {"genre": "jazz", "key": "F major", "tempo": 92.5}, "mixer": {}}

    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            assert await store.preset_names() == []
            assert await store.load_preset("a") is None
            await store.save_preset("b set", preset)
            await store.save_preset("a", {"music": {"genre": "rock"}})
            await store.save_preset("a", {"music": {"genre": "pop"}})  # replaced whole
            assert await store.preset_names() == ["a", "b set"]
            assert await store.load_preset("b set") == preset
            assert await store.load_preset("a") == {"music": {"genre": "pop"}}
            assert await store.delete_preset("a") is True
            assert await store.delete_preset("a") is False
            assert await store.preset_names() == ["b set"]
            with pytest.raises(StoreError, match="name must be a non-empty string"):
                await store.save_preset("", preset)
            learned = {"cc": [{"control": 77, "channel": 1, "target": "/jamd/mood"}], "note": []}
            assert await store.load_midi_map("learned") is None
            await store.save_midi_map("learned", learned)
            assert await store.load_midi_map("learned") == learned

    run(go)


def test_an_import_happens_once_and_never_replaces_the_stores_own(tmp_path: Path) -> None:
    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            await store.save_preset("mine", {"music": {"genre": "rock"}})
            assert await store.import_named("preset", "old", {"v": 1}, "/p/old.toml") is True
            assert await store.import_named("preset", "old", {"v": 2}, "/p/old.toml") is False
            assert await store.import_named("preset", "mine", {"v": 3}, "/p/mine.toml") is False
            assert await store.load_preset("old") == {"v": 1}
            assert await store.load_preset("mine") == {"music": {"genre": "rock"}}
            assert await store.imported("preset") == {"/p/old.toml", "/p/mine.toml"}
            await store.delete_preset("old")  # deleted stays deleted: the file was imported
            assert await store.import_named("preset", "old", {"v": 1}, "/p/old.toml") is False
            assert await store.load_preset("old") is None
            assert await store.import_named("midi_map", "learned", {"cc": []}, "/l.toml")
            with pytest.raises(StoreError, match="import kind must be one of preset, midi_map"):
                await store.import_named("song", "x", {}, "/x")

    run(go)


def test_songs_are_added_finished_and_listed_newest_first(tmp_path: Path) -> None:
    params = {"genre": "blues", "key": "A major", "tempo": 96.0, "energy": 0.6, "duration": 60.0}

    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            first = await store.add_song(params, 41, 100.0, {"master": "/rec/set.wav"})
            second = await store.add_song({**params, "genre": "jazz"}, 42, 200.0, {})
            assert (first, second) == (1, 2)
            await store.finish_song(first, 160.0, {"sections": [["intro", 0.0]], "bars": 24})
            song = await store.song(first)
            assert song is not None
            assert (song.seed, song.started_at, song.ended_at) == (41, 100.0, 160.0)
            assert song.params == params
            assert song.timings == {"sections": [["intro", 0.0]], "bars": 24}
            assert song.paths == {"master": "/rec/set.wav"}
            assert await store.song(99) is None
            assert [s.id for s in await store.songs()] == [2, 1]
            assert [s.id for s in await store.songs(limit=1)] == [2]
            assert (await store.songs())[0].ended_at is None
            with pytest.raises(StoreError, match="no song 99"):
                await store.finish_song(99, 1.0, {})

    run(go)


def test_feedback_is_kept_per_song_and_a_bad_kind_is_refused(tmp_path: Path) -> None:
    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            song = await store.add_song({"genre": "pop"}, 1, 1.0, {})
            like = await store.add_feedback(song, "like", 5.0, 3, {"from": "127.0.0.1"})
            skip = await store.add_feedback(song, "skip", 6.0, 4, {})
            lost = await store.add_feedback(77, "skip", 7.0, None, {})  # no such song: None
            loose = await store.add_feedback(None, "like", 8.0, None, {})
            with pytest.raises(StoreError, match="feedback must be one of like, skip, got 'love'"):
                await store.add_feedback(song, "love", 9.0, 1, {})
            every = await store.feedback()
            assert [f.id for f in every] == [like, skip, lost, loose]
            assert [(f.kind, f.bar, f.song_id) for f in every] == [
                ("like", 3, song),
                ("skip", 4, song),
                ("skip", None, None),
                ("like", None, None),
            ]
            assert every[0].detail == {"from": "127.0.0.1"}
            assert [f.id for f in await store.feedback(song)] == [like, skip]

    run(go)


# -- one writer, and errors ------------------------------------------------------------------


def test_concurrent_writers_are_serialized(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"

    async def go() -> None:
        one = await Store.open(path)
        other = await Store.open(path)  # a second connection: as another process would be
        try:
            made = await asyncio.gather(
                *(
                    (one if n % 2 else other).put_style("blues", {"n": n}, n, {"midi": n})
                    for n in range(60)
                ),
                *(one.put_samples([_sample(f"{n}.mid")]) for n in range(60)),
            )
            versions = sorted(stats.version for stats in made[:60])  # type: ignore[union-attr]
            assert versions == list(range(1, 61))
            latest = await one.latest_style("blues")
            assert latest is not None
            assert latest.version == 60
            assert await other.sample_counts() == {("midi", "blues"): 60}
        finally:
            await one.close()
            await other.close()

    run(go)


def test_a_lock_held_past_the_timeout_is_a_plain_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    run(lambda: _touch(path))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")

    async def go() -> None:
        async with await Store.open(path, busy_seconds=0.05) as store:
            with pytest.raises(StoreError, match="another process holds it locked"):
                await store.save_preset("x", {"a": 1})
            holder.execute("ROLLBACK")
            assert await store.preset_names() == []
            await store.save_preset("x", {"a": 1})
            assert await store.preset_names() == ["x"]

    try:
        run(go)
    finally:
        holder.close()


async def _touch(path: Path) -> None:
    await (await Store.open(path)).close()


def test_a_full_disk_is_a_plain_error_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    async def go() -> None:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            await store.put_samples([_sample("kept.mid")])
            connection = store._connection
            assert connection is not None
            pages = (await store._read("", "PRAGMA page_count"))[0][0]
            await connection.execute(f"PRAGMA max_page_count = {pages + 2}")  # a small disk
            batch = [_sample(f"{n}.mid", text="x" * 2000) for n in range(50)]
            with pytest.raises(StoreError, match="the disk is full"):
                await store.put_samples(batch)
            assert await store.sample_counts() == {("midi", "blues"): 1}
            assert await store.integrity() == ["ok"]

    run(go)


def test_a_closed_store_says_so_and_closing_twice_is_harmless(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "s.sqlite3")
        await store.close()
        await store.close()
        assert store.closed
        with pytest.raises(StoreError, match="is closed"):
            await store.preset_names()

    run(go)


# -- kill -9 -----------------------------------------------------------------------------------


def test_kill_9_during_writes_loses_no_committed_row(tmp_path: Path) -> None:
    """A child writes rows in a loop and prints each id once committed; SIGKILL mid-stream;
    every printed id is in the file, and the file is whole."""
    path = tmp_path / "killed.sqlite3"
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )
    committed: list[int] = []
    try:
        assert child.stdout is not None
        head = child.stdout.readline()
        assert head.startswith("song "), head
        for line in child.stdout:
            committed.append(int(line))
            if len(committed) >= 300:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert len(committed) >= 300  # far enough into the stream for the kill to land mid-write

    async def check() -> tuple[list[str], set[int]]:
        async with await Store.open(path) as store:
            return await store.integrity(), {f.id for f in await store.feedback()}

    integrity, stored = run(check)
    assert integrity == ["ok"]
    assert set(committed) <= stored
    assert committed == sorted(committed)


def test_reading_samples_from_a_file_that_is_no_store_says_why(tmp_path: Path) -> None:
    """A training worker's read of a missing or foreign file is a StoreError naming it, and
    makes no file."""
    missing = tmp_path / "gone.sqlite3"
    with pytest.raises(StoreError, match=r"gone\.sqlite3"):
        read_samples(missing, "blues")
    assert not missing.exists()
    foreign = tmp_path / "notes.sqlite3"
    foreign.write_text("not a database at all, just some text " * 40)
    with pytest.raises(StoreError, match=r"notes\.sqlite3"):
        read_samples(foreign, "blues")


def test_features_encoded_where_they_were_found_are_stored_as_they_are(tmp_path: Path) -> None:
    """A MIDI worker's features arrive as the store's JSON text (EncodedFeatures): a mapping
    to whoever reads them, written as they are, read back as the same features; what is not
    plain JSON cannot be encoded at all."""
    features = {"tempo": 96.0, "progression": ["I7", "IV7"], "drums": {"kick": [1.0, 0.0]}}
    encoded = EncodedFeatures.of(features)
    assert encoded == features
    assert encoded["tempo"] == 96.0
    assert len(encoded) == 3
    assert pickle.loads(pickle.dumps(encoded)).text == encoded.text
    with pytest.raises(ValueError, match="Out of range float"):
        EncodedFeatures.of({"tempo": math.nan})

    async def go() -> list[Sample]:
        async with await Store.open(tmp_path / "s.sqlite3") as store:
            await store.put_samples([Sample("midi", "blues", "a.mid", encoded, 0.5, 5.0)])
            return await store.samples("blues")

    (stored,) = run(go)
    assert dict(stored.features) == features

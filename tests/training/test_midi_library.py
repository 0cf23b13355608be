"""MidiLibrarySource over a library the test writes: genres from folders and the genre map,
broken files counted, a process pool that is gone after close()."""

import asyncio
import os
import random
from pathlib import Path

import pytest
from midilib_files import write_broken

from jamd.settings import MidiLibrary
from jamd.store.records import Sample
from jamd.training.midilib import MidiLibrarySource, normalise
from jamd.training.source import Fetched, SourceError
from jamd.training.synthetic import BLUES_12_BAR, GROOVES, SongSpec, random_song, write_song

GENRES = ("blues", "classical", "country", "electronic", "hip-hop", "jazz", "pop", "rock")
BLUES = SongSpec(numerals=BLUES_12_BAR * 2, tonic=7, tempo=80.0, drums=GROOVES["shuffle"])


def _source(folders: list[Path], **options: object) -> MidiLibrarySource:
    genre_map = options.pop("genre_map", None)
    max_files = options.pop("max_files", 100_000)
    settings = MidiLibrary(folders=tuple(folders), genre_map=genre_map, max_files=max_files)
    return MidiLibrarySource(settings, genres=GENRES, now=lambda: 1234.5, **options)  # type: ignore[arg-type]


def _run(source: MidiLibrarySource, *genres: str) -> tuple[list[str], dict[str, Fetched]]:
    async def main() -> tuple[list[str], dict[str, Fetched]]:
        try:
            found = await source.genres()
            return found, {genre: await source.fetch(genre) for genre in genres or found}
        finally:
            await source.close()

    return asyncio.run(main())


def _library(root: Path) -> dict[str, list[str]]:
    """Songs under folder names people use; genre -> relative paths."""
    rng = random.Random(5)
    layout = {
        "Blues/Chicago/a.mid": "blues",
        "Blues/b.MIDI": "blues",
        "hip_hop/c.mid": "hip-hop",
        "Hip Hop/Old School/d.mid": "hip-hop",
        "HipHop/e.mid": "hip-hop",
        "Rap/f.mid": "hip-hop",
        "Collection/Rock/g.mid": "rock",  # the first folder naming a genre wins
        "Collection/Jazz/Pop/h.mid": "jazz",
        "Misc/jazzy/i.mid": "jazz",  # from the genre map
        "Misc/jazzy/actually-blues.mid": "blues",  # the longer map entry wins
        "Misc/j.mid": None,  # no genre
        "k.mid": None,
    }
    expected: dict[str, list[str]] = {}
    for relative, genre in layout.items():
        spec = BLUES if genre == "blues" else random_song(genre or "pop", rng)
        write_song(spec, root / relative)
        if genre is not None:
            expected.setdefault(genre, []).append(relative)
    (root / "Blues" / "notes.txt").write_text("not a song")
    return expected


def _map(root: Path) -> Path:
    path = root.parent / "genres.toml"
    path.write_text(
        '"Misc/jazzy" = "Jazz"\n"Misc/jazzy/actually-blues.mid" = "blues"\n"Misc/x" = "polka"\n'
    )
    return path


def test_genres_come_from_folder_names_and_the_genre_map(tmp_path: Path) -> None:
    root = tmp_path / "library"
    expected = _library(root)
    found, fetched = _run(_source([root], genre_map=_map(root)))
    assert found == sorted(expected)
    for genre, relatives in expected.items():
        ids = sorted(sample.external_id for sample in fetched[genre].samples)
        assert ids == sorted(f"library/{relative}" for relative in relatives), genre
        assert all(
            sample.genre == genre and sample.source == "midi" for sample in fetched[genre].samples
        )
    skipped = sum(
        (result.skipped for result in fetched.values()), start=fetched["blues"].skipped.__class__()
    )
    assert skipped == {"no genre": 2}  # counted once, with the first fetch
    notices = [notice for result in fetched.values() for notice in result.notices]
    assert len(notices) == 1
    assert "'Misc/x' = 'polka' is not a genre" in notices[0]


def test_blues_files_become_samples_with_their_features(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for n in range(5):
        write_song(BLUES, root / "blues" / f"{n}.mid")
    progress: list[tuple[int, int | None]] = []
    source = _source([root], workers=2, chunk=2)

    async def main() -> Fetched:
        try:
            return await source.fetch("blues", lambda done, total: progress.append((done, total)))
        finally:
            await source.close()

    fetched = asyncio.run(main())
    assert fetched.read == 5
    assert not fetched.skipped
    assert len(fetched.samples) == 5
    sample = fetched.samples[0]
    assert isinstance(sample, Sample)
    assert sample.fetched_at == 1234.5
    assert sample.features["progression"] == list(BLUES_12_BAR * 2)
    assert (sample.features["key"], sample.features["mode"], sample.features["tempo"]) == (
        7,
        1,
        80.0,
    )
    assert 0.5 <= sample.quality <= 1
    assert progress[0] == (0, 5)
    assert progress[-1] == (5, 5)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert len(source.timings) == 5


def test_broken_files_are_skipped_and_counted_by_reason(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_song(BLUES, root / "Blues" / "good.mid")
    expected = write_broken(root / "Blues" / "broken")
    (root / "Blues" / "folder.mid").mkdir()  # a folder named like a file is walked into
    write_song(BLUES, root / "Blues" / "folder.mid" / "inside.mid")
    _, fetched = _run(_source([root]), "blues")
    result = fetched["blues"]
    assert sorted(sample.external_id for sample in result.samples) == [
        "lib/Blues/folder.mid/inside.mid",
        "lib/Blues/good.mid",
    ]
    reasons: dict[str, int] = {}
    for reason in expected.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    assert dict(result.skipped) == reasons
    assert result.read == 2 + len(expected)


def test_two_folders_with_the_same_paths_do_not_collide(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "songs", tmp_path / "b" / "songs"
    for root in (first, second):
        write_song(BLUES, root / "Blues" / "one.mid")
    _, fetched = _run(_source([first, second]), "blues")
    assert sorted(sample.external_id for sample in fetched["blues"].samples) == [
        "songs/Blues/one.mid",
        "songs~2/Blues/one.mid",
    ]


def test_a_missing_folder_is_a_notice_and_all_missing_an_error(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_song(BLUES, root / "Blues" / "one.mid")
    _, fetched = _run(_source([tmp_path / "gone", root]), "blues")
    assert len(fetched["blues"].samples) == 1
    assert fetched["blues"].notices == [
        f"MIDI library folder {tmp_path / 'gone'} is not there: left out"
    ]
    with pytest.raises(SourceError, match="no MIDI library folder is there"):
        _run(_source([tmp_path / "gone", tmp_path / "also-gone"]))
    with pytest.raises(SourceError, match=r"no MIDI library folders are set \(training.midi"):
        _run(_source([]))


def test_a_folder_inside_another_is_read_once(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_song(BLUES, root / "Blues" / "one.mid")
    _, fetched = _run(_source([root, root / "Blues"]), "blues")
    assert [sample.external_id for sample in fetched["blues"].samples] == ["lib/Blues/one.mid"]


def test_max_files_is_honoured(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for n in range(6):
        write_song(BLUES, root / "Blues" / f"{n}.mid")
    _, fetched = _run(_source([root], max_files=4), "blues")
    assert [sample.external_id for sample in fetched["blues"].samples] == [
        f"lib/Blues/{n}.mid" for n in range(4)
    ]
    assert any("more than 4 files" in notice for notice in fetched["blues"].notices)


def test_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_song(BLUES, root / "Blues" / "one.mid")
    os.symlink(root, root / "Blues" / "again")
    os.symlink(root / "Blues", root / "Blues" / "self")
    found, fetched = _run(_source([root]), "blues")
    assert found == ["blues"]
    assert [sample.external_id for sample in fetched["blues"].samples] == ["lib/Blues/one.mid"]


def _children() -> set[int]:
    """This process's child processes but multiprocessing's resource tracker (one per
    interpreter, started on first use, it ends with the interpreter)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids |= {int(pid) for pid in (task / "children").read_text().split()}
    return {
        pid for pid in pids if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    }


def test_the_worker_processes_are_gone_after_close(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for n in range(4):
        write_song(BLUES, root / "Blues" / f"{n}.mid")
    source = _source([root], workers=2, chunk=1)
    before = _children()

    async def main() -> set[int]:
        await source.fetch("blues")
        during = _children() - before
        await source.close()
        return during

    during = asyncio.run(main())
    assert 1 <= len(during) <= 2
    assert _children() == before


def test_a_cancelled_fetch_stops_and_the_source_still_closes(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    for n in range(40):
        write_song(BLUES, root / "Blues" / f"{n:02d}.mid")
    source = _source([root], workers=1, chunk=1)
    seen: list[int] = []

    async def main() -> None:
        started = asyncio.Event()

        def progress(done: int, total: int | None) -> None:
            seen.append(done)
            if done >= 1:
                started.set()

        task = asyncio.create_task(source.fetch("blues", progress))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await source.close()

    asyncio.run(main())
    assert 1 <= max(seen) < 40


def test_folder_names_are_compared_loosely() -> None:
    assert {normalise(name) for name in ("Hip Hop", "hip_hop", "HipHop", "hip-hop")} == {"hiphop"}


def test_an_entry_that_cannot_be_read_is_counted_and_the_rest_read(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_song(BLUES, root / "Blues" / "one.mid")
    os.symlink("loop", root / "Blues" / "loop")  # stat() fails: too many levels of links
    _, fetched = _run(_source([root]), "blues")
    assert [sample.external_id for sample in fetched["blues"].samples] == ["lib/Blues/one.mid"]
    assert fetched["blues"].skipped == {"unreadable folder": 1}


def test_a_genre_map_that_cannot_be_read_leaves_folder_names(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    write_song(BLUES, root / "Blues" / "one.mid")
    broken = tmp_path / "genres.toml"
    broken.write_text('"Blues" = \n')
    found, fetched = _run(_source([root], genre_map=broken), "blues")
    assert found == ["blues"]
    assert len(fetched["blues"].samples) == 1
    assert len(fetched["blues"].notices) == 1
    assert "cannot be read" in fetched["blues"].notices[0]

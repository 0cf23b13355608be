"""The local MIDI library source: folders of .mid files, analysed in worker processes.

A file's genre is the first folder on its path (below the library folder) whose name is a
genre, read loosely ("Hip Hop", "hip_hop", "HipHop" are hip-hop; a few aliases such as "rap",
"edm", "bebop" are in ``ALIASES``), unless the genre map says otherwise: a TOML file of
``"path/under/a/folder" = "genre"`` lines, a file or a folder, where the longest matching path
wins. Files with no genre are skipped as "no genre".

The library is scanned off the event loop (``asyncio.to_thread``), symlinked folders are
followed once each (a loop is not followed round), and at most ``max_files`` files are taken.
``fetch`` hands a genre's files to a process pool in chunks, a few chunks in flight at a time,
so thousands of files never make thousands of futures and a cancelled fetch stops after the
chunks already running. Parsing never runs in the caller's process: the workers are a
``jamd.training.workers.WorkerPool``'s (spawned, at idle priority), the trainer's when it
shares its own, else the source's.
"""

import asyncio
import logging
import os
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jamd.settings import MidiLibrary
from jamd.store.records import EncodedFeatures, Sample
from jamd.training.midifile import MidiFileError, analyse
from jamd.training.source import Fetched, Progress, SourceError
from jamd.training.workers import WorkerPool

logger = logging.getLogger(__name__)

SUFFIXES = (".mid", ".midi")
CHUNK = 32  # files per task handed to a worker
NO_GENRE = "no genre"
UNREADABLE_FOLDER = "unreadable folder"
WORKER_FAILED = "worker failed"
ALIASES = {
    "rap": "hip-hop",
    "hiphop": "hip-hop",
    "edm": "electronic",
    "electronica": "electronic",
    "techno": "electronic",
    "house": "electronic",
    "dance": "electronic",
    "bebop": "jazz",
    "swing": "jazz",
    "bluegrass": "country",
    "baroque": "classical",
    "orchestral": "classical",
}
"""Folder names (normalised: lower case, no spaces, "_" or "-") read as a genre. jamd has no
R&B, soul or metal style, so those folders give no genre unless the genre map names one."""


def normalise(name: str) -> str:
    """A folder or genre name as compared: "Hip Hop", "hip_hop" and "HipHop" are "hiphop"."""
    return "".join(char for char in name.lower() if char not in " _-")


@dataclass(slots=True)
class Scan:
    """What a walk over the library found: files per genre (path, external id)."""

    by_genre: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    notices: list[str] = field(default_factory=list)
    files: int = 0
    walked: set[tuple[int, int]] = field(default_factory=set)  # (device, inode) of folders


class MidiLibrarySource:
    """``jamd.training.source.Source`` over the folders of ``settings`` (module docstring)."""

    name = "midi"

    def __init__(
        self,
        settings: MidiLibrary,
        *,
        genres: Iterable[str],
        workers: int = 1,
        pool: WorkerPool | None = None,
        now: Callable[[], float] = time.time,
        chunk: int = CHUNK,
    ) -> None:
        self._settings = settings
        self._genres = {normalise(genre): genre for genre in genres}
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else WorkerPool(workers)  # workers: 1..64
        self._now = now
        self._chunk = max(1, chunk)
        self._scan: Scan | None = None
        self._scan_reported = False
        self.timings: list[float] = []
        """Seconds each file's analysis took in its worker, for the last fetch (benchmarks)."""
        self.scans = 0
        """How many times the library was scanned (every folder walked): once a refresh."""

    async def genres(self) -> list[str]:
        """Scans the library afresh; the genres that have at least one file."""
        self._scan = await asyncio.to_thread(self._walk)
        self._scan_reported = False
        self.scans += 1
        return sorted(self._scan.by_genre)

    async def fetch(self, genre: str, progress: Progress | None = None) -> Fetched:
        """Every file of ``genre`` analysed. What the scan skipped (no genre, unreadable
        folders) and its notices come with the first fetch after each scan."""
        if self._scan is None:
            await self.genres()
        scan = self._scan
        assert scan is not None
        fetched = Fetched()
        if not self._scan_reported:
            fetched.skipped.update(scan.skipped)
            fetched.notices += scan.notices
            self._scan_reported = True
        files = scan.by_genre.get(genre, [])
        self.timings = []
        if progress is not None:
            progress(0, len(files))
        chunks = [files[at : at + self._chunk] for at in range(0, len(files), self._chunk)]
        pending: set[asyncio.Future[list[tuple[str, Any, float]]]] = set()
        sizes: dict[asyncio.Future[list[tuple[str, Any, float]]], int] = {}
        ids = dict(files)
        done = 0
        next_chunk = 0
        try:
            while next_chunk < len(chunks) or pending:
                while next_chunk < len(chunks) and len(pending) < 2 * self._pool.workers:
                    paths = [path for path, _ in chunks[next_chunk]]
                    future = await self._pool.submit(analyse_files, paths)
                    sizes[future] = len(paths)
                    pending.add(future)
                    next_chunk += 1
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in finished:
                    done += self._collect(future, sizes.pop(future), genre, ids, fetched)
                if progress is not None:
                    progress(done, len(files))
        finally:
            for future in pending:
                future.cancel()
        return fetched

    async def close(self) -> None:
        """Stops the worker processes, if they are the source's own."""
        if self._owns_pool:
            await self._pool.close()

    def _collect(
        self,
        future: "asyncio.Future[list[tuple[str, Any, float]]]",
        size: int,
        genre: str,
        ids: dict[str, str],
        fetched: Fetched,
    ) -> int:
        """The samples and skips of one finished chunk; how many files it held."""
        try:
            results = future.result()
        except BrokenProcessPool as error:  # the pool starts new workers for the next chunk
            logger.error("a MIDI worker process died: %s; its files are skipped", error)
            fetched.skipped[WORKER_FAILED] += size
            fetched.read += size
            return size
        for path, outcome, seconds in results:
            fetched.read += 1
            self.timings.append(seconds)
            if isinstance(outcome, str):
                logger.info("MIDI file %s skipped: %s", path, outcome)
                fetched.skipped[outcome] += 1
                continue
            features, worth = outcome
            fetched.samples.append(
                Sample(
                    source=self.name,
                    genre=genre,
                    external_id=ids[path],
                    features=features,
                    quality=worth,
                    fetched_at=self._now(),
                )
            )
        return len(results)

    def _walk(self) -> Scan:
        scan = Scan()
        folders = self._settings.folders
        if not folders:
            raise SourceError("no MIDI library folders are set (training.midi.folders)")
        genre_map = self._genre_map(scan)
        present = 0
        names: Counter[str] = Counter()
        for folder in folders:
            names[folder.name] += 1
            label = (
                folder.name if names[folder.name] == 1 else f"{folder.name}~{names[folder.name]}"
            )
            if not folder.is_dir():
                scan.notices.append(f"MIDI library folder {folder} is not there: left out")
                logger.warning("MIDI library folder %s is not there: left out", folder)
                continue
            present += 1
            if not self._walk_folder(folder, label, genre_map, scan):
                break
        if not present:
            raise SourceError(
                "no MIDI library folder is there: " + ", ".join(str(folder) for folder in folders)
            )
        return scan

    def _walk_folder(self, folder: Path, label: str, genre_map: dict[str, str], scan: Scan) -> bool:
        """Adds the folder's files; False once ``max_files`` are taken."""
        seen = scan.walked  # shared by all folders: one inside another is not read twice
        stack = [folder]
        while stack:
            directory = stack.pop()
            try:
                info = directory.stat()
                if (info.st_dev, info.st_ino) in seen:
                    continue  # a symlink back to a folder already walked
                seen.add((info.st_dev, info.st_ino))
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError as error:
                logger.warning("MIDI library folder %s cannot be read: %s", directory, error)
                scan.skipped[UNREADABLE_FOLDER] += 1
                continue
            below: list[Path] = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError as error:
                    logger.warning("MIDI library entry %s cannot be read: %s", entry.path, error)
                    scan.skipped[UNREADABLE_FOLDER] += 1
                    continue
                if is_dir:
                    below.append(Path(entry.path))
                    continue
                if not entry.name.lower().endswith(SUFFIXES):
                    continue
                if scan.files >= self._settings.max_files:
                    scan.notices.append(
                        f"the MIDI library has more than {self._settings.max_files} files "
                        "(training.midi.max_files): the rest are left out"
                    )
                    return False
                scan.files += 1
                relative = Path(entry.path).relative_to(folder).as_posix()
                genre = self._genre_of(relative, genre_map)
                if genre is None:
                    logger.info("MIDI file %s has no genre: skipped", entry.path)
                    scan.skipped[NO_GENRE] += 1
                    continue
                scan.by_genre.setdefault(genre, []).append((entry.path, f"{label}/{relative}"))
            stack += reversed(below)  # walked in name order
        return True

    def _genre_of(self, relative: str, genre_map: dict[str, str]) -> str | None:
        best = max(
            (
                prefix
                for prefix in genre_map
                if relative == prefix or relative.startswith(prefix + "/")
            ),
            key=len,
            default=None,
        )
        if best is not None:
            return genre_map[best]
        for part in relative.split("/")[:-1]:
            name = normalise(part)
            genre = self._genres.get(name) or self._genres.get(normalise(ALIASES.get(name, "")))
            if genre is not None:
                return genre
        return None

    def _genre_map(self, scan: Scan) -> dict[str, str]:
        """The sidecar map's entries (path -> genre); a bad file or entry is a notice."""
        path = self._settings.genre_map
        if path is None:
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            message = f"MIDI genre map {path} cannot be read ({error}): folder names only"
            logger.warning("%s", message)
            scan.notices.append(message)
            return {}
        entries: dict[str, str] = {}
        for key, value in data.items():
            genre = self._genres.get(normalise(value)) if isinstance(value, str) else None
            if genre is None:
                message = (
                    f"MIDI genre map {path}: {key!r} = {value!r} is not a genre "
                    f"({', '.join(sorted(self._genres.values()))}): left out"
                )
                logger.warning("%s", message)
                scan.notices.append(message)
                continue
            entries[key.strip("/")] = genre
        return entries


def quality(features: dict[str, Any]) -> float:
    """How much a file tells, 0..1: short files (under 8 bars) and unsure keys (a margin
    under 0.2) count for less; a 4-bar file in a clear key is 0.5, a long unsure one 0.5."""
    bars = float(features.get("bars", 0))
    confidence = float(features.get("key_confidence", 0.0))
    return round(min(1.0, bars / 8) * (0.5 + 0.5 * min(1.0, confidence / 0.2)), 3)


def analyse_files(paths: Sequence[str]) -> list[tuple[str, Any, float]]:
    """Runs in a worker: per file, its features (as the store's JSON: ``EncodedFeatures``) and
    their quality, or why it was skipped; and the seconds it took."""
    results: list[tuple[str, Any, float]] = []
    for path in paths:
        started = time.perf_counter()
        outcome: Any
        try:
            features = analyse(path)
            outcome = (EncodedFeatures.of(features), quality(features))
        except MidiFileError as error:
            outcome = error.reason
        except Exception as error:  # a file that finds a bug: skipped, not the refresh stopped
            logger.exception("MIDI file %s could not be analysed", path)
            outcome = f"analysis failed: {type(error).__name__}"
        results.append((path, outcome, time.perf_counter() - started))
    return results

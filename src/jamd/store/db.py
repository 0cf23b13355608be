"""The store: one SQLite file, written by one connection, awaited from the loop (aiosqlite).

Durability: WAL with ``synchronous=FULL``, so every committed transaction is on disk when its
method returns, and a power cut or a kill loses at most the one in flight; each write is one
transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``, rolled back whole on any error). One writer: the
store's only connection serializes every statement behind an ``asyncio.Lock``, so a write never
sees another half done, and another process holding the file waits up to ``BUSY_SECONDS``.

Schema: ``MIGRATIONS`` are applied in order, each in one transaction that also sets
``PRAGMA user_version``; a file written by a newer jamd, a file that is no SQLite database and
a database of something else are refused with a ``StoreError`` naming the path, and left as
they are (never deleted, never written).

Every SQLite error (disk full, locked past the timeout, a corrupt file) becomes one
``StoreError`` in plain words; values go in and out as ``jamd.store.records`` or JSON-able dicts
(stored as JSON text).
"""

import asyncio
import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import aiosqlite

from jamd.errors import InputError
from jamd.store.records import (
    FEEDBACK_KINDS,
    EncodedFeatures,
    Feedback,
    Sample,
    SongRecord,
    StyleStats,
    to_json,
)

log = logging.getLogger(__name__)

BUSY_SECONDS = 5.0  # how long a write waits for another process holding the file
STOP_SECONDS = 5.0  # how long a connection that failed to open is given to stop its thread
APPLICATION_ID = 0x6A616D64  # "jamd" in the header: a database of jamd's, not someone else's
T = TypeVar("T")
Clock = Callable[[], float]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: what the side task learns
        """CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            genre TEXT NOT NULL,
            external_id TEXT NOT NULL,
            features TEXT NOT NULL,
            quality REAL NOT NULL,
            fetched_at REAL NOT NULL,
            UNIQUE (source, external_id)
        )""",
        "CREATE INDEX samples_by_genre ON samples (genre, source)",
        """CREATE TABLE styles (
            genre TEXT NOT NULL,
            version INTEGER NOT NULL,
            model TEXT NOT NULL,
            samples INTEGER NOT NULL,
            sources TEXT NOT NULL,
            fitted_at REAL NOT NULL,
            PRIMARY KEY (genre, version)
        )""",
        """CREATE TABLE refreshes (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            genre TEXT NOT NULL,
            started REAL NOT NULL,
            finished REAL NOT NULL,
            result TEXT NOT NULL
        )""",
        "CREATE INDEX refreshes_by_source ON refreshes (source, genre, finished)",
    ),
    (  # 2: what the live side keeps
        """CREATE TABLE presets (
            name TEXT PRIMARY KEY,
            data TEXT NOT NULL,
            saved_at REAL NOT NULL
        )""",
        """CREATE TABLE songs (
            id INTEGER PRIMARY KEY,
            params TEXT NOT NULL,
            seed INTEGER NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            timings TEXT NOT NULL DEFAULT '{}',
            paths TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE midi_maps (
            name TEXT PRIMARY KEY,
            data TEXT NOT NULL,
            saved_at REAL NOT NULL
        )""",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            song_id INTEGER REFERENCES songs (id) ON DELETE SET NULL,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'skip')),
            at REAL NOT NULL,
            bar INTEGER,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX feedback_by_song ON feedback (song_id)",
        """CREATE TABLE imports (
            kind TEXT NOT NULL,
            origin TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (kind, origin)
        )""",
    ),
)
VERSION = len(MIGRATIONS)


class StoreError(InputError):
    """The store cannot do what was asked; what was being written is not there, whole."""


async def _stopped(connection: aiosqlite.Connection) -> None:
    """Wait for the thread of a connection that failed to open to end. aiosqlite stops it
    without waiting (0.22): were the loop closed first (``jamd train --db`` naming a folder
    ends at once), the thread's last answer would find it closed and print a traceback."""
    thread = getattr(connection, "_thread", None)
    if isinstance(thread, threading.Thread) and thread.is_alive():
        await asyncio.to_thread(thread.join, STOP_SECONDS)


def _plain(error: sqlite3.Error, busy_seconds: float = BUSY_SECONDS) -> str:
    """SQLite's error in words a user can act on."""
    name = getattr(error, "sqlite_errorname", "")
    if name.startswith("SQLITE_FULL"):
        return "the disk is full"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"another process holds it locked (waited {busy_seconds:g} s)"
    if name.startswith("SQLITE_NOTADB"):
        return "it is not an SQLite database"
    if name.startswith("SQLITE_CORRUPT"):
        return f"it is damaged ({error}); restore a backup (docs/store.md)"
    if name.startswith("SQLITE_READONLY"):
        return "it cannot be written (read-only file or directory)"
    if name.startswith("SQLITE_CANTOPEN"):
        return "it cannot be opened (a directory, or no permission)"
    if name.startswith("SQLITE_IOERR"):
        return f"the disk failed ({error})"
    return str(error)


def _json(value: object, what: str) -> str:
    """``value`` as JSON text; ``StoreError`` if it is not JSON (NaN, a set, an object)."""
    try:
        return to_json(value)
    except (TypeError, ValueError) as error:
        raise StoreError(f"{what} cannot be stored: it is not plain JSON ({error})") from None


def _loads(text: str) -> Any:
    return json.loads(text)


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StoreError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class Store:
    """jamd's SQLite file. Open with ``await Store.open(path)`` (or ``async with``); close with
    ``await store.close()``: aiosqlite's thread keeps a process alive until then."""

    def __init__(
        self, path: Path, connection: aiosqlite.Connection, clock: Clock, busy_seconds: float
    ) -> None:
        self.path = path
        self.busy_seconds = busy_seconds
        self._connection: aiosqlite.Connection | None = connection
        self._lock = asyncio.Lock()
        self._clock = clock

    # -- opening and closing ------------------------------------------------------------------

    @classmethod
    async def open(
        cls, path: Path | str, *, clock: Clock = time.time, busy_seconds: float = BUSY_SECONDS
    ) -> "Store":
        """The store in ``path`` (made, with its directories, if missing), migrated to this
        jamd's schema. ``StoreError`` names the path and why it cannot be used."""
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"store {path}: cannot make its directory: {error}") from None
        connecting = aiosqlite.connect(path, isolation_level=None, timeout=BUSY_SECONDS)
        try:
            connection = await connecting
        except sqlite3.Error as error:
            await _stopped(connecting)
            raise StoreError(f"store {path}: {_plain(error)}") from None
        store = cls(path, connection, clock, busy_seconds)
        try:
            await store._prepare()
        except BaseException:
            await connection.close()
            raise
        return store

    async def _prepare(self) -> None:
        """Check what the file is before anything is written to it, then migrate."""
        try:
            version = await self._scalar("PRAGMA user_version")
            application = await self._scalar("PRAGMA application_id")
            tables = await self._scalar("SELECT count(*) FROM sqlite_master")
        except sqlite3.Error as error:
            raise StoreError(
                f"store {self.path}: {_plain(error)}; it was left as it is (set "
                "paths.database to another file)"
            ) from None
        if application not in (0, APPLICATION_ID) or (version == 0 and tables):
            raise StoreError(
                f"store {self.path}: it is an SQLite database of something else, not jamd's; "
                "it was left as it is (set paths.database to another file)"
            )
        if version > VERSION:
            raise StoreError(
                f"store {self.path}: it was written by a newer jamd (schema version {version}; "
                f"this jamd knows 1..{VERSION}); it was left as it is: run that jamd, or set "
                "paths.database to another file"
            )
        connection = self._open_connection()
        try:
            mode = await self._scalar("PRAGMA journal_mode = WAL")
            if str(mode).lower() != "wal":
                log.warning("store %s: journal mode is %s (WAL unavailable here)", self.path, mode)
            await connection.execute(f"PRAGMA busy_timeout = {int(self.busy_seconds * 1000)}")
            await connection.execute("PRAGMA synchronous = FULL")
            await connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as error:
            raise StoreError(f"store {self.path}: {_plain(error)}") from None
        for number in range(version + 1, VERSION + 1):
            await self._migrate(number)

    async def _migrate(self, number: int) -> None:
        statements = MIGRATIONS[number - 1]

        async def apply(connection: aiosqlite.Connection) -> None:
            for statement in statements:
                await connection.execute(statement)
            await connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            await connection.execute(f"PRAGMA user_version = {number}")

        await self._write(f"migration to version {number}", apply)
        log.info("store %s: schema version %d", self.path, number)

    async def close(self) -> None:
        """Finish (every write has committed) and close; again is harmless."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        async with self._lock:
            try:
                await connection.close()
            except sqlite3.Error as error:
                log.error("store %s: closing: %s", self.path, _plain(error))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._connection is None

    def _failed(self, what: str, error: sqlite3.Error) -> StoreError:
        return StoreError(f"store {self.path}: {what}: {_plain(error, self.busy_seconds)}")

    def _open_connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise StoreError(f"store {self.path} is closed")
        return self._connection

    # -- the one writer -----------------------------------------------------------------------

    async def _write(self, what: str, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """``work`` in one transaction, alone: committed whole, or (on any error) rolled back
        whole and raised as ``StoreError``."""
        async with self._lock:
            connection = self._open_connection()
            try:
                await connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise self._failed(what, error) from None
            try:
                result = await work(connection)
                await connection.execute("COMMIT")
            except BaseException as error:
                await self._roll_back(connection, what)
                if isinstance(error, sqlite3.Error):
                    raise self._failed(what, error) from None
                raise
            return result

    async def _roll_back(self, connection: aiosqlite.Connection, what: str) -> None:
        try:
            if connection.in_transaction:
                await connection.execute("ROLLBACK")
        except sqlite3.Error as error:  # SQLite rolls back itself on some errors
            log.warning("store %s: rolling back %s: %s", self.path, what, _plain(error))

    async def _read(self, what: str, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Rows of a query, behind the writer (so a read never sees half a write)."""
        async with self._lock:
            connection = self._open_connection()
            try:
                async with connection.execute(sql, parameters) as cursor:
                    return list(await cursor.fetchall())
            except sqlite3.Error as error:
                raise self._failed(what, error) from None

    async def _scalar(self, sql: str) -> Any:
        connection = self._open_connection()
        async with connection.execute(sql) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def integrity(self) -> list[str]:
        """SQLite's ``integrity_check``: ``["ok"]``, or what is damaged."""
        rows = await self._read("integrity check", "PRAGMA integrity_check")
        return [str(row[0]) for row in rows]

    async def version(self) -> int:
        rows = await self._read("schema version", "PRAGMA user_version")
        return int(rows[0][0])

    # -- training samples ---------------------------------------------------------------------

    async def put_samples(self, samples: Iterable[Sample]) -> int:
        """Insert or replace by (source, external id); how many were written. All or none: a
        sample that cannot be stored refuses the batch. The samples are encoded in a thread,
        off the event loop (a batch of MIDI files' features is about 0.5 ms of JSON)."""
        batch = list(samples)
        if not batch:
            return 0
        rows = await asyncio.to_thread(_sample_rows, batch)

        async def put(connection: aiosqlite.Connection) -> int:
            await connection.executemany(
                """INSERT INTO samples (source, genre, external_id, features, quality, fetched_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (source, external_id) DO UPDATE SET
                    genre = excluded.genre, features = excluded.features,
                    quality = excluded.quality, fetched_at = excluded.fetched_at""",
                rows,
            )
            return len(rows)

        return await self._write(f"storing {len(rows)} samples", put)

    async def samples(self, genre: str, source: str | None = None) -> list[Sample]:
        """A genre's samples (of one source, or all), in the order they were first stored."""
        rows = await self._read(f"reading {genre} samples", *_samples_query(genre, source))
        if not rows:
            return []
        # decoded in a thread: a genre of a few hundred MIDI files is ~6 ms of JSON
        return await asyncio.to_thread(_samples_of, rows)

    async def sample_counts(self) -> dict[tuple[str, str], int]:
        """(source, genre) -> how many samples."""
        rows = await self._read(
            "counting samples",
            "SELECT source, genre, count(*) FROM samples GROUP BY source, genre ORDER BY 1, 2",
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}

    async def delete_samples(self, source: str, genre: str) -> int:
        """Forget a source's samples of a genre; how many there were."""

        async def delete(connection: aiosqlite.Connection) -> int:
            cursor = await connection.execute(
                "DELETE FROM samples WHERE source = ? AND genre = ?", (source, genre)
            )
            return int(cursor.rowcount)

        return await self._write(f"deleting {source} {genre} samples", delete)

    # -- style models -------------------------------------------------------------------------

    async def put_style(
        self, genre: str, model: Mapping[str, Any], samples: int, sources: Mapping[str, int]
    ) -> StyleStats:
        """A genre's newly fitted model, as the next version (1 for the first). Its JSON is
        made, and read back for the answer, in a thread: a model is ~1 ms of JSON each way."""
        model_text, sources_text = await asyncio.to_thread(
            lambda: (
                _json(dict(model), f"the {genre} style model"),
                _json(dict(sources), f"the {genre} model's sources"),
            )
        )
        fitted_at = self._clock()

        async def put(connection: aiosqlite.Connection) -> int:
            async with connection.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM styles WHERE genre = ?", (genre,)
            ) as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row is not None else 1
            await connection.execute(
                "INSERT INTO styles (genre, version, model, samples, sources, fitted_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (genre, version, model_text, int(samples), sources_text, fitted_at),
            )
            return version

        version = await self._write(f"storing the {genre} style model", put)
        return await asyncio.to_thread(
            lambda: StyleStats(
                genre, version, _loads(model_text), int(samples), fitted_at, _loads(sources_text)
            )
        )

    async def latest_style(self, genre: str) -> StyleStats | None:
        rows = await self._read(
            f"reading the {genre} style model",
            f"{_STYLE_COLUMNS} WHERE genre = ? ORDER BY version DESC LIMIT 1",
            (genre,),
        )
        return _style(rows[0]) if rows else None

    async def style(self, genre: str, version: int) -> StyleStats | None:
        """One stored version of a genre's model."""
        rows = await self._read(
            f"reading the {genre} style model v{version}",
            f"{_STYLE_COLUMNS} WHERE genre = ? AND version = ?",
            (genre, version),
        )
        return _style(rows[0]) if rows else None

    async def latest_styles(self) -> dict[str, StyleStats]:
        """Every genre's newest model."""
        rows = await self._read(
            "reading the style models",
            f"{_STYLE_COLUMNS} WHERE (genre, version) IN "
            "(SELECT genre, max(version) FROM styles GROUP BY genre) ORDER BY genre",
        )
        return {row[0]: _style(row) for row in rows}

    # -- the refresh log ----------------------------------------------------------------------

    async def record_refresh(
        self, source: str, genre: str, started: float, finished: float, result: Mapping[str, Any]
    ) -> None:
        row = (
            source,
            genre,
            _finite("started", started),
            _finite("finished", finished),
            _json(dict(result), f"the {source} {genre} refresh's result"),
        )

        async def put(connection: aiosqlite.Connection) -> None:
            await connection.execute(
                "INSERT INTO refreshes (source, genre, started, finished, result) "
                "VALUES (?, ?, ?, ?, ?)",
                row,
            )

        await self._write(f"logging the {source} {genre} refresh", put)

    async def last_refresh(
        self, source: str | None = None, genre: str | None = None
    ) -> float | None:
        """When the last refresh (of a source, of a genre) finished; None if there was none."""
        where = [f"{name} = ?" for name, value in (("source", source), ("genre", genre)) if value]
        sql = "SELECT max(finished) FROM refreshes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        parameters = [value for value in (source, genre) if value]
        rows = await self._read("reading the refresh log", sql, parameters)
        value = rows[0][0] if rows else None
        return None if value is None else float(value)

    async def refreshes(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest refreshes first: source, genre, started, finished, result."""
        rows = await self._read(
            "reading the refresh log",
            "SELECT source, genre, started, finished, result FROM refreshes "
            "ORDER BY finished DESC, id DESC LIMIT ?",
            (int(limit),),
        )
        return [
            {
                "source": r[0],
                "genre": r[1],
                "started": r[2],
                "finished": r[3],
                "result": _loads(r[4]),
            }
            for r in rows
        ]

    # -- presets and MIDI maps: named JSON documents ------------------------------------------

    async def save_preset(self, name: str, data: Mapping[str, Any]) -> None:
        """Save (or replace, whole) the preset ``name``."""
        await self._save_named("presets", "preset", name, data)

    async def load_preset(self, name: str) -> dict[str, Any] | None:
        return await self._load_named("presets", "preset", name)

    async def preset_names(self) -> list[str]:
        rows = await self._read("listing presets", "SELECT name FROM presets ORDER BY name")
        return [str(row[0]) for row in rows]

    async def delete_preset(self, name: str) -> bool:
        """Forget the preset; whether there was one."""

        async def delete(connection: aiosqlite.Connection) -> bool:
            cursor = await connection.execute("DELETE FROM presets WHERE name = ?", (name,))
            return bool(cursor.rowcount)

        return await self._write(f"deleting preset {name!r}", delete)

    async def save_midi_map(self, name: str, data: Mapping[str, Any]) -> None:
        await self._save_named("midi_maps", "MIDI map", name, data)

    async def load_midi_map(self, name: str) -> dict[str, Any] | None:
        return await self._load_named("midi_maps", "MIDI map", name)

    async def import_named(
        self, kind: str, name: str, data: Mapping[str, Any], origin: str
    ) -> bool:
        """Import a preset (``kind`` "preset") or a MIDI map ("midi_map") from ``origin`` (a
        file) once: in one transaction, the import is noted and the document stored unless one
        of that name is already there. Whether it was stored (False: imported before, or the
        store's own document of that name wins)."""
        table = _NAMED.get(kind)
        if table is None:
            raise StoreError(f"import kind must be one of {', '.join(_NAMED)}, got {kind!r}")
        text = _json(dict(data), f"{kind} {name!r} from {origin}")
        at = self._clock()

        async def put(connection: aiosqlite.Connection) -> bool:
            cursor = await connection.execute(
                "INSERT INTO imports (kind, origin, at) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, origin) DO NOTHING",
                (kind, origin, at),
            )
            if not cursor.rowcount:
                return False
            cursor = await connection.execute(
                f"INSERT INTO {table} (name, data, saved_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, text, at),
            )
            return bool(cursor.rowcount)

        return await self._write(f"importing {kind} {name!r} from {origin}", put)

    async def imported(self, kind: str) -> set[str]:
        """The origins (files) already imported as ``kind``."""
        rows = await self._read(
            "reading the imports", "SELECT origin FROM imports WHERE kind = ?", (kind,)
        )
        return {str(row[0]) for row in rows}

    async def _save_named(self, table: str, what: str, name: str, data: Mapping[str, Any]) -> None:
        if not isinstance(name, str) or not name:
            raise StoreError(f"a {what}'s name must be a non-empty string, got {name!r}")
        text = _json(dict(data), f"{what} {name!r}")
        at = self._clock()

        async def put(connection: aiosqlite.Connection) -> None:
            await connection.execute(
                f"INSERT INTO {table} (name, data, saved_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET data = excluded.data, "
                "saved_at = excluded.saved_at",
                (name, text, at),
            )

        await self._write(f"saving {what} {name!r}", put)

    async def _load_named(self, table: str, what: str, name: str) -> dict[str, Any] | None:
        rows = await self._read(
            f"reading {what} {name!r}",
            f"SELECT data FROM {table} WHERE name = ?",
            (name,),
        )
        if not rows:
            return None
        try:
            data = _loads(rows[0][0])
        except ValueError as error:
            raise StoreError(f"store {self.path}: {what} {name!r} is damaged: {error}") from None
        if not isinstance(data, dict):
            raise StoreError(
                f"store {self.path}: {what} {name!r} is damaged: a table was expected, "
                f"got {type(data).__name__}"
            )
        return data

    # -- songs --------------------------------------------------------------------------------

    async def add_song(
        self, params: Mapping[str, Any], seed: int, started_at: float, paths: Mapping[str, Any]
    ) -> int:
        """A song that started playing; its id."""
        row = (
            _json(dict(params), "a song's parameters"),
            int(seed),
            _finite("started_at", started_at),
            _json(dict(paths), "a song's paths"),
        )

        async def put(connection: aiosqlite.Connection) -> int:
            cursor = await connection.execute(
                "INSERT INTO songs (params, seed, started_at, paths) VALUES (?, ?, ?, ?)", row
            )
            return int(cursor.lastrowid or 0)

        return await self._write("recording a song", put)

    async def finish_song(self, song_id: int, ended_at: float, timings: Mapping[str, Any]) -> None:
        """The song ended: when, and its timings. ``StoreError`` if there is no such song."""
        row = (_finite("ended_at", ended_at), _json(dict(timings), "a song's timings"), song_id)

        async def put(connection: aiosqlite.Connection) -> None:
            cursor = await connection.execute(
                "UPDATE songs SET ended_at = ?, timings = ? WHERE id = ?", row
            )
            if not cursor.rowcount:
                raise StoreError(f"store {self.path}: no song {song_id}")

        await self._write(f"finishing song {song_id}", put)

    async def song(self, song_id: int) -> SongRecord | None:
        rows = await self._read(
            f"reading song {song_id}", f"{_SONG_COLUMNS} WHERE id = ?", (song_id,)
        )
        return _song(rows[0]) if rows else None

    async def songs(self, limit: int = 50) -> list[SongRecord]:
        """The newest songs first."""
        rows = await self._read(
            "reading songs", f"{_SONG_COLUMNS} ORDER BY id DESC LIMIT ?", (int(limit),)
        )
        return [_song(row) for row in rows]

    # -- feedback -----------------------------------------------------------------------------

    async def add_feedback(
        self,
        song_id: int | None,
        kind: str,
        at: float,
        bar: int | None,
        detail: Mapping[str, Any],
    ) -> int:
        """A like or a skip; its id. A song id the store does not know is kept as None."""
        if kind not in FEEDBACK_KINDS:
            raise StoreError(f"feedback must be one of {', '.join(FEEDBACK_KINDS)}, got {kind!r}")
        row = [song_id, kind, _finite("at", at), bar, _json(dict(detail), "feedback's detail")]

        async def put(connection: aiosqlite.Connection) -> int:
            if song_id is not None:
                async with connection.execute(
                    "SELECT 1 FROM songs WHERE id = ?", (song_id,)
                ) as cursor:
                    if await cursor.fetchone() is None:
                        row[0] = None
            cursor = await connection.execute(
                "INSERT INTO feedback (song_id, kind, at, bar, detail) VALUES (?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

        return await self._write(f"recording a {kind}", put)

    async def feedback(self, song_id: int | None = None) -> list[Feedback]:
        """Feedback in the order it came (of one song, or all)."""
        sql = "SELECT id, song_id, kind, at, bar, detail FROM feedback"
        parameters: tuple[int, ...] = ()
        if song_id is not None:
            sql += " WHERE song_id = ?"
            parameters = (song_id,)
        rows = await self._read("reading feedback", sql + " ORDER BY id", parameters)
        return [Feedback(r[0], r[1], r[2], r[3], r[4], _loads(r[5])) for r in rows]


def _sample_rows(samples: Sequence[Sample]) -> list[tuple[str, str, str, str, float, float]]:
    """The samples as the ``samples`` table's rows; ``StoreError`` for one that is not JSON."""
    return [
        (
            sample.source,
            sample.genre,
            sample.external_id,
            _features_json(sample),
            _finite("quality", sample.quality),
            _finite("fetched_at", sample.fetched_at),
        )
        for sample in samples
    ]


def _features_json(sample: Sample) -> str:
    features = sample.features
    if isinstance(features, EncodedFeatures):
        return features.text  # encoded by to_json where it was made
    return _json(dict(features), f"sample {sample.source}:{sample.external_id}")


def _samples_query(genre: str, source: str | None) -> tuple[str, tuple[str, ...]]:
    sql = "SELECT source, genre, external_id, features, quality, fetched_at FROM samples"
    sql += " WHERE genre = ?" + (" AND source = ?" if source is not None else "")
    return sql + " ORDER BY id", (genre,) if source is None else (genre, source)


def read_samples(path: Path, genre: str, busy_seconds: float = BUSY_SECONDS) -> list[Sample]:
    """``Store.samples(genre)`` for another process (a training worker): read from the file
    itself, read-only, so that a genre's samples never pass through the daemon's interpreter.
    WAL lets it read beside the daemon's writer; it sees what was committed when it
    starts. ``StoreError`` if the file cannot be read."""
    try:
        connection = sqlite3.connect(
            f"file:{quote(str(path))}?mode=ro", uri=True, timeout=busy_seconds
        )
        try:
            rows = connection.execute(*_samples_query(genre, None)).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StoreError(f"store {path}: {_plain(error)}") from None
    return _samples_of(rows)


def _samples_of(rows: Iterable[Sequence[Any]]) -> list[Sample]:
    return [
        Sample(row[0], row[1], row[2], _loads(row[3]), float(row[4]), float(row[5])) for row in rows
    ]


_NAMED = {"preset": "presets", "midi_map": "midi_maps"}
_STYLE_COLUMNS = "SELECT genre, version, model, samples, fitted_at, sources FROM styles"
_SONG_COLUMNS = "SELECT id, params, seed, started_at, ended_at, timings, paths FROM songs"


def _style(row: Sequence[Any]) -> StyleStats:
    return StyleStats(
        row[0], int(row[1]), _loads(row[2]), int(row[3]), float(row[4]), _loads(row[5])
    )


def _song(row: Sequence[Any]) -> SongRecord:
    ended = None if row[4] is None else float(row[4])
    return SongRecord(
        int(row[0]),
        _loads(row[1]),
        int(row[2]),
        float(row[3]),
        ended,
        _loads(row[5]),
        _loads(row[6]),
    )

"""The side task: fetch training data genre by genre, store it, fit each genre's style model.

One refresh walks the genres one at a time; for each, every source in use fetches that genre's
samples (network calls awaited with timeouts, MIDI parsing in worker processes), the samples
go into the store in small transactions, and the genre's model is fitted from everything the
store holds for it, in a worker process, stored as a new version, and handed on
(``on_model``): the daemon gives it to the conductor, which plays it from the next section.

Nothing here runs long on the event loop: the worker pool (``jamd.training.workers``, shared
with the MIDI source when the caller makes it) never spawns a process on it, the new model's
snapshot is checked and a genre's style file read in threads, the store encodes and decodes
samples in threads; what is left between awaits is small (``bench/training.py stall``
measures it: docs/performance.md).

A source that cannot be used now (no credentials, a folder gone) is reported once in plain
words and left out of the rest of the run; one that fails on a genre is logged with its
reason and the refresh goes on with the next. A failed run changes nothing it did not finish:
each batch of samples is one transaction, and a model is stored only once fitted.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jamd.compose.model import StyleModel
from jamd.errors import InputError
from jamd.store import Store, StoreError, read_samples
from jamd.store.records import Sample
from jamd.styles.library import StyleLibrary
from jamd.training.fit import fit
from jamd.training.source import Fetched, Source, SourceError
from jamd.training.state import TrainingState
from jamd.training.workers import WorkerPool

log = logging.getLogger(__name__)

BATCH = 25
"""Samples per store transaction: small enough that encoding one batch (in a thread) stays
under a millisecond, large enough that a library of thousands is not thousands of
commits."""

PROGRESS_EVERY = 0.25
"""Seconds between progress reports to the listeners (the status line, OSC subscribers)."""


@dataclass(frozen=True, slots=True)
class GenreResult:
    """What one genre's refresh did, per source and in all."""

    genre: str
    read: dict[str, int] = field(default_factory=dict)  # source -> items read
    stored: dict[str, int] = field(default_factory=dict)  # source -> samples stored
    skipped: dict[str, Counter[str]] = field(default_factory=dict)  # source -> reason -> n
    model_version: int | None = None  # the new model's version; None: no model fitted
    model_samples: int = 0  # samples the model was fitted from
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RefreshResult:
    started: float
    finished: float
    genres: tuple[GenreResult, ...]
    notices: tuple[str, ...] = ()  # said once per run, in plain words
    cancelled: bool = False

    def summary(self) -> str:
        """One line: what was stored and fitted."""
        stored = sum(sum(result.stored.values()) for result in self.genres)
        fitted = [result.genre for result in self.genres if result.model_version is not None]
        skipped = sum(sum(c.total() for c in result.skipped.values()) for result in self.genres)
        head = "cancelled" if self.cancelled else "done"
        models = f"models for {', '.join(fitted)}" if fitted else "no new models"
        return f"{head}: {stored} samples stored, {skipped} skipped; {models}"


class Trainer:
    """Runs refreshes: at start when the last is stale, every ``refresh_hours``, and on
    request (``request``, ``run``). One at a time; the store is its only shared state."""

    def __init__(
        self,
        store: Store,
        sources: Sequence[Source],
        styles: StyleLibrary,
        *,
        refresh_hours: float = 24.0,
        refresh_on_start: bool = True,
        on_model: Callable[[str, StyleModel], None] | None = None,
        clock: Callable[[], float] = time.time,
        pool: WorkerPool | None = None,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.styles = styles
        self.refresh_hours = refresh_hours
        self.refresh_on_start = refresh_on_start
        self.on_model = on_model
        self.clock = clock
        self._owns_pool = pool is None
        self.pool = pool if pool is not None else WorkerPool(1)  # the fit's worker
        self.state = TrainingState()
        self.listeners: list[Callable[[TrainingState], None]] = []
        self.runs = 0  # refreshes finished, for tests and the log
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None  # the schedule
        self._running: asyncio.Task[RefreshResult] | None = None  # a requested run
        self._reported_at = 0.0

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin the schedule (a refresh now if the last one is stale)."""
        last = await self.store.last_refresh()
        self._set(last_finished=last)
        self._task = asyncio.create_task(self._schedule(last), name="jamd training")

    async def close(self) -> None:
        """Cancel what runs, close the sources and the worker processes."""
        for task in (self._task, self._running):
            if task is not None and not task.done():
                task.cancel()
        for task in (self._task, self._running):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:  # already logged by the run itself
                    log.debug("training task ended with an error at close", exc_info=True)
        for source in self.sources:
            try:
                await source.close()
            except Exception:
                log.exception("training: closing the %s source failed", source.name)
        if self._owns_pool:
            await self.pool.close()

    async def _schedule(self, last: float | None) -> None:
        due = self.refresh_hours * 3600.0
        if self.refresh_on_start and (last is None or (due and self.clock() - last >= due)):
            await self._guarded_run()
        while due:
            last = self.state.last_finished or self.clock()
            await asyncio.sleep(max(0.0, last + due - self.clock()))
            await self._guarded_run()

    async def _guarded_run(self) -> None:
        try:
            await self.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("training: the refresh failed; the next one is on schedule")

    # -- running ------------------------------------------------------------------------------

    def request(
        self, genres: Sequence[str] | None = None, sources: Sequence[str] | None = None
    ) -> bool:
        """Start a refresh now, unless one runs (False). Unknown names raise ``InputError``
        before anything starts."""
        self._check(genres, sources)
        if self._lock.locked():
            return False
        self._running = asyncio.create_task(self.run(genres, sources), name="jamd refresh")
        self._running.add_done_callback(_log_failure)
        return True

    def _check(self, genres: Sequence[str] | None, sources: Sequence[str] | None) -> None:
        known = self.styles.names()
        for genre in genres or ():
            if genre not in known:
                raise InputError(f"unknown genre {genre!r} (genres: {', '.join(known)})")
        names = [source.name for source in self.sources]
        for name in sources or ():
            if name not in names:
                in_use = ", ".join(names) or "none set up"
                raise InputError(f"source {name!r} is not in use (sources in use: {in_use})")

    async def run(
        self, genres: Sequence[str] | None = None, sources: Sequence[str] | None = None
    ) -> RefreshResult:
        """One refresh of ``genres`` (all) from ``sources`` (all in use), genre by genre."""
        self._check(genres, sources)
        async with self._lock:
            return await self._run(
                list(genres or self.styles.names()),
                [s for s in self.sources if sources is None or s.name in sources],
            )

    async def _run(self, genres: list[str], sources: list[Source]) -> RefreshResult:
        started = self.clock()
        notices: list[str] = []
        results: list[GenreResult] = []
        usable = list(sources)
        self._set(running=True, genres_done=0, genres_total=len(genres), notices=())
        log.info(
            "training: refresh of %s from %s",
            ", ".join(genres),
            ", ".join(s.name for s in usable) or "no sources (models from what is stored)",
        )
        cancelled = False
        offered: dict[Source, frozenset[str]] = {}  # each source's genres, asked once a run
        try:
            for index, genre in enumerate(genres):
                self._set(genre=genre, genres_done=index, source="", done=0, total=None)
                results.append(await self._refresh_genre(genre, usable, notices, offered))
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            result = RefreshResult(started, self.clock(), tuple(results), tuple(notices), cancelled)
            self.runs += 1
            self._set(
                running=False,
                genre="",
                source="",
                done=0,
                total=None,
                last_finished=result.finished,
                last_summary=result.summary(),
                notices=tuple(notices),
            )
            log.info("training: %s in %.1f s", result.summary(), result.finished - started)
        return result

    async def _refresh_genre(
        self,
        genre: str,
        usable: list[Source],
        notices: list[str],
        offered: dict[Source, frozenset[str]],
    ) -> GenreResult:
        """``genre`` from each usable source; ``offered``: the genres each source has, asked
        once a run (the MIDI library's is a scan of every folder, in a thread that would take
        the GIL from the loop for each genre again)."""
        read: dict[str, int] = {}
        stored: dict[str, int] = {}
        skipped: dict[str, Counter[str]] = {}
        errors: list[str] = []
        for source in list(usable):
            self._set(source=source.name, done=0, total=None)
            began = self.clock()
            try:
                if source not in offered:
                    offered[source] = frozenset(await source.genres())
                if genre not in offered[source]:
                    continue
                fetched = await source.fetch(genre, self._progress)
            except SourceError as error:
                usable.remove(source)  # not again this run: say it once
                message = f"{source.name}: {error}"
                notices.append(message)
                log.warning("training: %s; going on without it", message)
                continue
            except Exception as error:
                message = f"{source.name} failed on {genre}: {type(error).__name__}: {error}"
                errors.append(message)
                log.exception("training: %s", message)
                continue
            for notice in fetched.notices:
                if notice not in notices:
                    notices.append(notice)
                    log.warning("training: %s: %s", source.name, notice)
            read[source.name] = fetched.read
            skipped[source.name] = fetched.skipped
            stored[source.name] = await self._store(fetched.samples)
            await self.store.record_refresh(
                source.name,
                genre,
                began,
                self.clock(),
                {
                    "read": fetched.read,
                    "stored": stored[source.name],
                    "skipped": dict(fetched.skipped),
                },
            )
        version, used = await self._fit(genre)
        return GenreResult(genre, read, stored, skipped, version, used, tuple(errors))

    async def _store(self, samples: list[Sample]) -> int:
        count = 0
        for start in range(0, len(samples), BATCH):
            count += await self.store.put_samples(samples[start : start + BATCH])
        return count

    async def _fit(self, genre: str) -> tuple[int | None, int]:
        """Fit ``genre``'s model from every stored sample; None if there are none."""
        if not any(of == genre for _, of in await self.store.sample_counts()):
            return None, 0
        style = await asyncio.to_thread(self.styles.get, genre)  # read and checked the first time
        fitted = await self.pool.submit(_fit_from_store, self.store.path, genre, style)
        model, counts = await fitted
        if model is None:  # every sample was deleted meanwhile
            return None, 0
        used = sum(counts.values())
        stats = await self.store.put_style(genre, model, used, counts)
        # validated in a thread too: StyleModel.from_dict is ~4 ms of Python
        snapshot = await asyncio.to_thread(_snapshot, stats.model, stats.version)
        log.info(
            "training: %s model version %d from %d samples (%s)",
            genre,
            stats.version,
            used,
            ", ".join(f"{name} {n}" for name, n in sorted(counts.items())),
        )
        if self.on_model is not None:
            self.on_model(genre, snapshot)
        return stats.version, used

    # -- state --------------------------------------------------------------------------------

    def _progress(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        self.state = replace(self.state, done=done, total=total)
        if now - self._reported_at >= PROGRESS_EVERY or done == total:
            self._reported_at = now
            self._tell()

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        self._tell()

    def _tell(self) -> None:
        for listener in self.listeners:
            try:
                listener(self.state)
            except Exception:
                log.exception("training: a state listener failed")


def _fit_from_store(
    path: Path, genre: str, style: Any
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """In a worker process: ``genre``'s model fitted from the samples in the store's file, as
    the store keeps it, and how many samples of each source it took (None, {}: none). The
    samples are read here, not handed over: a genre's few hundred samples decoded and pickled
    in the daemon were ~10 ms of its GIL (JSON, pickling, the collector's passes over them)."""
    samples = read_samples(path, genre)
    if not samples:
        return None, {}
    return dict(fit(genre, samples, style).to_dict()), dict(Counter(s.source for s in samples))


def _snapshot(model: Any, version: int) -> StyleModel:
    return StyleModel.from_dict(model).with_version(version)


def _log_failure(task: "asyncio.Task[RefreshResult]") -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("training: the requested refresh failed: %s: %s", type(error).__name__, error)


async def load_models(store: Store, styles: StyleLibrary) -> dict[str, StyleModel]:
    """The latest stored model of every genre that has one; a broken row is logged and left
    out (that genre plays its built-in style)."""
    try:
        rows = await store.latest_styles()
    except StoreError as error:
        log.error("training: cannot read the stored style models: %s", error)
        return {}
    models: dict[str, StyleModel] = {}
    for genre, stats in rows.items():
        if genre not in styles.names():
            log.warning("training: a stored model for unknown genre %r is left out", genre)
            continue
        try:
            models[genre] = StyleModel.from_dict(stats.model).with_version(stats.version)
        except InputError as error:
            log.error(
                "training: the stored %s model (version %d) is broken and left out: %s",
                genre,
                stats.version,
                error,
            )
    return models


__all__ = [
    "Fetched",
    "GenreResult",
    "RefreshResult",
    "Trainer",
    "TrainingState",
    "load_models",
]

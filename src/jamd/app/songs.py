"""The song log: every song the conductor starts becomes a row in the store (what ``jamd
render`` takes, the seed, the patches, when), finished with its section timings when the next
one starts or the music stops; likes and skips go against the song playing and its bar.

The store's writes run one after another on a task of their own (a song's row exists before
its end or its feedback is written), so a listener of the conductor never waits for the disk.
A write that fails is logged and counted; the music never depends on it.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jamd.engine.interface import Recording
from jamd.errors import InputError
from jamd.live.commands import Command, Regenerate, SetEnergy, SetKey, SetMood, SetTempo
from jamd.live.conductor import Conductor
from jamd.live.session import Session, Transport
from jamd.store import SongRecord, Store

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class _Playing:
    number: int  # the conductor's song number
    started_at: float
    id: int | None = None  # the row, once written
    sections: list[list[Any]] = field(default_factory=list)  # [label, seconds from the start]
    bars: int = 0


class SongLog:
    """A conductor listener that writes songs (and feedback) to ``store``."""

    def __init__(
        self,
        store: Store,
        conductor: Conductor,
        *,
        recording: Recording | None = None,
        styles: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.conductor = conductor
        self.recording = recording or Recording()
        self.styles = styles
        self._clock = clock
        self._playing: _Playing | None = None
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.failed = 0  # writes the store refused (logged)
        self.written = 0

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def close(self) -> None:
        """The song playing ends here; every write queued is made, then the worker stops."""
        self._finish(self._clock())
        if self._worker is None:
            return
        self._jobs.put_nowait(None)
        await self._worker
        self._worker = None

    # -- hearing the conductor ----------------------------------------------------------------

    def changed(self, old: Session, new: Session) -> None:
        now = self._clock()
        if new.song and new.song != old.song:
            self._finish(now)
            self._begin(new, now)
            return
        playing = self._playing
        if playing is None:
            return
        if new.section and new.section != old.section:
            playing.sections.append([new.section, round(now - playing.started_at, 3)])
        playing.bars = max(playing.bars, new.bar)
        if new.transport is Transport.STOPPED and old.transport is not Transport.STOPPED:
            self._finish(now)

    def _begin(self, session: Session, now: float) -> None:
        song = self.conductor.song
        if song is None:
            return
        plan = song.plan
        params = {
            "genre": plan.params.genre,
            "key": plan.key.name,
            "tempo": plan.params.tempo,
            "energy": plan.params.energy,
            "duration": plan.params.duration,
            "mood": session.mood,
            "patches": {part.value: name for part, name in song.arrangement.patches.items()},
            "styles": list(self.styles),
        }
        if song.model is not None and song.model.version:
            params["model"] = song.model.version  # the stored style model it started with
        paths = {
            name: str(path)
            for name, path in (("master", self.recording.master), ("stems", self.recording.stems))
            if path is not None
        }
        playing = _Playing(session.song, now)
        self._playing = playing

        async def write() -> None:
            playing.id = await self.store.add_song(params, song.seed, now, paths)

        self._queue(write)

    def _finish(self, now: float) -> None:
        playing, self._playing = self._playing, None
        if playing is None:
            return

        async def write() -> None:
            if playing.id is not None:
                timings = {"sections": playing.sections, "bars": playing.bars}
                await self.store.finish_song(playing.id, now, timings)

        self._queue(write)

    # -- feedback -----------------------------------------------------------------------------

    def feedback(self, kind: str, detail: Mapping[str, Any]) -> "asyncio.Future[int]":
        """A like or skip against the song playing and its bar; its row's id when written."""
        playing = self._playing
        bar = self.conductor.session.bar if playing is not None else None
        at = self._clock()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def write() -> None:
            song_id = playing.id if playing is not None else None
            try:
                done.set_result(await self.store.add_feedback(song_id, kind, at, bar, detail))
            except InputError as error:
                done.set_exception(error)
                raise

        self._queue(write)
        return done

    # -- the writer ---------------------------------------------------------------------------

    def _queue(self, job: Job) -> None:
        self._jobs.put_nowait(job)

    async def _work(self) -> None:
        while (job := await self._jobs.get()) is not None:
            try:
                await job()
                self.written += 1
            except InputError as error:
                self.failed += 1
                log.error("song log: %s", error)


def replay_commands(record: SongRecord, session: Session) -> list[Command]:
    """The commands that play a recorded song again from the next bar: its key, tempo,
    energy and mood (where they differ), then a new song of its genre on its seed."""
    params = record.params
    try:
        wanted: list[tuple[bool, Command]] = [
            (session.key == params.get("key"), SetKey.parse(str(params["key"]))),
            (session.tempo == params.get("tempo"), SetTempo(params["tempo"])),
            (session.energy == params.get("energy"), SetEnergy(params.get("energy", 0.5))),
            (session.mood == params.get("mood"), SetMood(params.get("mood", 0.5))),
        ]
        again = Regenerate(record.seed, genre=str(params["genre"]))
    except (KeyError, TypeError, InputError) as error:
        raise InputError(f"song {record.id} cannot be played again: {error}") from None
    return [command for same, command in wanted if not same] + [again]

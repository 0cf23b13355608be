"""The side task in a real daemon (silent audio): a refresh at start from a generated MIDI
library, the models it stored read back at the next start, /jamd/training/refresh over UDP,
and the training state in /jamd/state."""

import asyncio
import io
import multiprocessing
import random
from pathlib import Path

from helpers import Client, click_overrides, click_settings, playing, until

from jamd.app.config import read_settings
from jamd.app.daemon import Daemon
from jamd.app.training import train
from jamd.training.synthetic import write_library


def _daemon(library: Path, database: Path, **extra: object) -> Daemon:
    return Daemon(
        click_settings(
            None,
            **{
                "training.midi.folders": [str(library)],
                "training.sources": ["midi"],
                "paths.database": str(database),
                **extra,
            },
        )
    )


def test_the_daemon_refreshes_at_start_and_on_request(tmp_path: Path) -> None:
    library = tmp_path / "library"
    write_library(library, 6, random.Random(2), genres=("blues",))
    database = tmp_path / "jamd.sqlite3"

    async def first_start() -> list[tuple[str, tuple[object, ...]]]:
        async with playing(_daemon(library, database)) as daemon:
            # the workers run at READY=1: no process is spawned while the music plays
            children = {child.pid for child in multiprocessing.active_children()}
            assert daemon.workers is not None
            assert daemon.workers.workers == 1
            assert len(children) == 1
            trainer = daemon.trainer
            assert trainer is not None
            await until(lambda: trainer.runs == 1, 120)  # the store was empty: stale
            assert set(daemon.models) == {"blues"}
            conductor = daemon.conductor
            assert conductor is not None
            # the command loop hands each new model to the conductor
            await until(lambda: conductor.model("blues") is daemon.models["blues"], 10)
            client = Client()
            try:
                client.send(daemon, "/jamd/training/refresh", "blues")
                await client.until(lambda r: r == ("/jamd/training/refresh", ("started", "blues")))
                client.send(daemon, "/jamd/training/refresh", "polka")
                await client.until(lambda r: r[0] == "/jamd/error" and "polka" in r[1][1])
                client.send(daemon, "/jamd/training/refresh", 7)
                await client.until(lambda r: r[0] == "/jamd/error" and "strings" in r[1][1])
                await until(lambda: trainer.runs == 2, 120)
                # the files and the fits went to the same worker, started at READY=1
                assert {child.pid for child in multiprocessing.active_children()} == children
                client.send(daemon, "/jamd/state")
                await client.until(lambda r: r[0] == "/jamd/training/last" and r[1][0] != "")
                return list(client.received)
            finally:
                client.close()

    received = asyncio.run(first_start())
    last = next(args for address, args in received if address == "/jamd/training/last")
    assert str(last[1]).startswith("done: 6 samples stored")
    state = next(args for address, args in received if address == "/jamd/training/state")
    assert state[0] == 0  # idle again

    async def second_start() -> tuple[int, int, int | None]:
        # playing blues, with no tempo or key of its own: the stored model's draws
        settings = {"music.genre": "blues", "music.tempo": None}
        async with playing(_daemon(library, database, **settings)) as daemon:
            assert daemon.trainer is not None
            model = daemon.models["blues"]  # read from the store before any refresh
            song = daemon.conductor.song if daemon.conductor is not None else None
            assert song is not None
            playing_with = song.model.version if song.model is not None else None
            return daemon.trainer.runs, model.version, playing_with

    runs, version, playing_with = asyncio.run(second_start())
    assert runs == 0  # the last refresh is fresh: none at start
    assert version == 2
    assert playing_with == 2  # the first song was planned with the stored model


def test_sighup_restarts_the_side_task_with_the_new_training_settings(tmp_path: Path) -> None:
    blues, jazz = tmp_path / "blues", tmp_path / "jazz"
    write_library(blues, 3, random.Random(3), genres=("blues",))
    write_library(jazz, 3, random.Random(4), genres=("jazz",))
    config = tmp_path / "jamd.toml"
    overrides = click_overrides(
        None, **{"training.sources": ["midi"], "paths.database": str(tmp_path / "j.sqlite3")}
    )

    def configure(text: str) -> None:
        config.write_text(text, encoding="utf-8")

    configure(f'[training.midi]\nfolders = ["{blues}"]\n')

    async def perform() -> tuple[set[str], set[str], bool]:
        daemon = Daemon(read_settings(config, overrides), config=config, overrides=overrides)
        async with playing(daemon):
            first, workers = daemon.trainer, daemon.workers
            assert first is not None
            assert workers is not None
            await until(lambda: first.runs == 1, 120)
            learned_first = set(daemon.models)
            # a new library folder: the side task starts again with it (its last refresh is
            # fresh, so it waits for a request), with the workers it had
            configure(f'[training.midi]\nfolders = ["{jazz}"]\n')
            daemon.request_reload()
            await until(lambda: daemon.trainer is not None and daemon.trainer is not first, 30)
            second = daemon.trainer
            assert second is not None
            assert daemon.workers is workers
            # the reload's new genre files are read ahead in a thread, as at start
            conductor = daemon.conductor
            assert conductor is not None
            await until(lambda: conductor.styles.loaded() == conductor.styles.names(), 30)
            assert second.request()
            await until(lambda: second.runs == 1, 120)
            learned_second = set(daemon.models)
            # two workers asked for: two new ones
            configure(f'[training]\nworkers = 2\n[training.midi]\nfolders = ["{jazz}"]\n')
            daemon.request_reload()
            await until(lambda: daemon.trainer not in (None, second), 30)
            assert daemon.workers is not None
            assert daemon.workers.workers == 2
            configure("[training]\nenabled = false\n")
            daemon.request_reload()
            await until(lambda: daemon.trainer is None, 30)
            assert daemon.workers is None
            return learned_first, learned_second, daemon.trainer is None

    learned_first, learned_second, off = asyncio.run(perform())
    assert learned_first == {"blues"}
    assert learned_second == {"blues", "jazz"}  # the jazz folder's model joins the stored ones
    assert off


def test_no_worker_process_waits_when_no_source_is_set_up(tmp_path: Path) -> None:
    async def perform() -> tuple[bool, list[object]]:
        settings = {"training.sources": ["midi"], "paths.database": str(tmp_path / "j.sqlite3")}
        async with playing(Daemon(click_settings(None, **settings))) as daemon:
            assert daemon.trainer is not None  # it still fits what the store holds, if asked
            assert daemon.workers is not None
            return daemon.workers.started, multiprocessing.active_children()

    started, children = asyncio.run(perform())
    assert not started
    assert children == []


def test_the_workers_start_ahead_for_the_fits_when_only_stored_samples_are_left(
    tmp_path: Path,
) -> None:
    """No source set up, but samples from an earlier `jamd train`: a refresh fits them."""
    library, database = tmp_path / "library", tmp_path / "j.sqlite3"
    write_library(library, 3, random.Random(5), genres=("blues",))
    settings = click_settings(None, **{"paths.database": str(database)})
    asyncio.run(
        train(settings, sources=["midi"], midi_folders=[library], progress=False, out=io.StringIO())
    )

    async def perform() -> tuple[bool, int]:
        settings = {"training.sources": ["midi"], "paths.database": str(database)}
        async with playing(Daemon(click_settings(None, **settings))) as daemon:
            assert daemon.workers is not None
            return daemon.workers.started, len(multiprocessing.active_children())

    assert asyncio.run(perform()) == (True, 1)

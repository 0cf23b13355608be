"""The side task end to end: a generated MIDI library (with broken files) read by the real
source, stored in a real SQLite file, fitted in a worker process; and ``jamd train``."""

import asyncio
import random
import subprocess
import sys
from pathlib import Path

import pytest
from midilib_files import write_broken

from blues import blues_bars, twelve_bar_share
from jamd.compose.model import StyleModel
from jamd.errors import InputError
from jamd.settings import MidiLibrary
from jamd.store import Store
from jamd.styles.library import StyleLibrary
from jamd.training.midilib import MidiLibrarySource
from jamd.training.refresh import Trainer, TrainingState, load_models
from jamd.training.synthetic import write_library

JAMD = Path(sys.executable).parent / "jamd"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    write_library(folder, 16, random.Random(5), genres=("blues", "pop"))
    write_broken(folder / "Blues" / "broken")
    return folder


async def _refresh(library: Path, database: Path) -> tuple[object, list[TrainingState], dict]:
    styles = StyleLibrary()
    store = await Store.open(database)
    source = MidiLibrarySource(MidiLibrary(folders=(library,)), genres=styles.names())
    models: dict[str, StyleModel] = {}
    trainer = Trainer(store, [source], styles, refresh_on_start=False, on_model=models.__setitem__)
    states: list[TrainingState] = []
    trainer.listeners.append(states.append)
    try:
        result = await trainer.run(["blues", "pop", "jazz"])
        with pytest.raises(InputError, match="unknown genre 'polka'"):
            trainer.request(["polka"])
        stored = await load_models(store, styles)
    finally:
        await trainer.close()
        await store.close()
    return result, states, {"models": models, "stored": stored, "scans": source.scans}


def test_a_refresh_stores_samples_and_fits_models_that_steer_the_composer(
    library: Path, tmp_path: Path
) -> None:
    result, states, models = asyncio.run(_refresh(library, tmp_path / "jamd.sqlite3"))
    by_genre = {genre.genre: genre for genre in result.genres}  # type: ignore[attr-defined]
    blues, pop, jazz = by_genre["blues"], by_genre["pop"], by_genre["jazz"]
    assert blues.read["midi"] == 8 + 9  # eight songs and the broken files
    assert blues.stored["midi"] == 8
    assert blues.skipped["midi"].total() == 9
    assert pop.stored["midi"] == 8
    assert jazz.stored == {}
    assert jazz.model_version is None  # nothing to learn: the built-in style plays
    assert (blues.model_version, pop.model_version) == (1, 1)
    assert set(models["models"]) == {"blues", "pop"} == set(models["stored"])
    assert models["scans"] == 1  # the library is walked once a refresh, not once a genre
    # states went through each genre and ended idle, with the summary
    assert next(s.genre for s in states if s.running and s.source == "midi") == "blues"
    assert not states[-1].running
    assert states[-1].last_summary.startswith("done: 16 samples")
    # the learned blues model plays the 12-bar blues' chords in verses and solos
    learned = models["stored"]["blues"]
    seeds = range(1, 9)
    learned_bars = blues_bars(learned, seeds)
    builtin_bars = blues_bars(StyleModel.builtin(StyleLibrary().get("blues")), seeds)
    assert twelve_bar_share(learned_bars) >= 0.8
    assert twelve_bar_share(learned_bars) > twelve_bar_share(builtin_bars)


def test_a_second_refresh_makes_new_versions_without_duplicating_samples(
    library: Path, tmp_path: Path
) -> None:
    database = tmp_path / "jamd.sqlite3"
    asyncio.run(_refresh(library, database))
    result, _, _ = asyncio.run(_refresh(library, database))
    blues = next(genre for genre in result.genres if genre.genre == "blues")  # type: ignore[attr-defined]
    assert blues.model_version == 2
    assert blues.model_samples == 8  # upserted by path: the same eight files, once each


def test_jamd_train_reads_a_library_and_prints_a_summary(library: Path, tmp_path: Path) -> None:
    database = tmp_path / "train.sqlite3"
    done = subprocess.run(
        [
            str(JAMD),
            "train",
            "--source",
            "midi",
            "--path",
            str(library),
            "--genre",
            "blues",
            "--db",
            str(database),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = lines[0].split()
    assert header == ["genre", "source", "read", "skipped", "stored", "model"]
    assert lines[1].split() == ["blues", "midi", "17", "9", "8", "v1", "(8", "samples)"]
    assert "skipped:" in lines
    assert any("not a MIDI file" in line for line in lines)
    assert f"store: {database}" in lines
    refused = subprocess.run(
        [
            str(JAMD),
            "train",
            "--source",
            "midi",
            "--genre",
            "polka",
            "--path",
            str(library),
            "--db",
            str(database),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "unknown genre 'polka'" in refused.stderr

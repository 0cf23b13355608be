"""The training side as the daemon and ``jamd train`` set it up: sources from the settings, the
store, the trainer; and ``jamd train``'s progress bar and summary table."""

import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from jamd.app.config import database_path
from jamd.errors import InputError
from jamd.settings import Settings
from jamd.store import Store
from jamd.styles.library import StyleLibrary
from jamd.training.midilib import MidiLibrarySource
from jamd.training.refresh import RefreshResult, Trainer, TrainingState
from jamd.training.source import Source, SourceError
from jamd.training.spotify import SpotifySource, spotify_credentials
from jamd.training.workers import WorkerPool

log = logging.getLogger(__name__)


def make_sources(
    settings: Settings,
    genres: Sequence[str],
    *,
    only: Sequence[str] | None = None,
    midi_folders: Sequence[Path] = (),
    pool: WorkerPool | None = None,
) -> list[Source]:
    """The sources the settings put in use (``only``: just these; ``midi_folders``: these
    folders instead of ``training.midi.folders``; ``pool``: the workers the MIDI source shares
    with the trainer, else its own). A source asked for by name that is not set
    up is an ``InputError`` saying what to set; one merely listed in ``training.sources`` but
    not set up is left out, with a line in the log."""
    training = settings.training
    wanted = list(only) if only else list(training.sources)
    sources: list[Source] = []
    for name in wanted:
        if name == "spotify":
            if not training.spotify.enabled and not only:
                log.info("training: Spotify is off (training.spotify.enabled = false)")
                continue
            if only:  # asked for by name: no credentials is an error now, not a notice later
                try:
                    spotify_credentials(training.spotify)
                except SourceError as error:
                    raise InputError(str(error)) from None
            sources.append(SpotifySource(training.spotify, genres=genres))
        elif name == "midi":
            midi = training.midi
            if midi_folders:
                midi = midi.model_copy(update={"folders": tuple(midi_folders)})
            if not midi.folders:
                if only:
                    raise InputError(
                        "the MIDI source needs a folder: --path DIR, or training.midi.folders"
                    )
                log.info("training: no MIDI library (training.midi.folders is empty)")
                continue
            sources.append(
                MidiLibrarySource(midi, genres=genres, workers=training.workers, pool=pool)
            )
        else:
            raise InputError(f"unknown source {name!r} (sources: spotify, midi)")
    return sources


async def train(
    settings: Settings,
    *,
    sources: Sequence[str] | None = None,
    midi_folders: Sequence[Path] = (),
    genres: Sequence[str] | None = None,
    database: Path | None = None,
    out: IO[str] = sys.stdout,
    progress: bool = True,
) -> RefreshResult:
    """``jamd train``: one refresh now, with a progress bar, then the summary table."""
    styles = StyleLibrary(settings.paths.styles)
    for genre in genres or ():
        styles.get(genre)  # an unknown genre: InputError with a did-you-mean
    pool = WorkerPool(settings.training.workers)  # the MIDI files' and the fits' workers
    chosen = make_sources(
        settings, styles.names(), only=sources, midi_folders=midi_folders, pool=pool
    )
    path = database or database_path(settings)
    store = await Store.open(path)
    trainer = Trainer(store, chosen, styles, refresh_on_start=False, pool=pool)
    bar = _ProgressBar(out) if progress else None
    if bar is not None:
        trainer.listeners.append(bar.update)
    try:
        result = await trainer.run(genres, [source.name for source in chosen])
    finally:
        if bar is not None:
            bar.close()
        await trainer.close()
        await pool.close()
        await store.close()
    for line in summary_table(result):
        print(line, file=out)
    print(f"store: {path}", file=out)
    return result


class _ProgressBar:
    """One tqdm bar per genre and source, fed by the trainer's state."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.bar: Any = None
        self.label = ""

    def update(self, state: TrainingState) -> None:
        from tqdm import tqdm  # noqa: PLC0415  (only jamd train draws a bar)

        label = f"{state.genre} {state.source}".strip()
        if not state.running or not state.source:
            self.close()
            return
        if label != self.label:
            self.close()
            self.label = label
            self.bar = tqdm(total=state.total, desc=label, unit="item", file=self.out, leave=True)
        if self.bar is not None:
            if state.total is not None and self.bar.total != state.total:
                self.bar.total = state.total
            self.bar.n = state.done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.label = None, ""


def summary_table(result: RefreshResult) -> list[str]:
    """Per genre and source: items read, skipped, samples stored; the model fitted; then the
    reasons things were skipped and what the sources said."""
    rows = [("genre", "source", "read", "skipped", "stored", "model")]
    reasons: list[str] = []
    for genre in result.genres:
        names = sorted(set(genre.read) | set(genre.stored))
        model = (
            f"v{genre.model_version} ({genre.model_samples} samples)"
            if genre.model_version is not None
            else "built-in"
        )
        for index, name in enumerate(names or ["-"]):
            skipped = genre.skipped.get(name)
            rows.append(
                (
                    genre.genre if index == 0 else "",
                    name,
                    str(genre.read.get(name, 0)),
                    str(skipped.total() if skipped else 0),
                    str(genre.stored.get(name, 0)),
                    model if index == 0 else "",
                )
            )
            if skipped:
                listed = ", ".join(f"{n} {why}" for why, n in skipped.most_common())
                reasons.append(f"  {genre.genre} {name}: {listed}")
        reasons += [f"  {genre.genre}: {error}" for error in genre.errors]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    numeric = {2, 3, 4}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    if reasons:
        lines += ["skipped:", *reasons]
    if result.notices:
        lines += ["notices:", *(f"  {notice}" for notice in result.notices)]
    lines.append(result.summary())
    return lines


def run_train(**kwargs: Any) -> RefreshResult:
    """``train`` from synchronous code (the command line)."""
    return asyncio.run(train(**kwargs))

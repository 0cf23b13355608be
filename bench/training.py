"""Training benchmark (docs/performance.md): how fast the MIDI library source reads files.

- files: writes a library of ``--files`` songs (``jamd.training.synthetic``: every genre in
  turn, 8 to 48 bars, drums, bass, chords and a lead; the same library for the same
  ``--seed``) into a temporary folder, then times ``MidiLibrarySource.fetch`` over every
  genre, once per worker count in ``--workers``, each with a fresh pool whose start-up is
  counted. Printed: files per second, and each file's analysis time in its worker (p50, p99).

Run: .venv/bin/python bench/training.py files [--files 2000] [--workers 1 2] [--seed 7]
Target (issue 7): >= 200 files/s on this machine.
"""

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from jamd.settings import MidiLibrary
from jamd.styles.library import StyleLibrary
from jamd.training.midilib import MidiLibrarySource
from jamd.training.synthetic import write_library


async def _fetch_all(source: MidiLibrarySource) -> tuple[int, int, list[float]]:
    """Files read, samples made, per-file seconds; the pool is closed inside the timing."""
    read = samples = 0
    timings: list[float] = []
    try:
        for genre in await source.genres():
            fetched = await source.fetch(genre)
            read += fetched.read
            samples += len(fetched.samples)
            timings += source.timings
    finally:
        await source.close()
    return read, samples, timings


def files(count: int, workers: list[int], seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="jamd-bench-midi-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        write_library(root, count, random.Random(seed))
        written = time.perf_counter() - started
        size = sum(path.stat().st_size for path in root.rglob("*.mid"))
        print(
            f"library: {count} files, {size / count / 1024:.1f} kB each on average, "
            f"written in {written:.1f} s"
        )
        genres = StyleLibrary().names()
        for processes in workers:
            settings = MidiLibrary(folders=(root,))
            source = MidiLibrarySource(settings, genres=genres, workers=processes)
            started = time.perf_counter()
            read, samples, timings = asyncio.run(_fetch_all(source))
            elapsed = time.perf_counter() - started
            cuts = statistics.quantiles(timings, n=100)
            print(
                f"workers={processes}: {read} files read, {samples} samples in {elapsed:.2f} s: "
                f"{read / elapsed:.0f} files/s; per file p50 {cuts[49] * 1000:.2f} ms, "
                f"p99 {cuts[98] * 1000:.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    files_mode = modes.add_parser("files", help="files analysed per second")
    files_mode.add_argument("--files", type=int, default=2000)
    files_mode.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    files_mode.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    if arguments.mode == "files":
        files(arguments.files, arguments.workers, arguments.seed)


if __name__ == "__main__":
    main()

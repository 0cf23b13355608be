"""Loudness benchmark: every genre's master over several seeds (issue 6's gain staging).

For each genre and seed, a 30 s song rendered in this process as `jamd render` makes it, then
measured by ``jamd.engine.loudness`` (BS.1770-4 integrated loudness, true peak oversampled 4x).
Prints LUFS / dBTP per render (a * where the render levelled its master: the master chain ran
again at a corrected gain), the spread per genre, and the render times.

Run: .venv/bin/python bench/loudness.py [--seeds 7,8,9,10] [--duration 30] [--energy 0.5]
Targets (issue 6): -14 +-1 LUFS integrated, true peak <= -1 dBTP.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from jamd.engine.loudness import measure
from jamd.engine.wavfile import read_wav
from jamd.logs import configure_logging
from jamd.render.song import RenderRequest, render

GENRES = ("pop", "rock", "jazz", "electronic", "hip-hop", "classical", "country", "blues")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="7,8,9,10")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--energy", type=float, default=0.5)
    arguments = parser.parse_args()
    seeds = [int(seed) for seed in arguments.seeds.split(",")]
    configure_logging("error")
    print(f"{arguments.duration:g} s songs, energy {arguments.energy:g}: LUFS / dBTP per seed")
    print(f"{'genre':<11} " + " ".join(f"{f'seed {s}':>13} " for s in seeds) + "   LUFS range")
    within = total = 0
    seconds: dict[bool, list[float]] = {False: [], True: []}  # render times, by levelled or not
    with tempfile.TemporaryDirectory() as kept:
        for genre in GENRES:
            cells, values = [], []
            for seed in seeds:
                out = Path(kept) / f"{genre}-{seed}.wav"
                request = RenderRequest(
                    genre=genre, key=None, tempo=None, duration=arguments.duration, seed=seed,
                    energy=arguments.energy, out=out, midi=None, stems=None,
                )  # fmt: skip
                began = time.perf_counter()
                result = render(request)
                levelled = result.report is not None and result.report.master_passes > 1
                seconds[levelled].append(time.perf_counter() - began)
                frames, rate = read_wav(out)
                loudness = measure(frames, rate)
                values.append(loudness.integrated_lufs)
                mark = "*" if levelled else " "
                cells.append(
                    f"{loudness.integrated_lufs:6.1f} /{loudness.true_peak_dbtp:5.1f}{mark}"
                )
                within += abs(loudness.integrated_lufs + 14.0) <= 1.0
                total += 1
                out.unlink()
            spread = f"{min(values):.1f} .. {max(values):.1f}"
            print(f"{genre:<11} " + " ".join(f"{c:>14}" for c in cells) + f"   {spread}")
    print(f"{within} of {total} renders within -14 +-1 LUFS")
    every = seconds[False] + seconds[True]
    print(
        f"all: {len(every)} renders in {sum(every):.1f} s, {statistics.median(every):.2f} s median"
    )
    for levelled, label in ((False, "as rendered"), (True, "levelled (*)")):
        if seconds[levelled]:
            times = seconds[levelled]
            print(
                f"{label}: {len(times)} renders, {statistics.median(times):.2f} s median, "
                f"{max(times):.2f} s at most (the whole render: composing, audio, files)"
            )


if __name__ == "__main__":
    main()

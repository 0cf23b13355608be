"""Offline render benchmark: for each genre, a 30 s song.

Prints, per genre: engine time (pyo plus control writing, measured inside the render), the whole
`jamd render` command's wall time (a fresh process: interpreter start, imports, composing,
rendering, writing the WAV, stems and MIDI), that process's peak RSS, and the master's
integrated loudness and true peak (``jamd.engine.loudness``, read back from the WAV here, not
in the timed command).

Run: .venv/bin/python bench/render.py [--repeat N] [--duration S] [--energy E]
(``--energy 1.0``: every part in, the loud patches: the fullest arrangement per genre)
Targets on the 2-core reference machine: engine >= 50x real time (30 s in <= 0.6 s), whole
command <= 1.5 s, peak RSS <= 150 MB; issue 6: -14 +-1 LUFS integrated, true peak <= -1 dBTP.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENRES = ("pop", "rock", "jazz", "electronic", "hip-hop", "classical", "country", "blues")
JAMD = Path(sys.executable).with_name("jamd")


def measure_command(
    genre: str, duration: float, energy: float, directory: Path
) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, engine seconds) of one `jamd render` process."""
    command = [
        str(JAMD), "render", "--genre", genre, "--duration", str(duration), "--seed", "7",
        "--energy", str(energy),
        "--out", str(directory / "song.wav"), "--midi", str(directory / "song.mid"),
        "--stems", str(directory / "stems"),
    ]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    output = process.stdout.read() if process.stdout else ""
    errors = process.stderr.read() if process.stderr else ""
    process.stdout and process.stdout.close()
    process.stderr and process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"jamd render --genre {genre} failed:\n{errors}")
    engine = float(output.rsplit("engine ", 1)[1].split(" s", 1)[0])
    return wall, usage.ru_maxrss / 1024.0, engine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per genre; the median is shown")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument(
        "--energy", type=float, default=0.5, help="1.0: every genre's fullest arrangement"
    )
    arguments = parser.parse_args()
    print(f"{arguments.duration:g} s songs, seed 7, energy {arguments.energy:g}")
    print(
        f"{'genre':<11} {'engine s':>9} {'x real time':>11} {'command s':>10} {'peak RSS MB':>12}"
    )
    with tempfile.TemporaryDirectory() as kept:
        for genre in GENRES:
            runs = []
            directory = Path(kept) / genre
            directory.mkdir()
            for _ in range(arguments.repeat):
                runs.append(measure_command(genre, arguments.duration, arguments.energy, directory))
            wall = statistics.median(run[0] for run in runs)
            rss = max(run[1] for run in runs)
            engine = statistics.median(run[2] for run in runs)
            factor = arguments.duration / engine
            print(f"{genre:<11} {engine:>9.3f} {factor:>11.1f} {wall:>10.3f} {rss:>12.1f}")
        # only now, after every timed process: a child's peak RSS counts what this process
        # held when it forked, so the WAVs and scipy are loaded here last
        from jamd.engine.loudness import measure  # noqa: PLC0415
        from jamd.engine.wavfile import read_wav  # noqa: PLC0415

        print(f"\n{'genre':<11} {'LUFS':>7} {'dBTP':>6} {'peak dBFS':>10}")
        for genre in GENRES:
            frames, rate = read_wav(Path(kept) / genre / "song.wav")
            loudness = measure(frames, rate)
            print(
                f"{genre:<11} {loudness.integrated_lufs:>7.1f} {loudness.true_peak_dbtp:>6.1f}"
                f" {loudness.sample_peak_dbfs:>10.1f}"
            )


if __name__ == "__main__":
    main()

"""The conductor's own steps on the daemon's loop, in CPU (docs/performance.md).

The conductor plays every genre against the engine's recording twin (no audio, no JACK), one
tick per 5 ms of engine clock as the daemon's command loop ticks it, through several songs
(``--song-seconds`` each), and twice a genre a new style model arrives mid-song, handed over as
the daemon does: ``plan_with`` first, ``set_model`` once the composer's thread has planned the
song again (``--direct``: ``set_model`` at once, which plans it on the loop). Each step's cost
is the CPU the loop's thread spent in it (``time.thread_time``), so what the machine's other
load does to wall time stays out of it; between ticks the bench sleeps a little, so that the
composer's thread runs as it would between the daemon's ticks.

Run: PYTHONPATH=src .venv/bin/python bench/conductor.py [--seconds 200] [--song-seconds 60]
     [--genre G ...] [--direct]
Target (issue 7): no step of the loop over 1 ms.
"""

import argparse
import time
from dataclasses import dataclass, field

from jamd.compose.model import StyleModel
from jamd.engine.patches import PatchLibrary, default_patch_dirs
from jamd.engine.twin import TwinEngine
from jamd.live.conductor import Conductor, LiveSettings
from jamd.live.session import Session
from jamd.styles.library import StyleLibrary

GENRES = ("pop", "rock", "jazz", "electronic", "hip-hop", "classical", "country", "blues")
SR = 48000
TICK = 240  # 5 ms, the daemon's loop period
PAUSE = 0.0003  # real seconds between ticks: the composer's thread's turn
MODELS_AT = (0.3, 0.7)  # a new model at these fractions of the run


@dataclass
class Steps:
    ticks: list[float] = field(default_factory=list)  # CPU ms of each tick
    hand_overs: list[float] = field(default_factory=list)  # CPU ms of each hand-over step
    models: int = 0
    songs: int = 0

    def report(self, genre: str) -> str:
        ticks = sorted(self.ticks)
        over = sum(1 for tick in ticks if tick > 1.0)
        hand = f"{self.models} in {len(self.hand_overs)} steps, max {max(self.hand_overs):.3f}"
        return (
            f"{genre:<11} {len(ticks):>6} {self.songs:>5} {ticks[len(ticks) // 2]:>7.3f} "
            f"{ticks[int(len(ticks) * 0.99)]:>7.3f} {ticks[-1]:>7.3f} {over:>5}   {hand}"
        )


def cpu_ms(since: float) -> float:
    return (time.thread_time() - since) * 1000


def run(genre: str, seconds: float, song_seconds: float, direct: bool) -> Steps:
    styles = StyleLibrary()
    engine = TwinEngine(SR, lead=1024)
    session = Session(genre=genre, key="C", tempo=styles.get(genre).tempo.default, seed=7)
    conductor = Conductor(
        engine, styles, PatchLibrary(default_patch_dirs()), session, LiveSettings(song_seconds)
    )
    conductor.start(0)
    steps = Steps()
    builtin = StyleModel.builtin(styles.get(genre))
    arrivals = [round(at * seconds * SR) for at in MODELS_AT]
    waiting: StyleModel | None = None
    numbers: set[int] = set()
    try:
        while engine.clock < seconds * SR:
            engine.advance(TICK)
            if arrivals and engine.clock >= arrivals[0]:
                arrivals.pop(0)
                waiting = builtin.with_version(steps.models + 2)
            if waiting is not None:  # the daemon's _hand_over_models, each turn of its loop
                began = time.thread_time()
                planning = None if direct else conductor.plan_with(genre, waiting)
                if planning is None or planning.done():
                    conductor.set_model(genre, waiting, engine.clock)
                    waiting = None
                    steps.models += 1
                steps.hand_overs.append(cpu_ms(began))
            began = time.thread_time()
            conductor.tick(engine.clock)
            steps.ticks.append(cpu_ms(began))
            engine.transcript.entries.clear()  # what the engine was asked: not kept here
            numbers.update(bar.song.number for bar in conductor.planned)
            time.sleep(PAUSE)
    finally:
        conductor.close()
    steps.songs = len(numbers)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=200.0, help="engine time per genre")
    parser.add_argument("--song-seconds", type=float, default=60.0)
    parser.add_argument("--genre", action="append", choices=GENRES)
    parser.add_argument("--direct", action="store_true", help="set_model without plan_with")
    arguments = parser.parse_args()
    how = "set_model at once" if arguments.direct else "plan_with, then set_model"
    print(f"{arguments.seconds:g} s a genre, songs of {arguments.song_seconds:g} s; models: {how}")
    print("CPU ms of the loop's thread (time.thread_time)")
    print("genre        ticks songs     p50     p99     max  >1ms   models handed over")
    for genre in arguments.genre or GENRES:
        steps = run(genre, arguments.seconds, arguments.song_seconds, arguments.direct)
        print(steps.report(genre), flush=True)


if __name__ == "__main__":
    main()

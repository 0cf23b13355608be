"""A band for tests: the conductor against the engine's recording twin; time moves only when
a test moves it."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from jamd.compose.model import StyleModel
from jamd.engine.notes import Note
from jamd.engine.patches import PatchLibrary, default_patch_dirs
from jamd.engine.twin import TwinEngine
from jamd.live.commands import Command
from jamd.live.conductor import Conductor, LiveSettings, Outcome
from jamd.live.session import Session
from jamd.styles.library import StyleLibrary

SR = 48000
TICK = 240  # 5 ms, the daemon's loop period
STYLES = Path(__file__).parent / "styles"
DRUM = {"hat": 42, "kick": 36, "snare": 38, "cowbell": 56, "stick": 37, "tom": 50}


@dataclass
class Band:
    conductor: Conductor
    engine: TwinEngine

    def run_to(self, sample: int) -> None:
        """Tick the conductor every 5 ms of engine clock up to ``sample``."""
        while self.engine.clock + TICK <= sample:
            self.engine.advance(TICK)
            self.conductor.tick(self.engine.clock)
        self.engine.clock = sample
        self.conductor.tick(sample)

    def apply(self, command: Command) -> Outcome:
        return self.conductor.apply(command, self.engine.clock)

    def notes(self, part: str = "drums", pitches: tuple[int, ...] | None = None) -> list[Note]:
        return [
            note
            for note in self.engine.transcript.notes()
            if note.track == part and (pitches is None or note.pitch in pitches)
        ]

    def onsets(self, *pieces: str) -> list[int]:
        wanted = tuple(float(DRUM[piece]) for piece in pieces)
        return [note.start for note in self.notes("drums", wanted)]

    def beat_sample(self, beat: float) -> int:
        tempo = self.conductor.tempo_map
        assert tempo is not None
        return round(tempo.sample_at(beat))

    @property
    def session(self) -> Session:
        return self.conductor.session


MakeBand = Callable[..., Band]


@pytest.fixture
def make_band() -> MakeBand:
    styles = StyleLibrary([STYLES])
    patches = PatchLibrary(default_patch_dirs())

    def make(
        genre: str = "click",
        *,
        tempo: float = 120.0,
        key: str = "C",
        seed: int = 3,
        models: Mapping[str, StyleModel] | None = None,
        **settings: object,
    ) -> Band:
        engine = TwinEngine(SR, lead=1024)
        live = LiveSettings(**{"song_seconds": 60.0, **settings})  # type: ignore[arg-type]
        session = Session(genre=genre, key=key, tempo=tempo, seed=seed)
        conductor = Conductor(engine, styles, patches, session, live, models=models)
        conductor.start(0)
        return Band(conductor, engine)

    return make

"""The engine's recording twin: the ``Engine`` interface with a clock you move by hand and a
transcript of everything it was asked, no audio. Layers above (the conductor, the daemon's
command handling) are tested against it deterministically, asserting on transcripts.

``Transcript.notes()`` is what the engine would play: every note scheduled, minus those a later
retraction or release took back, with held notes cut where a release cut them.
"""

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from jamd.engine.interface import EngineStats, Fader
from jamd.engine.notes import Note
from jamd.engine.patches import Patch


@dataclass(frozen=True, slots=True)
class Entry:
    """One request: its method's name, its arguments, and the clock when it came."""

    method: str
    args: tuple[object, ...]
    position: int


@dataclass
class Transcript:
    entries: list[Entry] = field(default_factory=list)

    def of(self, method: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.method == method]

    def notes(self) -> list[Note]:
        """The notes that would sound, in the order of their starts."""
        notes: list[Note] = []
        for entry in self.entries:
            if entry.method == "schedule":
                notes.extend(entry.args[0])  # type: ignore[arg-type]
            elif entry.method in ("retract", "release"):
                at = entry.args[0]
                assert isinstance(at, int)
                kept = [note for note in notes if note.start < at]
                if entry.method == "release":
                    kept = [
                        dataclasses.replace(note, end=at) if note.end > at else note
                        for note in kept
                    ]
                notes = kept
            elif entry.method == "change_patch":
                lane, at = entry.args[0], entry.args[2]
                assert isinstance(at, int)
                notes = [note for note in notes if note.track != lane or note.start < at]
        return sorted(notes, key=lambda note: (note.start, note.track, note.pitch))

    def patch_changes(self) -> list[tuple[str, Patch, int]]:
        """(lane, patch, sample) for every patch change still in force."""
        changes: list[tuple[str, Patch, int]] = []
        for entry in self.entries:
            if entry.method == "change_patch":
                lane, patch, at = entry.args
                assert isinstance(lane, str)
                assert isinstance(at, int)
                changes = [c for c in changes if c[0] != lane or c[2] < at]
                changes.append((lane, patch, at))  # type: ignore[arg-type]
            elif entry.method in ("retract", "release"):
                at = entry.args[0]
                assert isinstance(at, int)
                changes = [c for c in changes if c[2] < at]
        return changes


class TwinEngine:
    """An ``Engine`` that plays nothing: its clock is ``advance``d by the test."""

    def __init__(self, sample_rate: int = 48000, lead: int = 1024) -> None:
        self._sample_rate = sample_rate
        self._lead = lead
        self.clock = 0
        self.transcript = Transcript()
        self.faders: dict[str, Fader] = {}
        self.tones: dict[str, float] = {}
        self.tilt = 0.0
        self.master = 1.0
        self.delay_time = 0.0

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def lead(self) -> int:
        return self._lead

    def position(self) -> int:
        return self.clock

    def advance(self, samples: int) -> int:
        self.clock += samples
        return self.clock

    def _record(self, method: str, *args: object) -> None:
        self.transcript.entries.append(Entry(method, args, self.clock))

    def schedule(self, notes: Sequence[Note]) -> None:
        late = [note for note in notes if note.start < self.clock + self._lead]
        if late:
            raise AssertionError(f"{len(late)} notes scheduled inside the lead: {late[:3]}")
        self._record("schedule", tuple(notes))

    def retract(self, at: int) -> None:
        self._check_lead("retract", at)
        self._record("retract", at)

    def release(self, at: int) -> None:
        self._check_lead("release", at)
        self._record("release", at)

    def prepare(self, patches: Iterable[Patch]) -> None:
        self._record("prepare", tuple(patches))

    def change_patch(self, lane: str, patch: Patch, at: int) -> None:
        self._check_lead("change_patch", at)
        self._record("change_patch", lane, patch, at)

    def _check_lead(self, method: str, at: int) -> None:
        if at < self.clock + self._lead:
            raise AssertionError(f"{method} at {at}, inside the lead of clock {self.clock}")

    def set_fader(self, lane: str, fader: Fader) -> None:
        self.faders[lane] = fader
        self._record("set_fader", lane, fader)

    def set_tone(self, lane: str, factor: float) -> None:
        self.tones[lane] = factor
        self._record("set_tone", lane, factor)

    def set_tilt(self, db: float) -> None:
        self.tilt = db
        self._record("set_tilt", db)

    def set_delay_time(self, seconds: float) -> None:
        self.delay_time = seconds
        self._record("set_delay_time", seconds)

    def set_master(self, level: float) -> None:
        self.master = level
        self._record("set_master", level)

    def fade_out(self, seconds: float) -> None:
        self._record("fade_out", seconds)

    def stats(self) -> EngineStats:
        return EngineStats(position=self.clock)

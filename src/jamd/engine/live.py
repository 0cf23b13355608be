"""The live engine: the graph on a real-time audio backend, kept fed by a control writer.

pyo computes audio in its own thread (JACK's or PortAudio's callback) or, on the silent
backend, whenever ``step`` finds a buffer due. Python never fires a note: ``step``, called every
few milliseconds, writes the control rings a short horizon (``AHEAD_SECONDS``) in front of the
audio clock, zeroes what has been played (so a writer that falls behind leaves silence, not the
ring's previous cycle), copies the recordings out, and frees patches that have rung out.

Changes for the future rewrite that horizon: ``retract`` and notes scheduled inside it move the
writer back to where they start, as long as that is still ahead of the audio by ``guard``
samples (two buffers and 5 ms: the buffer being computed, the next, and this writer's own
time). Anything asked for later than that is late: it is dropped and counted, never played
out of time.
"""

import ctypes
import dataclasses
import gc
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from jamd.engine.backends import AudioSpec, Backend, open_backend
from jamd.engine.control import HitScheduler
from jamd.engine.drumsynth import warm_kit
from jamd.engine.graph import Graph
from jamd.engine.interface import EngineStats, Fader, Recording
from jamd.engine.notes import Note
from jamd.engine.patches import DrumKitPatch, Patch, PluckPatch, SamplerPatch
from jamd.engine.pluck import PluckSounds
from jamd.engine.recorder import Recorder
from jamd.engine.sampler import SampledSounds
from jamd.engine.server import Closing
from jamd.engine.soundmaker import SoundMaker

log = logging.getLogger("jamd.engine")

AHEAD_SECONDS = 0.1
"""How far ahead of the audio the control rings are written: the engine rides out stalls of
its own thread this long."""
STEP_SECONDS = 0.005
"""How often the writer runs."""
CHUNK_SECONDS = 0.02
"""The writer tops the control rings up (and zeroes what played) once this much has played,
not at every step: each voice is written in longer pieces, for a quarter of the calls (a
voice's write costs mostly per call). The control stays AHEAD_SECONDS - CHUNK_SECONDS ahead at
least; a change rewinds it and is written at the next step as before."""
LEAD_MARGIN_SECONDS = 0.02
"""Beyond the guard, what a request may take to arrive and be handled (the pipe from the
daemon, a burst of requests before it, a step in progress): measured ~10 ms at start-up."""
_GUARD_SECONDS = 0.005


class LiveEngine(Closing):
    """Owns the backend (and its pyo server), the graph and the writer; see the module text."""

    def __init__(
        self,
        spec: AudioSpec,
        lanes: Sequence[str],
        *,
        delay_seconds: float,
        recording: Recording | None = None,
        backend: Backend | None = None,
        patches: Mapping[str, Patch] | None = None,
    ) -> None:
        recording = recording or Recording()
        self._warmer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jamd-warm")
        self._warming: dict[tuple[object, ...], Future[None]] = {}  # by the kit's pieces
        self._warm_rate = spec.sample_rate  # JACK may choose another: then kits warm again
        self._maker = SoundMaker()  # pitched one-shots, made outside this process's GIL
        self._maker.start()  # now, not in the middle of the music at the first sampler's change
        self.prepare((patches or {}).values())  # kits synthesize while the sound card opens
        self.backend = backend or open_backend(spec)
        self.recorder: Recorder | None = None
        try:
            self.graph = Graph(
                {},
                self.backend.sample_rate,
                delay_seconds=delay_seconds,
                stems=recording.stems is not None,
                lanes=lanes,
            )
            assert self.graph.master_capture is not None  # a live graph has its master chain
            self._master = self.graph.master_capture
            self._open_recorder(recording)
            for lane, patch in (patches or {}).items():  # built before the audio starts
                self._wait_for_kit(patch)
                self.graph.lanes[lane].install(self.graph.build_track(lane, patch), 0)
            self.backend.start()
        except BaseException:
            self._free()
            raise
        rate, frames = self.backend.sample_rate, self.backend.buffer_size
        self.guard = 2 * frames + math.ceil(_GUARD_SECONDS * rate)
        self.ahead = self.guard + math.ceil(AHEAD_SECONDS * rate)
        self.chunk = math.ceil(CHUNK_SECONDS * rate)
        # pyo computes its objects in the order they were made, and a lane's patches are made
        # after the lane's mixer slots: their sound reaches the mixer one buffer later. Control
        # is written that much early, so what is heard and recorded lands on the notes' samples.
        self.slot_delay = frames
        self._written = 0  # control is written for every sample before this
        self._silenced = 0  # played samples before this are zeroed
        self._recorded = 0  # recordings hold every sample before this (aligned to the notes)
        self._counts = EngineStats()
        self.rewound = False  # written control changed since the last step: step again soon
        self._deferred: list[Note] = []  # rendered notes, placed as the writer nears them

    # -- the Engine interface -------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self.backend.sample_rate

    @property
    def lead(self) -> int:
        return self.slot_delay + self.guard + math.ceil(LEAD_MARGIN_SECONDS * self.sample_rate)

    def position(self) -> int:
        return self.backend.position()

    def schedule(self, notes: Sequence[Note]) -> None:
        earliest = self.position() + self.guard
        shift = self.slot_delay
        playable = [
            dataclasses.replace(note, start=note.start - shift, end=note.end - shift)
            for note in notes
            if note.start - shift >= earliest
        ]
        if len(playable) < len(notes):
            self._count(late_notes=len(notes) - len(playable))
            first = min(notes, key=lambda note: note.start)
            log.debug(
                "%d late notes dropped: the first at %d, the audio at %d (guard %d)",
                len(notes) - len(playable),
                first.start,
                self.position(),
                self.guard + shift,
            )
        if not playable:
            return
        playable.sort(key=lambda note: (note.start, note.track))
        soon = self.position() + self.ahead + self.chunk
        now: list[Note] = []
        later: list[Note] = []  # their sounds are made on the warmer meanwhile, not here
        for note in playable:
            (later if note.start >= soon and self._rendered(note) else now).append(note)
        if later:
            self._defer(later)
        self._place(now)

    def _place(self, notes: Sequence[Note]) -> None:
        if not notes:
            return
        self._rewind(notes[0].start)
        unplaced = self.graph.schedule(notes)
        if unplaced:
            self._count(dropped_notes=unplaced)

    def _rendered(self, note: Note) -> bool:
        """Whether the note's track renders its sound per note (a sampler, a pluck)."""
        lane = self.graph.lanes.get(note.track)
        track = lane.track_at(note.start) if lane is not None else None
        scheduler = track.scheduler if track is not None else None
        return isinstance(scheduler, HitScheduler) and scheduler.release is not None

    def _defer(self, notes: Sequence[Note]) -> None:
        """Hold rendered notes back until the writer comes near them, while the warmer makes
        their sounds: a bar of new pitches costs the writer nothing (a sampler's shift or a
        pluck's string takes 1 to 14 ms a note, which would hold the GIL pyo's audio needs)."""
        self._deferred = sorted([*self._deferred, *notes], key=lambda n: (n.start, n.track))
        for note in notes:
            lane = self.graph.lanes[note.track]
            track = lane.track_at(note.start)
            assert track is not None
            assert isinstance(track.scheduler, HitScheduler)
            sounds = track.scheduler.sound
            assert isinstance(sounds, PluckSounds | SampledSounds)
            self._warmer.submit(self._maker.warm, sounds, note.pitch, note.velocity)

    def _place_deferred(self, before: int) -> None:
        if self._deferred and self._deferred[0].start < before:
            due = [note for note in self._deferred if note.start < before]
            self._deferred = self._deferred[len(due) :]
            self._place(due)

    def _forget_deferred(self, at: int) -> None:
        self._deferred = [note for note in self._deferred if note.start < at]

    def retract(self, at: int) -> None:
        at -= self.slot_delay
        self._forget_deferred(at)
        self.graph.retract(at)
        self._rewind(at)

    def release(self, at: int) -> None:
        at -= self.slot_delay
        self._forget_deferred(at)
        self._place_deferred(at)  # a held-back note sounding at ``at`` is released there too
        self.graph.retract(at)  # later notes and patch changes go, held notes release at ``at``
        self.graph.release_all(at)
        self._rewind(at)

    def prepare(self, patches: Iterable[Patch]) -> None:
        """Synthesize kits and read samplers' recordings on a worker thread, so the patch
        change itself is quick."""
        self._warming = {kit: job for kit, job in self._warming.items() if not job.done()}
        rate = self.backend.sample_rate if hasattr(self, "backend") else self._warm_rate
        for patch in patches:
            if isinstance(patch, DrumKitPatch) and _kit_key(patch) not in self._warming:
                job = self._warmer.submit(warm_kit, patch, rate)
                self._warming[_kit_key(patch)] = job
            elif isinstance(patch, SamplerPatch | PluckPatch):
                self._maker.prepare(patch, rate)  # a sampler's recordings are read there

    def change_patch(self, lane: str, patch: Patch, at: int) -> None:
        """The lane's notes from ``at`` are forgotten with its old patch: schedule them after."""
        playing = self.graph.lanes.get(lane)
        if playing is None:
            log.error(
                "no lane %r for a patch change (lanes: %s)", lane, ", ".join(self.graph.lanes)
            )
            return
        current = playing.current
        if current is not None and current.patch == patch:
            return
        self._wait_for_kit(patch)
        at = max(at - self.slot_delay, self.position() + self.guard)
        playing.retract(at)
        playing.install(self.graph.build_track(lane, patch), at)
        self._rewind(at)
        self._count(patch_changes=1)

    def _wait_for_kit(self, patch: Patch) -> None:
        """A kit being synthesized is waited for rather than synthesized twice."""
        if isinstance(patch, DrumKitPatch) and _kit_key(patch) in self._warming:
            self._warming.pop(_kit_key(patch)).result()

    def set_fader(self, lane: str, fader: Fader) -> None:
        if lane in self.graph.lanes:
            self.graph.lanes[lane].set_fader(fader)

    def set_tone(self, lane: str, factor: float) -> None:
        if lane in self.graph.lanes:
            self.graph.lanes[lane].set_tone(factor)

    def set_tilt(self, db: float) -> None:
        self.graph.set_tilt(db)

    def set_delay_time(self, seconds: float) -> None:
        self.graph.set_delay_time(seconds)

    def set_master(self, level: float) -> None:
        self.graph.fade_master(level, 0.05)

    def fade_out(self, seconds: float) -> None:
        self.graph.fade_master(0.0, seconds)

    def stats(self) -> EngineStats:
        return dataclasses.replace(
            self._counts,
            position=self.position(),
            xruns=self.backend.xruns(),
            load=self.backend.load(),
        )

    # -- the writer -------------------------------------------------------------------------

    def step(self) -> float:
        """Compute what is due, write the control ahead, record; seconds until the next step."""
        self.rewound = False
        self._write(self.backend.position())  # what was asked since the last step goes in first
        due = self.backend.pump()
        position = self.backend.position()
        self._write(position)
        # The clock may already count the buffer being computed (JACK's thread works while
        # this one reads): what is read back, zeroed or freed stops a buffer short of it.
        done = position - self.backend.buffer_size
        self._check(done)
        self._record(done)
        if self.graph.retire(done):
            _give_back_memory()
        return min(due, STEP_SECONDS)

    def _check(self, position: int) -> None:
        """Count a master buffer that holds NaN or infinity: an unstable filter would keep it
        for good, so it must never go unnoticed (a few microseconds a step)."""
        frames = self.backend.buffer_size
        if position < frames:
            return
        last = self._master.read(position - frames, position)
        if not np.isfinite(last).all():
            self._count(broken_buffers=1)
            if self._counts.broken_buffers in (1, 10, 100, 1000):
                log.error(
                    "the master holds NaN or infinity (%d buffers so far): a DSP object went "
                    "unstable; restart jamd to recover",
                    self._counts.broken_buffers,
                )

    def _write(self, position: int) -> None:
        self._place_deferred(position + self.ahead + self.chunk)
        earliest = position + self.guard
        if self._written < earliest:
            if self._written > 0:
                self._count(underruns=1)
            self._written = earliest
        done = position - self.backend.buffer_size  # see step: never the buffer in progress
        if self._silenced <= done - self.chunk:
            self.graph.silence(self._silenced, done)
            self._silenced = done
        horizon = position + self.ahead
        if self._written <= horizon - self.chunk:
            self.graph.render_control(self._written, horizon, playing=position)
            self._written = horizon

    def _rewind(self, at: int) -> None:
        """Write again from ``at``: what was written there may have changed."""
        target = max(at, self.position() + self.guard)
        if target < self._written:
            self._written = target
            self.rewound = True

    def _count(self, **increments: int) -> None:
        counts = self._counts
        self._counts = dataclasses.replace(
            counts, **{name: getattr(counts, name) + value for name, value in increments.items()}
        )

    def _open_recorder(self, recording: Recording) -> None:
        paths: dict[str, Path] = {}
        if recording.master is not None:
            paths["master"] = recording.master
        if recording.stems is not None:
            recording.stems.mkdir(parents=True, exist_ok=True)
            for name in self.graph.stem_captures:
                paths[name] = recording.stems / f"{name}.wav"
        if paths:
            self.recorder = Recorder(paths, self.backend.sample_rate)

    def _record(self, position: int) -> None:
        """Copy out what the captures hold up to ``position``, aligned with the notes: the master
        is read ``latency`` samples later (the limiter's look-ahead), as offline."""
        if self.recorder is None:
            return
        latency = self.graph.latency
        end = position - latency
        if end <= self._recorded:
            return
        start = self._recorded
        blocks = {}
        if "master" in self.recorder.paths:
            blocks["master"] = self._master.read(start + latency, end + latency)
        for name, capture in self.graph.stem_captures.items():
            blocks[name] = capture.read(start, end)
        self.recorder.add(blocks)
        self._recorded = end

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the audio, finish the recordings, free the graph, then the server."""
        self.backend.server.stop()
        if self.recorder is not None:
            self._record(self.backend.position())  # stopped: every buffer counted is done
        self._free()

    def _free(self) -> None:
        if hasattr(self, "_warmer"):
            self._warmer.shutdown(wait=True, cancel_futures=True)
            self._maker.close()
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if hasattr(self, "graph"):
            self.graph.close()
            del self.graph
        gc.collect()  # pyo objects must be gone before their server
        self.backend.server.shutdown()
        self.backend.close()


def _kit_key(kit: DrumKitPatch) -> tuple[object, ...]:
    return tuple(kit.pieces.items())


def _give_back_memory() -> None:
    """Return the heap a freed patch leaves to the system (glibc keeps it otherwise), so the
    engine's size follows what plays, song after song."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError) as error:  # not glibc
        log.debug("malloc_trim unavailable: %s", error)

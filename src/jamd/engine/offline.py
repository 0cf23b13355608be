"""The engine's offline twin: the same graph, computed buffer by buffer as fast as it can go.

Control rings are written one block ahead of the audio, exactly as the live engine writes them
ahead of its sound card, then pyo computes the block and the captures are copied out. Same
notes, patches and seed give the same samples.
"""

import contextlib
import dataclasses
import gc
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from jamd.engine.graph import Graph
from jamd.engine.notes import Note, PatchChange
from jamd.engine.patches import MasterPatch, Patch
from jamd.engine.server import ManualServer
from jamd.engine.wavfile import AtomicWavWriter

BLOCK_BUFFERS = 64


@dataclass(frozen=True, slots=True)
class Block:
    """Frames [start, start + len) of the master and, when asked for, of every stem."""

    start: int
    master: npt.NDArray[np.float32]
    stems: Mapping[str, npt.NDArray[np.float32]]


@dataclass(frozen=True, slots=True)
class RenderReport:
    frames: int
    sample_rate: int
    engine_seconds: float  # wall time spent in pyo and in writing control, not in file I/O
    peak: float  # of the master, linear
    unknown_track_notes: int
    unmapped_drum_notes: int
    stolen_voices: int
    files: tuple[Path, ...] = ()  # what render_to_wav wrote, master first

    @property
    def realtime_factor(self) -> float:
        return (
            (self.frames / self.sample_rate) / self.engine_seconds if self.engine_seconds else 0.0
        )


class OfflineEngine:
    """Owns a manual pyo server and a graph; use as a context manager so the server shuts down."""

    def __init__(
        self,
        patches: Mapping[str, Patch],
        *,
        sample_rate: int = 48000,
        buffer_size: int = 256,
        seed: int = 1,
        delay_seconds: float = 0.375,
        stems: bool = False,
        changes: Sequence[PatchChange] = (),
        master_gain: float = 1.0,
        master: MasterPatch | None = None,
    ) -> None:
        """``changes``: patches the lanes change to as the music goes (sections' own);
        ``master_gain``: into the master chain (a genre's gain staging)."""
        self.sample_rate = sample_rate
        self._server = ManualServer(sample_rate, buffer_size, seed)
        self._changes = deque(sorted(changes, key=lambda c: c.at))
        self._notes: deque[Note] = deque()
        try:
            self.graph = Graph(
                patches,
                sample_rate,
                delay_seconds=delay_seconds,
                stems=stems,
                changing={change.lane for change in changes},
                master_gain=master_gain,
                master=master,
            )
            self._server.start()
        except BaseException as error:
            # pyo objects must die before their server: free the half-built graph's frames first.
            traceback.clear_frames(error.__traceback__)
            gc.collect()
            self._server.close()
            raise
        self.unknown_track_notes = 0
        self.engine_seconds = 0.0
        self._delivered = 0

    def schedule(self, notes: Sequence[Note]) -> None:
        """Notes to play; they reach the graph as the render comes to them, each lane's after
        the patch changes before it."""
        self._notes.extend(notes)
        self._notes = deque(sorted(self._notes, key=lambda n: (n.start, n.track)))
        self._feed(0)

    def _feed(self, until: int) -> None:
        """Make the patch changes before ``until`` and hand the graph every note up to the
        next change still to come."""
        while self._changes and self._changes[0].at < until:
            change = self._changes.popleft()
            self._hand_notes(change.at)
            lane = self.graph.lanes[change.lane]
            lane.install(self.graph.build_track(change.lane, change.patch), change.at)
        self._hand_notes(self._changes[0].at if self._changes else None)

    def _hand_notes(self, before: int | None) -> None:
        ready = []
        while self._notes and (before is None or self._notes[0].start < before):
            ready.append(self._notes.popleft())
        if ready:
            self.unknown_track_notes += self.graph.schedule(ready)

    def blocks(self, frames: int) -> Iterator[Block]:
        """The next ``frames`` frames, block by block, aligned to the notes' sample positions.

        The master passes the limiter's look-ahead, so the server runs that many samples ahead of
        what is delivered; stems are captured before it and need no shift.
        """
        buffer_size = self._server.buffer_size
        end = self._delivered + frames
        while self._delivered < end:
            start = self._delivered
            stop = min(start + BLOCK_BUFFERS * buffer_size, end)
            began = time.perf_counter()
            missing = stop + self.graph.latency - self._server.samples
            if missing > 0:
                buffers = -(-missing // buffer_size)
                processed = self._server.samples
                self._feed(processed + buffers * buffer_size)
                self.graph.retire(processed)
                self.graph.render_control(processed, processed + buffers * buffer_size)
                self._server.process(buffers)
            latency = self.graph.latency
            master = self.graph.master_capture.read(start + latency, stop + latency)
            stems = {
                name: capture.read(start, stop)
                for name, capture in self.graph.stem_captures.items()
            }
            self.engine_seconds += time.perf_counter() - began
            self._delivered = stop
            yield Block(start, master, stems)

    def report(self, frames: int, peak: float) -> RenderReport:
        tracks = self.graph.tracks.values()
        return RenderReport(
            frames=frames,
            sample_rate=self.sample_rate,
            engine_seconds=self.engine_seconds,
            peak=peak,
            unknown_track_notes=self.unknown_track_notes,
            unmapped_drum_notes=sum(getattr(t.scheduler, "unmapped", 0) for t in tracks),
            stolen_voices=sum(getattr(t.scheduler, "stolen", 0) for t in tracks),
        )

    def close(self) -> None:
        """Free the graph, then the server (pyo crashes if objects outlive their server)."""
        self.graph.close()
        del self.graph
        gc.collect()
        self._server.close()

    def __enter__(self) -> "OfflineEngine":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def render_to_wav(
    patches: Mapping[str, Patch],
    notes: Sequence[Note],
    frames: int,
    *,
    out: Path | None,
    stems_dir: Path | None = None,
    sample_rate: int = 48000,
    buffer_size: int = 256,
    seed: int = 1,
    delay_seconds: float = 0.375,
    changes: Sequence[PatchChange] = (),
    master_gain: float = 1.0,
    master: MasterPatch | None = None,
) -> RenderReport:
    """Render notes to a stereo master WAV and, if asked, one stereo WAV per track plus ``fx``.

    Files appear only when the whole render succeeded.
    """
    with (
        contextlib.ExitStack() as files,
        OfflineEngine(
            patches,
            sample_rate=sample_rate,
            buffer_size=buffer_size,
            seed=seed,
            delay_seconds=delay_seconds,
            stems=stems_dir is not None,
            changes=changes,
            master_gain=master_gain,
            master=master,
        ) as engine,
    ):
        master_file = files.enter_context(AtomicWavWriter(out, sample_rate)) if out else None
        stem_files = {}
        if stems_dir is not None:
            for name in engine.graph.stem_captures:
                stem_files[name] = files.enter_context(
                    AtomicWavWriter(stems_dir / f"{name}.wav", sample_rate)
                )
        engine.schedule(notes)
        peak = 0.0
        for block in engine.blocks(frames):
            peak = max(peak, float(np.max(np.abs(block.master), initial=0.0)))
            if master_file:
                master_file.write(block.master)
            for name, stem in block.stems.items():
                stem_files[name].write(stem)
        written = ([out] if out else []) + [writer.path for writer in stem_files.values()]
        return dataclasses.replace(engine.report(frames, peak), files=tuple(written))

"""The engine's offline twin: the same graph, computed buffer by buffer as fast as it can go.

Control rings are written one block ahead of the audio, exactly as the live engine writes them
ahead of its sound card, then pyo computes the block and the captures are copied out. Same
notes, patches and seed give the same samples.

A render given a loudness target is levelled as a mastering engineer would: what enters the
master chain (the bus) is kept aside and metered as it goes by, then put through the chain at
the gain its loudness calls for (``_first_correction``: the chain takes some ``CHAIN_LOSS_LU``
off near the target), so the limiter still holds its true peak; a master that still misses
goes through the chain again, corrected by what it missed. The tracks and the sends are
computed once; only the chain runs again. Making the master from the metered bus needs one
pass of the chain where making it as the render ran, then levelling it, needed two for most
of the fullest arrangements (docs/performance.md).
"""

import contextlib
import dataclasses
import gc
import logging
import math
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from jamd.engine.effects import db_to_gain
from jamd.engine.graph import Graph, MasterChain
from jamd.engine.loudness import LoudnessMeter, LoudnessTarget
from jamd.engine.notes import Note, PatchChange
from jamd.engine.patches import MasterPatch, Patch, default_master
from jamd.engine.server import Closing, ManualServer
from jamd.engine.wavfile import AtomicWavWriter

log = logging.getLogger("jamd.engine")

BLOCK_BUFFERS = 64
MAX_CORRECTION_DB = 6.0  # levelling moves the master's gain this far at most, either way
_MIN_SLOPE = 0.25  # LU per dB the chain is taken to give at least (its compressor gives less)
_FIRST_SLOPE = 0.7  # LU per dB taken before two takes tell: the glue compressor and limiter
# keep some of a change back (0.44 to 0.86 measured at energy 1.0, 0.7 their median)
CHAIN_LOSS_LU = 0.3  # what the shipped master chain takes off a bus near -14 LUFS: 64 renders
# (8 genres, 4 seeds, energy 0.5 and 1.0, 144 takes) fit 0.21 + 0.31 LU per LU over -14, within
# 0.18 LU (sd), 0.52 at most
_BUS_CHANNELS = 2


@dataclass(frozen=True, slots=True)
class Block:
    """Frames [start, start + len) of the master and, when asked for, of every stem."""

    start: int
    master: npt.NDArray[np.float32] | None  # None when levelling: the bus instead
    stems: Mapping[str, npt.NDArray[np.float32]]
    bus: npt.NDArray[np.float32] | None = None  # what enters the master chain, when levelling
    loudness: npt.NDArray[np.float32] | None = None  # the bus's K-weighted squares, too


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
    loudness_lufs: float | None = None  # the master's integrated loudness, given a target
    correction_db: float = 0.0  # levelling's gain into the master chain, over master_gain
    master_passes: int = 1  # how many times the master chain ran (more when levelled)

    @property
    def realtime_factor(self) -> float:
        return (
            (self.frames / self.sample_rate) / self.engine_seconds if self.engine_seconds else 0.0
        )


class _OnServer(Closing):
    """Owns a ``ManualServer`` and what is made on it. Closing frees what was made
    (``_free``), then the server: pyo crashes if objects outlive their server."""

    _server: ManualServer

    def _free(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._free()
        gc.collect()
        self._server.close()


class OfflineEngine(_OnServer):
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
        levelling: bool = False,
    ) -> None:
        """``changes``: patches the lanes change to as the music goes (sections' own);
        ``master_gain``: into the master chain (a genre's gain staging); ``levelling``: no
        master chain, blocks carry what would enter it and its K-weighted squares instead."""
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
                levelling=levelling,
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
            master = None
            if self.graph.master_capture is not None:
                master = self.graph.master_capture.read(start + latency, stop + latency)
            stems = {
                name: capture.read(start, stop)
                for name, capture in self.graph.stem_captures.items()
            }
            bus = loudness = None
            if self.graph.bus_capture and self.graph.loudness_capture:
                bus = self.graph.bus_capture.read(start, stop)
                loudness = self.graph.loudness_capture.read(start, stop)
            self.engine_seconds += time.perf_counter() - began
            self._delivered = stop
            yield Block(start, master, stems, bus, loudness)

    def bus_ahead(self) -> npt.NDArray[np.float32]:
        """What entered the master chain after the frames delivered, as far as the chain's
        look-ahead: the last frames' master depends on it too."""
        if self.graph.bus_capture is None:
            raise ValueError("the bus is kept only by an engine made with levelling=True")
        return self.graph.bus_capture.read(self._delivered, self._delivered + self.graph.latency)

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

    def _free(self) -> None:
        self.graph.close()
        del self.graph


class OfflineMaster(_OnServer):
    """The offline twin of a master chain alone: what entered it (a render's kept bus) through
    it again at ``gain``. Use as a context manager so the server shuts down."""

    def __init__(
        self, master: MasterPatch, gain: float, *, sample_rate: int, buffer_size: int, seed: int
    ) -> None:
        self._server = ManualServer(sample_rate, buffer_size, seed)
        try:
            self.chain = MasterChain(master, sample_rate, gain)
            self._server.start()
        except BaseException as error:
            traceback.clear_frames(error.__traceback__)  # as OfflineEngine: pyo objects first
            gc.collect()
            self._server.close()
            raise
        self.engine_seconds = 0.0

    def blocks(
        self, bus: IO[bytes], frames: int
    ) -> Iterator[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
        """The master's first ``frames`` frames and their K-weighted squares, block by block,
        from ``bus`` read from its start (frames of float32 samples, as ``render_to_wav`` keeps
        it; silence past its end)."""
        buffer_size = self._server.buffer_size
        latency = self.chain.latency
        bus.seek(0)
        for start in range(0, frames, BLOCK_BUFFERS * buffer_size):
            stop = min(start + BLOCK_BUFFERS * buffer_size, frames)
            began = time.perf_counter()
            missing = stop + latency - self._server.samples
            if missing > 0:
                count = -(-missing // buffer_size) * buffer_size
                self.chain.feed(self._server.samples, _read_bus(bus, count))
                self._server.process(count // buffer_size)
            master = self.chain.master_capture.read(start + latency, stop + latency)
            squares = self.chain.loudness_capture.read(start + latency, stop + latency)
            self.engine_seconds += time.perf_counter() - began
            yield master, squares

    def _free(self) -> None:
        self.chain.close()
        del self.chain


def _read_bus(bus: IO[bytes], frames: int) -> npt.NDArray[np.float32]:
    data = bus.read(frames * _BUS_CHANNELS * 4)
    read = np.frombuffer(data, dtype=np.float32).reshape(-1, _BUS_CHANNELS)
    if len(read) == frames:
        return read
    padded = np.zeros((frames, _BUS_CHANNELS), dtype=np.float32)
    padded[: len(read)] = read
    return padded


@dataclass(frozen=True, slots=True)
class _Take:
    """One run of the master chain: at what correction, how loud, its peak, where it went."""

    correction_db: float
    lufs: float
    peak: float
    file: AtomicWavWriter


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
    loudness: LoudnessTarget | None = None,
) -> RenderReport:
    """Render notes to a stereo master WAV and, if asked, one stereo WAV per track plus ``fx``.

    With ``loudness`` (and ``out``), the master is levelled: see the module's docstring, and
    ``_level``. Files appear only when the whole render succeeded.
    """
    master = default_master() if master is None else master
    with contextlib.ExitStack() as files:
        bus = master_file = None  # the bus, kept to be levelled; or the master as it is made
        if loudness is not None and out is not None:  # unlinked already: gone if we crash
            bus = files.enter_context(tempfile.TemporaryFile(dir=out.parent, prefix=".jamd-bus-"))
        elif out is not None:
            master_file = files.enter_context(AtomicWavWriter(out, sample_rate))
        meter = LoudnessMeter(sample_rate)
        with OfflineEngine(
            patches,
            sample_rate=sample_rate,
            buffer_size=buffer_size,
            seed=seed,
            delay_seconds=delay_seconds,
            stems=stems_dir is not None,
            changes=changes,
            master_gain=master_gain,
            master=master,
            levelling=bus is not None,
        ) as engine:
            stem_files = {}
            if stems_dir is not None:
                for name in engine.graph.stem_captures:
                    stem_files[name] = files.enter_context(
                        AtomicWavWriter(stems_dir / f"{name}.wav", sample_rate)
                    )
            engine.schedule(notes)
            peak = 0.0
            for block in engine.blocks(frames):
                if block.master is not None:
                    peak = max(peak, float(np.max(np.abs(block.master), initial=0.0)))
                    if master_file:
                        master_file.write(block.master)
                if bus is not None and block.bus is not None and block.loudness is not None:
                    meter.add(block.loudness)
                    bus.write(block.bus.tobytes())
                for name, stem in block.stems.items():
                    stem_files[name].write(stem)
            if bus is not None:
                bus.write(engine.bus_ahead().tobytes())
            report = engine.report(frames, peak)
        written = ([out] if out else []) + [writer.path for writer in stem_files.values()]
        report = dataclasses.replace(report, files=tuple(written))
        if bus is None or loudness is None or out is None:
            return report
        takes, seconds = _level(
            _first_correction(meter.integrated_lufs, loudness.lufs),
            loudness,
            bus,
            frames,
            new_file=lambda: files.enter_context(AtomicWavWriter(out, sample_rate)),
            master=master,
            sample_rate=sample_rate,
            buffer_size=buffer_size,
            seed=seed,
        )
        kept = min(takes, key=lambda take: abs(take.lufs - loudness.lufs))
        for take in takes:
            if take is not kept:
                take.file.discard()
        if loudness.misses(kept.lufs) and math.isfinite(kept.lufs):
            log.warning(
                "%s: %.1f LUFS after %d passes of the master chain, target %.1f +-%.1f",
                out, kept.lufs, len(takes), loudness.lufs, loudness.window_lu,
            )  # fmt: skip
        return dataclasses.replace(
            report,
            engine_seconds=report.engine_seconds + seconds,
            peak=kept.peak,
            loudness_lufs=kept.lufs,
            correction_db=kept.correction_db,
            master_passes=len(takes),
        )


def _first_correction(bus_lufs: float, target_lufs: float) -> float:
    """The gain (dB) into the master chain for its first take, from the bus's loudness."""
    if not math.isfinite(bus_lufs):  # silence: nothing to level
        return 0.0
    correction = target_lufs + CHAIN_LOSS_LU - bus_lufs
    return min(MAX_CORRECTION_DB, max(-MAX_CORRECTION_DB, correction))


def _level(
    first_correction: float,
    target: LoudnessTarget,
    bus: IO[bytes],
    frames: int,
    *,
    new_file: Callable[[], AtomicWavWriter],
    master: MasterPatch,
    sample_rate: int,
    buffer_size: int,
    seed: int,
) -> tuple[list[_Take], float]:
    """The takes of the master chain from ``bus`` until one lands in the target's window (the
    first at ``first_correction``, then up to ``target.passes`` more), and the seconds they took.

    Each correction after the first steps by what the last take missed, divided by how much
    the chain's loudness moved per dB between the last two takes (``_FIRST_SLOPE`` before
    there are two). Same bus, gain and seed: the same samples, so levelling is deterministic.
    """
    takes: list[_Take] = []
    seconds = 0.0
    correction_db = first_correction
    while True:
        file = new_file()
        meter = LoudnessMeter(sample_rate)
        peak = 0.0
        with OfflineMaster(
            master,
            db_to_gain(correction_db),  # the bus has the render's master_gain in it
            sample_rate=sample_rate,
            buffer_size=buffer_size,
            seed=seed,
        ) as chain:
            for block, squares in chain.blocks(bus, frames):
                peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
                meter.add(squares)
                file.write(block)
            seconds += chain.engine_seconds
        takes.append(_Take(correction_db, meter.integrated_lufs, peak, file))
        if not math.isfinite(takes[-1].lufs) or not target.misses(takes[-1].lufs):
            break
        if len(takes) > target.passes:
            break
        correction_db = _next_correction(takes, target.lufs)
        if correction_db == takes[-1].correction_db:  # against the limit: no take would differ
            break
    return takes, seconds


def _next_correction(takes: Sequence[_Take], target_lufs: float) -> float:
    last = takes[-1]
    slope = _FIRST_SLOPE
    if len(takes) > 1 and takes[-2].correction_db != last.correction_db:
        before = takes[-2]
        slope = (last.lufs - before.lufs) / (last.correction_db - before.correction_db)
    slope = min(1.0, max(_MIN_SLOPE, slope))
    correction = last.correction_db + (target_lufs - last.lufs) / slope
    return min(MAX_CORRECTION_DB, max(-MAX_CORRECTION_DB, correction))

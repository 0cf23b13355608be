"""Recording the live output: the master and each lane's stem, streamed to 24-bit WAV files.

A live set cannot be rendered again, so a recording must survive anything short of a full
disk: each file's header is brought up to date after every write, so a file cut off by a crash
or a power cut still opens, holding everything up to its last write. Files are written by one
thread of their own, so a slow disk never delays the audio; if the disk falls so far behind
that the queue fills, the blocks that do not fit are counted and logged, never waited for.
"""

import logging
import queue
import threading
import wave
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from jamd.engine.wavfile import to_pcm24

log = logging.getLogger("jamd.engine")

_QUEUE_BLOCKS = 400  # about 2 s of 5 ms blocks


class Recorder:
    """Streams blocks of frames into named WAV files (``master`` and stems) on its own thread."""

    def __init__(self, paths: Mapping[str, Path], sample_rate: int) -> None:
        self.paths = dict(paths)
        self.sample_rate = sample_rate
        self.frames = 0
        self.lost_blocks = 0
        self.failed: str | None = None
        self._files: dict[str, wave.Wave_write] = {}
        try:
            for name, path in self.paths.items():
                writer = wave.open(str(path), "wb")  # noqa: SIM115  (closed in close)
                writer.setnchannels(2)
                writer.setsampwidth(3)
                writer.setframerate(sample_rate)
                self._files[name] = writer
        except BaseException:
            self._close_files()
            raise
        self._queue: queue.Queue[dict[str, npt.NDArray[np.float32]] | None] = queue.Queue(
            _QUEUE_BLOCKS
        )
        self._thread = threading.Thread(target=self._write, name="jamd-recorder", daemon=True)
        self._thread.start()

    def add(self, blocks: Mapping[str, npt.NDArray[np.float32]]) -> None:
        """Queue one block per file (same length each); never blocks the caller."""
        try:
            self._queue.put_nowait(dict(blocks))
        except queue.Full:
            self.lost_blocks += 1
            if self.lost_blocks == 1 or self.lost_blocks % 100 == 0:
                log.error("recording: the disk is too slow, %d blocks lost", self.lost_blocks)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then close every file (within ``timeout``, whatever the
        disk does)."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.error("recording: the disk did not take the last %d blocks", self._queue.qsize())
        self._thread.join(timeout)
        self._close_files()

    def _write(self) -> None:
        while (blocks := self._queue.get()) is not None:
            if self.failed is not None:
                continue
            try:
                for name, frames in blocks.items():
                    self._files[name].writeframes(to_pcm24(frames))  # patches the header too
                self.frames += len(next(iter(blocks.values())))
            except OSError as error:
                self.failed = f"{error.strerror or error}"
                log.error("recording stopped: cannot write: %s", self.failed)
            except Exception as error:  # noqa: BLE001  (the thread outlives any one bad block)
                self.lost_blocks += 1
                log.error("recording: a block could not be written (%s): skipped", error)

    def _close_files(self) -> None:
        for name, writer in self._files.items():
            try:
                writer.close()
            except OSError as error:
                log.error("recording: cannot finish %s: %s", self.paths[name], error)
        self._files.clear()

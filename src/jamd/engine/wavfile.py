"""Streaming 24-bit PCM WAV files that appear only when complete (see ``jamd.files``), and
reading 16- and 24-bit PCM (samples for the sampler)."""

import contextlib
import wave
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from jamd.files import new_file_beside

_FULL_SCALE_24 = 2**23 - 1


def to_pcm24(frames: npt.NDArray[np.float32]) -> bytes:
    """Interleaved little-endian 24-bit samples from float frames in [-1, 1] (clipped; NaN,
    which no file format holds, is written as silence)."""
    finite = np.nan_to_num(frames.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    scaled = np.round(np.clip(finite, -1.0, 1.0) * _FULL_SCALE_24).astype("<i4")
    return scaled.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def from_pcm24(data: bytes, channels: int) -> npt.NDArray[np.float32]:
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
    padded = np.zeros((len(raw), 4), dtype=np.uint8)
    padded[:, 1:] = raw
    values = padded.view("<i4").reshape(-1) >> 8
    return (values / _FULL_SCALE_24).astype(np.float32).reshape(-1, channels)


def read_wav(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    """(frames, sample rate) of a 24-bit WAV written by jamd."""
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 3:
            raise ValueError(f"{path}: expected 24-bit PCM, got {8 * reader.getsampwidth()}-bit")
        data = reader.readframes(reader.getnframes())
        return from_pcm24(data, reader.getnchannels()), reader.getframerate()


def read_pcm(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    """(frames, sample rate) of a 16- or 24-bit PCM WAV, frames as (frames, channels) in
    [-1, 1]. Raises ``wave.Error``, ``EOFError`` or ``OSError`` for what it cannot read."""
    with wave.open(str(path), "rb") as reader:
        width, channels, rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
        data = reader.readframes(reader.getnframes())
    if width == 2:
        values = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32768.0)
        return values.reshape(-1, channels), rate
    if width == 3:
        return from_pcm24(data, channels), rate
    raise wave.Error(f"{path}: expected 16- or 24-bit PCM, got {8 * width}-bit")


class AtomicWavWriter:
    """Writes a WAV incrementally; ``commit`` renames it into place, closing unused drops it."""

    def __init__(self, path: Path, sample_rate: int, channels: int = 2) -> None:
        self.path = path
        self._temporary = new_file_beside(path)
        self._writer = wave.open(str(self._temporary), "wb")  # noqa: SIM115  (closed in commit/discard)
        self._writer.setnchannels(channels)
        self._writer.setsampwidth(3)
        self._writer.setframerate(sample_rate)
        self._committed = self._discarded = False

    def write(self, frames: npt.NDArray[np.float32]) -> None:
        self._writer.writeframesraw(to_pcm24(frames))

    def commit(self) -> None:
        self._writer.close()
        self._temporary.replace(self.path)
        self._committed = True

    def discard(self) -> None:
        """Drop the file (unless committed); leaving the ``with`` block then commits nothing."""
        if not self._committed:
            self._writer.close()
            with contextlib.suppress(FileNotFoundError):
                self._temporary.unlink()
        self._discarded = True

    def __enter__(self) -> "AtomicWavWriter":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None and not self._committed and not self._discarded:
            self.commit()
        self.discard()

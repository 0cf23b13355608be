"""What the layers above ask of an engine: one interface for the live engine, the live engine in
its own process, and the twins that tests use. Nothing here imports pyo.

Times are samples on the engine's clock (``position``). A change meant for sample ``at`` must
arrive at least ``lead`` samples before the clock gets there; the conductor plans so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from jamd.engine.notes import Note

if TYPE_CHECKING:  # the patch models (pydantic) load only where patches are read
    from jamd.engine.patches import Patch


@dataclass(frozen=True, slots=True)
class Fader:
    """What a performer set on a part's strip; ``None`` keeps the patch's own value.

    ``level_db`` is added to the patch's gain, so patches stay balanced against each other.
    """

    level_db: float = 0.0
    pan: float | None = None
    reverb: float | None = None
    delay: float | None = None
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Recording:
    """What to record of the live output: the master to ``master``, each lane plus ``fx`` into
    the directory ``stems``."""

    master: Path | None = None
    stems: Path | None = None


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters a performer or an administrator may want to see (STATUS=, the state query)."""

    position: int = 0
    xruns: int = 0  # reported by the sound card's driver (JACK), or late buffers (null)
    underruns: int = 0  # times the control writer fell behind the audio
    late_notes: int = 0  # notes that arrived after their onset was played: dropped
    dropped_notes: int = 0  # notes for a lane with no patch, or a kit piece that is missing
    patch_changes: int = 0
    broken_buffers: int = 0  # master buffers holding NaN or infinity (never seen since fixed)
    load: float | None = None  # DSP load in percent, where the backend measures it


class Engine(Protocol):
    """The engine as the conductor drives it."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def lead(self) -> int:
        """Samples ahead of ``position()`` from which a change still lands exactly."""
        ...

    def position(self) -> int:
        """The audio clock: samples computed since the engine started."""
        ...

    def schedule(self, notes: Sequence[Note]) -> None:
        """Play these notes (each on its lane, at its sample)."""
        ...

    def retract(self, at: int) -> None:
        """Forget notes and patch changes from sample ``at`` on: the future is replanned."""
        ...

    def release(self, at: int) -> None:
        """Release every held note at ``at`` and forget later ones (stop, panic)."""
        ...

    def prepare(self, patches: Iterable[Patch]) -> None:
        """A hint: these patches will be asked for soon (heavy set-up can start now)."""
        ...

    def change_patch(self, lane: str, patch: Patch, at: int) -> None:
        """``patch`` plays the lane's notes from ``at``; the previous one rings out."""
        ...

    def set_fader(self, lane: str, fader: Fader) -> None: ...

    def set_tone(self, lane: str, factor: float) -> None:
        """Scale the lane's filter cutoff (1.0 as the patch says), smoothed."""
        ...

    def set_tilt(self, db: float) -> None:
        """The master's high shelf (0 dB flat), smoothed: the mood's tone colour."""
        ...

    def set_delay_time(self, seconds: float) -> None: ...

    def set_master(self, level: float) -> None:
        """The master's gain (linear), smoothed."""
        ...

    def stats(self) -> EngineStats: ...

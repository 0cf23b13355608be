"""What every source of training data offers the refresh: the samples of one genre at a time."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from jamd.store.records import Sample

Progress = Callable[[int, int | None], None]
"""Told ``(done, total)`` as a fetch goes on; ``total`` is None while it is not known."""


class SourceError(Exception):
    """A source that cannot be used at all now (no credentials, a folder that is gone); its
    message is plain words for the log and ``/jamd/state``. Nothing was stored."""


@dataclass(slots=True)
class Fetched:
    """What one fetch of one genre brought: the samples, how many items were read, the ones
    skipped by reason (``"not a MIDI file"``: 3), and notices worth saying once in plain words
    (``"Spotify no longer gives this app audio features (403): using metadata only"``)."""

    samples: list[Sample] = field(default_factory=list)
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notices: list[str] = field(default_factory=list)


class Source(Protocol):
    """A source of samples. ``fetch`` never raises for one bad item (it is skipped and counted)
    and raises ``SourceError`` only when the source as a whole cannot be read now."""

    name: str

    async def genres(self) -> list[str]:
        """The genres this source has something for (the MIDI library: folders found)."""
        ...

    async def fetch(self, genre: str, progress: Progress | None = None) -> Fetched:
        """The samples of ``genre``; the call is cancellable and never blocks the loop."""
        ...

    async def close(self) -> None:
        """Let go of connections and worker processes."""
        ...

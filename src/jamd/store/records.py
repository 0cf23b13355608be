"""The values the store keeps and gives back: plain, frozen, free of SQL."""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SOURCES = ("spotify", "midi")


@dataclass(frozen=True, slots=True)
class Sample:
    """One piece of training data: a track (Spotify) or a file (the MIDI library).

    ``external_id`` is unique within its source (a Spotify track id; a MIDI file's path
    relative to its library folder). ``quality`` in 0..1 says how much the sample tells (a
    track with audio features 1.0, metadata only 0.2; a MIDI file by how sure its key is).
    ``fetched_at`` is seconds since the epoch.

    ``features`` use one vocabulary across sources; every key is optional:

    - ``tempo``: quarter-note BPM (float)
    - ``key``: tonic pitch class 0..11 (int); ``mode``: 1 major, 0 minor (int)
    - ``key_confidence``: 0..1 (float), how clearly the pitch-class profile names the key
    - ``time_signature``: beats per bar (int); ``meter``: [numerator, denominator]
    - ``energy``, ``danceability``, ``valence``: 0..1 (float)
    - ``progression``: one Roman numeral per bar relative to the key (list of str, e.g.
      ``["I7", "IV7", "I7", "I7"]``; "" for a bar with no chord)
    - ``drums``: drum piece (``jamd.styles.model.DRUM_NOTES``' names) -> 16 onset weights
      per bar, sixteenth by sixteenth, 0..1 (dict of str to list of float)
    - ``density``: notes per beat (float); ``bars``: bars read (int)
    - metadata: ``name``, ``artists``, ``artist_genres`` (list of str), ``popularity``
      (0..100), ``duration_ms``, ``year``
    """

    source: str
    genre: str
    external_id: str
    features: Mapping[str, Any]
    quality: float
    fetched_at: float


def to_json(value: object) -> str:
    """``value`` as the store writes JSON (compact, keys sorted); ``TypeError`` or
    ``ValueError`` if it is not plain JSON (NaN, a set, an object)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"), sort_keys=True)


class EncodedFeatures(Mapping[str, Any]):
    """A sample's features already as the store's JSON text, made where they were found (a
    MIDI worker process): the daemon holds one string, which it stores as it is, not a tree
    of dicts and lists that it would unpickle, encode and have its collector scan (a genre of
    MIDI files was thousands of objects). Read as a mapping, it decodes on first use."""

    __slots__ = ("_decoded", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._decoded: dict[str, Any] | None = None

    @classmethod
    def of(cls, features: Mapping[str, Any]) -> "EncodedFeatures":
        """``features`` encoded; ``TypeError`` or ``ValueError`` if they are not plain JSON."""
        return cls(to_json(dict(features)))

    def _mapping(self) -> dict[str, Any]:
        if self._decoded is None:
            self._decoded = json.loads(self.text)
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __reduce__(self) -> tuple[type["EncodedFeatures"], tuple[str]]:
        return EncodedFeatures, (self.text,)  # the text crosses processes, not the decoding

    def __repr__(self) -> str:
        return f"EncodedFeatures({self.text!r})"


@dataclass(frozen=True, slots=True)
class StyleStats:
    """A genre's fitted style model as stored: ``version`` counts up per genre from 1;
    ``model`` is what ``jamd.compose`` StyleModel serialises to (JSON-able)."""

    genre: str
    version: int
    model: Mapping[str, Any]
    samples: int
    fitted_at: float
    sources: Mapping[str, int] = field(default_factory=dict)  # samples used per source


@dataclass(frozen=True, slots=True)
class SongRecord:
    """A song the daemon played, enough to play or render it again.

    ``params`` holds what ``jamd render`` takes (genre, key, tempo, energy, duration) plus
    what it played with (mood, the patches per part); ``timings`` what happened once it ended
    (each section's start in seconds from the song's, the bars played); ``paths`` the
    recordings it is in (``master``, ``stems``) and where in them it starts."""

    id: int
    params: Mapping[str, Any]
    seed: int
    started_at: float
    ended_at: float | None = None
    timings: Mapping[str, Any] = field(default_factory=dict)
    paths: Mapping[str, Any] = field(default_factory=dict)


FEEDBACK_KINDS = ("like", "skip")


@dataclass(frozen=True, slots=True)
class Feedback:
    """A like or a skip, against the song playing (None: no song was) and its bar."""

    id: int
    song_id: int | None
    kind: str
    at: float
    bar: int | None
    detail: Mapping[str, Any] = field(default_factory=dict)

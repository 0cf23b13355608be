"""The values the store keeps and gives back: plain, frozen, free of SQL."""

from collections.abc import Mapping
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

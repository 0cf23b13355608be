"""jamd.compose: pure, seeded composition from a style to a plan to a bar of notes.

No I/O, no clock, no global randomness: every function takes its parameters, a style and an
explicit seed or random generator, and returns frozen values.
"""

from jamd.compose.arrange import Arrangement, PartRole, SectionArrangement, arrange
from jamd.compose.drums import COUNT_IN_NOTE, count_in
from jamd.compose.events import NoteEvent, Part
from jamd.compose.model import Chain, ModelError, StyleModel
from jamd.compose.plan import (
    BarChord,
    Section,
    SectionSummary,
    SongParams,
    SongPlan,
    key_and_tempo,
    plan_song,
)
from jamd.compose.song import BarState, Song, compose_bar, compose_song
from jamd.styles.model import SectionKind

__all__ = [
    "COUNT_IN_NOTE",
    "Arrangement",
    "BarChord",
    "BarState",
    "Chain",
    "ModelError",
    "NoteEvent",
    "Part",
    "PartRole",
    "Section",
    "SectionArrangement",
    "SectionKind",
    "SectionSummary",
    "Song",
    "SongParams",
    "SongPlan",
    "StyleModel",
    "arrange",
    "compose_bar",
    "compose_song",
    "count_in",
    "key_and_tempo",
    "plan_song",
]

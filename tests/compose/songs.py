"""Songs the compose tests share: composed once per (genre, key, seconds, seed, energy)."""

import random
from collections import defaultdict
from functools import cache

from jamd.compose import NoteEvent, Part, Song, SongParams, SongPlan, compose_song, plan_song
from jamd.styles import Style
from jamd.styles.library import StyleLibrary
from jamd.theory import parse_key

GENRES = ("blues", "classical", "country", "electronic", "hip-hop", "jazz", "pop", "rock")
SEEDS = (1, 7, 2024)
LIBRARY = StyleLibrary()


def style_of(genre: str) -> Style:
    return LIBRARY.get(genre)


@cache
def song(
    genre: str,
    seed: int = 7,
    seconds: float = 90.0,
    key: str | None = None,
    energy: float = 0.5,
    tempo: float | None = None,
) -> Song:
    style = style_of(genre)
    params = SongParams(
        genre=genre,
        key=parse_key(key or style.typical_keys[0]),
        tempo=tempo or style.tempo.default,
        duration=seconds,
        seed=seed,
        energy=energy,
    )
    return compose_song(plan_song(params, style, random.Random(seed)), style, seed)


def by_bar(plan: SongPlan, events: tuple[NoteEvent, ...], part: Part) -> dict[int, list[NoteEvent]]:
    """A part's events grouped by the bar they start in."""
    bars: dict[int, list[NoteEvent]] = defaultdict(list)
    for event in events:
        if event.part is part:
            bars[int(event.start // plan.beats_per_bar + 1e-9)].append(event)
    return bars

"""Harmony for a plan: one progression per section kind, laid out one chord per bar.

Each kind picks its progression once per song (weighted, from the pool that suits the key's
mode), so a chorus that comes back comes back over the same chords and can repeat its melody.
Intros and the final section are aligned to end on their progression's last bar (an intro ends
on its turnaround, the song on its cadence); other sections start on the first bar. The song's
last bar is the style's ending chord, on the tonic.

With a style model, each kind's progression is drawn from the model's Markov chain for its
pool and tonality instead: as long as the progression the pool would have given (its phrase),
from that progression's first numeral, and coming round to it at the end, so it repeats and the
next section lands. It is still drawn once per kind, from the same random generator.

Also the pitch pools the melodic parts choose from: chord tones, and scales bent to the chord.
"""

import random
from collections.abc import Sequence

from jamd.compose.model import StyleModel
from jamd.styles.model import Pool, Progression, SectionKind, Style
from jamd.theory import Chord, Key

_PENTATONIC = {False: (0, 2, 4, 7, 9), True: (0, 3, 5, 7, 10)}
_BLUES = (0, 3, 5, 6, 7, 10)


def choose_progressions(
    style: Style,
    key: Key,
    kinds: Sequence[SectionKind],
    bars: Sequence[int],
    rng: random.Random,
    *,
    model: StyleModel | None = None,
) -> dict[SectionKind, tuple[str, ...]]:
    """The numerals each kind plays, picked once per song in the order kinds first appear.

    Progressions tagged with the key's exact mode are preferred, then those of its tonality;
    among them, those whose length divides the section's first appearance, so phrases land.
    With ``model``, the picked progression gives the phrase's length and first numeral and the
    model's chain draws the rest (the pool's pick stands where the model has no chain for it).
    """
    chosen_by_source: dict[SectionKind | None, tuple[str, ...]] = {}
    chosen: dict[SectionKind, tuple[str, ...]] = {}
    for kind, length in zip(kinds, bars, strict=True):
        if kind in chosen:
            continue
        source, pool = style.harmony.pool(kind)
        if source not in chosen_by_source:
            numerals = _pick(pool, key, length, rng).numerals
            chain = model.chain(source, key) if model is not None else None
            if chain is not None:
                numerals = chain.generate(numerals[0], len(numerals), rng)
            chosen_by_source[source] = numerals
        chosen[kind] = chosen_by_source[source]
    return chosen


def _pick(pool: Pool, key: Key, bars: int, rng: random.Random) -> Progression:
    suited = [p for p in pool if key.mode in p.modes] or [p for p in pool if p.fits(key)]
    landing = [p for p in suited if bars % len(p.numerals) == 0] or suited
    return rng.choices(landing, weights=[p.weight for p in landing])[0]


def section_numerals(numerals: Sequence[str], bars: int, *, align_end: bool) -> list[str]:
    """``bars`` numerals cycling through the progression, from its start or so as to end on it."""
    offset = -bars % len(numerals) if align_end else 0
    return [numerals[(offset + bar) % len(numerals)] for bar in range(bars)]


def ending_numeral(style: Style, key: Key) -> str:
    return style.harmony.ending.minor if key.is_minor else style.harmony.ending.major


def note_pool(scale_kind: str, key: Key, chord: Chord) -> tuple[int, ...]:
    """Pitch classes a melody may move through over ``chord``, ascending.

    ``key``: the key's scale with each note the chord alters replaced by the chord's version
    (a chord scale: A7 in C brings C#, not C; Bbm7 in F brings Db, not D). ``pentatonic`` and
    ``blues``: those scales on the tonic plus the chord tones (the blues' b3 beside the I7's
    major third).
    """
    tones = set(chord.chord_tones)
    if scale_kind == "key":
        # A flattened chord tone replaces the scale note above it, a sharpened one the note below.
        altered = {
            (tone + (1 if "b" in key.spell(tone) else -1)) % 12
            for tone in tones
            if not key.contains(tone)
        }
        return tuple(sorted(tones | (set(key.scale) - altered)))
    steps = _BLUES if scale_kind == "blues" else _PENTATONIC[key.is_minor]
    return tuple(sorted(tones | {(key.tonic + step) % 12 for step in steps}))


def step_in_pool(pitch: int, steps: int, pool: Sequence[int]) -> int:
    """The note ``steps`` places up (or down) from ``pitch`` along the pool's pitch classes."""
    octave, pc = divmod(pitch, 12)
    index = min(range(len(pool)), key=lambda i: (abs(pool[i] - pc), i))
    position = octave * len(pool) + index + steps
    octave, index = divmod(position, len(pool))
    return octave * 12 + pool[index]


def nearest_tone(
    target: int, tones: Sequence[int], low: int, high: int, *, prefer_up: bool = True
) -> int:
    """The note nearest ``target`` in [low, high] whose pitch class is one of ``tones``."""
    candidates = [
        note
        for note in range(max(low, target - 12), min(high, target + 12) + 1)
        if note % 12 in tones
    ]
    if not candidates:
        candidates = [note for note in range(low, high + 1) if note % 12 in tones]
    return min(
        candidates,
        key=lambda note: (abs(note - target), note < target if prefer_up else note > target),
    )

"""The style model: what training learned about a genre, as one immutable snapshot.

A ``StyleModel`` steers the composer where the style file leaves a choice open:

- ``tempo``: a weighted histogram of BPMs inside the style's range, drawn from where the user
  set no tempo (``draw_tempo``);
- ``keys``: weights of (tonic pitch class, mode), drawn from where the user set no key;
- ``energy``: the learned mean and spread of the genre's energy (0..1) beside the style file's
  own mean section energy (``reference``); a section's energy moves by half the difference
  (``energy_shift``), so a library of loud blues plays louder blues;
- ``chords``: per progression pool (a section kind of ``[harmony]``, or ``default``) and
  tonality, a ``Chain``: Markov transition weights over Roman numerals, smoothed with the
  pool's own progressions, first-order and also by the bar's position in the phrase (so a
  12-bar blues keeps its form);
- ``drums``: per section kind, a weight for each of its ``drums.use`` patterns.

``StyleModel.builtin(style)`` is what the style file alone gives (its default tempo and key,
its pools, even drum weights): the floor every genre has before any training. ``to_dict`` and
``from_dict`` make it JSON (the store keeps it so); ``from_dict`` checks everything and names
what is wrong. Everything is pure: draws take the caller's ``random.Random``.
"""

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from jamd.errors import InputError
from jamd.styles.model import Pool, SectionKind, Style
from jamd.theory import Key, Mode, parse_key, parse_roman

FORMAT = 1
"""The ``to_dict`` layout; ``from_dict`` refuses others."""

TONALITIES = ("major", "minor")
DEFAULT_POOL = "default"
"""The name of ``[[harmony.default]]`` among the chains."""

PRIOR_BARS = 32.0
"""How much the style's own pool counts for, in bars of music: a pool's progressions (shared
by their weights) add this many bars' worth of transitions to every chain, so an empty data
set plays the pool and two 16-bar samples weigh as much as it does."""

POSITION_SMOOTHING = 1.0
"""Pseudo-count of the first-order distribution inside each position's: a position seen
rarely follows the numeral's usual successors."""

ENERGY_PULL = 0.5
"""The share of the learned energy's distance from the style's that moves a section."""

DRUM_AFFINITY = 0.5
"""How a groove's distance (in list places) from the one energy picks scales its score: each
place away halves it, so even drum weights choose what the energy chooses."""

Counts = Mapping[str, Mapping[str, float]]
"""Transition weights: previous numeral -> next numeral -> weight."""


class ModelError(InputError):
    """A style model dict that cannot be read; the message names the place and what it takes."""


def _frozen_counts(counts: Mapping[str, Mapping[str, float]]) -> Counts:
    return MappingProxyType(
        {
            prev: MappingProxyType({nxt: float(w) for nxt, w in sorted(row.items()) if w > 0})
            for prev, row in sorted(counts.items())
            if any(w > 0 for w in row.values())
        }
    )


@dataclass(frozen=True)
class Chain:
    """Transition weights over Roman numerals for one pool and tonality.

    ``general[prev][next]`` counts bar-to-bar changes anywhere; ``positional[length]`` holds,
    for phrases of that many bars, the same counts by the position (0..length-1) of the bar
    changed into (position 0: from a phrase's last bar into the next one's first). A phrase of
    a length with positional counts draws from them, smoothed with the general ones.
    """

    general: Counts
    positional: Mapping[int, tuple[Counts, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "general", _frozen_counts(self.general))
        object.__setattr__(
            self,
            "positional",
            MappingProxyType(
                {
                    length: tuple(_frozen_counts(counts) for counts in table)
                    for length, table in sorted(self.positional.items())
                }
            ),
        )

    @property
    def numerals(self) -> frozenset[str]:
        """Every numeral the chain can play."""
        found: set[str] = set()
        for counts in (self.general, *(c for table in self.positional.values() for c in table)):
            for prev, row in counts.items():
                found.add(prev)
                found.update(row)
        return frozenset(found)

    def probabilities(self, previous: str, position: int, length: int) -> dict[str, float]:
        """The chances of each next numeral after ``previous``, changing into ``position`` of a
        phrase of ``length`` bars (they sum to 1; never empty while the chain has a numeral)."""
        general = self._general(previous)
        table = self.positional.get(length)
        if table is None:
            return general
        row = table[position % length].get(previous, {})
        seen = sum(row.values())
        total = seen + POSITION_SMOOTHING
        names = sorted(set(general) | set(row))
        return {
            name: (row.get(name, 0.0) + POSITION_SMOOTHING * general.get(name, 0.0)) / total
            for name in names
        }

    def _general(self, previous: str) -> dict[str, float]:
        row = self.general.get(previous)
        if not row:  # a numeral that only ever ended a progression: go where numerals go
            merged: dict[str, float] = {}
            for counts in self.general.values():
                for name, weight in counts.items():
                    merged[name] = merged.get(name, 0.0) + weight
            row = merged
        total = sum(row.values())
        return {name: weight / total for name, weight in sorted(row.items())}

    def generate(self, start: str, length: int, rng: random.Random) -> tuple[str, ...]:
        """A phrase of ``length`` numerals from ``start`` that leads back into ``start`` (so it
        repeats, or hands over to a section starting where it did), drawn from ``rng``.

        Each bar is drawn from the chain weighted by the chance that the rest of the phrase can
        still come round (exact backward sampling); if no phrase can, it is drawn freely.
        """
        if length <= 1:
            return (start,)
        vocabulary = sorted(self.numerals | {start})
        steps = [
            {prev: self.probabilities(prev, t, length) for prev in vocabulary}
            for t in range(length + 1)
        ]
        # can_finish[t][x]: the chance that a phrase at numeral x in bar t comes round to start
        can_finish: list[dict[str, float]] = [{} for _ in range(length)]
        can_finish[length - 1] = {x: steps[length][x].get(start, 0.0) for x in vocabulary}
        for t in range(length - 2, -1, -1):
            after = can_finish[t + 1]
            row = {
                x: sum(p * after.get(y, 0.0) for y, p in steps[t + 1][x].items())
                for x in vocabulary
            }
            peak = max(row.values())
            can_finish[t] = {x: v / peak for x, v in row.items()} if peak > 0 else row
        if can_finish[0].get(start, 0.0) <= 0.0:
            can_finish = [dict.fromkeys(vocabulary, 1.0) for _ in range(length)]
        phrase = [start]
        for t in range(1, length):
            options = steps[t][phrase[-1]]
            names = list(options)
            weights = [options[name] * can_finish[t].get(name, 0.0) for name in names]
            if sum(weights) <= 0:
                weights = [options[name] for name in names]
            phrase.append(rng.choices(names, weights=weights)[0])
        return tuple(phrase)


@dataclass(frozen=True, slots=True)
class Energy:
    """The genre's learned energy (mean, spread) and the style file's own mean section energy."""

    mean: float
    spread: float
    reference: float


@dataclass(frozen=True)
class StyleModel:
    """One genre's learned style; see the module docstring. ``version`` is the store's (0:
    not stored, e.g. the built-in floor), ``samples`` how many samples it was fitted from."""

    genre: str
    tempo: tuple[tuple[float, float], ...]
    keys: tuple[tuple[int, Mode, float], ...]
    energy: Energy
    chords: Mapping[str, Mapping[str, Chain]]
    drums: Mapping[str, Mapping[str, float]]
    samples: int = 0
    version: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "chords",
            MappingProxyType(
                {pool: MappingProxyType(dict(by)) for pool, by in sorted(self.chords.items())}
            ),
        )
        object.__setattr__(
            self,
            "drums",
            MappingProxyType(
                {kind: MappingProxyType(dict(w)) for kind, w in sorted(self.drums.items())}
            ),
        )

    # -- what the composer asks ---------------------------------------------------------------

    def draw_tempo(self, rng: random.Random) -> float:
        """A tempo for a song whose user set none."""
        bpms = [bpm for bpm, _ in self.tempo]
        return rng.choices(bpms, weights=[w for _, w in self.tempo])[0]

    def draw_key(self, rng: random.Random) -> Key:
        """A key for a song whose user set none."""
        keys = [Key(tonic, mode) for tonic, mode, _ in self.keys]
        return rng.choices(keys, weights=[w for _, _, w in self.keys])[0]

    @property
    def energy_shift(self) -> float:
        """What every section's energy gains (or loses) from the learned energy."""
        return ENERGY_PULL * (self.energy.mean - self.energy.reference)

    def chain(self, pool: SectionKind | None, key: Key) -> Chain | None:
        """The chain of ``pool`` (None: the default pool) for the key's tonality, if any."""
        by_tonality = self.chords.get(pool.value if pool is not None else DEFAULT_POOL, {})
        return by_tonality.get("minor" if key.is_minor else "major")

    def groove(self, kind: SectionKind, names: Sequence[str], energy: float) -> str:
        """Which of the kind's grooves (low to high energy) a section at ``energy`` plays: the
        one the energy picks, unless the learned weights favour a neighbour enough."""
        picked = max(0, min(len(names) - 1, int(energy * len(names))))
        weights = self.drums.get(kind.value, {})
        even = 1.0 / len(names)

        def score(index: int) -> float:
            return weights.get(names[index], even) * DRUM_AFFINITY ** abs(index - picked)

        return names[max(range(len(names)), key=lambda i: (score(i), i == picked))]

    def with_version(self, version: int) -> "StyleModel":
        return replace(self, version=version)

    # -- the floor ----------------------------------------------------------------------------

    @classmethod
    def builtin(cls, style: Style) -> "StyleModel":
        """What the style file alone gives: its default tempo and key, its progression pools as
        chains, and even weights for its grooves."""
        key = parse_key(style.typical_keys[0])
        reference = style_energy(style)
        return cls(
            genre=style.name,
            tempo=((float(style.tempo.default), 1.0),),
            keys=((key.tonic, key.mode, 1.0),),
            energy=Energy(reference, 0.0, reference),
            chords=builtin_chords(style),
            drums={
                kind.value: {name: 1.0 / len(names) for name in names}
                for kind, names in style.drums.use.items()
            },
        )

    # -- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that ``from_dict`` reads back equal."""
        return {
            "format": FORMAT,
            "genre": self.genre,
            "version": self.version,
            "samples": self.samples,
            "tempo": [[bpm, weight] for bpm, weight in self.tempo],
            "keys": [[tonic, mode.value, weight] for tonic, mode, weight in self.keys],
            "energy": {
                "mean": self.energy.mean,
                "spread": self.energy.spread,
                "reference": self.energy.reference,
            },
            "chords": {
                pool: {
                    tonality: {
                        "general": _plain(chain.general),
                        "positional": {
                            str(length): [_plain(counts) for counts in table]
                            for length, table in chain.positional.items()
                        },
                    }
                    for tonality, chain in by.items()
                }
                for pool, by in self.chords.items()
            },
            "drums": {kind: dict(weights) for kind, weights in self.drums.items()},
        }

    @classmethod
    def from_dict(cls, data: object) -> "StyleModel":
        """Read ``to_dict``'s output; ``ModelError`` naming each place that is wrong."""
        return _Reader().model(data)


def style_energy(style: Style) -> float:
    """The style file's mean section energy: what the learned energy is measured against."""
    values = list(style.energy.values())
    return sum(values) / len(values) if values else 0.5


def pools(style: Style) -> dict[str, Pool]:
    """The style's progression pools by name (section kinds, and ``default``), non-empty."""
    named: dict[str, Pool] = {kind.value: pool for kind, pool in style.harmony.progressions.items()}
    if style.harmony.default:
        named[DEFAULT_POOL] = style.harmony.default
    return named


def pool_progressions(pool: Pool, tonality: str) -> list[tuple[tuple[str, ...], float]]:
    """The pool's progressions for a tonality ("any" counts for both), weights summing to 1."""
    chosen = [(p.numerals, p.weight) for p in pool if p.tonality in (tonality, "any")]
    total = sum(weight for _, weight in chosen)
    return [(numerals, weight / total) for numerals, weight in chosen]


def builtin_chords(style: Style) -> dict[str, dict[str, Chain]]:
    """Every pool's chains from its own progressions alone."""
    chains: dict[str, dict[str, Chain]] = {}
    for name, pool in pools(style).items():
        for tonality in TONALITIES:
            counter = ChainCounter()
            counter.add_pool(pool_progressions(pool, tonality))
            if counter.general:
                chains.setdefault(name, {})[tonality] = counter.chain()
    return chains


class ChainCounter:
    """Gathers a chain's counts: a pool's pseudo-counts (``add_pool``), samples' progressions
    (``add_progression``, counted by position for ``lengths`` and the pool's), or another
    counter's (``add_counts``)."""

    def __init__(self, lengths: Iterable[int] = ()) -> None:
        self.general: dict[str, dict[str, float]] = {}
        self.positional: dict[int, list[dict[str, dict[str, float]]]] = {
            length: [{} for _ in range(length)] for length in lengths
        }

    def _count(self, counts: dict[str, dict[str, float]], prev: str, nxt: str, w: float) -> None:
        row = counts.setdefault(prev, {})
        row[nxt] = row.get(nxt, 0.0) + w

    def add_pool(self, progressions: Sequence[tuple[tuple[str, ...], float]]) -> None:
        """Each progression, played round, as its share of ``PRIOR_BARS`` bars; positions for
        every phrase length the pool has, from the progressions that fit it."""
        lengths = sorted({len(numerals) for numerals, _ in progressions})
        for numerals, share in progressions:
            weight = PRIOR_BARS * share / len(numerals)
            for index, nxt in enumerate(numerals):
                self._count(self.general, numerals[index - 1], nxt, weight)
        for length in lengths:
            fitting = [(n, s) for n, s in progressions if length % len(n) == 0]
            total = sum(share for _, share in fitting)
            table = self.positional.setdefault(length, [{} for _ in range(length)])
            for numerals, share in fitting:
                weight = PRIOR_BARS * share / total / length
                for position in range(length):
                    prev = numerals[(position - 1) % len(numerals)]
                    self._count(table[position], prev, numerals[position % len(numerals)], weight)

    def add_progression(self, bars: Sequence[str], weight: float) -> None:
        """One sample's numerals, bar by bar ("" breaks the chain), each change at ``weight``."""
        for index in range(1, len(bars)):
            prev, nxt = bars[index - 1], bars[index]
            if not prev or not nxt:
                continue
            self._count(self.general, prev, nxt, weight)
            for length, table in self.positional.items():
                self._count(table[index % length], prev, nxt, weight)

    def add_counts(self, other: "ChainCounter") -> None:
        """``other``'s general counts, and its positional ones for the lengths this one has."""
        for prev, row in other.general.items():
            for nxt, weight in row.items():
                self._count(self.general, prev, nxt, weight)
        for length, table in self.positional.items():
            for position, counts in enumerate(other.positional.get(length, ())):
                for prev, row in counts.items():
                    for nxt, weight in row.items():
                        self._count(table[position], prev, nxt, weight)

    def chain(self) -> Chain:
        return Chain(
            self.general,
            {length: tuple(table) for length, table in self.positional.items()},
        )


def spellable(numeral: str, tonality: str) -> bool:
    """Whether the theory layer reads ``numeral`` (in every key of the tonality alike)."""
    try:
        parse_roman(numeral, _REFERENCE_KEYS[tonality])
    except InputError:
        return False
    return True


_REFERENCE_KEYS = {"major": parse_key("C"), "minor": parse_key("Cm")}


def _plain(counts: Counts) -> dict[str, dict[str, float]]:
    return {prev: dict(row) for prev, row in counts.items()}


class _Reader:
    """``from_dict``: every problem found, reported together."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            return value
        self.fail(where, f"must be a table with text keys, got {type(value).__name__}")
        return {}

    def items(self, value: object, where: str) -> list[Any]:
        if isinstance(value, list | tuple):
            return list(value)
        self.fail(where, f"must be a list, got {type(value).__name__}")
        return []

    def number(self, value: object, where: str, low: float, high: float) -> float | None:
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and low <= value <= high
        ):
            return float(value)
        self.fail(where, f"must be a number {low:g}..{high:g}, got {value!r}")
        return None

    def weight(self, value: object, where: str) -> float | None:
        return self.number(value, where, 0.0, math.inf)

    def count(self, value: object, where: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.fail(where, f"must be a whole number >= 0, got {value!r}")
        return 0

    def model(self, data: object) -> StyleModel:
        top = self.mapping(data, "model")
        known = {"format", "genre", "version", "samples", "tempo", "keys", "energy"}
        known |= {"chords", "drums"}
        for name in sorted(set(top) - known):
            self.fail(f"model.{name}", f"unknown entry (entries: {', '.join(sorted(known))})")
        if top and top.get("format") != FORMAT:
            self.fail("model.format", f"must be {FORMAT}, got {top.get('format')!r}")
        genre = top.get("genre")
        if not isinstance(genre, str) or not genre:
            self.fail("model.genre", f"must be a genre name, got {genre!r}")
        version = self.count(top.get("version", 0), "model.version")
        samples = self.count(top.get("samples", 0), "model.samples")
        tempo = self.tempo(top.get("tempo"))
        keys = self.keys(top.get("keys"))
        energy = self.energy(top.get("energy"))
        chords = self.chords(top.get("chords"))
        drums = self.drums(top.get("drums"))
        if self.problems:
            raise ModelError("broken style model: " + "; ".join(self.problems))
        assert isinstance(genre, str)
        assert energy is not None
        return StyleModel(genre, tempo, keys, energy, chords, drums, samples, version)

    def tempo(self, value: object) -> tuple[tuple[float, float], ...]:
        found: list[tuple[float, float]] = []
        for index, entry in enumerate(self.items(value, "model.tempo")):
            where = f"model.tempo[{index}]"
            pair = self.items(entry, where)
            if len(pair) != 2:
                self.fail(where, f"must be [bpm, weight], got {entry!r}")
                continue
            bpm = self.number(pair[0], where + "[0]", 20.0, 300.0)
            weight = self.weight(pair[1], where + "[1]")
            if bpm is not None and weight is not None:
                found.append((bpm, weight))
        if value is not None and not any(w > 0 for _, w in found):
            self.fail("model.tempo", "needs at least one [bpm, weight] with a weight above 0")
        return tuple(found)

    def keys(self, value: object) -> tuple[tuple[int, Mode, float], ...]:
        found: list[tuple[int, Mode, float]] = []
        modes = ", ".join(mode.value for mode in Mode)
        for index, entry in enumerate(self.items(value, "model.keys")):
            where = f"model.keys[{index}]"
            triple = self.items(entry, where)
            if len(triple) != 3:
                self.fail(where, f"must be [tonic 0..11, mode, weight], got {entry!r}")
                continue
            tonic, mode, weight = triple
            if not (isinstance(tonic, int) and not isinstance(tonic, bool) and 0 <= tonic < 12):
                self.fail(where + "[0]", f"must be a pitch class 0..11, got {tonic!r}")
                continue
            if not isinstance(mode, str) or mode not in {m.value for m in Mode}:
                self.fail(where + "[1]", f"must be one of {modes}, got {mode!r}")
                continue
            checked = self.weight(weight, where + "[2]")
            if checked is not None:
                found.append((tonic, Mode(mode), checked))
        if value is not None and not any(w > 0 for _, _, w in found):
            self.fail("model.keys", "needs at least one [tonic, mode, weight] with weight > 0")
        return tuple(found)

    def energy(self, value: object) -> Energy | None:
        table = self.mapping(value, "model.energy")
        numbers = {
            name: self.number(table.get(name), f"model.energy.{name}", 0.0, 1.0)
            for name in ("mean", "spread", "reference")
        }
        mean, spread, reference = numbers["mean"], numbers["spread"], numbers["reference"]
        if mean is None or spread is None or reference is None:
            return None
        return Energy(mean, spread, reference)

    def chords(self, value: object) -> dict[str, dict[str, Chain]]:
        found: dict[str, dict[str, Chain]] = {}
        pool_names = {kind.value for kind in SectionKind} | {DEFAULT_POOL}
        for pool, by_tonality in self.mapping(value, "model.chords").items():
            where = f"model.chords.{pool}"
            if pool not in pool_names:
                self.fail(where, f"not a pool (pools: {', '.join(sorted(pool_names))})")
                continue
            for tonality, entry in self.mapping(by_tonality, where).items():
                inner = f"{where}.{tonality}"
                if tonality not in TONALITIES:
                    self.fail(inner, "must be major or minor")
                    continue
                chain = self.chain(entry, inner, tonality)
                if chain is not None:
                    found.setdefault(pool, {})[tonality] = chain
        return found

    def chain(self, value: object, where: str, tonality: str) -> Chain | None:
        table = self.mapping(value, where)
        general = self.counts(table.get("general"), where + ".general", tonality)
        if table and not general:
            self.fail(where + ".general", "needs at least one transition")
        positional: dict[int, tuple[Counts, ...]] = {}
        lengths = self.mapping(table.get("positional", {}), where + ".positional")
        for text, positions in lengths.items():
            inner = f"{where}.positional.{text}"
            if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 64:
                self.fail(inner, "a phrase length must be 1..64 bars")
                continue
            rows = self.items(positions, inner)
            if len(rows) != int(text):
                self.fail(inner, f"must hold {text} positions, got {len(rows)}")
                continue
            positional[int(text)] = tuple(
                self.counts(row, f"{inner}[{i}]", tonality) for i, row in enumerate(rows)
            )
        if not general:
            return None
        return Chain(general, positional)

    def counts(self, value: object, where: str, tonality: str) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = {}
        for prev, row in self.mapping(value, where).items():
            if not self.numeral(prev, where, tonality):
                continue
            for nxt, weight in self.mapping(row, f"{where}.{prev}").items():
                if not self.numeral(nxt, f"{where}.{prev}", tonality):
                    continue
                checked = self.weight(weight, f"{where}.{prev}.{nxt}")
                if checked is not None:
                    found.setdefault(prev, {})[nxt] = checked
        return found

    def numeral(self, text: str, where: str, tonality: str) -> bool:
        if spellable(text, tonality):
            return True
        self.fail(where, f"{text!r} is not a Roman numeral the theory layer reads")
        return False

    def drums(self, value: object) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = {}
        kinds = {kind.value for kind in SectionKind}
        for kind, weights in self.mapping(value, "model.drums").items():
            where = f"model.drums.{kind}"
            if kind not in kinds:
                self.fail(where, f"not a section kind (kinds: {', '.join(sorted(kinds))})")
                continue
            for name, weight in self.mapping(weights, where).items():
                checked = self.weight(weight, f"{where}.{name}")
                if checked is not None:
                    found.setdefault(kind, {})[name] = checked
        return found


def normalised(weights: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Weights scaled to sum to 1 (even, if they are all 0)."""
    pairs = list(weights)
    total = sum(w for _, w in pairs)
    if total <= 0:
        return {name: 1.0 / len(pairs) for name, _ in pairs}
    return {name: w / total for name, w in pairs}

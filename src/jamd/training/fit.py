"""Fitting a genre's StyleModel from the samples the store holds.

Every sample counts by its ``quality``; the style file's own values are the prior, so a handful
of samples moves the model a little and a library moves it a lot:

- tempo: a histogram of whole BPMs inside the style's range; a tempo up to twice outside it
  is taken as half or double time folded in (a 180 BPM file of a 90 BPM genre), one that
  cannot be folded in is dropped; the style's default counts as ``PRIOR_SAMPLES`` samples;
- key: (tonic, major or minor) weighted by quality times ``key_confidence``; the style's
  default key counts as ``PRIOR_SAMPLES`` samples;
- energy: the quality-weighted mean and spread, the style's mean section energy as prior;
- chords: each progression's bar-to-bar changes (numerals the theory layer cannot read break
  the chain there and are counted) go into the chain of its tonality, for every pool; a sample
  counts at most ``SAMPLE_BARS`` bars' worth, so one long file does not drown the rest;
- drums: each sample whose meter is the style's votes, per section kind, for the grooves its
  onset histograms resemble (cosine similarity, sharpened); samples of another meter or none
  are used for tempo and key only.

``fit`` is pure and quick (thousands of samples well under a second): the refresh runs it in a
worker process all the same.
"""

import logging
import math
import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from jamd.compose.model import (
    TONALITIES,
    Chain,
    ChainCounter,
    Energy,
    StyleModel,
    normalised,
    pool_progressions,
    pools,
    spellable,
    style_energy,
)
from jamd.store.records import Sample
from jamd.styles.model import DRUM_NOTES, DrumPattern, Style
from jamd.theory import Mode, parse_key

log = logging.getLogger(__name__)

PRIOR_SAMPLES = 2.0
"""How many samples' weight the style file's own tempo, key, energy and grooves count for."""

SAMPLE_BARS = 16
"""A sample's progression counts for at most this many bars (longer ones are scaled down)."""

DRUM_SHARPNESS = 4
"""Similarities are raised to this power before a sample's vote is shared out: a groove that
matches clearly takes most of it."""

Vector = dict[str, list[float]]
"""Onset weights per drum piece, step by step through a bar."""

_LEVELS = {"X": 1.0, "x": 0.8, "o": 0.4, "r": 0.9, "t": 0.9, ".": 0.0}


def fit(genre: str, samples: Sequence[Sample], style: Style) -> StyleModel:
    """The genre's model from ``samples`` (others' genres and unusable values are skipped,
    counted and logged); no usable sample gives ``StyleModel.builtin(style)``'s values."""
    model, skipped = fit_with_report(genre, samples, style)
    if skipped:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items()))
        log.info("fit %s: %d samples used; not used: %s", genre, model.samples, reasons)
    return model


def fit_with_report(
    genre: str, samples: Sequence[Sample], style: Style
) -> tuple[StyleModel, Counter[str]]:
    """``fit``, and what was left out, by reason (a sample may count under several)."""
    fitter = _Fitter(style)
    used = 0
    for sample in samples:
        if sample.genre != genre:
            fitter.skipped["another genre"] += 1
            continue
        quality = sample.quality
        if not _finite(quality) or not 0 < quality <= 1:
            fitter.skipped["quality not in 0..1 (above 0)"] += 1
            continue
        if not isinstance(sample.features, Mapping):
            fitter.skipped["features not a table"] += 1
            continue
        used += fitter.add(sample.features, float(quality))
    return fitter.model(genre, used), fitter.skipped


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Fitter:
    def __init__(self, style: Style) -> None:
        self.style = style
        self.skipped: Counter[str] = Counter()
        key = parse_key(style.typical_keys[0])
        self.tempo: dict[int, float] = {round(style.tempo.default): PRIOR_SAMPLES}
        self.keys: dict[tuple[int, Mode], float] = {(key.tonic, key.mode): PRIOR_SAMPLES}
        reference = style_energy(style)
        self.energy_weight = PRIOR_SAMPLES
        self.energy_sum = PRIOR_SAMPLES * reference
        self.energy_squares = PRIOR_SAMPLES * reference * reference
        self.reference = reference
        self.pools = pools(style)
        lengths = {
            len(numerals)
            for pool in self.pools.values()
            for tonality in TONALITIES
            for numerals, _ in pool_progressions(pool, tonality)
        }
        self.progressions = {tonality: ChainCounter(lengths) for tonality in TONALITIES}
        self.drum_votes: dict[str, dict[str, float]] = {
            kind.value: dict.fromkeys(names, 0.0) for kind, names in style.drums.use.items()
        }
        self.patterns = {
            name: _pattern_vector(pattern) for name, pattern in style.drums.patterns.items()
        }
        self._at_steps: dict[int, dict[str, tuple[Vector, float]]] = {}
        self._spellable: dict[tuple[str, str], bool] = {}

    def add(self, features: Mapping[str, Any], quality: float) -> int:
        """Take what the sample has; 1 if anything of it was used."""
        used = [
            self._tempo(features.get("tempo"), quality),
            self._key(features, quality),
            self._energy(features.get("energy"), quality),
            self._progression(features, quality),
            self._drums(features, quality),
        ]
        return 1 if any(used) else 0

    def _tempo(self, value: object, quality: float) -> bool:
        if value is None:
            return False
        low, high = self.style.tempo.min, self.style.tempo.max
        if not _finite(value) or float(value) <= 0:  # type: ignore[arg-type]
            self.skipped["tempo not a number above 0"] += 1
            return False
        tempo = float(value)  # type: ignore[arg-type]
        if low / 2 <= tempo < low <= tempo * 2 <= high:
            tempo *= 2
        elif high < tempo <= high * 2 and low <= tempo / 2 <= high:
            tempo /= 2
        if not low <= tempo <= high:
            self.skipped["tempo outside the style's range (even at half or double)"] += 1
            return False
        bpm = min(max(round(tempo), math.ceil(low)), math.floor(high))
        self.tempo[bpm] = self.tempo.get(bpm, 0.0) + quality
        return True

    def _key(self, features: Mapping[str, Any], quality: float) -> bool:
        tonic, mode = features.get("key"), features.get("mode")
        if tonic is None or mode is None:
            return False
        if tonic == -1:  # Spotify: no key detected
            return False
        if not isinstance(tonic, int) or isinstance(tonic, bool) or not 0 <= tonic < 12:
            self.skipped["key not a pitch class 0..11"] += 1
            return False
        if mode not in (0, 1) or isinstance(mode, bool):
            self.skipped["mode not 1 (major) or 0 (minor)"] += 1
            return False
        confidence = features.get("key_confidence", 1.0)
        if not _finite(confidence) or not 0 <= confidence <= 1:
            self.skipped["key_confidence not in 0..1"] += 1
            return False
        weight = quality * float(confidence)
        entry = (tonic, Mode.MAJOR if mode == 1 else Mode.MINOR)
        self.keys[entry] = self.keys.get(entry, 0.0) + weight
        return weight > 0

    def _energy(self, value: object, quality: float) -> bool:
        if value is None:
            return False
        if not _finite(value) or not 0 <= float(value) <= 1:  # type: ignore[arg-type]
            self.skipped["energy not in 0..1"] += 1
            return False
        energy = float(value)  # type: ignore[arg-type]
        self.energy_weight += quality
        self.energy_sum += quality * energy
        self.energy_squares += quality * energy * energy
        return True

    def _progression(self, features: Mapping[str, Any], quality: float) -> bool:
        bars = features.get("progression")
        if bars is None:
            return False
        mode = features.get("mode")
        if mode not in (0, 1) or isinstance(mode, bool):
            self.skipped["progression without a mode (1 major, 0 minor)"] += 1
            return False
        if not isinstance(bars, list | tuple) or not all(isinstance(b, str) for b in bars):
            self.skipped["progression not a list of numerals"] += 1
            return False
        tonality = "major" if mode == 1 else "minor"
        numerals = []
        for text in bars:
            numeral = text.strip()
            known = self._spellable.get((numeral, tonality))
            if known is None:
                known = self._spellable[numeral, tonality] = spellable(numeral, tonality)
            if numeral and not known:
                self.skipped["numeral the theory layer cannot read"] += 1
                numeral = ""
            numerals.append(numeral)
        if sum(1 for n in numerals if n) < 2:
            return False
        weight = quality * min(1.0, SAMPLE_BARS / len(numerals))
        self.progressions[tonality].add_progression(numerals, weight)
        return True

    def _drums(self, features: Mapping[str, Any], quality: float) -> bool:
        drums = features.get("drums")
        if drums is None:
            return False
        if not self._same_meter(features):
            self.skipped["drums of another meter (or none given): not used"] += 1
            return False
        histogram = _histogram(drums)
        if histogram is None:
            self.skipped["drums not piece -> onset weights 0..1"] += 1
            return False
        if not histogram:
            return False
        similarity = self._similarity(histogram)
        voted = False
        for votes in self.drum_votes.values():
            sharpened = {name: similarity[name] ** DRUM_SHARPNESS for name in votes}
            total = sum(sharpened.values())
            if total <= 0:
                continue
            for name, value in sharpened.items():
                votes[name] += quality * value / total
            voted = True
        return voted

    def _similarity(self, histogram: Vector) -> dict[str, float]:
        """Each groove's cosine similarity to the histogram (0..1), compared at the
        histogram's steps (a grid of another length is read at the steps it shares)."""
        steps = len(next(iter(histogram.values())))
        patterns = self._at_steps.get(steps)
        if patterns is None:
            patterns = self._at_steps[steps] = {
                name: _resampled(grids, steps) for name, grids in self.patterns.items()
            }
        norm = math.sqrt(sum(w * w for weights in histogram.values() for w in weights))
        found = {}
        for name, (grids, grid_norm) in patterns.items():
            dot = sum(
                sum(map(operator.mul, grids[piece], weights))
                for piece, weights in histogram.items()
                if piece in grids
            )
            found[name] = dot / (norm * grid_norm) if dot > 0 else 0.0
        return found

    def _same_meter(self, features: Mapping[str, Any]) -> bool:
        meter = self.style.meter
        given = features.get("meter")
        if isinstance(given, list | tuple) and len(given) == 2:
            return tuple(given) == (meter.numerator, meter.denominator)
        beats = features.get("time_signature")
        if isinstance(beats, int) and not isinstance(beats, bool):
            return meter.denominator == 4 and beats == meter.numerator
        return False

    def model(self, genre: str, used: int) -> StyleModel:
        mean = self.energy_sum / self.energy_weight
        variance = max(0.0, self.energy_squares / self.energy_weight - mean * mean)
        chords: dict[str, dict[str, Chain]] = {}
        for name, pool in self.pools.items():
            for tonality in TONALITIES:
                progressions = pool_progressions(pool, tonality)
                if not progressions:
                    continue
                counter = ChainCounter()
                counter.add_pool(progressions)
                counter.add_counts(self.progressions[tonality])
                chords.setdefault(name, {})[tonality] = counter.chain()
        drums = {}
        for kind, votes in self.drum_votes.items():
            even = PRIOR_SAMPLES / len(votes)
            drums[kind] = normalised((name, even + vote) for name, vote in votes.items())
        return StyleModel(
            genre=genre,
            tempo=tuple((float(bpm), weight) for bpm, weight in sorted(self.tempo.items())),
            keys=tuple(
                (tonic, mode, weight)
                for (tonic, mode), weight in sorted(self.keys.items(), key=lambda kv: kv[0])
            ),
            energy=Energy(
                round(mean, 6), round(min(1.0, math.sqrt(variance)), 6), round(self.reference, 6)
            ),
            chords=chords,
            drums=drums,
            samples=used,
        )


def _pattern_vector(pattern: DrumPattern) -> Vector:
    """A groove's onsets per piece, its ``alt`` bar averaged in (it plays every second bar)."""
    main = pattern.grids()
    alt = {**main, **(pattern.alt.grids() if pattern.alt else {})}
    pieces = sorted(set(main) | set(alt))
    vector: Vector = {}
    for piece in pieces:
        first = main.get(piece, "." * len(next(iter(alt.values()))))
        second = alt.get(piece, first)
        vector[piece] = [(_LEVELS[a] + _LEVELS[b]) / 2 for a, b in zip(first, second, strict=True)]
    return vector


def _histogram(value: object) -> Vector | None:
    """A sample's onset histograms (known pieces only, all of one length), or None if it is
    malformed."""
    if not isinstance(value, Mapping):
        return None
    found: Vector = {}
    lengths = {len(w) for w in value.values() if isinstance(w, list | tuple)}
    if len(lengths) > 1:
        return None
    for piece, weights in value.items():
        if not isinstance(weights, list | tuple) or not weights:
            return None
        if not all(_finite(w) and 0 <= w <= 1 for w in weights):
            return None
        if piece in DRUM_NOTES:
            found[piece] = [float(w) for w in weights]
    return found


def _resampled(grids: Vector, steps: int) -> tuple[Vector, float]:
    """The groove's grids at ``steps`` steps a bar (steps between its own are rests), and the
    vector's length."""
    found: Vector = {}
    for piece, grid in grids.items():
        size = len(grid)
        found[piece] = [
            grid[step * size // steps] if (step * size) % steps == 0 else 0.0
            for step in range(steps)
        ]
    norm = math.sqrt(sum(v * v for grid in found.values() for v in grid))
    return found, norm

"""The style model: its JSON round trip, its checks, its chains' probabilities, the built-in
floor of every genre, and a fitted blues model that plays more blues than the floor."""

import contextlib
import json
import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blues import blues_bars, twelve_bar_share
from jamd.compose.model import (
    TONALITIES,
    Chain,
    ModelError,
    StyleModel,
    pool_progressions,
    pools,
    spellable,
)
from jamd.compose.plan import key_and_tempo
from jamd.store.records import Sample
from jamd.styles.library import StyleLibrary
from jamd.theory import Key, Mode, parse_key
from jamd.training.fit import fit
from jamd.training.synthetic import random_song

STYLES = StyleLibrary()
GENRES = ("pop", "rock", "jazz", "electronic", "hip-hop", "classical", "country", "blues")

NUMERALS = (
    *("I", "ii", "iii", "IV", "V", "vi", "vii°", "I7", "IV7", "V7", "Imaj7", "ii7", "iiø7"),
    *("bVII", "bVI", "bIII", "bVI7", "i", "iv", "v", "i7", "iv7", "#iv°7", "bV7"),
    *("", "X", "IIII", "H7", "vii+9?"),  # a gap, and text the theory layer cannot read
)


def test_the_library_has_the_eight_genres() -> None:
    assert set(GENRES) <= set(STYLES.names())


@pytest.mark.parametrize("genre", GENRES)
def test_builtin_is_the_style_file_alone(genre: str) -> None:
    style = STYLES.get(genre)
    model = StyleModel.builtin(style)
    rng = random.Random(1)
    assert model.genre == genre
    assert (model.version, model.samples) == (0, 0)
    assert {model.draw_tempo(rng) for _ in range(20)} == {float(style.tempo.default)}
    assert {model.draw_key(rng) for _ in range(20)} == {parse_key(style.typical_keys[0])}
    assert model.energy_shift == 0.0
    for name, pool in pools(style).items():
        for tonality in TONALITIES:
            numerals = {n for p, _ in pool_progressions(pool, tonality) for n in p}
            chain = model.chords.get(name, {}).get(tonality)
            if not numerals:
                assert chain is None
                continue
            assert chain is not None
            assert chain.numerals == numerals  # the pool's own, nothing else
    for kind, names in style.drums.use.items():
        weights = model.drums[kind.value]
        assert set(weights) == set(names)
        assert math.isclose(sum(weights.values()), 1.0)
    assert StyleModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model


# -- fitted models, from samples hypothesis makes -------------------------------------------

progressions = st.lists(st.sampled_from(NUMERALS), min_size=0, max_size=40)
features = st.fixed_dictionaries(
    {},
    optional={
        "progression": progressions,
        "key": st.integers(0, 11),
        "mode": st.sampled_from([0, 1]),
        "key_confidence": st.floats(0, 1),
        "tempo": st.floats(10, 400),
        "energy": st.floats(0, 1),
        "meter": st.just([4, 4]),
        "drums": st.dictionaries(
            st.sampled_from(["kick", "snare", "hat", "ride", "crash", "cowbell"]),
            st.lists(st.floats(0, 1), min_size=16, max_size=16),
            max_size=4,
        ),
    },
)


@st.composite
def fitted(draw: st.DrawFn) -> StyleModel:
    genre = draw(st.sampled_from(GENRES))
    samples = [
        Sample("test", genre, f"s{index}", found, draw(st.floats(0.01, 1.0)), 0.0)
        for index, found in enumerate(draw(st.lists(features, max_size=6)))
    ]
    model = fit(genre, samples, STYLES.get(genre))
    return model.with_version(draw(st.integers(0, 10_000)))


MODELS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@MODELS
@given(fitted())
def test_to_dict_and_from_dict_round_trip_through_json(model: StyleModel) -> None:
    text = json.dumps(model.to_dict())
    again = StyleModel.from_dict(json.loads(text))
    assert again == model
    assert json.dumps(again.to_dict()) == text


@MODELS
@given(fitted(), st.data())
def test_chain_probabilities_sum_to_one_over_spellable_numerals(
    model: StyleModel, data: st.DataObject
) -> None:
    for by_tonality in model.chords.values():
        for tonality, chain in by_tonality.items():
            assert all(spellable(n, tonality) for n in chain.numerals)
            lengths = [*chain.positional, 5]  # 5: a phrase length without positions of its own
            for previous in sorted(chain.numerals):
                for length in lengths:
                    for position in range(length):
                        chances = chain.probabilities(previous, position, length)
                        assert chances
                        assert math.isclose(sum(chances.values()), 1.0)
                        assert all(0 <= p <= 1 for p in chances.values())
                        assert set(chances) <= chain.numerals
            start = data.draw(st.sampled_from(sorted(chain.numerals)))
            length = data.draw(st.integers(1, 16))
            phrase = chain.generate(start, length, random.Random(data.draw(st.integers())))
            assert len(phrase) == length
            assert phrase[0] == start
            assert set(phrase) <= chain.numerals


@MODELS
@given(fitted(), st.integers())
def test_draws_stay_in_the_style_s_range_and_the_user_s_choices_stand(
    model: StyleModel, seed: int
) -> None:
    style = STYLES.get(model.genre)
    key, tempo = key_and_tempo(style, seed, model=model)
    assert style.tempo.min <= tempo <= style.tempo.max
    assert isinstance(key, Key)
    assert key_and_tempo(style, seed, model=model) == (key, tempo)  # the seed's, every time
    asked = parse_key("F#m")
    assert key_and_tempo(style, seed, key=asked, tempo=97.0, model=model) == (asked, 97.0)


# -- malformed data ---------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return StyleModel.builtin(STYLES.get("blues")).to_dict()


def _set(path: tuple[Any, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        place: Any = data
        for step in path[:-1]:
            place = place[step]
        place[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (_set(("format",), 2), "model.format: must be 1, got 2"),
        (_set(("genre",), ""), "model.genre: must be a genre name"),
        (_set(("version",), -1), "model.version: must be a whole number >= 0"),
        (_set(("samples",), 1.5), "model.samples: must be a whole number >= 0"),
        (_set(("tempo", 0, 0), 400), "model.tempo[0][0]: must be a number 20..300, got 400"),
        (_set(("tempo", 0, 1), 0), "model.tempo: needs at least one [bpm, weight]"),
        (_set(("tempo", 0), [120]), "model.tempo[0]: must be [bpm, weight]"),
        (_set(("keys", 0, 0), 12), "model.keys[0][0]: must be a pitch class 0..11, got 12"),
        (_set(("keys", 0, 1), "locrian #2"), "model.keys[0][1]: must be one of"),
        (_set(("keys", 0, 1), ["major"]), "model.keys[0][1]: must be one of"),
        (_set(("energy", "mean"), 2.0), "model.energy.mean: must be a number 0..1, got 2.0"),
        (_set(("energy", "spread"), "wide"), "model.energy.spread: must be a number 0..1"),
        (_set(("energy",), None), "model.energy: must be a table"),
        (_set(("chords", "bogus"), {}), "model.chords.bogus: not a pool"),
        (_set(("chords", "verse", "lydian"), {}), "model.chords.verse.lydian: must be major"),
        (
            _set(("chords", "verse", "major", "general"), {"I7": {"XYZ": 1.0}}),
            "model.chords.verse.major.general.I7: 'XYZ' is not a Roman numeral",
        ),
        (
            _set(("chords", "verse", "major", "general"), {"I7": {"IV7": -1}}),
            "model.chords.verse.major.general.I7.IV7: must be a number 0..inf, got -1",
        ),
        (
            _set(("chords", "verse", "major", "positional"), {"12": [{}]}),
            "model.chords.verse.major.positional.12: must hold 12 positions, got 1",
        ),
        (
            _set(("chords", "verse", "major", "positional"), {"²": []}),
            "model.chords.verse.major.positional.²: a phrase length must be 1..64 bars",
        ),
        (_set(("drums", "bridge2"), {}), "model.drums.bridge2: not a section kind"),
        (_set(("drums", "verse", "shuffle"), math.nan), "model.drums.verse.shuffle: must be a"),
        (_set(("tuning",), 440), "model.tuning: unknown entry"),
    ],
)
def test_malformed_data_raises_model_error_naming_the_field(
    change: Callable[[dict[str, Any]], None], named: str
) -> None:
    data = _valid()
    change(data)
    with pytest.raises(ModelError) as raised:
        StyleModel.from_dict(data)
    assert named in str(raised.value)


def test_every_problem_is_named_at_once() -> None:
    data = _valid()
    data["tempo"][0][0] = 10
    data["energy"]["mean"] = -1
    with pytest.raises(ModelError, match=r"model\.tempo\[0\]\[0\].*; model\.energy\.mean"):
        StyleModel.from_dict(data)


@pytest.mark.parametrize("data", [None, [], "model", 3, {"format": 1}])
def test_what_is_no_model_at_all_is_a_model_error(data: object) -> None:
    with pytest.raises(ModelError, match="broken style model: model"):
        StyleModel.from_dict(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _paths(value: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for name, inner in value.items():
            found += _paths(inner, (*path, name))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_damage_is_a_model_error_naming_its_field_or_still_a_model(
    data: st.DataObject,
) -> None:
    valid = _valid()
    path = data.draw(st.sampled_from(_paths(valid)))
    value = data.draw(json_values)
    _set(path, value)(valid)
    problem = ""
    try:
        model = StyleModel.from_dict(valid)
    except ModelError as error:
        problem = str(error)
    if problem:
        assert f"model.{path[0]}" in problem
    else:
        assert StyleModel.from_dict(model.to_dict()) == model


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_anything_at_all_is_a_model_or_a_model_error(value: object) -> None:
    with contextlib.suppress(ModelError):  # anything else is a bug
        StyleModel.from_dict(value)


# -- a model that learned the blues -----------------------------------------------------------


def _blues_samples() -> list[Sample]:
    """The blues songs of the library tests/training/test_refresh.py generates (16 songs of
    blues and pop, random.Random(5)), as the features their MIDI files read back as."""
    rng = random.Random(5)
    samples = []
    for number in range(16):
        genre = ("blues", "pop")[number % 2]
        spec = random_song(genre, rng)
        if genre == "blues":
            found = {
                "progression": list(spec.numerals),
                "key": spec.tonic,
                "mode": 1 if spec.mode is Mode.MAJOR else 0,
                "tempo": spec.tempo,
                "meter": list(spec.meter),
            }
            samples.append(Sample("midi", "blues", f"song-{number:04d}", found, 1.0, 0.0))
    return samples


def test_a_model_fitted_from_12_bar_blues_plays_more_of_it_than_the_builtin() -> None:
    style = STYLES.get("blues")
    learned = fit("blues", _blues_samples(), style)
    assert learned.samples == 8
    seeds = range(1, 9)
    learned_share = twelve_bar_share(blues_bars(learned, seeds))
    builtin_share = twelve_bar_share(blues_bars(StyleModel.builtin(style), seeds))
    assert learned_share == pytest.approx(0.875)  # docs/training.md's figures
    assert builtin_share == pytest.approx(25 / 36)
    assert learned_share > builtin_share


def test_a_chain_s_numerals_are_what_it_was_given() -> None:
    chain = Chain({"I": {"IV": 2.0, "V": 0.0}, "IV": {"I": 1.0}})
    assert chain.numerals == {"I", "IV"}  # a weight of 0 is no transition
    assert chain.probabilities("I", 0, 4) == {"IV": 1.0}
    assert chain.generate("I", 4, random.Random(1)) == ("I", "IV", "I", "IV")

"""How much of a style model's blues is the 12-bar blues the generated libraries hold: the
measure docs/training.md quotes (tests/training and tests/compose share it)."""

import random

from jamd.compose.model import StyleModel
from jamd.compose.plan import SongParams, plan_song
from jamd.styles.library import StyleLibrary
from jamd.theory import parse_key
from jamd.training.synthetic import BLUES_12_BAR


def blues_bars(model: StyleModel, seeds: range) -> list[list[str]]:
    """The numerals of every verse and solo of songs planned with ``model``."""
    style = StyleLibrary().get("blues")
    numerals: list[list[str]] = []
    for seed in seeds:
        params = SongParams("blues", parse_key("E"), 100.0, 60.0, seed)
        plan = plan_song(params, style, random.Random(seed), model)
        numerals += [
            [bar.numeral for bar in plan.chords[section.start_bar : section.end_bar]]
            for section in plan.sections
            if section.kind.value in ("verse", "solo")
        ]
    return numerals


def twelve_bar_share(sections: list[list[str]]) -> float:
    """How many bars play the 12-bar blues the library holds, bar for bar (its quick change
    to IV7 in bar 2 included)."""
    assert sections
    bars = [n == BLUES_12_BAR[i % 12] for section in sections for i, n in enumerate(section)]
    return sum(bars) / len(bars)

"""Style models in the live set: songs planned later take a genre's new model, a song playing
takes it at its next section, and the section playing goes on as it was planned.

The model here can only play one numeral after a phrase's first (bVII, which the click
genre's own "I IV V I" never plays), so where it is in use shows in every bar.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from band import STYLES, Band, MakeBand

import jamd.live.conductor as conductor_module
from jamd.compose.model import Chain, StyleModel
from jamd.live.commands import CommandError, Play, Regenerate, Stop
from jamd.live.conductor import LiveSong
from jamd.styles.library import StyleLibrary

CLICK = StyleLibrary([STYLES]).get("click")
OWN = ("I", "IV", "V", "I")  # the click genre's one progression


def only_flat_seven(version: int = 7) -> StyleModel:
    """The click genre's model with a chain that goes to bVII from anywhere, and stays."""
    chain = Chain({"bVII": {"bVII": 1.0}})
    builtin = StyleModel.builtin(CLICK)
    return replace(builtin, chords={"default": {"major": chain, "minor": chain}}, version=version)


def version(song: LiveSong | None) -> int | None:
    """The version of the style model ``song`` was planned with (None: none)."""
    assert song is not None
    return song.model.version if song.model is not None else None


def played(band: Band, until_beat: float) -> dict[tuple[int, int], str]:
    """Each song bar's numeral as it was last planned before it played, by (song, bar)."""
    numerals: dict[tuple[int, int], str] = {}
    while True:
        for bar in band.conductor.planned:
            if bar.song_bar is not None:
                numeral = bar.song.plan.chords[bar.song_bar].numeral
                numerals[bar.song.number, bar.song_bar] = numeral
        now = band.engine.clock
        if now >= band.beat_sample(until_beat):
            return numerals
        band.run_to(now + 2048)


def section_numerals(
    numerals: dict[tuple[int, int], str], song: int, first: int, bars: int
) -> tuple[str, ...]:
    return tuple(numerals[song, bar] for bar in range(first, first + bars))


@pytest.mark.parametrize(
    ("beat", "takes_it", "bar"),
    [
        (13, "chorus 1", 7),  # the chorus (beat 28) not planned yet: the model plays there
        (26.5, "verse 2", 11),  # planned already: it plays as planned, the model after it
    ],
)
def test_a_new_model_mid_section_plays_from_the_first_section_not_planned_yet(
    make_band: MakeBand, caplog: pytest.LogCaptureFixture, beat: float, takes_it: str, bar: int
) -> None:
    band = make_band()
    own = band.conductor.planned[0].song.plan
    sections = {s.label: s for s in own.sections}
    verse, chorus, new = sections["verse 1"], sections["chorus 1"], sections[takes_it]
    numerals = played(band, beat)  # the verse (beats 12..27) plays
    assert band.session.section == "verse 1"
    chorus_planned = any(bar.song_bar == chorus.start_bar for bar in band.conductor.planned)
    assert chorus_planned == (beat > 20)
    with caplog.at_level(logging.INFO, logger="jamd.live"):
        outcome = band.conductor.set_model("click", only_flat_seven(), band.engine.clock)
        numerals |= played(band, 4 + 4 * new.end_bar)  # to that section's end
    assert "style model for click v7" in outcome.detail
    # what played or was planned when the model came went on as planned: the verse, to its
    # end, and the chorus after it where it was planned already
    assert section_numerals(numerals, 1, 0, new.start_bar) == tuple(
        chord.numeral for chord in own.chords[: new.start_bar]
    )
    assert section_numerals(numerals, 1, verse.start_bar, verse.bars) == OWN
    # the section that takes it: the phrase's first numeral, then the model's
    assert section_numerals(numerals, 1, new.start_bar, new.bars) == ("I", "bVII", "bVII", "bVII")
    assert version(band.conductor.song) == 7
    message = f"style model for click v7 in use from bar {bar} ({takes_it}) of song 1"
    assert message in caplog.messages
    assert band.session.pending == ()


def test_songs_started_later_and_at_start_use_the_genre_s_model(make_band: MakeBand) -> None:
    started = make_band(models={"click": only_flat_seven(3)})
    song = started.conductor.song
    assert song is not None
    assert version(song) == 3
    verse = next(s for s in song.plan.sections if s.label == "verse 1")
    assert [c.numeral for c in song.plan.chords[verse.start_bar : verse.end_bar]] == [
        "I",
        "bVII",
        "bVII",
        "bVII",
    ]
    band = make_band()
    band.run_to(band.beat_sample(13))
    band.conductor.set_model("click", only_flat_seven(4), band.engine.clock)
    band.apply(Regenerate(seed=11))  # a new song from the next bar
    band.run_to(band.beat_sample(21))
    new = band.conductor.song
    assert new is not None
    assert (new.number, new.seed, version(new)) == (2, 11, 4)
    assert {c.numeral for c in new.plan.chords[:-1]} <= {"I", "bVII"}


def test_a_model_for_another_genre_changes_nothing(make_band: MakeBand) -> None:
    def run(model_for: str | None) -> Band:
        band = make_band()
        band.run_to(band.beat_sample(13))
        if model_for is not None:
            model = replace(only_flat_seven(), genre=model_for)
            band.conductor.set_model(model_for, model, band.engine.clock)
        band.run_to(band.beat_sample(60))
        return band

    with_pop_model, without = run("pop"), run(None)
    assert with_pop_model.engine.transcript.entries == without.engine.transcript.entries
    song = with_pop_model.conductor.song
    assert version(song) is None


def test_a_model_given_while_stopped_plays_when_the_music_starts(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(6))
    band.apply(Stop())
    band.conductor.set_model("click", only_flat_seven(), band.engine.clock)
    band.run_to(band.engine.clock + 4800)
    band.apply(Play())
    band.run_to(band.engine.clock + 48000)
    bar = next(b for b in band.conductor.planned if b.song_bar is not None)
    assert version(bar.song) == 7


def test_an_unknown_genre_s_model_is_refused(make_band: MakeBand) -> None:
    band = make_band()
    with pytest.raises(CommandError, match="unknown genre 'polka'"):
        band.conductor.set_model("polka", only_flat_seven(), band.engine.clock)


def test_of_two_models_before_a_section_the_newer_plays(make_band: MakeBand) -> None:
    band = make_band()
    band.run_to(band.beat_sample(13))
    band.conductor.set_model("click", only_flat_seven(8), band.engine.clock)
    band.conductor.set_model("click", only_flat_seven(9), band.engine.clock)
    band.run_to(band.beat_sample(30))
    assert version(band.conductor.song) == 9


def test_new_songs_and_new_models_are_planned_and_composed_in_the_composer_s_thread(
    make_band: MakeBand, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's thread plans and composes only the first bars; the next song, a song
    planned again with a new model (handed over as the daemon does: ``plan_with``, then
    ``set_model`` once that is done) and every bar after them are the composer's thread's."""
    planned: list[str] = []
    composed: list[str] = []

    def spy(real: Callable[..., object], threads: list[str]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            threads.append(threading.current_thread().name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(conductor_module, "plan_song", spy(conductor_module.plan_song, planned))
    monkeypatch.setattr(
        conductor_module, "compose_bar", spy(conductor_module.compose_bar, composed)
    )
    band = make_band(song_seconds=20.0)
    band.run_to(band.beat_sample(8))
    first = len(planned), len(composed)
    assert first[0] == 1  # the first song, to start with
    model = only_flat_seven()
    planning = band.conductor.plan_with("click", model)
    assert planning is not None
    planning.result()
    band.conductor.set_model("click", model, band.engine.clock)
    band.run_to(band.beat_sample(120))  # into the third song
    assert [bar.song.number for bar in band.conductor.planned][-1] >= 3
    assert version(band.conductor.song) == 7
    loop = threading.current_thread().name
    assert len(planned) >= first[0] + 3  # the song with the model, two songs after it
    assert loop not in planned[first[0] :]
    assert len(composed) > first[1] + 20
    assert loop not in composed[first[1] :]

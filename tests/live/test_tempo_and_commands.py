"""The tempo map and the commands' own validation."""

import pytest

from jamd.errors import InputError
from jamd.live.commands import (
    ALL_COMMANDS,
    Boundary,
    CommandError,
    GotoSection,
    Regenerate,
    SetChord,
    SetEnergy,
    SetGenre,
    SetKey,
    SetLevel,
    SetMaster,
    SetMood,
    SetMute,
    SetPan,
    SetSend,
    SetTempo,
    SetTone,
)
from jamd.live.tempo import TapTempo, TempoMap


def test_beats_and_samples_convert_both_ways_across_tempo_changes() -> None:
    tempo = TempoMap(48000, 1000, 120.0)
    assert tempo.sample_at(4) == 1000 + 4 * 24000
    tempo.change(4, 150.0)
    assert tempo.sample_at(6) == 1000 + 4 * 24000 + 2 * 19200
    assert tempo.beat_at(1000 + 4 * 24000 + 19200) == pytest.approx(5.0)
    assert tempo.tempo_at(3.9) == 120.0
    assert tempo.tempo_at(4) == 150.0
    tempo.change(2, 60.0)  # a change before a later one replaces it
    assert len(tempo.segments) == 2
    assert tempo.sample_at(3) == 1000 + 2 * 24000 + 48000


def test_a_stopped_transport_resumes_on_a_later_sample() -> None:
    tempo = TempoMap(48000, 0, 120.0)
    tempo.resume(8, 500000, 120.0)
    assert tempo.sample_at(8) == 500000
    assert tempo.beat_at(300000) == 8  # stopped time reads as the beat it resumes on
    tempo.forget_before(8)
    assert [s.beat for s in tempo.segments] == [8]


def test_every_command_has_a_boundary_and_says_what_is_allowed() -> None:
    assert {command.boundary for command in ALL_COMMANDS} == set(Boundary)
    problems = {
        "tempo must be 20..300 BPM, got 400": lambda: SetTempo(400),
        "tempo must be a number, got 'fast'": lambda: SetTempo("fast"),  # type: ignore[arg-type]
        "energy must be 0..1, got 1.5": lambda: SetEnergy(1.5),
        "mood must be 0..1, got -1": lambda: SetMood(-1),
        "level must be -60..12 dB, got 20": lambda: SetLevel("bass", 20),
        "part must be one of drums, bass, keys, pad, lead, got 'tuba'": lambda: SetPan("tuba"),
        "pan must be -1..1, got 2": lambda: SetPan("keys", 2),
        "mute must be true or false, got 1": lambda: SetMute("keys", 1),  # type: ignore[arg-type]
        "send must be one of reverb, delay, got 'chorus'": lambda: SetSend("keys", "chorus"),
        "reverb send must be 0..1, got 3": lambda: SetSend("keys", "reverb", 3),
        "tone must be 0..1, got 9": lambda: SetTone("lead", 9),
        "master must be -60..6 dB, got 10": lambda: SetMaster(10),
        "seed must be a whole number, got 1.5": lambda: Regenerate(1.5),  # type: ignore[arg-type]
        "section must be a name such as 'chorus', got ''": lambda: GotoSection(""),
        "genre must be a name such as 'jazz', got ''": lambda: SetGenre(""),
        "chord boundary must be beat or bar, got 'now'": lambda: SetChord("V7", Boundary.NOW),
        "chord boundary must be beat or bar, got 'section'": lambda: SetChord("V7", "section"),  # type: ignore[arg-type]
    }
    for message, make in problems.items():
        with pytest.raises(CommandError) as caught:
            make()
        assert str(caught.value) == message
    with pytest.raises(CommandError, match="chord must be a symbol"):
        SetChord("H7")
    with pytest.raises(InputError):
        SetKey.parse("Q minor")


def test_commands_are_values_and_controls_name_what_they_move() -> None:
    assert SetLevel("bass", -3) == SetLevel("bass", -3.0)
    assert SetLevel("bass", -3).control == ("SetLevel", "bass")
    assert SetSend("keys", "delay", 0.2).control == ("SetSend", "keys", "delay")
    assert SetTempo(120).control == ("SetTempo",)
    assert GotoSection("  Chorus   2 ").name == "chorus 2"
    assert SetChord("ii7").chord == "ii7"
    assert SetChord(None).chord is None
    assert SetChord("ii7") == SetChord("ii7", Boundary.BAR)  # a chord lands on the bar
    assert SetChord("ii7", "beat").at is Boundary.BEAT  # type: ignore[arg-type]


def test_a_tempo_maps_version_says_whether_what_was_placed_on_it_still_holds() -> None:
    """A copy reads the same and has its map's version; a change, or another map, a new one
    (what the composer's thread placed on a copy is used only while the versions agree)."""
    tempo = TempoMap(48000, 1000, 120.0)
    twin = tempo.copy()
    assert twin.version == tempo.version
    assert [twin.sample_at(beat) for beat in (0, 3.5, 17)] == [
        tempo.sample_at(beat) for beat in (0, 3.5, 17)
    ]
    tempo.forget_before(2)  # nothing moves: the same version
    assert tempo.version == twin.version
    tempo.change(8, 90.0)
    assert tempo.version != twin.version
    assert twin.sample_at(16) == 1000 + 16 * 24000  # the copy is its own
    assert TempoMap(48000, 1000, 120.0).version not in (tempo.version, twin.version)


def test_tap_tempo_takes_the_median_interval_and_starts_again_after_a_pause() -> None:
    times = iter([0.0, 0.5, 1.0, 1.52, 2.0, 10.0, 10.4, 10.8, 15.0, 15.001])
    tapper = TapTempo(lambda: next(times))
    assert tapper.tap() is None  # one tap is no interval
    assert tapper.tap() == 120.0
    assert tapper.tap() == 120.0
    assert tapper.tap() == pytest.approx(
        60 / 0.5
    )  # median of .5 .5 .52: one late tap moves nothing
    assert tapper.tap() == pytest.approx(60 / 0.5)
    assert tapper.tap() is None  # 8 s later: counting starts again
    assert tapper.tap() == pytest.approx(150.0)
    assert tapper.tap() == pytest.approx(150.0)
    assert tapper.tap() is None
    assert tapper.tap() is None  # 1 ms apart: 60,000 BPM is no tempo

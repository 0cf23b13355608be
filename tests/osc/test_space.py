"""The OSC address space: messages to commands, sessions to feedback, errors that say why."""

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from jamd.live.commands import (
    PARTS,
    Boundary,
    Fill,
    GotoSection,
    Play,
    Regenerate,
    SetChord,
    SetGenre,
    SetLevel,
    SetMute,
    SetPan,
    SetPatch,
    SetSend,
    SetTempo,
)
from jamd.live.session import PartMix, Session, Transport
from jamd.osc.server import bundles, check_packet
from jamd.osc.space import SERVER_ADDRESSES, STATE_ONLY, STREAMED, OscError, Space

GENRES = ("blues", "jazz", "pop")
SPACE = Space(GENRES, {"bass": ("bass/808", "bass/finger")})


@pytest.mark.parametrize(
    ("address", "args", "command"),
    [
        ("/jamd/play", (), Play()),
        ("/jamd/play", (1.0,), Play()),
        ("/jamd/play", (True,), Play()),
        ("/jamd/play", (0,), None),  # a button's release does nothing
        ("/jamd/tempo", (128,), SetTempo(128.0)),
        ("/jamd/tempo/fader", (0.5,), SetTempo(160.0)),
        ("/jamd/genre", ("jazz",), SetGenre("jazz")),
        ("/jamd/genre", (2,), SetGenre("pop")),
        ("/jamd/section", ("chorus",), GotoSection("chorus")),
        ("/jamd/section/fill", (1,), Fill()),
        ("/jamd/regenerate", (), Regenerate()),
        ("/jamd/regenerate", (42,), Regenerate(42)),
        ("/jamd/regenerate", (1,), Regenerate()),  # a button's press: a fresh seed
        ("/jamd/regenerate", (0.0,), None),  # its release
        ("/jamd/seed", (1,), Regenerate(1)),
        ("/jamd/track/bass/patch", ("upright",), SetPatch("bass", "bass/upright")),
        ("/jamd/track/bass/patch", (1,), SetPatch("bass", "bass/finger")),
        ("/jamd/track/bass/patch", ("",), SetPatch("bass", None)),
        ("/jamd/chord", ("Dm7",), SetChord("Dm7")),
        ("/jamd/chord", ("",), SetChord(None)),
        ("/jamd/chord", ("Dm7", "beat"), SetChord("Dm7", Boundary.BEAT)),
        ("/jamd/chord", ("Dm7", "bar"), SetChord("Dm7")),
        ("/jamd/chord", ("", "beat"), SetChord(None, Boundary.BEAT)),
        ("/jamd/track/bass/volume", (1.0,), SetLevel("bass", 6.0)),
        ("/jamd/track/bass/db", (-3.0,), SetLevel("bass", -3.0)),
        ("/jamd/track/keys/pan", (0.0,), SetPan("keys", -1.0)),
        ("/jamd/track/drums/mute", (1,), SetMute("drums", muted=True)),
        ("/jamd/track/drums/mute", (0,), SetMute("drums", muted=False)),
        ("/jamd/track/lead/reverb", (0.25,), SetSend("lead", "reverb", 0.25)),
    ],
)
def test_a_message_becomes_its_command(
    address: str, args: tuple[object, ...], command: object
) -> None:
    assert SPACE.command(address, args) == command


@pytest.mark.parametrize(
    ("address", "args", "message"),
    [
        ("/jamd/tempo", (400.0,), "tempo must be 20..300 BPM, got 400"),
        ("/jamd/tempo", ("fast",), "takes a float BPM, got a string 'fast'"),
        ("/jamd/tempo", (), "takes a float BPM, got 0 arguments"),
        ("/jamd/tempo", (float("nan"),), "takes a float BPM, got nan"),
        ("/jamd/energy", (1.5,), "takes a float 0..1, got 1.5"),
        ("/jamd/genre", (7,), "genre index must be 0..2, got 7"),
        ("/jamd/genre", (1.5,), "takes a genre name or index, got a float 1.5"),
        ("/jamd/key", ("H#",), "key"),
        ("/jamd/play", (2,), "takes nothing, or 1 (pressed) / 0 (released), got an int 2"),
        ("/jamd/track/bass/db", (40.0,), "level must be -60..12 dB, got 40"),
        ("/jamd/tempi", (120.0,), "unknown address; did you mean /jamd/tempo?"),
        ("/jamd/track/bas/volume", (0.5,), "did you mean /jamd/track/bass/volume?"),
        ("/jamd/bar", (3,), "state only: jamd sends it, it takes nothing"),
        ("/jamd/chord", ("Dm7", "now"), "the second argument must be beat or bar, got a string"),
        ("/jamd/chord", ("Dm7", 1), "the second argument must be beat or bar, got an int 1"),
        ("/jamd/chord", ("Dm7", "beat", 1), "then optionally beat or bar, got 3 arguments"),
        ("/jamd/chord", (), "takes a chord symbol or numeral"),
        ("/jamd/chord", (7, "beat"), "got an int 7"),
        ("/jamd/chord", ("H7", "beat"), "chord must be a symbol (C, Dm7, F#7, Bb/D)"),
    ],
)
def test_a_bad_message_is_an_error_that_says_what_the_address_takes(
    address: str, args: tuple[object, ...], message: str
) -> None:
    with pytest.raises(OscError) as raised:
        SPACE.command(address, args)
    assert message in str(raised.value)


def test_state_holds_every_control_on_its_own_address_and_what_plays_now() -> None:
    session = Session(
        genre="jazz",
        key="F major",
        tempo=160.0,
        transport=Transport.PLAYING,
        section="chorus 1",
        bar=17,
        bars=64,
        chord="Dm7",
        seed=9,
        mixer={"bass": PartMix(level_db=6.0, muted=True, pan=-1.0)},
    )
    state = SPACE.state(session)
    assert state["/jamd/tempo"] == (160.0,)
    assert state["/jamd/tempo/fader"] == (0.5,)
    assert state["/jamd/genre"] == ("jazz",)
    assert state["/jamd/section"] == ("chorus 1",)
    assert state["/jamd/bar"] == (17,)
    assert state["/jamd/chord"] == ("Dm7",)
    assert state["/jamd/seed"] == (9,)
    assert state["/jamd/play"] == (1,)
    assert state["/jamd/stop"] == (0,)
    assert state["/jamd/track/bass/volume"] == (1.0,)
    assert state["/jamd/track/bass/mute"] == (1,)
    assert state["/jamd/track/bass/pan"] == (0.0,)
    assert state["/jamd/track/keys/pan"] == (0.5,)  # the patch's own: centre on a fader
    controls = set(SPACE.addresses) - {"/jamd/continue", "/jamd/panic"}
    buttons = {a for a in controls if a.startswith("/jamd/section/")} | {
        "/jamd/regenerate",
        "/jamd/tempo/tap",
    }
    assert controls - buttons <= set(state)  # every control that has a value is fed back
    assert set(STATE_ONLY) <= set(state)


def test_what_feedback_sends_back_is_what_a_surface_may_send_again() -> None:
    """A fader's fed-back position, sent back unchanged, asks for the value it shows."""
    session = Session(genre="pop", key="C major", tempo=97.0, mixer={"lead": PartMix(-12.0)})
    state = SPACE.state(session)
    tempo = SPACE.command("/jamd/tempo/fader", state["/jamd/tempo/fader"])
    assert isinstance(tempo, SetTempo)
    assert tempo.bpm == pytest.approx(97.0)
    level = SPACE.command("/jamd/track/lead/volume", state["/jamd/track/lead/volume"])
    assert isinstance(level, SetLevel)
    assert level.db == pytest.approx(-12.0)


def test_docs_osc_md_lists_every_address() -> None:
    text = (Path(__file__).parents[2] / "docs" / "osc.md").read_text()
    for address in [*SPACE.addresses, *STATE_ONLY, *STREAMED, *SERVER_ADDRESSES]:
        shown = address
        for part in PARTS:
            shown = shown.replace(f"/track/{part}/", "/track/PART/")
        assert f"`{shown}" in text, address


def test_a_packet_cut_short_anywhere_is_refused_whole() -> None:
    """python-osc alone would pad a cut float with zeros (128.0 for 130.0, or 0.0)."""
    builder = OscMessageBuilder(address="/jamd/track/bass/volume")
    builder.add_arg(0.25)
    packet = bytes(builder.build().dgram)
    check_packet(packet)
    for length in range(len(packet)):
        with pytest.raises(ValueError, match=r"multiple of 4|cut short|not terminated|type tags"):
            check_packet(packet[:length])
    with pytest.raises(ValueError, match="multiple of 4"):
        check_packet(packet + b"\0")
    with pytest.raises(ValueError, match="4 bytes after the last argument"):
        check_packet(packet + b"\0\0\0\0")


def test_a_seed_too_big_for_osc_is_refused_and_a_big_one_comes_back_whole() -> None:
    with pytest.raises(OscError, match=r"seed must be 1\.\.9223372036854775807, got 10000000000"):
        SPACE.command("/jamd/regenerate", (1e300,))
    big = 99_999_999_999  # beyond OSC's int32: fed back as an int64
    assert SPACE.command("/jamd/regenerate", (big,)) == Regenerate(big)
    packet = bundles(
        SPACE.state(Session(genre="pop", key="C major", tempo=120.0, seed=big)).items()
    )
    seeds = [
        timed.message.params
        for data in packet
        for timed in OscPacket(data).messages
        if timed.message.address == "/jamd/seed"
    ]
    assert seeds == [[big]]


_parts = st.sampled_from(PARTS)
_mixes = st.builds(
    PartMix,
    level_db=st.sampled_from([-60.0, -6.0, 0.0, 6.0]),
    pan=st.sampled_from([None, -1.0, 0.25]),
    muted=st.booleans(),
    soloed=st.booleans(),
    reverb=st.sampled_from([None, 0.0, 0.5]),
    tone=st.sampled_from([0.5, 0.75]),
)
_sessions = st.builds(
    Session,
    genre=st.sampled_from(GENRES),
    key=st.sampled_from(["C major", "F# minor"]),
    tempo=st.sampled_from([90.0, 120.0]),
    transport=st.sampled_from(list(Transport)),
    bar=st.integers(0, 3),
    chord=st.sampled_from(["", "Dm7"]),
    master_db=st.sampled_from([0.0, -3.0]),
    mixer=st.dictionaries(_parts, _mixes, max_size=3),
    patches=st.dictionaries(_parts, st.sampled_from(["bass/808", "keys/organ"]), max_size=2),
)


@given(old=_sessions, new=_sessions, shared=st.booleans())
def test_changes_are_exactly_the_addresses_whose_state_differs(
    old: Session, new: Session, shared: bool
) -> None:
    """Feedback looks only at what changed; it must find all of it and nothing more."""
    if shared:  # a strip left alone is the same object in both, as the conductor leaves it
        new = replace(new, mixer={**new.mixer, "bass": old.mixer["bass"]})
    before, after = SPACE.state(old), SPACE.state(new)
    expected = {path: args for path, args in after.items() if before.get(path) != args}
    assert dict(SPACE.changes(old, new)) == expected


def test_tapping_the_tempo_sets_it_from_the_second_tap() -> None:
    times = iter([10.0, 10.5, 11.0])
    space = Space(GENRES, clock=lambda: next(times))
    assert space.command("/jamd/tempo/tap", (1,)) is None  # one tap is no interval
    assert space.command("/jamd/tempo/tap", (0,)) is None  # a release is no tap
    assert space.command("/jamd/tempo/tap", ()) == SetTempo(120.0)
    assert space.command("/jamd/tempo/tap", (1.0,)) == SetTempo(120.0)

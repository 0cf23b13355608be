"""MIDI maps: files read and checked against the OSC space; messages become its commands."""

from pathlib import Path

import pytest

from jamd.live.commands import (
    Boundary,
    Command,
    Fill,
    Regenerate,
    SetChord,
    SetEnergy,
    SetGenre,
    SetLevel,
    SetTempo,
)
from jamd.midi.mapping import (
    CcMap,
    MapError,
    MidiMap,
    Surface,
    learned_entry,
    load_map,
    merged,
)
from jamd.midi.messages import ControlChange, Message, MidiParser, NoteOff, NoteOn, ProgramChange
from jamd.osc.space import Space

GENRES = ("blues", "classical", "country", "electronic", "hip-hop", "jazz", "pop", "rock")
SPACE = Space(GENRES)
DEFAULT = Path(__file__).parents[2] / "config" / "midi" / "default.toml"


class Band:
    """A surface on the default map, and what it sent and refused."""

    def __init__(self, midi_map: MidiMap | None = None) -> None:
        self.sent: list[Command] = []
        self.refused: list[tuple[str, str]] = []
        self.presets: list[str] = []
        self.surface = Surface(
            midi_map or load_map(DEFAULT, SPACE),
            SPACE,
            lambda _address, _args, command: self.sent.append(command),
            lambda source, why: self.refused.append((source, why)),
            preset=self.presets.append,
        )

    def play(self, *messages: Message) -> list[Command]:
        for message in messages:
            self.surface.take(message)
        sent, self.sent = self.sent, []
        return sent


def test_the_default_map_drives_faders_knobs_pads_programs_and_the_split() -> None:
    band = Band()
    assert band.play(ControlChange(0, 47, 127)) == [SetEnergy(1.0)]
    (level,) = band.play(ControlChange(0, 42, 0))
    assert level == SetLevel("bass", -60.0)  # the bottom of the fader
    (tempo,) = band.play(ControlChange(3, 48, 127))
    assert isinstance(tempo, SetTempo)
    assert tempo.bpm == pytest.approx(160.0, abs=0.1)
    assert band.play(NoteOn(9, 40, 100), NoteOff(9, 40)) == [Fill()]
    assert band.play(NoteOn(9, 43, 100)) == [Regenerate()]
    assert band.play(ProgramChange(0, 5)) == [SetGenre("jazz")]
    assert band.refused == []


def test_a_left_hand_under_the_split_becomes_the_band_s_chord_and_holds() -> None:
    band = Band()
    # one finger is its major triad; C and E name nothing more; the chord stays C
    assert band.play(NoteOn(0, 36, 90), NoteOn(0, 40, 90), NoteOn(0, 43, 90)) == [SetChord("C")]
    assert band.play(NoteOn(0, 46, 90)) == [SetChord("C7")]
    assert band.play(NoteOff(0, 36), NoteOff(0, 40), NoteOff(0, 43), NoteOff(0, 46)) == []
    # held: the next chord comes with the next hand, inversions and all
    assert band.play(NoteOn(0, 41, 90), NoteOn(0, 45, 90), NoteOn(0, 38, 90)) == [
        SetChord("F"),
        SetChord("Dm"),
    ]
    assert band.play(NoteOn(0, 60, 90), NoteOn(1, 36, 90)) == []  # above it, or another channel


def test_a_split_without_hold_gives_the_song_its_chords_back_when_the_keys_go_up() -> None:
    default = load_map(DEFAULT, SPACE)
    assert default.split is not None
    released = default.split.model_copy(update={"hold": False})
    midi_map = default.model_copy(update={"split": released})
    band = Band(midi_map)
    assert band.play(NoteOn(0, 33, 9), NoteOn(0, 36, 9), NoteOn(0, 40, 9)) == [
        SetChord("A"),  # one finger, then A C names nothing, then A C E
        SetChord("Am"),
    ]
    assert band.play(NoteOff(0, 33), NoteOff(0, 36), NoteOff(0, 40)) == [SetChord(None)]


def test_a_split_that_follows_the_beat_sends_each_chord_for_the_next_beat() -> None:
    default = load_map(DEFAULT, SPACE)
    assert default.split is not None
    assert default.split.follow == "bar"
    beat = default.split.model_copy(update={"follow": "beat", "hold": False})
    band = Band(default.model_copy(update={"split": beat}))
    assert band.play(NoteOn(0, 38, 90), NoteOn(0, 41, 90), NoteOn(0, 45, 90)) == [
        SetChord("D", Boundary.BEAT),
        SetChord("Dm", Boundary.BEAT),
    ]
    assert band.play(NoteOff(0, 38), NoteOff(0, 41), NoteOff(0, 45)) == [
        SetChord(None, Boundary.BEAT)
    ]
    assert band.refused == []


def test_curves_bend_the_range_and_one_cc_drives_several_targets() -> None:
    linear, exponential, log = (
        CcMap(control=1, target="/jamd/mood", curve=curve)
        for curve in ("linear", "exponential", "logarithmic")
    )
    assert [linear.value(v) for v in (0, 127)] == [0.0, 1.0]
    assert exponential.value(64) < linear.value(64) < log.value(64)
    assert exponential.value(127) == pytest.approx(1.0)
    both = MidiMap(
        cc=(
            CcMap(control=1, target="/jamd/energy"),
            CcMap(control=1, channel=2, target="/jamd/master/db", range=(-60.0, 0.0)),
        )
    )
    band = Band(both)
    assert len(band.play(ControlChange(1, 1, 127))) == 2  # channel 2 as musicians count
    assert len(band.play(ControlChange(0, 1, 127))) == 1


def test_a_value_the_target_refuses_is_reported_and_changes_nothing() -> None:
    band = Band(MidiMap(cc=(CcMap(control=9, target="/jamd/tempo", range=(0.0, 1000.0)),)))
    assert band.play(ControlChange(0, 9, 127)) == []
    assert band.refused == [("CC 9", "/jamd/tempo: tempo must be 20..300 BPM, got 1000")]
    band = Band(MidiMap(program=None))
    assert band.play(ProgramChange(0, 3)) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[cc]]\ncontrol = 7\ntarget = '/jamd/tempi'\n", "cc[0].target: unknown address; did"),
        ("[[cc]]\ncontrol = 300\ntarget = '/jamd/mood'\n", "cc.0.control: must be at most 127"),
        ("[[note]]\nnote = 'H2'\ntarget = '/jamd/play'\n", "cannot read note 'H2'"),
        ("[[cc]]\ncontrol = 7\ntarget = '/jamd/mood'\ncurve = 'cubic'\n", "curve"),
        ("[splitt]\n", "splitt: unknown key"),
        ("[split]\nfollow = 'now'\n", "split.follow: input should be 'bar' or 'beat', got 'now'"),
        ("[[cc]\n", "cannot be read"),
    ],
)
def test_a_broken_map_is_refused_with_every_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "map.toml"
    path.write_text(text)
    with pytest.raises(MapError) as raised:
        load_map(path, SPACE)
    assert problem in str(raised.value)


def test_bytes_from_a_port_through_the_parser_to_commands() -> None:
    band = Band()
    parser = MidiParser()
    messages = parser.feed(bytes([0xB0, 47, 0, 47, 127, 0x99, 40, 100, 40, 0]))  # running status
    assert band.play(*messages) == [SetEnergy(0.0), SetEnergy(1.0), Fill()]


def test_what_is_learned_replaces_what_the_map_does_with_the_same_control() -> None:
    base = MidiMap(
        cc=(CcMap(control=7, target="/jamd/master"), CcMap(control=8, target="/jamd/mood")),
    )
    entry = learned_entry(ControlChange(0, 7, 99), "/jamd/energy")
    assert entry == CcMap(control=7, channel=1, target="/jamd/energy")
    both = merged(base, MidiMap(cc=(entry,)))
    assert [(cc.control, cc.target) for cc in both.cc] == [(7, "/jamd/energy"), (8, "/jamd/mood")]
    note = learned_entry(NoteOn(9, 36, 1), "/jamd/play")
    assert note is not None
    assert merged(MidiMap(), MidiMap(note=(note,))).note[0].channel == 10
    assert learned_entry(ProgramChange(0, 1), "/jamd/play") is None

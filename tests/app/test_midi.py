"""MIDI in and out against the running daemon and its ports, over real JACK MIDI
(``jackd -d dummy``).

The controllers and synths are JACK clients of the test's own (python-rtmidi, apart from
jamd's): one plays into jamd's virtual input, others appear as ports jamd opens by name, go
away and come back.
"""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import rtmidi
from helpers import click_overrides, click_settings, playing, until

from jamd.app.daemon import Daemon
from jamd.live.commands import Stop
from jamd.midi.ports import MidiInputs, MidiOutputs
from jamd.settings import load_settings

REPOSITORY = Path(__file__).resolve().parents[2]


# the test's controllers connect to jamd in; a pattern opening their ports as well would
# bring each message twice (docs/midi.md)
MIDI = {"midi.api": "jack", "midi.rescan_seconds": 0.2, "midi.inputs": []}


def _daemon(jack_server: str, **extra: Any) -> Daemon:
    return Daemon(click_settings(jack_server, **{**MIDI, **extra}))


class Controller:
    """A JACK MIDI output: a virtual port of its own, or connected to jamd's input."""

    def __init__(self, name: str) -> None:
        self.port = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name)
        self.name = name

    def to_jamd(self) -> "Controller":
        ports = self.port.get_ports()
        index = next(i for i, port in enumerate(ports) if port.endswith(":jamd in"))
        self.port.open_port(index)
        return self

    def virtual(self, port: str) -> "Controller":
        self.port.open_virtual_port(port)
        return self

    def send(self, *data: int) -> None:
        self.port.send_message(list(data))

    def close(self) -> None:
        self.port.close_port()
        self.port.delete()


def test_a_cc_on_jamd_in_moves_its_control_and_a_left_hand_sets_the_chord(on_jack: str) -> None:
    async def perform() -> None:
        async with playing(_daemon(on_jack)) as daemon:
            assert daemon.midi is not None
            assert daemon.conductor is not None
            keys = Controller("test-keys").to_jamd()
            try:
                await asyncio.sleep(0.3)
                keys.send(0xB0, 47, 0)  # fader 7 of the default map: energy
                await until(lambda: daemon.conductor.session.energy == 0.0)
                for note in (38, 41, 45, 48 + 12):  # D F A under the split, and a C above it
                    keys.send(0x90, note, 90)
                await until(lambda: daemon.conductor.session.chord_hold == "Dm")
                await until(lambda: daemon.conductor.session.chord == "Dm")  # at the bar
                for note in (38, 41, 45):
                    keys.send(0x80, note, 0)
                await asyncio.sleep(0.3)
                assert daemon.conductor.session.chord_hold == "Dm"  # held
                assert daemon.midi.stats.refused == 0
            finally:
                keys.close()

    asyncio.run(perform())


def test_a_port_that_appears_later_is_opened_and_again_after_it_comes_back(on_jack: str) -> None:
    async def perform() -> None:
        settings = {"midi.inputs": ["pads*"], "midi.virtual_input": ""}
        async with playing(_daemon(on_jack, **settings)) as daemon:
            assert daemon.midi is not None
            assert daemon.conductor is not None
            assert daemon.midi.inputs.opened == {}
            other = Controller("synth").virtual("out")  # matches no pattern
            for turn in (1, 2):
                pads = Controller("pads").virtual("out")
                await until(lambda: any("pads" in name for name in daemon.midi.inputs.opened))
                pads.send(0xB0, 26, 127 if turn == 1 else 0)  # knob 6: mood
                mood = 1.0 if turn == 1 else 0.0
                await until(lambda m=mood: daemon.conductor.session.mood == m)
                pads.close()  # unplugged
                await until(lambda: not daemon.midi.inputs.opened)
            assert not any("synth" in name for name in daemon.midi.inputs.opened)
            other.close()

    asyncio.run(perform())


def test_garbage_and_refused_values_are_counted_and_the_music_plays_on(on_jack: str) -> None:
    async def perform() -> None:
        async with playing(_daemon(on_jack)) as daemon:
            assert daemon.midi is not None
            assert daemon.conductor is not None
            keys = Controller("test-junk").to_jamd()
            try:
                await asyncio.sleep(0.3)
                before = daemon.conductor.session
                keys.send(0xF0, 1, 2, 3, 0xF7)  # SysEx: skipped
                keys.send(0xF4)  # undefined
                keys.send(0x90, 200 & 0x7F, 0)  # a note-off by velocity 0, unmapped
                keys.send(0xC0, 99)  # a genre index jamd does not have
                for value in range(127):  # a flood on one CC (JACK may drop some of it)
                    keys.send(0xB0, 21, value)
                await asyncio.sleep(0.1)
                keys.send(0xB0, 21, 127)  # and the knob's last place after it
                await until(lambda: daemon.midi.stats.refused >= 1)
                await until(lambda: daemon.conductor.session.mixer["drums"].reverb == 1.0)
                assert daemon.midi.stats.garbage >= 1
                after = daemon.conductor.session
                assert (after.genre, after.tempo, after.energy) == (
                    before.genre,
                    before.tempo,
                    before.energy,
                )
                bar = after.bar
                await until(lambda: daemon.conductor.session.bar != bar)  # still playing
                assert daemon.engine is not None
                assert daemon.engine.alive
            finally:
                keys.close()

    asyncio.run(perform())


def test_a_broken_map_leaves_midi_off_and_the_music_playing(on_jack: str, tmp_path: Path) -> None:
    broken = tmp_path / "map.toml"
    broken.write_text("[[cc]]\ncontrol = 7\ntarget = '/jamd/tempi'\n")

    async def perform() -> None:
        async with playing(_daemon(on_jack, **{"midi.map": str(broken)})) as daemon:
            assert daemon.midi is None
            assert daemon.conductor is not None
            bar = daemon.conductor.session.bar
            await until(lambda: daemon.conductor.session.bar != bar)

    asyncio.run(perform())


def test_jamd_midi_ports_lists_what_jamd_can_see(on_jack: str) -> None:
    keys = Controller("listed-keys").virtual("out")
    try:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("jamd")), "midi", "ports", "--api", "jack"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "JACK_DEFAULT_SERVER": on_jack},
        )
    finally:
        keys.close()
    assert result.returncode == 0, result.stderr
    assert "inputs (jamd can listen to):" in result.stdout
    assert "listed-keys:out" in result.stdout


def test_sighup_reads_the_map_again_and_a_broken_one_keeps_the_old(
    on_jack: str, tmp_path: Path
) -> None:
    path = tmp_path / "map.toml"
    path.write_text("[[cc]]\ncontrol = 1\ntarget = '/jamd/mood'\n")

    async def perform() -> None:
        overrides = click_overrides(on_jack, **{**MIDI, "midi.map": str(path)})
        daemon = Daemon(load_settings(None, environ={}, overrides=overrides), overrides=overrides)
        async with playing(daemon):
            assert daemon.midi is not None
            assert daemon.conductor is not None
            keys = Controller("test-reload").to_jamd()
            try:
                await asyncio.sleep(0.3)
                path.write_text("[[cc]]\ncontrol = 1\ntarget = '/jamd/energy'\n")
                daemon.request_reload()
                await until(lambda: daemon.midi.surface.map.cc[0].target == "/jamd/energy")
                keys.send(0xB0, 1, 0)
                await until(lambda: daemon.conductor.session.energy == 0.0)
                assert daemon.conductor.session.mood == 0.5  # the old target no more
                path.write_text("[[cc]]\ncontrol = 1\ntarget = '/jamd/nope'\n")
                daemon.request_reload()
                await asyncio.sleep(0.5)
                assert daemon.midi.surface.map.cc[0].target == "/jamd/energy"  # kept
            finally:
                keys.close()

    asyncio.run(perform())


class Listener:
    """A JACK MIDI input of the test's own, keeping what comes: connected to jamd's output, or
    a virtual port jamd may open by name. Polled, never called back: RtMidi calls Python from
    JACK's thread, and a port closed while a message is on its way there hangs or crashes."""

    def __init__(self, name: str = "test-listener") -> None:
        self.port = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name)
        self.port.ignore_types(sysex=True, timing=True, active_sense=True)
        self._received: list[list[int]] = []

    def to_jamd(self) -> "Listener":
        ports = self.port.get_ports()
        index = next(i for i, port in enumerate(ports) if port.endswith(":jamd out"))
        self.port.open_port(index)
        return self

    def virtual(self, port: str) -> "Listener":
        self.port.open_virtual_port(port)
        return self

    def sources(self) -> list[str]:
        """The JACK MIDI ports that send, as RtMidi names them. Asked of this client, never of
        one opened for the look: clients that come and go while a port closes can crash JACK's
        client library (a race, jackaudio/jack2#216)."""
        return list(self.port.get_ports())

    @property
    def received(self) -> list[list[int]]:
        """Everything that came, to now."""
        while (event := self.port.get_message()) is not None:
            self._received.append(event[0])
        return self._received

    def close(self) -> None:
        self.port.close_port()
        self.port.delete()


def _held(messages: list[list[int]]) -> set[tuple[int, int]]:
    """(channel, note) still sounding after ``messages``."""
    held: set[tuple[int, int]] = set()
    for message in messages:
        kind, channel = message[0] & 0xF0, message[0] & 0x0F
        if kind == 0x90 and message[2] > 0:
            held.add((channel, message[1]))
        elif kind in (0x80, 0x90):
            held.discard((channel, message[1]))
        elif kind == 0xB0 and message[1] == 123:
            held = {h for h in held if h[0] != channel}
    return held


def test_the_parts_play_out_on_their_channels_and_stop_leaves_no_note_sounding(
    on_jack: str,
) -> None:
    async def perform() -> None:
        daemon = _daemon(on_jack, **{"music.genre": "pop"})
        async with playing(daemon):
            assert daemon.midi_out is not None
            listener = Listener().to_jamd()
            try:
                await until(lambda: len(listener.received) >= 40, seconds=20)
                channels = {m[0] & 0x0F for m in listener.received if m[0] & 0xF0 == 0x90}
                assert 9 in channels  # the drums, on channel 10
                assert channels <= {0, 1, 2, 3, 9}  # bass, keys, pad, lead, drums
                daemon.submit(Stop())
                await until(lambda: any(m[:2] == [0xB9, 123] for m in listener.received))
                await asyncio.sleep(0.3)
                assert _held(listener.received) == set()  # no stuck notes
                count = len(listener.received)
                await asyncio.sleep(0.5)
                assert len(listener.received) == count  # nothing more after the stop
            finally:
                listener.close()

    asyncio.run(perform())


def test_a_program_change_recalls_the_preset_the_map_names(on_jack: str, tmp_path: Path) -> None:
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "ballad.toml").write_text(
        '[music]\ngenre = "click"\nkey = "C major"\ntempo = 72\n[mixer.bass]\nlevel_db = -9\n'
    )
    path = tmp_path / "map.toml"
    path.write_text('[program]\nrecalls = "preset"\npresets = ["ballad", "missing"]\n')

    async def perform() -> None:
        settings = {"midi.map": str(path), "paths.presets": str(presets)}
        async with playing(_daemon(on_jack, **settings)) as daemon:
            assert daemon.midi is not None
            assert daemon.conductor is not None
            keys = Controller("test-programs").to_jamd()
            try:
                await asyncio.sleep(0.3)
                keys.send(0xC0, 0)
                await until(lambda: daemon.conductor.session.tempo == 72.0)
                assert daemon.conductor.session.mixer["bass"].level_db == -9.0
                assert daemon.osc is not None
                errors = daemon.osc.stats.errors
                keys.send(0xC0, 1)  # a preset that is not there: logged, nothing changes
                keys.send(0xC0, 5)  # past the map's list: refused
                await until(lambda: daemon.osc.stats.errors == errors + 1)
                await until(lambda: daemon.midi.stats.refused == 1)
                assert daemon.conductor.session.tempo == 72.0
            finally:
                keys.close()

    asyncio.run(perform())


def test_jamd_midi_learn_maps_the_next_control_moved_and_saves_it(
    on_jack: str, tmp_path: Path
) -> None:
    learned = tmp_path / "learned.toml"
    database = tmp_path / "jamd.sqlite3"
    settings = {"midi.learned": str(learned), "paths.database": str(database)}
    jamd = str(Path(sys.executable).with_name("jamd"))

    async def perform() -> None:
        async with playing(_daemon(on_jack, **settings)) as daemon:
            assert daemon.midi is not None
            assert daemon.conductor is not None
            assert daemon.osc_address is not None
            port = str(daemon.osc_address[1])
            keys = Controller("test-learn").to_jamd()
            try:
                await asyncio.sleep(0.3)
                learner = await asyncio.create_subprocess_exec(
                    jamd, "midi", "learn", "/jamd/mood", "--port", port,
                    stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                await until(lambda: daemon.midi._learning is not None)
                keys.send(0xB0, 77, 64)  # a knob the map does not name
                out, _ = await asyncio.wait_for(learner.communicate(), 30)
                assert learner.returncode == 0
                assert "CC 77 on channel 1 drives /jamd/mood (saved)" in out.decode()
                keys.send(0xB0, 77, 0)
                await until(lambda: daemon.conductor.session.mood == 0.0)
                store = daemon.store
                assert store is not None
                saved = await _eventually(lambda: store.load_midi_map("learned"))
                assert saved["cc"][0]["control"] == 77  # in the store, not a file
                assert not learned.exists()
                wrong = await asyncio.create_subprocess_exec(
                    jamd, "midi", "learn", "/jamd/moood", "--port", port,
                    stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                _, err = await asyncio.wait_for(wrong.communicate(), 30)
                assert wrong.returncode == 1
                assert "did you mean /jamd/mood?" in err.decode()
            finally:
                keys.close()

    async def restart() -> None:  # the next start plays what was learned over the map
        async with playing(_daemon(on_jack, **settings)) as daemon:
            assert daemon.midi is not None
            first = daemon.midi.surface.map.cc[0]
            assert (first.control, first.channel, first.target) == (77, 1, "/jamd/mood")

    asyncio.run(perform())
    asyncio.run(restart())


async def _eventually(read: Any) -> Any:
    """What ``read`` gives once it gives something (a save runs on its own task)."""
    found: list[Any] = []

    async def got() -> bool:
        found[:] = [await read()]
        return found[0] is not None

    for _ in range(500):
        if await got():
            return found[0]
        await asyncio.sleep(0.01)
    raise AssertionError("nothing was saved")


def synth(name: str) -> Listener:
    """A synth of the test's own: a JACK MIDI input ``NAME:in`` jamd may open by name."""
    return Listener(name).virtual("in")


def test_an_output_that_appears_later_is_opened_and_again_after_it_comes_back(
    on_jack: str,
) -> None:
    async def perform() -> None:
        outputs = MidiOutputs("jack", ["synth*"], virtual="", client="jamd-test-out", rescan=0.2)
        outputs.start()
        other = synth("keys")  # matches no pattern
        try:
            assert outputs.opened == {}
            for turn in (1, 2):
                plugged = synth("synth")
                try:
                    await until(lambda: list(outputs.opened) == ["synth:in"])
                    outputs.send(bytes((0x90, 60 + turn, 100)))
                    await until(lambda p=plugged, t=turn: p.received == [[0x90, 60 + t, 100]])
                finally:
                    plugged.close()  # unplugged
                await until(lambda t=turn: outputs.went_away == t)
                assert outputs.opened == {}
                assert not any(name.endswith(":to synth:in") for name in other.sources())
            assert other.received == []
            assert outputs.errors == 0
        finally:
            other.close()
            outputs.close()

    asyncio.run(perform())


def test_jamds_own_ports_are_never_opened_even_by_a_pattern_taking_every_port(
    on_jack: str,
) -> None:
    async def perform() -> None:
        client = "jamd-test-own"
        keys, own = Controller("own-keys").virtual("out"), synth("own-synth")
        probe = Listener("test-probe")
        outputs = MidiOutputs("jack", ["*"], virtual="jamd out", client=client, rescan=0.2)
        inputs = MidiInputs(
            "jack", ["*"], lambda *_: None, virtual="jamd in", client=client, rescan=0.2
        )
        try:
            outputs.start()  # opens "to own-synth:in", a port the inputs could take
            inputs.start()  # opens "from own-keys:out", a port the outputs could take
            outputs.scan()
            assert set(outputs.opened) == {"own-synth:in"}  # not jamd in, nor from own-keys
            assert set(inputs.opened) == {"own-keys:out"}  # not jamd out, nor to own-synth
        finally:
            inputs.close()
            outputs.close()
            keys.close()
            own.close()
        try:
            assert not any(name.startswith(client) for name in probe.sources())
        finally:
            probe.close()

    asyncio.run(perform())


def test_a_synth_plugged_in_later_plays_the_parts_and_again_after_it_comes_back(
    on_jack: str,
) -> None:
    async def perform() -> None:
        settings = {"midi.outputs": ["synth*"], "music.genre": "pop"}
        probe = Listener("test-probe")
        try:
            async with playing(_daemon(on_jack, **settings)) as daemon:
                assert daemon.midi_out is not None
                for _ in range(2):
                    plugged = synth("synth")
                    try:
                        await until(lambda p=plugged: len(p.received) >= 10, seconds=20)
                    finally:
                        plugged.close()  # unplugged: jamd's port to it is closed
                    await until(lambda: not any(":to synth:in" in n for n in probe.sources()))
            assert not any(name.startswith("jamd-inproc-midi") for name in probe.sources())
        finally:
            probe.close()

    asyncio.run(perform())

"""OSC against the running daemon, address by address, over UDP and TCP; presets and patches.

Real sockets on 127.0.0.1; over TCP, python-osc's own client (SLIP framing, OSC 1.1) and
liblo's ``oscsend`` (a 4-byte size before each packet, as OSC 1.0 framed streams).
"""

import asyncio
import contextlib
import math
import random
import shutil
from pathlib import Path
from typing import Any

from helpers import Client, Reply, click_settings, playing, until
from pythonosc import slip
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket
from pythonosc.tcp_client import AsyncTCPClient

from jamd.app.daemon import Daemon
from jamd.live.commands import PARTS


def _daemon(**extra: Any) -> Daemon:
    return Daemon(click_settings(None, **extra))


def _same(got: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
    """OSC floats are 32-bit: 0.3 comes back as 0.30000001192."""
    if len(got) != len(wanted):
        return False
    for a, b in zip(got, wanted, strict=True):
        if isinstance(b, float):
            if not isinstance(a, float) or not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6):
                return False
        elif a != b:
            return False
    return True


# What each control is sent, and what it then reads as (None: the value sent, as sent).
VALUES: dict[str, tuple[tuple[Any, ...], tuple[Any, ...] | None]] = {
    "/jamd/tempo": ((133.0,), None),
    "/jamd/tempo/fader": ((0.25,), None),
    "/jamd/key": (("Eb",), ("Eb major",)),
    "/jamd/energy": ((0.75,), None),
    "/jamd/mood": ((0.2,), None),
    "/jamd/section": (("chorus",), ("chorus 1",)),
    "/jamd/chord": (("Dm7",), None),
    "/jamd/master": ((0.5,), None),
    "/jamd/master/db": ((-3.0,), None),
    "/jamd/seed": ((4242,), None),
}
for _part in PARTS:
    VALUES |= {
        f"/jamd/track/{_part}/volume": ((0.5,), None),
        f"/jamd/track/{_part}/db": ((-6.0,), None),
        f"/jamd/track/{_part}/pan": ((0.25,), None),
        f"/jamd/track/{_part}/mute": ((1,), None),
        f"/jamd/track/{_part}/solo": ((1,), None),
        f"/jamd/track/{_part}/reverb": ((0.3,), None),
        f"/jamd/track/{_part}/delay": ((0.4,), None),
        f"/jamd/track/{_part}/tone": ((0.7,), None),
    }
VALUES |= {
    "/jamd/track/bass/patch": (("upright",), ("bass/upright",)),
    # index 5 of clean-guitar epiano grand guitar nylon organ piano
    "/jamd/track/keys/patch": ((5,), ("keys/organ",)),
    "/jamd/track/drums/patch": (("drums/brushes",), None),
    "/jamd/track/pad/patch": (("strings",), ("pad/strings",)),
    "/jamd/track/lead/patch": (("horn",), ("lead/horn",)),
    # an index: blues classical click country electronic hip-hop jazz (at the next bar here)
    "/jamd/genre": ((6,), ("jazz",)),
}
BUTTONS = [  # a button's press, and what the feedback then says
    ("/jamd/stop", lambda r: r == ("/jamd/transport", ("stopped",))),
    ("/jamd/play", lambda r: r == ("/jamd/transport", ("playing",))),
    ("/jamd/section/next", lambda r: r[0] == "/jamd/section" and r[1] != ("count-in",)),
    ("/jamd/regenerate", lambda r: r[0] == "/jamd/song" and r[1][0] >= 2),
    ("/jamd/section/ending", lambda r: r == ("/jamd/transport", ("ending",))),
]


def test_every_control_round_trips_control_then_state_then_feedback() -> None:
    """One client controls and asks for the state; a subscriber sees each change as feedback."""

    async def perform() -> None:
        settings = {"osc.auto_subscribe": False, "live.genre_change": "bar"}
        async with playing(_daemon(**settings)) as daemon:
            assert daemon.osc is not None
            controls = set(daemon.osc.space.addresses)
            buttons = {address for address, _ in BUTTONS}
            # no state to show, or (the tap) a tempo that depends on the time between taps
            unseen = {"/jamd/continue", "/jamd/panic", "/jamd/section/fill", "/jamd/tempo/tap"}
            # Link multicasts: never here, only inside a network namespace (tests/link)
            unseen.add("/jamd/link")
            assert controls == set(VALUES) | buttons | unseen
            control, watcher = Client(), Client()
            try:
                watcher.send(daemon, "/jamd/subscribe")
                await watcher.until(lambda r: r[0] == "/jamd/tempo")
                for address, (sent, reads) in VALUES.items():
                    wanted = sent if reads is None else reads
                    watcher.received.clear()
                    control.received.clear()
                    control.send(daemon, address, *sent)
                    await watcher.until(lambda r, a=address, w=wanted: r[0] == a and _same(r[1], w))
                    control.send(daemon, "/jamd/state")
                    state = await control.until(lambda r, a=address: r[0] == a)
                    assert _same(state[-1][1], wanted), (address, state[-1])
                for address, shows in BUTTONS:
                    watcher.received.clear()
                    control.send(daemon, address, 1)
                    control.send(daemon, address, 0)  # the release: nothing happens
                    await watcher.until(shows)
                assert daemon.osc.stats.errors == 0
                control.send(daemon, "/jamd/section/fill")
                control.send(daemon, "/jamd/panic")
                control.send(daemon, "/jamd/stop")
                control.send(daemon, "/jamd/continue")
                await watcher.until(lambda r: r == ("/jamd/transport", ("playing",)))
            finally:
                control.close()
                watcher.close()

    asyncio.run(perform())


def test_a_part_s_patches_are_listed_and_a_bad_patch_is_refused() -> None:
    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            client = Client()
            try:
                client.send(daemon, "/jamd/track/bass/patches")
                listed = await client.until(lambda r: r[0] == "/jamd/track/bass/patches")
                assert listed[0][1] == (
                    "bass/808", "bass/finger", "bass/pluck-upright", "bass/synth", "bass/upright"
                )  # fmt: skip
                assert daemon.conductor is not None
                before = daemon.conductor.session
                client.send(daemon, "/jamd/track/bass/patch", "tuba")
                client.send(daemon, "/jamd/track/bass/patch", "keys/piano")
                client.send(daemon, "/jamd/track/bass/patch", 9)
                errors = " | ".join(str(e) for e in await _errors(client, 3))
                assert "no such patch; known patches: bass/808, bass/finger" in errors
                assert "the bass part plays bass patches" in errors
                assert "patch index must be 0..4, got 9" in errors
                assert daemon.conductor.session.mixer == before.mixer
            finally:
                client.close()

    asyncio.run(perform())


async def _errors(client: Client, count: int) -> list[tuple[Any, ...]]:
    """The first ``count`` /jamd/error answers' arguments, in order."""
    found = await client.until(lambda r: r[0] == "/jamd/error")
    for _ in range(200):
        found = [r for r in client.received if r[0] == "/jamd/error"]
        if len(found) >= count:
            break
        await asyncio.sleep(0.02)
        client.drain()
    assert len(found) == count, found
    return [args for _, args in found]


def test_a_preset_saves_lists_and_loads_back_what_was_set(tmp_path: Path) -> None:
    database = tmp_path / "jamd.sqlite3"

    async def perform() -> None:
        settings = {"paths.presets": str(tmp_path / "presets"), "paths.database": str(database)}
        async with playing(_daemon(**settings)) as daemon:
            client = Client()
            try:
                assert daemon.conductor is not None
                client.send(daemon, "/jamd/tempo", 97.0)
                client.send(daemon, "/jamd/track/bass/db", -9.0)
                client.send(daemon, "/jamd/track/keys/patch", "organ")
                await client.until(lambda r: r == ("/jamd/track/bass/db", (-9.0,)))
                client.send(daemon, "/jamd/preset/save", "Set one")
                await client.until(lambda r: r == ("/jamd/preset", ("Set one",)))
                assert daemon.store is not None
                assert await daemon.store.preset_names() == ["Set one"]  # in the store
                assert not (tmp_path / "presets").exists()  # no file
                client.send(daemon, "/jamd/tempo", 150.0)
                client.send(daemon, "/jamd/track/bass/db", 0.0)
                client.send(daemon, "/jamd/track/keys/patch", "")
                await client.until(lambda r: r == ("/jamd/track/bass/db", (0.0,)))
                client.send(daemon, "/jamd/preset/list")
                listed = await client.until(lambda r: r[0] == "/jamd/preset/list")
                assert listed[-1][1] == ("Set one",)
                client.received.clear()
                client.send(daemon, "/jamd/preset/load", "Set one")
                await client.until(lambda r: r == ("/jamd/track/bass/db", (-9.0,)))
                await client.until(lambda r: r == ("/jamd/tempo", (97.0,)))
                session = daemon.conductor.session
                assert session.mixer["keys"].patch == "keys/organ"
                assert session.mixer["bass"].level_db == -9.0
                assert daemon.osc is not None
                assert daemon.osc.stats.errors == 0
            finally:
                client.close()

    async def restart() -> None:  # the store keeps it: the next start lists and loads it
        async with playing(_daemon(**{"paths.database": str(database)})) as daemon:
            client = Client()
            try:
                client.send(daemon, "/jamd/preset/list")
                listed = await client.until(lambda r: r[0] == "/jamd/preset/list")
                assert listed[-1][1] == ("Set one",)
                client.send(daemon, "/jamd/preset/load", "Set one")
                conductor = daemon.conductor
                assert conductor is not None
                await until(lambda: conductor.session.tempo == 97.0)
            finally:
                client.close()

    asyncio.run(perform())
    asyncio.run(restart())


def test_a_broken_or_missing_preset_is_an_error_and_changes_nothing(tmp_path: Path) -> None:
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "broken.toml").write_text('[music]\ngenre = "pop"\nkey = "C"\ntempo = 900\n')
    database = tmp_path / "jamd.sqlite3"

    async def perform() -> None:
        settings = {"paths.presets": str(presets), "paths.database": str(database)}
        async with playing(_daemon(**settings)) as daemon:
            client = Client()
            try:
                assert daemon.conductor is not None
                before = daemon.conductor.session
                client.send(daemon, "/jamd/preset/load", "broken")
                client.send(daemon, "/jamd/preset/load", "missing")
                client.send(daemon, "/jamd/preset/save", "../escape")
                client.send(daemon, "/jamd/preset/save", 3)
                client.send(daemon, "/jamd/preset/list", "extra")
                errors = sorted(await _errors(client, 5), key=str)
                texts = " | ".join(str(e) for e in errors)
                assert "preset 'broken'" in texts
                assert "music.tempo" in texts
                assert "no preset 'missing' (presets: broken)" in texts
                assert "a preset name is" in texts
                assert "takes the preset's name (a string)" in texts
                assert "/jamd/preset/list', 'takes nothing" in texts
                after = daemon.conductor.session
                assert (after.tempo, after.genre, after.mixer) == (
                    before.tempo,
                    before.genre,
                    before.mixer,
                )
                assert sorted(p.name for p in presets.iterdir()) == ["broken.toml"]
            finally:
                client.close()

    asyncio.run(perform())


# -- TCP ------------------------------------------------------------------------------------


def _message(address: str, *args: Any) -> Any:
    builder = OscMessageBuilder(address=address)
    for value in args:
        builder.add_arg(value)
    return builder.build()


async def _replies(client: AsyncTCPClient, until: Any, seconds: float = 10.0) -> list[Reply]:
    """Messages the daemon sends down the connection until one satisfies ``until``."""
    got: list[Reply] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        for packet in await client.receive(timeout=0.2):
            if not packet:
                continue
            for timed in OscPacket(packet).messages:
                got.append((timed.message.address, tuple(timed.message.params)))
        if any(until(reply) for reply in got):
            return got
    raise AssertionError(got[-30:])


def test_osc_over_tcp_with_slip_framing_controls_and_gets_feedback() -> None:
    async def perform() -> None:
        async with playing(_daemon(**{"osc.tcp": True, "osc.tcp_port": 0})) as daemon:
            assert daemon.osc is not None
            assert daemon.osc.tcp_address is not None
            host, port = daemon.osc.tcp_address
            async with AsyncTCPClient(host, port, mode="1.1") as client:
                await client.send(_message("/jamd/tempo", 141.0))
                got = await _replies(client, lambda r: r == ("/jamd/tempo", (141.0,)))
                assert daemon.conductor is not None
                assert daemon.conductor.session.tempo == 141.0
                await client.send(_message("/jamd/state"))
                got = await _replies(client, lambda r: r[0] == "/jamd/seed")
                assert ("/jamd/genre", ("click",)) in got
                await client.send(_message("/jamd/tempi", 1.0))
                got = await _replies(client, lambda r: r[0] == "/jamd/error")
                assert any("did you mean /jamd/tempo?" in str(r[1]) for r in got)
            await until(lambda: not daemon.osc.subscribers)  # gone with its connection
            assert daemon.osc.stats.errors == 1

    asyncio.run(perform())


def test_liblo_s_oscsend_over_tcp_frames_as_osc_1_0_and_is_understood() -> None:
    oscsend = shutil.which("oscsend")
    assert oscsend is not None, "liblo-tools is missing (make test installs it as root)"

    async def perform() -> None:
        async with playing(_daemon(**{"osc.tcp": True, "osc.tcp_port": 0})) as daemon:
            assert daemon.osc is not None
            assert daemon.osc.tcp_address is not None
            host, port = daemon.osc.tcp_address
            url = f"osc.tcp://{host}:{port}"
            for args in (("/jamd/tempo", "f", "87.5"), ("/jamd/key", "s", "D dorian")):
                sender = await asyncio.create_subprocess_exec(oscsend, url, *args)
                assert await asyncio.wait_for(sender.wait(), 30) == 0
            assert daemon.conductor is not None
            await until(lambda: daemon.conductor.session.tempo == 87.5)
            await until(lambda: daemon.conductor.session.key == "D dorian")
            assert daemon.osc.stats.errors == 0

    asyncio.run(perform())


def test_a_tcp_stream_of_garbage_is_answered_and_closed_and_the_music_plays_on() -> None:
    rng = random.Random(11)

    async def perform() -> None:
        async with playing(_daemon(**{"osc.tcp": True, "osc.tcp_port": 0})) as daemon:
            assert daemon.osc is not None
            assert daemon.osc.tcp_address is not None
            assert daemon.conductor is not None
            host, port = daemon.osc.tcp_address
            before = daemon.conductor.session
            frames = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))]
            frames += [_message("/jamd/tempo", 99.0).dgram[: rng.randrange(1, 20)]]
            frames += [slip.ESC + b"\x01"]  # an escape that is none
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"".join(slip.END + frame + slip.END for frame in frames))
            # then a frame that never ends: over the limit, the connection closes
            writer.write(slip.END + b"x" * 70000)
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 30)  # read to the close
            writer.close()
            texts = [
                str(timed.message.params)
                for frame in data.split(slip.END)
                if frame
                for timed in OscPacket(slip.decode(frame)).messages
            ]
            assert len(texts) >= len(frames) + 1
            assert any("over 65536 bytes: connection closed" in text for text in texts)
            assert any("malformed SLIP frame" in text for text in texts)
            # a size-prefixed stream whose size is absurd is closed too
            reader, writer = await asyncio.open_connection(host, port)
            writer.write((1 << 30).to_bytes(4, "big"))
            assert b"over 65536" in await asyncio.wait_for(reader.read(), 30)
            writer.close()
            after = daemon.conductor.session
            assert (after.tempo, after.genre, after.mixer) == (
                before.tempo,
                before.genre,
                before.mixer,
            )
            assert daemon.engine is not None
            assert daemon.engine.alive
            bar = daemon.conductor.session.bar
            await until(lambda: daemon.conductor.session.bar != bar)  # still playing

    asyncio.run(perform())


def test_tcp_clients_outside_the_allow_list_are_closed_and_counted() -> None:
    async def perform() -> None:
        settings = {"osc.tcp": True, "osc.tcp_port": 0, "osc.allow": ["127.0.0.2/32"]}
        async with playing(_daemon(**settings)) as daemon:
            assert daemon.osc is not None
            assert daemon.osc.tcp_address is not None
            host, port = daemon.osc.tcp_address
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(slip.encode(_message("/jamd/tempo", 99.0).dgram))
            # closed unanswered: an end of file, or a reset (what it sent went unread)
            with contextlib.suppress(ConnectionResetError):
                assert await asyncio.wait_for(reader.read(), 30) == b""
            writer.close()
            assert daemon.osc.stats.refused == 1
            assert daemon.conductor is not None
            assert daemon.conductor.session.tempo == 120.0

    asyncio.run(perform())

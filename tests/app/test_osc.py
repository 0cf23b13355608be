"""OSC against the running daemon: real UDP sockets on 127.0.0.1, python-osc on the client side.

The daemon runs in this process on the silent backend (its engine in a process of its own);
clients are plain UDP sockets that send messages python-osc builds and parse what comes back.
"""

import asyncio
import itertools
import math
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from helpers import TEST_PATCHES, TEST_STYLES, Client, click_settings, playing
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from jamd.app.daemon import Daemon
from jamd.osc.space import Space, training_state


def _daemon(**extra: Any) -> Daemon:
    return Daemon(click_settings(None, **extra))


def test_a_control_changes_the_session_and_comes_back_as_feedback() -> None:
    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            client = Client()
            try:
                client.send(daemon, "/jamd/tempo", 137.0)
                await client.until(lambda r: r == ("/jamd/tempo", (137.0,)))
                assert daemon.conductor is not None
                assert daemon.conductor.session.tempo == 137.0
                client.send(daemon, "/jamd/track/bass/mute", 1)
                await client.until(lambda r: r == ("/jamd/track/bass/mute", (1,)))
                assert daemon.conductor.session.mixer["bass"].muted
                assert daemon.osc is not None
                assert daemon.osc.stats.commands == 2
                assert daemon.osc.stats.errors == 0
            finally:
                client.close()

    asyncio.run(perform())


def test_state_answers_every_control_in_one_bundle() -> None:
    async def perform() -> None:
        async with playing(_daemon(**{"osc.auto_subscribe": False})) as daemon:
            client = Client()
            try:
                client.send(daemon, "/jamd/state")
                await client.until(lambda r: r[0] == "/jamd/seed")
                assert client.packets == 1  # one bundle
                assert daemon.conductor is not None
                expected = Space(("click",)).state(daemon.conductor.session)
                assert daemon.trainer is not None  # training is on by default: its state too
                expected |= training_state(daemon.trainer.state)
                got = dict(client.received)
                assert set(got) == set(expected)
                for address in ("/jamd/tempo", "/jamd/genre", "/jamd/key", "/jamd/seed"):
                    assert got[address] == expected[address]
                assert got["/jamd/genre"] == ("click",)
            finally:
                client.close()

    asyncio.run(perform())


def test_two_subscribers_both_see_a_change_a_third_client_makes() -> None:
    async def perform() -> None:
        async with playing(_daemon(**{"osc.auto_subscribe": False})) as daemon:
            first, second, third = Client(), Client(), Client()
            try:
                for subscriber in (first, second):
                    subscriber.send(daemon, "/jamd/subscribe")
                    await subscriber.until(lambda r: r[0] == "/jamd/tempo")  # the whole state
                third.send(daemon, "/jamd/track/keys/volume", 0.5)
                for subscriber in (first, second):
                    await subscriber.until(lambda r: r == ("/jamd/track/keys/volume", (0.5,)))
                await asyncio.sleep(0.2)
                third.drain()
                assert third.received == []  # not subscribed: no feedback
                first.send(daemon, "/jamd/unsubscribe")
                await asyncio.sleep(0.1)
                first.drain()
                first.received.clear()
                third.send(daemon, "/jamd/energy", 0.75)
                await second.until(lambda r: r == ("/jamd/energy", (0.75,)))
                first.drain()
                assert ("/jamd/energy", (0.75,)) not in first.received
            finally:
                for client in (first, second, third):
                    client.close()

    asyncio.run(perform())


def test_the_conductor_s_own_changes_reach_subscribers() -> None:
    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            client = Client()
            try:
                client.send(daemon, "/jamd/subscribe")
                bars = await client.until(lambda r: r[0] == "/jamd/bar" and r[1][0] >= 2)
                assert bars
                await client.until(lambda r: r[0] == "/jamd/chord" and r[1][0] != "")
            finally:
                client.close()

    asyncio.run(perform())


def test_bad_messages_are_answered_counted_and_change_nothing() -> None:
    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            client = Client()
            try:
                assert daemon.conductor is not None
                before = Space(("click",)).state(daemon.conductor.session)
                client.send(daemon, "/jamd/tempi", 120.0)
                client.send(daemon, "/jamd/tempo", 999.0)
                client.send(daemon, "/jamd/tempo", "fast")
                client.send(daemon, "/jamd/genre", "polka")
                client.send_bytes(daemon, b"\x00\x01garbage")
                client.send_bytes(daemon, b"#bundle\x00\x00\x00")
                errors = await client.until(lambda r: r[0] == "/jamd/error")
                for _ in range(100):
                    errors = [r for r in client.received if r[0] == "/jamd/error"]
                    if len(errors) == 6:
                        break
                    await asyncio.sleep(0.02)
                    client.drain()
                texts = {args[0]: args[1] for _, args in errors}
                assert "did you mean /jamd/tempo?" in texts["/jamd/tempi"]
                tempo = [args[1] for _, args in errors if args[0] == "/jamd/tempo"]
                assert any("must be 20..300 BPM, got 999" in text for text in tempo)
                assert any("got a string 'fast'" in text for text in tempo)
                assert "polka" in texts["/jamd/genre"]
                assert sum(a[0] == "" and "malformed packet" in a[1] for _, a in errors) == 2
                assert daemon.osc is not None
                assert daemon.osc.stats.errors == 6
                after = Space(("click",)).state(daemon.conductor.session)
                controls = ("/jamd/tempo", "/jamd/genre", "/jamd/energy", "/jamd/key")
                assert {a: after[a] for a in controls} == {a: before[a] for a in controls}
                assert daemon.engine is not None
                assert daemon.engine.alive
            finally:
                client.close()

    asyncio.run(perform())


def test_senders_outside_the_allow_list_are_dropped_and_counted() -> None:
    async def perform() -> None:
        async with playing(_daemon(**{"osc.allow": ["127.0.0.2/32"]})) as daemon:
            outsider, allowed = Client("127.0.0.1"), Client("127.0.0.2")
            try:
                outsider.send(daemon, "/jamd/tempo", 99.0)
                allowed.send(daemon, "/jamd/tempo", 101.0)
                await allowed.until(lambda r: r == ("/jamd/tempo", (101.0,)))
                outsider.drain()
                assert outsider.received == []
                assert daemon.osc is not None
                assert daemon.osc.stats.refused == 1
                assert daemon.conductor is not None
                assert daemon.conductor.session.tempo == 101.0
            finally:
                outsider.close()
                allowed.close()

    asyncio.run(perform())


def test_liblo_s_oscsend_controls_and_oscdump_receives_the_feedback() -> None:
    """A client no one here wrote, inside a private network namespace (nothing leaves it)."""
    script = Path(__file__).with_name("liblo_round_trip.py")
    result = subprocess.run(
        ["unshare", "-n", sys.executable, str(script), str(TEST_STYLES), str(TEST_PATCHES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[-1] == "DONE"
    assert any(line.endswith(" /jamd/tempo f 128.000000") for line in lines), lines
    assert any(line.endswith(" /jamd/track/bass/volume f 0.500000") for line in lines), lines


def test_thousands_of_random_and_truncated_packets_change_nothing_and_the_music_plays_on() -> None:
    """Random bytes, valid packets cut short or with their address garbled, valid addresses
    with values of the wrong kind: each is answered or ignored, none changes the session."""
    rng = random.Random(4)
    space = Space(("click",))
    valid = [
        _packet(address, *args)
        for address, args in (
            ("/jamd/tempo", (130.0,)),
            ("/jamd/track/bass/volume", (0.25,)),
            ("/jamd/genre", ("jazz",)),
            ("/jamd/section", ("chorus",)),
        )
    ]

    def garbage() -> bytes:
        kind = rng.randrange(4)
        if kind == 0:
            return rng.randbytes(rng.randrange(1, 200))
        packet = bytearray(rng.choice(valid))
        if kind == 1:
            return bytes(packet[: rng.randrange(1, len(packet))])
        if kind == 2:  # the address garbled (flipped value bytes would be another value)
            end = packet.index(0)
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(1, end)
                packet[at] = (packet[at] + rng.randrange(1, 256)) % 256
            return bytes(packet)
        address = rng.choice([a for a in space.addresses if "/track/" not in a or "bass" in a])
        value = rng.choice([b"\xff\xfe", 1e30, -7, "", "x" * 300, True])
        return _packet(address, value, value)

    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            client = Client()
            try:
                assert daemon.conductor is not None
                assert daemon.osc is not None
                controls = ("/jamd/tempo", "/jamd/genre", "/jamd/energy", "/jamd/key")
                before = {a: space.state(daemon.conductor.session)[a] for a in controls}
                bar_before = daemon.conductor.session.bar
                for n in range(10_000):
                    client.send_bytes(daemon, garbage())
                    if n % 200 == 0:
                        await asyncio.sleep(0.01)  # let the loop read; drain the answers
                        client.drain()
                await asyncio.sleep(0.5)
                client.drain()
                after = {a: space.state(daemon.conductor.session)[a] for a in controls}
                assert after == before
                assert daemon.osc.stats.received > 0
                assert daemon.osc.stats.commands == 0
                assert daemon.osc.stats.errors > 0
                assert any(address == "/jamd/error" for address, _ in client.received)
                assert daemon.engine is not None
                assert daemon.engine.alive
                await asyncio.sleep(2.5)  # more than a bar at 120 BPM
                assert daemon.conductor.session.bar != bar_before  # the music plays on
            finally:
                client.close()

    asyncio.run(perform())


def _packet(address: str, *args: Any) -> bytes:
    builder = OscMessageBuilder(address=address)
    for value in args:
        builder.add_arg(value)
    return bytes(builder.build().dgram)


def test_a_port_already_taken_is_a_clear_error_and_nothing_plays() -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("jamd")), "run", "--audio", "null",
             "--osc-port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        taken.close()
    assert result.returncode == 2, result.stderr
    assert f"osc: cannot listen on 127.0.0.1:{port} (Address already in use)" in result.stderr


def test_jamd_send_controls_prints_state_and_reports_errors() -> None:
    jamd = str(Path(sys.executable).with_name("jamd"))

    async def run(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            jamd, "send", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            assert daemon.osc_address is not None
            port = str(daemon.osc_address[1])
            code, _, _ = await run("--port", port, "/jamd/tempo", "126")
            assert code == 0
            assert daemon.conductor is not None
            for _ in range(200):
                if daemon.conductor.session.tempo == 126.0:
                    break
                await asyncio.sleep(0.01)
            assert daemon.conductor.session.tempo == 126.0
            code, out, _ = await run("--port", port, "/jamd/state")
            assert code == 0
            assert "/jamd/tempo 126.0" in out.splitlines()
            assert "/jamd/genre click" in out.splitlines()
            code, _, err = await run("--port", port, "/jamd/tempi", "120")
            assert code == 1
            assert "error: /jamd/tempi: unknown address; did you mean /jamd/tempo?" in err
            code, _, err = await run("--port", port, "--string", "/jamd/tempo", "120")
            assert code == 1
            assert "takes a float BPM, got a string '120'" in err

    asyncio.run(perform())


def test_a_bundle_with_a_future_timetag_lands_on_the_beat_after_its_time() -> None:
    async def perform() -> None:
        async with playing(_daemon()) as daemon:
            client = Client()
            try:
                conductor, engine = daemon.conductor, daemon.engine
                assert conductor is not None
                assert engine is not None
                while conductor.session.bar < 2:  # past the count-in: the song's own beats
                    await asyncio.sleep(0.01)
                tempo = conductor.tempo_map
                assert tempo is not None
                rate = 48000
                position, wall = engine.position(), time.time()
                beat = math.floor(tempo.beat_at(position)) + 4  # well ahead, at 120 BPM
                target = tempo.sample_at(beat + 0.5)  # the middle of that beat
                timetag = wall + (target - position) / rate
                bundle = OscBundleBuilder(timetag)
                message = OscMessageBuilder(address="/jamd/tempo")
                message.add_arg(90.0)
                bundle.add_content(message.build())
                client.send_bytes(daemon, bundle.build().dgram)
                await asyncio.sleep(0.3)
                assert conductor.session.tempo == 120.0  # not yet: it waits for its time
                assert daemon.osc is not None
                assert daemon.osc.stats.scheduled == 1
                await client.until(lambda r: r == ("/jamd/tempo", (90.0,)), seconds=10)
                await asyncio.sleep(1.0)
                tempo = conductor.tempo_map
                assert tempo is not None
                assert tempo.tempo_at(beat + 0.9) == 120.0  # the beat the timetag fell in
                assert tempo.tempo_at(beat + 1.0) == 90.0  # the next one is the new tempo
                far = OscBundleBuilder(wall + 3600)
                far.add_content(message.build())
                client.send_bytes(daemon, far.build().dgram)
                errors = await client.until(lambda r: r[0] == "/jamd/error")
                assert "at most 60 s" in errors[0][1][1]
            finally:
                client.close()

    asyncio.run(perform())


def test_subscribers_get_the_beat_in_the_bar_while_the_music_plays() -> None:
    async def perform(hz: float) -> list[float]:
        async with playing(_daemon(**{"osc.beat_hz": hz})) as daemon:
            client = Client()
            try:
                client.send(daemon, "/jamd/subscribe")
                assert daemon.conductor is not None
                bar = daemon.conductor.session.bar
                while daemon.conductor.session.bar < bar + 2:  # two bar lines go by
                    await asyncio.sleep(0.01)
                client.drain()
                return [args[0] for address, args in client.received if address == "/jamd/beat"]
            finally:
                client.close()

    beats = asyncio.run(perform(20.0))
    assert len(beats) >= 10
    assert all(1.0 <= beat < 5.0 for beat in beats)  # the click style is in 4/4
    assert any(later < earlier for earlier, later in itertools.pairwise(beats))  # a bar line
    assert asyncio.run(perform(0.0)) == []


def test_a_subscriber_whose_port_closes_is_dropped_and_a_silent_one_times_out() -> None:
    async def perform() -> None:
        async with playing(_daemon(**{"osc.subscriber_timeout_seconds": 1.0})) as daemon:
            gone, silent, steady = Client(), Client(), Client()
            try:
                assert daemon.osc is not None
                for client in (gone, silent, steady):
                    client.send(daemon, "/jamd/subscribe")
                await steady.until(lambda r: r[0] == "/jamd/tempo")
                gone_peer = ("127.0.0.1", gone.port)
                gone.close()
                steady.send(daemon, "/jamd/energy", 0.25)  # feedback to the closed port
                steady.send(daemon, "/jamd/energy", 0.75)  # ... whose ICMP error drops it
                for _ in range(200):
                    if gone_peer not in daemon.osc.subscribers:
                        break
                    await asyncio.sleep(0.01)
                assert gone_peer not in daemon.osc.subscribers, daemon.osc.stats
                assert ("127.0.0.1", silent.port) in daemon.osc.subscribers
                for _ in range(20):  # steady keeps talking, silent says nothing
                    steady.send(daemon, "/jamd/energy", 0.25 + 0.5 * (_ % 2))
                    await asyncio.sleep(0.1)
                assert ("127.0.0.1", silent.port) not in daemon.osc.subscribers
                assert ("127.0.0.1", steady.port) in daemon.osc.subscribers
                assert daemon.osc.stats.dropped == 2
            finally:
                for client in (silent, steady):
                    client.close()

    asyncio.run(perform())

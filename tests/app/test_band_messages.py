"""A band member's OSC side against the running daemon (docs/band.md): real UDP sockets on
127.0.0.1 play its peer. Without Link (these need no network namespace) a shared command
carries no session beat: each member takes it when it arrives. The Link side, two and three
daemons in one session, is tests/link/test_band_sessions.py."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from helpers import Client, click_overrides, click_settings, playing, until

from jamd.app.config import read_settings
from jamd.app.daemon import Daemon
from jamd.band.wire import COMMAND, HELLO, STATE
from jamd.live.conductor import Conductor
from jamd.osc.space import Space


def _member(peer: Client, **extra: Any) -> Daemon:
    settings = click_settings(
        None,
        **{
            "band.name": "m",
            "band.parts": ["drums", "bass"],
            "band.peers": [f"127.0.0.1:{peer.port}"],
            "osc.auto_subscribe": False,
            **extra,
        },
    )
    return Daemon(settings)


@contextlib.asynccontextmanager
async def _playing_member() -> AsyncIterator[tuple[Daemon, Conductor, Client]]:
    """A member playing (alone: its peer, a test socket, never answers), and that peer."""
    peer = Client()
    try:
        async with playing(_member(peer)) as daemon:
            conductor = daemon.conductor
            assert conductor is not None
            await until(lambda: conductor.playing)
            yield daemon, conductor, peer
    finally:
        peer.close()


def _shared(replies: list[tuple[str, tuple[Any, ...]]]) -> list[dict[str, Any]]:
    return [json.loads(args[0]) for path, args in replies if path == COMMAND]


def test_a_member_alone_starts_its_song_and_shares_what_it_is_told() -> None:
    async def perform() -> None:
        peer, surface = Client(), Client()
        try:
            async with playing(_member(peer)) as daemon:
                assert daemon.conductor is not None
                assert daemon.band is not None
                # no member answers its hello: it starts alone, on its own parts
                hellos = await peer.until(lambda r: r[0] == HELLO)
                assert hellos[0][1] == ("m",)
                await until(lambda: daemon.conductor is not None and daemon.conductor.playing)
                assert daemon.conductor.settings.parts == frozenset({"drums", "bass"})
                surface.send(daemon, "/jamd/section/next", 1)
                surface.send(daemon, "/jamd/track/keys/mute", 1)
                surface.send(daemon, "/jamd/tempo", 133.0)  # Link shares tempos: not sent
                await peer.until(lambda r: r[0] == COMMAND and "SetMute" in r[1][0])
                shared = _shared(peer.received)
                assert [s["command"]["kind"] for s in shared] == ["NextSection", "SetMute"]
                assert shared[1]["command"] == {"kind": "SetMute", "part": "keys", "muted": True}
                assert [s["epoch"] for s in shared] == [1, 2]
                assert all(s["member"] == "m" and s["beat"] is None for s in shared)
                assert daemon.band.epoch == 2
                # a command refused here goes to no peer
                surface.send(daemon, "/jamd/section", "bridge 9")
                await surface.until(lambda r: r[0] == "/jamd/error")
                await asyncio.sleep(0.2)
                peer.drain()
                assert len(_shared(peer.received)) == 2
                state = dict(Space(("click",)).state(daemon.conductor.session))
                assert state["/jamd/band"] == (1,)
                assert state["/jamd/band/parts"] == ("drums bass",)
        finally:
            peer.close()
            surface.close()

    asyncio.run(perform())


def test_a_peer_s_command_is_taken_and_not_sent_back() -> None:
    async def perform() -> None:
        async with _playing_member() as (daemon, conductor, peer):
            assert daemon.band is not None
            message = {
                "member": "p",
                "epoch": 7,
                "sent": 0.0,
                "beat": None,
                "command": {"kind": "SetEnergy", "energy": 0.8},
            }
            peer.send(daemon, COMMAND, json.dumps(message))
            await until(lambda: conductor.session.energy == 0.8)
            assert daemon.band.epoch == 7  # the band's count of commands
            await asyncio.sleep(0.2)
            peer.drain()
            assert _shared(peer.received) == []
            assert not [r for r in peer.received if r[0] == "/jamd/error"]
            assert conductor.session.band_peers == 1  # heard from

    asyncio.run(perform())


def test_bad_band_messages_are_answered_counted_and_change_nothing() -> None:
    async def perform() -> None:
        async with _playing_member() as (daemon, conductor, peer):
            assert daemon.osc is not None
            before = conductor.session
            errors_before = daemon.osc.stats.errors
            good = {"member": "p", "epoch": 1, "sent": 0.0, "beat": None}
            bad: list[tuple[str, tuple[Any, ...], str]] = [
                (COMMAND, ("{not json",), "not a band shared"),
                (COMMAND, (json.dumps({"member": "p"}),), "not a band shared"),
                (COMMAND, (1, 2), "one JSON string"),
                (COMMAND, ("x" * 20000,), "at most 16384 bytes"),
                (
                    COMMAND,
                    (json.dumps({**good, "command": {"kind": "Explode"}}),),
                    "no such command",
                ),
                (
                    COMMAND,
                    (json.dumps({**good, "command": {"kind": "SetEnergy", "energy": 5}}),),
                    "energy must be 0..1",
                ),
                (
                    COMMAND,
                    (json.dumps({**good, "command": {"kind": "SetKey", "key": "H#"}}),),
                    "SetKey",
                ),
                (
                    COMMAND,
                    (json.dumps({**good, "command": {"kind": "Fill", "loud": True}}),),
                    "Fill has no loud",
                ),
                (HELLO, (), "hello carries the member's name"),
                (STATE, (json.dumps({"member": "p", "epoch": -1}),), "not a band position"),
            ]
            for path, args, _ in bad:
                peer.send(daemon, path, *args)
            for path, _, text in bad:
                await peer.until(
                    lambda r, path=path, text=text: (
                        r[0] == "/jamd/error" and r[1][0] == path and text in r[1][1]
                    )
                )
            await until(
                lambda: (
                    daemon.osc is not None and daemon.osc.stats.errors >= errors_before + len(bad)
                )
            )
            assert daemon.osc.stats.errors == errors_before + len(bad)
            after = conductor.session
            for field in ("genre", "key", "energy", "seed", "transport", "mixer"):
                assert getattr(after, field) == getattr(before, field), field
            assert daemon.band is not None
            assert daemon.band.epoch == 0
            assert conductor.playing
            assert daemon.engine is not None
            assert daemon.engine.alive
            assert _shared(peer.received) == []

    asyncio.run(perform())


def test_a_jamd_in_no_band_says_so() -> None:
    async def perform() -> None:
        client = Client()
        try:
            async with playing(Daemon(click_settings(None))) as daemon:
                assert daemon.band is None
                for path in (HELLO, STATE, COMMAND):
                    client.send(daemon, path, "{}")
                for path in (HELLO, STATE, COMMAND):
                    await client.until(
                        lambda r, path=path: (
                            r[0] == "/jamd/error"
                            and r[1]
                            == (path, "this jamd is in no band ([band] peers in its config)")
                        )
                    )
        finally:
            client.close()

    asyncio.run(perform())


def test_sighup_changes_the_parts_a_member_plays(tmp_path: Path) -> None:
    peer = Client()
    config = tmp_path / "jamd.toml"
    overrides = click_overrides(
        None, **{"band.name": "m", "band.peers": [f"127.0.0.1:{peer.port}"]}
    )
    config.write_text('[band]\nparts = ["drums"]\n', encoding="utf-8")

    async def perform() -> None:
        daemon = Daemon(read_settings(config, overrides), config=config, overrides=overrides)
        async with playing(daemon):
            conductor = daemon.conductor
            assert conductor is not None
            await until(lambda: conductor.session.band_parts == ("drums",))
            config.write_text('[band]\nparts = ["bass", "keys"]\n', encoding="utf-8")
            daemon.request_reload()
            await until(lambda: conductor.session.band_parts == ("bass", "keys"))
            assert conductor.settings.parts == frozenset({"bass", "keys"})

    try:
        asyncio.run(perform())
    finally:
        peer.close()

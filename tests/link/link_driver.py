"""Runs jamd daemons with Ableton Link on, inside the private network namespace the test made,
and prints what it saw as one JSON object on stdout (the test asserts on it).

``python link_driver.py two DIR``: two daemons join one session; tempo, bar lines, leaving,
bad input. ``python link_driver.py unavailable DIR``: one daemon whose aalink cannot be
imported. No timed assertions: every wait is for a value, with a generous deadline.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

REPOSITORY = Path(__file__).resolve().parents[2]
TESTS = REPOSITORY / "tests" / "live"
DEADLINE = 60.0  # seconds any one wait may take
BUFFER = 256
RATE = 48000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Jamd:
    def __init__(
        self,
        name: str,
        directory: Path,
        tempo: float,
        *,
        no_aalink: bool = False,
        autoplay: bool = True,
        port: int | None = None,
        extra: str = "",
    ):
        self.name = name
        self.port = port or free_port()
        self.log = directory / f"{name}.log"
        config = directory / f"{name}.toml"
        config.write_text(
            f"""
[audio]
backend = "null"
sample_rate = {RATE}
buffer_size = {BUFFER}
[music]
genre = "click"
tempo = {tempo}
seed = 3
[live]
song_minutes = 5.0
autoplay = {"true" if autoplay else "false"}
[osc]
port = {self.port}
beat_hz = 0
auto_subscribe = false
[midi]
enabled = false
[training]
enabled = false
[link]
enabled = true
[paths]
styles = ["{TESTS / "styles"}"]
patches = ["{TESTS / "patches"}"]
database = "{directory / name}.sqlite3"
[log]
level = "debug"
{extra}
""",
            encoding="utf-8",
        )
        code = "import sys; from jamd.cli import main; sys.exit(main())"
        if no_aalink:
            code = "import sys; sys.modules['aalink'] = None; " + code
        env = {**os.environ, "PYTHONPATH": str(REPOSITORY / "src"), "PYTHONUNBUFFERED": "1"}
        env.pop("JAMD_OSC__PORT", None)  # the suite's "any free port": this one is known
        env["XDG_STATE_HOME"] = str(directory / f"{name}-state")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, "run", "--config", str(config)],
                stdout=log,
                stderr=log,
                env=env,
            )
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def send(self, address: str, *args: Any) -> None:
        builder = OscMessageBuilder(address=address)
        for value in args:
            builder.add_arg(value)
        self.socket.sendto(builder.build().dgram, ("127.0.0.1", self.port))

    def replies(self, seconds: float = 0.3) -> list[tuple[str, tuple[Any, ...]]]:
        got: list[tuple[str, tuple[Any, ...]]] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.socket.recv(65536)
            except TimeoutError:
                continue
            if OscBundle.dgram_is_bundle(data):
                got += [
                    (m.message.address, tuple(m.message.params)) for m in OscPacket(data).messages
                ]
            else:
                message = OscMessage(data)
                got.append((message.address, tuple(message.params)))
        return got

    def state(self) -> dict[str, tuple[Any, ...]]:
        """The daemon's /jamd/state (empty while it does not answer yet)."""
        self.send("/jamd/state")
        return dict(self.replies(0.25))

    def wait_state(self, test: Any, what: str) -> dict[str, tuple[Any, ...]]:
        end = time.monotonic() + DEADLINE
        state: dict[str, tuple[Any, ...]] = {}
        while time.monotonic() < end:
            assert self.process.poll() is None, f"{self.name} ended:\n{self.text()}"
            state = self.state()
            if state and test(state):
                return state
        raise AssertionError(f"{self.name}: no {what} within {DEADLINE} s: {state}\n{self.text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def downbeats(daemons: list[Jamd], bars: int) -> list[list[list[float]]]:
    """Each daemon's (bar, session beat of its downbeat, tempo) for ``bars`` bars in a row,
    read from both in turn, so that they cover the same stretch of the session."""
    seen: list[dict[int, list[float]]] = [{} for _ in daemons]
    end = time.monotonic() + DEADLINE
    while min(map(len, seen)) < bars and time.monotonic() < end:
        for daemon, bars_seen in zip(daemons, seen, strict=True):
            state = daemon.state()
            if not state or state["/jamd/link/downbeat"][0] < 0 or state["/jamd/bar"][0] < 1:
                continue
            key = state["/jamd/song"][0] * 100000 + state["/jamd/bar"][0]
            bars_seen.setdefault(
                key,
                [state["/jamd/bar"][0], state["/jamd/link/downbeat"][0], state["/jamd/tempo"][0]],
            )
    return [[bars_seen[key] for key in sorted(bars_seen)] for bars_seen in seen]


def two(directory: Path) -> dict[str, Any]:
    first = Jamd("first", directory, 120.0)
    second = Jamd("second", directory, 100.0)
    result: dict[str, Any] = {}
    try:
        for daemon in (first, second):
            daemon.wait_state(lambda s: s["/jamd/link/peers"] == (1,), "one Link peer")
        result["peers"] = [d.state()["/jamd/link/peers"][0] for d in (first, second)]
        result["clock"] = [d.state()["/jamd/clock"][0] for d in (first, second)]
        # the session's tempo is the first one's (the second joined it) or the second's: one
        end_tempo = first.state()["/jamd/tempo"][0]
        second.wait_state(lambda s: abs(s["/jamd/tempo"][0] - end_tempo) < 0.01, "one tempo")
        first.send("/jamd/tempo", 133.0)
        state = second.wait_state(lambda s: abs(s["/jamd/tempo"][0] - 133.0) < 0.01, "133 BPM")
        result["tempo_on_second"] = state["/jamd/tempo"][0]
        result["link_tempo_on_second"] = state["/jamd/link/tempo"][0]
        for daemon in (first, second):  # both playing, at the new tempo, bar lines settled
            daemon.wait_state(
                lambda s: s["/jamd/transport"] == ("playing",) and s["/jamd/bar"][0] >= 1,
                "a bar playing",
            )
        result["downbeats"] = downbeats([first, second], 6)
        result["quantum"] = 4.0
        result["samples_per_beat"] = RATE * 60.0 / 133.0
        result["buffer"] = BUFFER
        # bad input: answered, nothing changes
        first.replies(0.1)
        first.send("/jamd/link", "yes")
        errors = [args for path, args in first.replies(0.5) if path == "/jamd/error"]
        result["bad_input_error"] = [list(map(str, args)) for args in errors]
        result["link_after_bad_input"] = first.state()["/jamd/link"][0]
        # leaving: the other one is alone
        second.send("/jamd/link", 0)
        state = first.wait_state(lambda s: s["/jamd/link/peers"] == (0,), "no peers")
        result["peers_after_leave"] = state["/jamd/link/peers"][0]
        state = second.wait_state(lambda s: s["/jamd/link"] == (0,), "Link off")
        result["second_after_leave"] = {
            "link": state["/jamd/link"][0],
            "clock": state["/jamd/clock"][0],
            "transport": state["/jamd/transport"][0],
        }
    finally:
        result["exit"] = [first.stop(), second.stop()]
        result["logs"] = {"first": first.text()[-4000:], "second": second.text()[-4000:]}
    return result


def start_stop(directory: Path) -> dict[str, Any]:
    """Both stand still until one plays: the other plays with it; one stops, so does the other."""
    first = Jamd("first", directory, 120.0, autoplay=False)
    second = Jamd("second", directory, 120.0, autoplay=False)
    result: dict[str, Any] = {}
    try:
        for daemon in (first, second):
            daemon.wait_state(lambda s: s["/jamd/link/peers"] == (1,), "one Link peer")
        result["before"] = [d.state()["/jamd/transport"][0] for d in (first, second)]
        first.send("/jamd/play", 1)
        state = second.wait_state(lambda s: s["/jamd/transport"] == ("playing",), "playing")
        result["second_after_play"] = state["/jamd/transport"][0]
        result["downbeats"] = downbeats([first, second], 4)
        second.send("/jamd/stop", 1)
        state = first.wait_state(lambda s: s["/jamd/transport"] == ("stopped",), "stopped")
        result["first_after_stop"] = state["/jamd/transport"][0]
        result["samples_per_beat"] = RATE * 60.0 / 120.0
        result["buffer"] = BUFFER
    finally:
        result["exit"] = [first.stop(), second.stop()]
        result["logs"] = {"first": first.text()[-4000:], "second": second.text()[-4000:]}
    return result


def alone(directory: Path) -> dict[str, Any]:
    """One daemon alone in its session: jamd's tempo is the session's, its bars on phase 0."""
    daemon = Jamd("alone", directory, 120.0)
    result: dict[str, Any] = {}
    try:
        state = daemon.wait_state(lambda s: s["/jamd/link"] == (1,), "Link on")
        result["peers"] = state["/jamd/link/peers"][0]
        daemon.send("/jamd/tempo", 90.0)
        state = daemon.wait_state(lambda s: s["/jamd/link/tempo"] == (90.0,), "90 BPM")
        result["tempo"] = [state["/jamd/tempo"][0], state["/jamd/link/tempo"][0]]
        (bars,) = downbeats([daemon], 4)
        result["downbeats"] = [bars, bars]
        result["samples_per_beat"] = RATE * 60.0 / 90.0
        result["buffer"] = BUFFER
    finally:
        result["exit"] = [daemon.stop()]
        result["log"] = daemon.text()[-4000:]
    return result


def band_member(
    name: str, directory: Path, ports: dict[str, int], parts: list[str], **options: Any
) -> Jamd:
    """A member of a band of the daemons in ``ports``, playing ``parts``."""
    peers = [f"127.0.0.1:{port}" for other, port in ports.items() if other != name]
    extra = f"""
[band]
name = "{name}"
parts = {json.dumps(parts)}
peers = {json.dumps(peers)}
"""
    return Jamd(name, directory, 120.0, port=ports[name], extra=extra, **options)


def bars_of(daemons: list[Jamd], bars: int) -> list[dict[int, list[Any]]]:
    """Each daemon's bars by session bar (its downbeat over the quantum, 4 beats): [song seed,
    section, song bar, chord, downbeat], read from all in turn for ``bars`` session bars."""
    seen: list[dict[int, list[Any]]] = [{} for _ in daemons]
    end = time.monotonic() + DEADLINE
    while min(map(len, seen)) < bars and time.monotonic() < end:
        for daemon, bars_seen in zip(daemons, seen, strict=True):
            state = daemon.state()
            if not state or state["/jamd/band/downbeat"][0] < 0:
                continue
            downbeat = state["/jamd/band/downbeat"][0]
            bars_seen.setdefault(
                round(downbeat / 4.0),
                [
                    state["/jamd/seed"][0],
                    state["/jamd/section"][0],
                    state["/jamd/bar"][0],
                    state["/jamd/chord"][0],
                    downbeat,
                ],
            )
    return seen


def band(directory: Path) -> dict[str, Any]:
    """Two members play one song, each its parts; a section jump sent to one lands on the same
    bar in both; a third joins late and is on the band's song, section and bar."""
    ports = {name: free_port() for name in ("a", "b", "c")}
    first = band_member("a", directory, ports, ["drums", "bass"])
    second = band_member("b", directory, ports, ["keys", "pad", "lead"])
    result: dict[str, Any] = {}
    third: Jamd | None = None
    try:
        for daemon in (first, second):
            daemon.wait_state(
                lambda s: s["/jamd/link/peers"] == (1,) and s["/jamd/bar"][0] >= 1, "a bar"
            )
        result["parts"] = [d.state()["/jamd/band/parts"][0] for d in (first, second)]
        result["together"] = bars_of([first, second], 4)
        bar = first.state()["/jamd/bar"][0]
        first.wait_state(lambda s: s["/jamd/bar"][0] != bar, "the next bar")
        first.send("/jamd/section/next", 1)  # early in a bar: both are read in it, then the jump
        result["after_jump"] = bars_of([first, second], 4)
        third = band_member("c", directory, ports, [])
        joined = third.wait_state(
            lambda s: s["/jamd/transport"] == ("playing",) and s["/jamd/bar"][0] >= 1, "playing"
        )
        result["third_peers"] = joined["/jamd/band/peers"][0]
        result["three"] = bars_of([first, second, third], 4)
        result["third_exit"] = third.stop()  # it leaves: the others play on
        result["after_leave"] = bars_of([first, second], 4)
        result["transport_after_leave"] = [d.state()["/jamd/transport"][0] for d in (first, second)]
        result["samples_per_beat"] = RATE * 60.0 / 120.0
        result["buffer"] = BUFFER
    finally:
        daemons = [first, second] + ([third] if third is not None else [])
        result["exit"] = [daemon.stop() for daemon in daemons]
        result["logs"] = {d.name: d.text()[-6000:] for d in daemons}
    return result


def unavailable(directory: Path) -> dict[str, Any]:
    daemon = Jamd("alone", directory, 120.0, no_aalink=True)
    result: dict[str, Any] = {}
    try:
        state = daemon.wait_state(lambda s: s["/jamd/transport"] == ("playing",), "playing")
        result["state"] = {path: list(state[path]) for path in ("/jamd/link", "/jamd/clock")}
        daemon.replies(0.1)
        daemon.send("/jamd/link", 1)
        result["errors"] = [
            list(map(str, args)) for path, args in daemon.replies(0.5) if path == "/jamd/error"
        ]
    finally:
        result["exit"] = [daemon.stop()]
        result["log"] = daemon.text()
    return result


if __name__ == "__main__":
    scenario, folder = sys.argv[1], Path(sys.argv[2])
    outcome = {
        "two": two,
        "start-stop": start_stop,
        "alone": alone,
        "unavailable": unavailable,
        "band": band,
    }[scenario](folder)
    sys.stdout.write(json.dumps(outcome) + "\n")

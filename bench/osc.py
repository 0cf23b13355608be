"""OSC benchmark (docs/performance.md): throughput with 8 subscribers, round-trip latency,
and xruns under a stream of messages.

The daemon runs in this process on a private JACK server (``jackd -d dummy``, 48 kHz); the
clients are other processes sending UDP to 127.0.0.1, so their work is not the daemon's.

- throughput: a sender process sends fader moves at 2,000 to 20,000 a second for
  ``--rate-seconds`` each while 8 subscribers take the feedback; the figures are messages the
  daemon parsed per second and those lost (the socket's buffer overflowed).
- latency: one fader move at a time. Arrival to engine: from the client's ``sendto`` (on
  loopback the datagram is in jamd's socket microseconds later, so this bounds the time from
  arrival from above) to the moment the engine's process applied the new fader to its DSP
  graph (``EngineProcess.faders_applied``: both on ``time.monotonic``): parse, bus, conductor,
  the request to the engine's process, applied. And sent to feedback received: parse, bus,
  conductor, feedback built, sent and read. p50 and p99 of each.
- floor: a UDP round trip between two other processes while jamd plays, the machine's own
  cost of the two wake-ups arrival to engine needs.
- xruns: ``--seconds`` of 2,000 messages/s at 256 frames; JACK's count after the first second.

Run: .venv/bin/python bench/osc.py [throughput|latency|floor|xruns|all] [--rate-seconds 3]
     [--seconds 30] [--realtime]
Targets (issue 4): >= 5,000 messages/s parsed, p99 <= 2 ms arrival to engine, 0 xruns.
"""

import argparse
import asyncio
import multiprocessing
import socket
import time
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

import live
from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.engine.process import EngineProcess

PARTS = ("drums", "bass", "keys", "pad", "lead")


def fader(n: int) -> bytes:
    builder = OscMessageBuilder(address=f"/jamd/track/{PARTS[n % 5]}/volume")
    builder.add_arg((n % 997) / 996.0)
    return bytes(builder.build().dgram)


def blast(port: int, count: int, rate: float) -> None:
    """In another process: ``count`` messages, at ``rate`` a second (0: as fast as it can)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        packets = [fader(n) for n in range(997)]
        began = time.monotonic()
        for n in range(count):
            if rate:
                delay = began + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            sock.sendto(packets[n % 997], ("127.0.0.1", port))


def subscriber(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    builder = OscMessageBuilder(address="/jamd/subscribe")
    sock.sendto(builder.build().dgram, ("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def drain(sockets: list[socket.socket]) -> int:
    received = 0
    for sock in sockets:
        while True:
            try:
                sock.recv(65536)
            except BlockingIOError:
                break
            received += 1
    return received


async def started(server: str, **extra: Any) -> tuple[Daemon, asyncio.Task[int]]:
    settings = live.settings_for(server, "process")
    settings = settings.model_copy(
        update={"osc": settings.osc.model_copy(update={"beat_hz": 0.0, **extra})}
    )
    daemon = Daemon(settings, notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    return daemon, task


async def measure_throughput(server: str, seconds: float) -> None:
    daemon, task = await started(server)
    assert daemon.osc is not None
    assert daemon.osc_address is not None
    port = daemon.osc_address[1]
    subscribers = [subscriber(port) for _ in range(8)]
    await asyncio.sleep(0.5)
    print(f"throughput over {seconds:g} s at each rate, fader moves, 8 subscribers:")
    for rate in (2_000, 5_000, 10_000, 20_000):
        drain(subscribers)
        before = daemon.osc.stats.received
        count = int(rate * seconds)
        sender = multiprocessing.Process(target=blast, args=(port, count, float(rate)))
        began = time.monotonic()
        sender.start()
        feedback = 0
        while sender.is_alive():
            await asyncio.sleep(0.005)
            feedback += drain(subscribers)
        sender.join()
        await asyncio.sleep(0.3)
        feedback += drain(subscribers)
        elapsed = time.monotonic() - began - 0.3
        parsed = daemon.osc.stats.received - before
        print(
            f"  sent {rate:>6,}/s: parsed {parsed / elapsed:>7,.0f}/s, {count - parsed} of "
            f"{count} lost, {feedback / elapsed:,.0f} feedback packets/s taken",
            flush=True,
        )
    daemon.stop()
    await task


def probe(port: int, engine: EngineProcess, count: int, results: Any) -> None:
    """In a process forked from the daemon's (so the engine's shared memory is mapped here
    too, and this process's polling is not the daemon's work): one fader move at a time, then
    wait for the engine to apply it and for its feedback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(1.0)
    to_engine, to_feedback = [], []
    for n in range(count):
        builder = OscMessageBuilder(address="/jamd/track/keys/pan")
        builder.add_arg(0.01 + (n % 98) / 100.0)
        data = builder.build().dgram
        applied, _ = engine.faders_applied()
        sent = time.monotonic()
        sock.sendto(data, ("127.0.0.1", port))
        back = None
        while back is None:
            reply = sock.recv(65536)
            if any(t.message.address == "/jamd/track/keys/pan" for t in OscPacket(reply).messages):
                back = time.monotonic()
        to_feedback.append((back - sent) * 1000)
        deadline = time.monotonic() + 1.0
        while engine.faders_applied()[0] == applied and time.monotonic() < deadline:
            time.sleep(0.0001)
        done, at = engine.faders_applied()
        if done == applied + 1:  # exactly this move (else it is left out, and counted)
            to_engine.append((at - sent) * 1000)
        time.sleep(0.01 + (n % 7) / 1000)
    results.send((to_engine, to_feedback))


async def measure_latency(server: str, count: int) -> None:
    daemon, task = await started(server, auto_subscribe=True)
    assert daemon.osc_address is not None
    engine = daemon.engine
    assert isinstance(engine, EngineProcess)
    fork = multiprocessing.get_context("fork")
    mine, theirs = fork.Pipe()
    prober = fork.Process(target=probe, args=(daemon.osc_address[1], engine, count, theirs))
    prober.start()
    while not mine.poll():
        await asyncio.sleep(0.05)
    to_engine, to_feedback = mine.recv()
    prober.join()
    for name, values in (
        ("arrival to the engine's parameter change", to_engine),
        ("sent to its feedback received", to_feedback),
    ):
        print(
            f"latency, {name}, {len(values)} of {count} fader moves: " + live.percentiles(values),
            flush=True,
        )
    daemon.stop()
    await task


def echo(ready: Any) -> None:
    """In another process: send back every datagram (the floor: two wake-ups and nothing else)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        ready.send(sock.getsockname()[1])
        while True:
            data, peer = sock.recvfrom(2048)
            if data == b"stop":
                return
            sock.sendto(data, peer)


def ping(port: int, count: int, results: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        times = []
        for _ in range(count):
            sent = time.monotonic()
            sock.sendto(b"x" * 32, ("127.0.0.1", port))
            sock.recv(2048)
            times.append((time.monotonic() - sent) * 1000)
            time.sleep(0.01)
        sock.sendto(b"stop", ("127.0.0.1", port))
    results.send(times)


async def measure_floor(server: str, count: int) -> None:
    """What the machine itself takes to pass a datagram to a process and back while jamd
    plays: the same two wake-ups as arrival to engine (client to daemon, daemon to engine),
    with no work in between."""
    daemon, task = await started(server)
    fork = multiprocessing.get_context("fork")
    mine, theirs = fork.Pipe()
    echoer = fork.Process(target=echo, args=(theirs,))
    echoer.start()
    port = mine.recv()
    pinger = fork.Process(target=ping, args=(port, count, theirs))
    pinger.start()
    while not mine.poll():
        await asyncio.sleep(0.05)
    times = mine.recv()
    pinger.join()
    echoer.join()
    print(
        f"floor, a UDP round trip between two other processes while jamd plays, {count}: "
        + live.percentiles(times)
    )
    daemon.stop()
    await task


async def measure_xruns(server: str, seconds: float) -> None:
    daemon, task = await started(server)
    assert daemon.osc_address is not None
    assert daemon.osc is not None
    port = daemon.osc_address[1]
    subscribers = [subscriber(port) for _ in range(8)]
    sender = multiprocessing.Process(target=blast, args=(port, int(2000 * (seconds + 1)), 2000.0))
    sender.start()
    await asyncio.sleep(1.0)
    first = daemon.engine.stats()
    before = daemon.osc.stats.received
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        await asyncio.sleep(0.01)
        drain(subscribers)
    last = daemon.engine.stats()
    rate = (daemon.osc.stats.received - before) / (time.monotonic() - began)
    sender.join()
    print(
        f"xruns over {seconds:g} s of {rate:,.0f} messages/s at 256 frames, 8 subscribers: "
        f"{last.xruns - first.xruns} (first second {first.xruns}); underruns "
        f"{last.underruns - first.underruns}, late notes {last.late_notes - first.late_notes}"
    )
    daemon.stop()
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "part",
        nargs="?",
        default="all",
        choices=("throughput", "latency", "floor", "xruns", "all"),
    )
    parser.add_argument("--rate-seconds", type=float, default=3.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--realtime", action="store_true", help="jackd with realtime scheduling")
    arguments = parser.parse_args()
    with live.bench_jack(arguments.realtime) as server:
        if arguments.part in ("throughput", "all"):
            asyncio.run(measure_throughput(server, arguments.rate_seconds))
        if arguments.part in ("latency", "all"):
            asyncio.run(measure_latency(server, arguments.count))
        if arguments.part in ("floor", "all"):
            asyncio.run(measure_floor(server, arguments.count))
        if arguments.part in ("xruns", "all"):
            asyncio.run(measure_xruns(server, arguments.seconds))


if __name__ == "__main__":
    main()

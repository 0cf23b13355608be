"""OSC benchmark (docs/performance.md): throughput with 8 subscribers, round-trip latency,
and xruns under a stream of messages.

The daemon runs in this process on a private JACK server (``jackd -d dummy``, 48 kHz); the
clients are other processes sending UDP to 127.0.0.1, so their work is not the daemon's.

- throughput: a sender process sends fader moves at 2,000 to 20,000 a second for
  ``--rate-seconds`` each while 8 subscribers take the feedback; the figures are messages the
  daemon parsed per second and those lost (the socket's buffer overflowed).
- latency: one fader move at a time, from sending it to receiving its feedback: parse, bus,
  conductor (which sends the engine its new fader), feedback built and sent. p50 and p99.
- xruns: ``--seconds`` of 2,000 messages/s at 256 frames; JACK's count after the first second.

Run: .venv/bin/python bench/osc.py [throughput|latency|xruns|all] [--rate-seconds 3]
     [--seconds 30] [--realtime]
Targets (issue 4): >= 5,000 messages/s parsed, p99 <= 2 ms arrival to engine, 0 xruns.
"""

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import time
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

import live
from jamd.app.daemon import Daemon
from jamd.app.notify import Notifier
from jamd.logs import configure_logging

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


async def measure_latency(server: str, count: int) -> None:
    daemon, task = await started(server, auto_subscribe=True)
    assert daemon.osc_address is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    times = []
    for n in range(count):
        position = 0.01 + (n % 98) / 100.0
        builder = OscMessageBuilder(address="/jamd/track/keys/pan")
        builder.add_arg(position)
        data = builder.build().dgram
        sent = time.perf_counter()
        sock.sendto(data, daemon.osc_address)
        back = None
        while back is None:
            await asyncio.sleep(0)
            try:
                reply = sock.recv(65536)
            except BlockingIOError:
                continue
            for timed in OscPacket(reply).messages:
                if timed.message.address == "/jamd/track/keys/pan":
                    back = time.perf_counter()
        times.append((back - sent) * 1000)
        await asyncio.sleep(0.01 + (n % 7) / 1000)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    print(
        f"latency, message sent to its feedback received, {count} fader moves: "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms"
    )
    del loop
    sock.close()
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
        "part", nargs="?", default="all", choices=("throughput", "latency", "xruns", "all")
    )
    parser.add_argument("--rate-seconds", type=float, default=3.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--realtime", action="store_true", help="jackd with realtime scheduling")
    arguments = parser.parse_args()
    live.REALTIME = arguments.realtime
    configure_logging("error")
    os.environ["PYO_GUI_WX"] = "0"
    print(f"jackd {'--realtime' if live.REALTIME else '--no-realtime'} -d dummy -r 48000 -p 256")
    with live.jack_server(256) as server:
        if arguments.part in ("throughput", "all"):
            asyncio.run(measure_throughput(server, arguments.rate_seconds))
        if arguments.part in ("latency", "all"):
            asyncio.run(measure_latency(server, arguments.count))
        if arguments.part in ("xruns", "all"):
            asyncio.run(measure_xruns(server, arguments.seconds))


if __name__ == "__main__":
    main()

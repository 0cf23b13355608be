"""JACK MIDI peers that keep exact time, each in a process of its own (spawned), for the clock's
tests and its benchmark (bench/midi.py imports them): a master writing Start, 24 ticks a beat
and Stop at exact frames into ``jamd in``, and a listener recording the frame of everything
``jamd out`` sends. JACK-Client's process callbacks run Python: in a process of their own the
daemon's loop cannot make them late.
"""

import math
import os
import random
import time
from typing import Any

RATE = 48000
START_SECONDS = 1.0  # the master's Start comes this long after its client runs


def clock_master(
    server: str, tempos: list[float], jitter: int, results: Any, *, stop: bool = True
) -> None:
    """Ticks at ``tempos`` (one tempo per tick), each moved by up to ``jitter`` frames at
    random; sends back the ideal tick frames and the frame-to-monotonic offset."""
    import jack  # noqa: PLC0415

    os.environ["JACK_DEFAULT_SERVER"] = server
    client = jack.Client("test-master", no_start_server=True)
    port = client.midi_outports.register("out")
    generator = random.Random(11)
    ideal, frame = [], 0.0
    for bpm in tempos:
        ideal.append(frame)
        frame += RATE * 60.0 / (bpm * 24)
    events = [(-480.0, b"\xfa")]
    events += [(f + generator.uniform(-jitter, jitter), b"\xf8") for f in ideal]
    if stop:
        events.append((frame, b"\xfc"))
    state: dict[str, Any] = {"origin": None, "next": 0, "wakes": []}

    @client.set_process_callback
    def process(frames: int) -> None:
        port.clear_buffer()
        base = client.last_frame_time
        if len(state["wakes"]) < 20000:
            state["wakes"].append((base, time.monotonic()))
        if state["origin"] is None:
            state["origin"] = base + START_SECONDS * RATE
        origin = state["origin"]
        while state["next"] < len(events):
            at, data = events[state["next"]]
            offset = math.floor(origin + at) - base
            if offset >= frames:
                break
            port.write_midi_event(max(0, offset), data)
            state["next"] += 1

    client.activate()
    target = next(
        p.name for p in client.get_ports(is_midi=True, is_input=True) if p.name.endswith(":jamd in")
    )
    client.connect(port, target)
    while state["next"] < len(events):
        time.sleep(0.05)
    time.sleep(0.2)
    client.deactivate()
    offset = min(moment - base / RATE for base, moment in state["wakes"])
    results.send(([state["origin"] + f for f in ideal], offset))
    client.close()


def listener(server: str, seconds: float, results: Any) -> None:
    """Everything ``jamd out`` sends for ``seconds``: (frame, message) pairs."""
    import jack  # noqa: PLC0415

    os.environ["JACK_DEFAULT_SERVER"] = server
    client = jack.Client("test-clock-in", no_start_server=True)
    port = client.midi_inports.register("in")
    got: list[tuple[int, bytes]] = []

    @client.set_process_callback
    def process(frames: int) -> None:
        base = client.last_frame_time
        for offset, data in port.incoming_midi_events():
            got.append((base + offset, bytes(data)))

    client.activate()
    source = next(
        p.name
        for p in client.get_ports(is_midi=True, is_output=True)
        if p.name.endswith(":jamd out")
    )
    client.connect(source, port)
    results.send("listening")
    time.sleep(seconds)
    client.deactivate()
    results.send(got)
    client.close()


def controller(server: str, count: int, results: Any) -> None:
    """``count`` CCs (fader 1 of the default map) into ``jamd in``, each written at a random
    frame of a cycle, 7 cycles apart; sends back the monotonic time each one's cycle began
    (when the event is there for every client of that cycle to read)."""
    import jack  # noqa: PLC0415

    os.environ["JACK_DEFAULT_SERVER"] = server
    client = jack.Client("test-controller", no_start_server=True)
    port = client.midi_outports.register("out")
    generator = random.Random(5)
    state: dict[str, Any] = {"cycle": 0, "frames": [], "wakes": []}

    def process(frames: int) -> None:
        port.clear_buffer()
        base = client.last_frame_time
        state["wakes"].append((base, time.monotonic()))
        state["cycle"] += 1
        sent = state["frames"]
        if state["cycle"] > 100 and state["cycle"] % 7 == 0 and len(sent) < count:
            offset = generator.randrange(frames)
            port.write_midi_event(offset, bytes((0xB0, 41, 20 + len(sent) % 100)))
            sent.append(base)

    client.set_process_callback(process)
    client.activate()
    target = next(
        p.name for p in client.get_ports(is_midi=True, is_input=True) if p.name.endswith(":jamd in")
    )
    client.connect(port, target)
    while len(state["frames"]) < count:
        time.sleep(0.05)
    time.sleep(0.2)
    client.deactivate()
    offset = min(moment - base / RATE for base, moment in state["wakes"])
    results.send([frame / RATE + offset for frame in state["frames"]])
    client.close()

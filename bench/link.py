"""Ableton Link benchmark: two jamd daemons in one session, inside a private network namespace.

Link multicasts, so this never runs on the machine's network: it starts itself again under
``unshare -n`` (loopback up, multicast routed to it; needs root) unless it is in one already.
The first daemon plays at 120 BPM; the second joins its session. Then, for ``--seconds``
(default 120), the tempo changes every 8 bars (sent to one daemon, then the other, in turn:
120, 133, 97, 150, ...), and both are asked for their state in turn: each bar's downbeat as a
session beat, as each daemon's own sample clock places it (``/jamd/link/downbeat``).

- *phase difference*: for every session bar both played, the difference between the two
  daemons' downbeats, in ms at the bar's tempo: p50, p99, max;
- *time to lock*: from the second daemon's "joined the session" to the first bar line it put
  on the session's (its log: when it scheduled that, and how far ahead); and, as an upper
  bound that needs no log, from starting the second daemon's process to the first time its
  bar's downbeat is read on a session bar line (within 0.01 beat).

Link shares the tempo and the phase, not a count of beats: a daemon that joins later counts
the session's beats from its own start (whole bars apart from the first daemon's count). The
phase difference pairs the two daemons' bars by their own bar numbers on that count, so it is
the difference of the two downbeats' distances from the session's bar line (phase 0).

With ``--band N``, a band instead (docs/band.md): two members play one song (the drums and
bass on one, the rest on the other); a third member starts N times, a second or two apart
(another phase of the bar each time), and stops again. For each join: the *time to lock*, from
its "joined the session" to the moment it plays the band's bar (its log: when it took the
band's song, and how far ahead that sounds), checked against the first member's bar for the
same downbeat (song, section, bar, chord); and its Link lock as above. Then tempo changes sent
to one member: from the command's log line to the other's new tempo (its log), in ms and beats.

Run: .venv/bin/python bench/link.py [--seconds 120] [--band 8]
Targets (issue 8): p99 <= 1 ms; lock within one bar.
"""

import argparse
import datetime
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "link"))

import link_driver as driver  # the tests' daemon runner, on the path just above

TEMPOS = (133.0, 97.0, 150.0, 120.0)
IN_NAMESPACE = "BENCH_LINK_IN_NAMESPACE"  # not JAMD_: that prefix is for settings


def stamp(line: str) -> float:
    moment = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return moment.timestamp()


def lock_ms(log: str) -> float | None:
    joined = next((line for line in log.splitlines() if "Link: joined the session" in line), None)
    locked = next((line for line in log.splitlines() if "bar lines on the session's" in line), None)
    if joined is None or locked is None:
        return None
    ahead = re.search(r"\(in ([\d.]+) ms\)", locked)
    return (stamp(locked) - stamp(joined)) * 1000 + (float(ahead.group(1)) if ahead else 0.0)


def measure(seconds: float) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="jamd-bench-link-"))
    first = driver.Jamd("first", directory, 120.0)
    first.wait_state(lambda s: s["/jamd/transport"] == ("playing",), "playing")
    spawned = time.monotonic()
    second = driver.Jamd("second", directory, 100.0)
    daemons = [first, second]
    downbeats: list[dict[int, tuple[float, float]]] = [{}, {}]  # session bar: (beat, tempo)
    locked: float | None = None
    try:
        end = time.monotonic() + seconds
        changes, last_change_bar = 0, None
        while time.monotonic() < end:
            for index, daemon in enumerate(daemons):
                state = daemon.state()
                if not state or state["/jamd/link/downbeat"][0] < 0:
                    continue
                beat, tempo = state["/jamd/link/downbeat"][0], state["/jamd/tempo"][0]
                session_bar = round(beat / 4.0)
                downbeats[index].setdefault(session_bar, (beat, tempo))
                on_grid = abs(beat - session_bar * 4.0) < 0.01  # Link phase 0: a bar line
                if locked is None and index == 1 and on_grid:
                    locked = time.monotonic() - spawned
                if last_change_bar is None:
                    last_change_bar = session_bar
                if index == 0 and session_bar - last_change_bar >= 8:
                    daemons[changes % 2].send("/jamd/tempo", TEMPOS[changes % len(TEMPOS)])
                    changes += 1
                    last_change_bar = session_bar
    finally:
        codes = [daemon.stop() for daemon in daemons]
    common = sorted(set(downbeats[0]) & set(downbeats[1]))
    differences = [
        abs(downbeats[0][bar][0] - downbeats[1][bar][0]) * 60000.0 / downbeats[0][bar][1]
        for bar in common
    ]
    return {
        "bars": len(common),
        "tempo_changes": changes,
        "differences": differences,
        "lock_ms": lock_ms(second.text()),
        "lock_polled_ms": None if locked is None else locked * 1000,
        "bar_ms_at_join": 4 * 60000.0 / 120.0,
        "exit": codes,
    }


def band_lock_ms(log: str) -> float | None:
    """From "joined the session" to when the band's bar sounds (the adoption's log line)."""
    lines = log.splitlines()
    joined = next((line for line in lines if "Link: joined the session" in line), None)
    took = next((line for line in lines if "band: " in line and "'s song: " in line), None)
    if joined is None or took is None:
        return None
    ahead = re.search(r"\(plays in ([\d.]+) ms\)", took)
    return (stamp(took) - stamp(joined)) * 1000 + (float(ahead.group(1)) if ahead else 0.0)


def tempo_ms(sender: str, receiver: str, bpm: float) -> float | None:
    """From the sender's taking ``bpm`` (its debug line) to the receiver's session at it."""
    shown = f"{bpm:g} BPM"
    sent = next((line for line in sender.splitlines() if f"SetTempo(bpm={bpm})" in line), None)
    if sent is None:
        return None
    after = stamp(sent)
    got = next(
        (
            line
            for line in receiver.splitlines()
            if f", {shown}" in line and "jamd: playing" in line and stamp(line) >= after - 0.001
        ),
        None,
    )
    return None if got is None else (stamp(got) - after) * 1000


def measure_band(joins: int) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="jamd-bench-band-"))
    ports = {name: driver.free_port() for name in ("a", "b", "c")}
    first = driver.band_member("a", directory, ports, ["drums", "bass"])
    second = driver.band_member("b", directory, ports, ["keys", "pad", "lead"])
    locks: list[float] = []
    link_locks: list[float] = []
    right: list[bool] = []
    tempos: list[tuple[float, float]] = []
    try:
        for daemon in (first, second):
            daemon.wait_state(lambda s: s["/jamd/bar"][0] >= 1, "a bar")
        for join in range(joins):
            time.sleep(0.6 + 0.37 * join % 2.0)  # another phase of the bar each time
            third = driver.Jamd(
                f"c{join}",
                directory,
                120.0,
                port=ports["c"],
                extra=f'[band]\nname = "c"\npeers = ["127.0.0.1:{ports["a"]}", '
                f'"127.0.0.1:{ports["b"]}"]\n',
            )
            try:
                third.wait_state(lambda s: s["/jamd/bar"][0] >= 1, "the band's bar")
                theirs, mine = driver.bars_of([first, third], 2)
                common = set(theirs) & set(mine)
                right.append(bool(common) and all(theirs[k][:4] == mine[k][:4] for k in common))
            finally:
                third.stop()
            lock = band_lock_ms(third.text())
            if lock is not None:
                locks.append(lock)
            link = lock_ms(third.text())
            if link is not None:
                link_locks.append(link)
        for bpm, daemon in zip(
            (133.0, 97.0, 150.0, 120.0), (first, second, first, second), strict=True
        ):
            daemon.send("/jamd/tempo", bpm)
            other = second if daemon is first else first
            other.wait_state(lambda s, bpm=bpm: abs(s["/jamd/tempo"][0] - bpm) < 0.01, f"{bpm}")
            time.sleep(0.5)
            took = tempo_ms(daemon.text(), other.text(), bpm)
            if took is not None:
                tempos.append((took, took * bpm / 60000.0))
    finally:
        codes = [daemon.stop() for daemon in (first, second)]
    return {
        "locks": locks,
        "link_locks": link_locks,
        "right": right,
        "tempos": tempos,
        "exit": codes,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--band", type=int, default=0, help="late joins of a band member")
    arguments = parser.parse_args()
    if os.environ.get(IN_NAMESPACE) != "1":
        script = (
            "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"
            f" && exec {shlex.quote(sys.executable)} {shlex.quote(__file__)}"
            f" --seconds {arguments.seconds} --band {arguments.band}"
        )
        environment = {**os.environ, IN_NAMESPACE: "1"}
        return subprocess.run(
            ["unshare", "-n", "sh", "-c", script], env=environment, check=False
        ).returncode
    if arguments.band:
        return report_band(measure_band(arguments.band))
    result = measure(arguments.seconds)
    differences = result["differences"]
    out = sys.stdout
    out.write(f"bars compared: {result['bars']}, tempo changes: {result['tempo_changes']}\n")
    if differences:
        out.write(
            "phase difference between the two daemons' downbeats (ms): "
            f"p50 {statistics.median(differences):.3f}, "
            f"p99 {percentile(differences, 0.99):.3f}, max {max(differences):.3f}\n"
        )
    lock = result["lock_ms"]
    shown = "not seen" if lock is None else f"{lock:.0f} ms"
    out.write(f"time to lock (joined -> first bar line on the session's): {shown} ")
    out.write(f"(a bar at 120 BPM: {result['bar_ms_at_join']:.0f} ms)\n")
    polled = result["lock_polled_ms"]
    shown = "not seen" if polled is None else f"{polled:.0f} ms"
    out.write(f"time to lock, polled upper bound (process start -> downbeats equal): {shown}\n")
    out.write(f"exit codes: {result['exit']}\n")
    return 0


def report_band(result: dict[str, Any]) -> int:
    out, bar = sys.stdout, 4 * 60000.0 / 120.0
    locks, links = result["locks"], result["link_locks"]
    out.write(f"late joins: {len(result['right'])}, on the band's bar: {sum(result['right'])}\n")
    if locks:
        out.write(
            "time to lock (joined -> the band's bar sounds, ms): "
            f"p50 {statistics.median(locks):.0f}, max {max(locks):.0f} "
            f"(a bar at 120 BPM: {bar:.0f} ms; in bars: max {max(locks) / bar:.2f})\n"
        )
    if links:
        out.write(
            "Link lock of the same joins (joined -> bar lines on the session's, ms): "
            f"p50 {statistics.median(links):.0f}, max {max(links):.0f}\n"
        )
    for took, beats in result["tempos"]:
        out.write(f"tempo change reached the other member in {took:.0f} ms ({beats:.2f} beats)\n")
    out.write(f"exit codes: {result['exit']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

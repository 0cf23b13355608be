"""Patch changes over OSC while the daemon plays on JACK (dummy driver): each is taken, lands
and plays, the audio never breaks, and no change costs an xrun.

JACK runs realtime here, as on a studio machine: without it, JACK's threads and the engine's
queue behind whatever else the shared machine runs, and the count says more about that than
about a patch change (it is a failure, not a skip, when this machine cannot run it realtime).
Xruns can still come in bursts from outside (they hit quiet moments as well).
So each change is judged with a quiet window on either side: a change with an xrun while both
its neighbours are clean is one the change caused. Most changes must be judged, so the test
cannot pass on a machine too busy to tell. This machine is also a virtual one whose host takes
its CPUs away at times: the time it took in each change window (steal in /proc/stat, 10 ms
ticks) is in the failure message. It is not used to excuse a window: most windows here lose a
tick or more, with or without an xrun, so it does not tell one cause from another.

The plucked patches are left out: a change to one, followed by a bar of pitches it has not
played yet, can still cost an xrun here (their strings take 2 to 14 ms a note to make; see
docs/performance.md).
"""

import asyncio
import time
from pathlib import Path

import numpy as np
from helpers import Client, click_overrides, playing, until

from jamd.app.daemon import Daemon
from jamd.engine.interface import Recording
from jamd.engine.wavfile import read_wav
from jamd.settings import load_settings

SWAPS = ["keys/organ", "pad/glass", "keys/grand", "pad/warm", "keys/epiano", "pad/supersaw"]


def test_patch_changes_over_osc_cause_no_xruns(
    jack_server: str, jack_realtime: bool, tmp_path: Path
) -> None:
    assert jack_realtime, (
        "this test needs JACK realtime: run it as root, or as a member of the audio group "
        "(Debian's jackd2 gives it an rtprio limit)"
    )
    wait_for_the_host()
    overrides = click_overrides(
        jack_server,
        **{
            "music.genre": "electronic",
            "music.tempo": 160.0,  # 1.5 s bars
            "paths.styles": [],
            "paths.patches": [],
            "audio.jack_client": "jamd-swaps",
            "log.level": "info",
        },
    )
    settings = load_settings(None, environ={}, overrides=overrides)
    master = tmp_path / "master.wav"

    async def perform() -> tuple[list[int], list[tuple[int, int, int, int]], int, list[int]]:
        daemon = Daemon(settings, recording=Recording(master=master))
        async with playing(daemon):
            client = Client()
            try:
                await asyncio.sleep(1.0)  # JACK's first second: the client connecting
                policies = scheduling_policies(daemon.engine.pid)

                async def xruns_over(seconds: float) -> int:
                    before = daemon.engine.stats().xruns
                    await asyncio.sleep(seconds)
                    return daemon.engine.stats().xruns - before

                taken, xruns = [], []
                for name in SWAPS:
                    address = f"/jamd/track/{name.split('/')[0]}/patch"
                    quiet_before = await xruns_over(0.25)
                    before, stolen = daemon.engine.stats(), stolen_ticks()
                    client.send(daemon, address, name)
                    await client.until(lambda r, a=address, n=name: r == (a, (n,)))
                    await until(
                        lambda c=before: daemon.engine.stats().patch_changes > c.patch_changes
                    )
                    await asyncio.sleep(0.2)  # the engine built the patch: what it cost shows
                    after, stolen = daemon.engine.stats(), stolen_ticks() - stolen
                    await asyncio.sleep(1.0)  # it lands on the next bar and plays
                    quiet_after = await xruns_over(0.25)
                    taken.append(after.patch_changes - before.patch_changes)
                    xruns.append((quiet_before, after.xruns - before.xruns, quiet_after, stolen))
                broken = daemon.engine.stats().broken_buffers
            finally:
                client.close()
            assert daemon.osc is not None
            assert daemon.osc.stats.errors == 0
        return taken, xruns, broken, policies

    taken, xruns, broken, policies = asyncio.run(perform())
    # every thread of the engine realtime: JACK's audio thread, and its own under it
    assert set(policies) == {SCHED_FIFO}, policies
    assert taken == [1] * len(SWAPS)
    assert broken == 0
    judged = [change for before, change, after, _ in xruns if before == after == 0]
    assert len(judged) >= 4, (
        f"the machine is too busy to tell (xruns before, in, after each; steal ticks: {xruns})"
    )
    assert judged == [0] * len(judged), (
        f"xruns a change caused (xruns before, in, after each; steal ticks: {xruns})"
    )
    audio, _ = read_wav(master)
    assert np.all(np.isfinite(audio))
    assert float(np.sqrt(np.mean(audio[48000:] ** 2))) > 0.01  # it played throughout


QUIET_WAIT_SECONDS = 90.0


def wait_for_the_host() -> None:
    """Wait (at most ``QUIET_WAIT_SECONDS``) for a second in which the host takes no CPU time
    from this machine. A fresh clone's CI reaches this test right after installing, and there
    the host took 30 to 40 ticks of 10 ms in each 0.4 s change window (xruns in all of them),
    while the same test run alone minutes later passed with none (the host evening out the
    install's burst, most likely). What follows is judged either way."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    while time.monotonic() < deadline:
        before = stolen_ticks()
        time.sleep(1.0)
        if stolen_ticks() == before:
            return


SCHED_FIFO = 1  # the policy field of /proc/PID/task/TID/stat


def scheduling_policies(pid: int) -> list[int]:
    """The scheduling policy of each thread of process ``pid``."""
    policies = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        policies.append(int(fields[38]))  # field 41 of stat(5), counted after the name
    return policies


def stolen_ticks() -> int:
    """The time the hypervisor took from this machine's CPUs so far, in clock ticks (the
    steal column of /proc/stat; 0 on bare metal)."""
    with open("/proc/stat", encoding="ascii") as stat:
        return sum(
            int(line.split()[8]) for line in stat if line.startswith("cpu") and line[3] != " "
        )

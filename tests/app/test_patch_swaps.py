"""Patch changes over OSC while the daemon plays on JACK (dummy driver): each is taken, lands and
plays, the audio never breaks, and no change costs an xrun.

JACK runs realtime here, as on a studio machine: without it, JACK's threads and the engine's
queue behind whatever else the shared machine runs, and the count says more about that than
about a patch change (it is a failure, not a skip, when this machine cannot run it realtime).
Xruns can still come in bursts from outside (they hit quiet moments as well). So each change is
judged with a quiet window on either side: a change with an xrun while both its neighbours are
clean is one the change caused, if it does so every time it is judged (the changes are made
three times, in the same order; a change tells when it is judged twice or more). The rounds are
there because this machine, a virtual one whose host takes its CPUs away at times, put xruns in
single change windows with both neighbours clean, in a fresh clone's CI (the host having taken
10 ticks of 10 ms in that window) and in runs of this test alone (2 xruns after three of six
changes in one round, none after the same changes in the next). The price: a change that costs
an xrun only now and then passes; the bench in docs/performance.md counts every one. Most
changes must be judged, so the test cannot pass on a machine too busy to tell. The time the
host took in each change window (steal in /proc/stat) is in the failure message; it is not used
to excuse a window: most windows here lose a tick or more, with or without an xrun, so it does
not tell one cause from another.

The plucked patches are left out: a change to one, followed by a bar of pitches it has not
played yet, can still cost an xrun here (their strings take 2 to 14 ms a note to make; see
docs/performance.md).
"""

import asyncio
from pathlib import Path

import numpy as np
from helpers import Client, click_overrides, playing, stolen_ticks, until, wait_for_the_host

from jamd.app.daemon import Daemon
from jamd.engine.interface import Recording
from jamd.engine.wavfile import read_wav
from jamd.settings import load_settings

SWAPS = ["keys/organ", "pad/glass", "keys/grand", "pad/warm", "keys/epiano", "pad/supersaw"]
ROUNDS = 3  # each change is made this often; one judged twice or more tells


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
                for name in SWAPS * ROUNDS:
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
    assert taken == [1] * len(SWAPS) * ROUNDS
    assert broken == 0
    # each change's windows, judged (both neighbours clean), in the first and second round
    judged = {
        name: [
            change for before, change, after, _ in xruns[i :: len(SWAPS)] if before == after == 0
        ]
        for i, name in enumerate(SWAPS)
    }
    shown = f"(xruns before, in, after each; steal ticks: {xruns})"
    told = {name: rounds for name, rounds in judged.items() if len(rounds) >= 2}
    assert len(told) >= 4, f"the machine is too busy to tell {shown}"
    caused = [name for name, rounds in told.items() if all(rounds)]
    assert caused == [], f"xruns these changes caused every time they were made: {caused} {shown}"
    audio, _ = read_wav(master)
    assert np.all(np.isfinite(audio))
    assert float(np.sqrt(np.mean(audio[48000:] ** 2))) > 0.01  # it played throughout


SCHED_FIFO = 1  # the policy field of /proc/PID/task/TID/stat


def scheduling_policies(pid: int) -> list[int]:
    """The scheduling policy of each thread of process ``pid``."""
    policies = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        policies.append(int(fields[38]))  # field 41 of stat(5), counted after the name
    return policies

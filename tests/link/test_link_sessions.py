"""jamd daemons in one Ableton Link session, each run inside a private network namespace.

Link multicasts on the network: these tests never run it on the machine's own. Each starts
``link_driver.py`` under ``unshare -n`` (loopback up, multicast routed to it), which runs the
daemons and reports what it saw as JSON; without the rights to make a namespace, they fail.
"""

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DRIVER = Path(__file__).with_name("link_driver.py")
SYNC_SAMPLES = 12  # jamd.link.clock's: closer than that, a beat is left where it is


def in_namespace(scenario: str, directory: Path) -> dict[str, Any]:
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"Link tests run in a private network namespace: {missing} not found")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.fail(
            "Link tests need a private network namespace (unshare -n, which needs root or "
            f"CAP_SYS_ADMIN), never the real network: {probe.stderr.strip()}"
        )
    script = (
        "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"
        f" && exec {shlex.quote(sys.executable)} {shlex.quote(str(DRIVER))}"
        f" {shlex.quote(scenario)} {shlex.quote(str(directory))}"
    )
    run = subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, f"the driver failed:\n{run.stdout}\n{run.stderr}"
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def tolerance(result: dict[str, Any]) -> float:
    """How far two readings of one downbeat may be apart, in beats: one audio buffer (the
    grain of an engine clock reading) and the steering's dead band, in samples."""
    return float(result["buffer"] + SYNC_SAMPLES) / result["samples_per_beat"]


def assert_bar_lines_coincide(result: dict[str, Any], quantum: float = 4.0) -> None:
    first, second = result["downbeats"]
    fraction = tolerance(result)
    for bars in (first, second):
        assert len(bars) >= 4, result["downbeats"]
        for _bar, downbeat, _tempo in bars:  # every bar line on a session bar line
            off = downbeat - round(downbeat / quantum) * quantum
            assert abs(off) <= fraction, (downbeat, fraction, result["downbeats"])
    by_beat = {round(downbeat / quantum): downbeat for _bar, downbeat, _tempo in first}
    common = [
        (by_beat[round(downbeat / quantum)], downbeat)
        for _bar, downbeat, _tempo in second
        if round(downbeat / quantum) in by_beat
    ]
    assert len(common) >= 2, result["downbeats"]  # the same stretch of the session
    for mine, theirs in common:
        assert abs(mine - theirs) <= fraction, (mine, theirs, fraction)


def test_two_daemons_share_the_tempo_and_the_bar_lines_and_one_leaves(tmp_path: Path) -> None:
    result = in_namespace("two", tmp_path)
    logs = result.pop("logs")
    assert result["peers"] == [1, 1], logs
    assert result["clock"] == ["link", "link"]
    # a tempo sent to the first is the second's
    assert result["tempo_on_second"] == pytest.approx(133.0, abs=0.01)
    assert result["link_tempo_on_second"] == pytest.approx(133.0, abs=0.01)
    assert_bar_lines_coincide(result)
    for bars in result["downbeats"]:
        assert {tempo for _bar, _downbeat, tempo in bars} == {133.0}
    # a wrong type is answered and changes nothing
    assert result["bad_input_error"] == [
        ["/jamd/link", "takes 1 (on) or 0 (off), got a string 'yes'"]
    ]
    assert result["link_after_bad_input"] == 1
    # leaving: the other is alone, the one that left plays on its own clock
    assert result["peers_after_leave"] == 0
    assert result["second_after_leave"] == {
        "link": 0,
        "clock": "internal",
        "transport": "playing",
    }
    assert result["exit"] == [0, 0]


def test_play_and_stop_are_shared_through_the_session(tmp_path: Path) -> None:
    result = in_namespace("start-stop", tmp_path)
    logs = result.pop("logs")
    assert result["before"] == ["stopped", "stopped"], logs
    assert result["second_after_play"] == "playing"
    assert_bar_lines_coincide(result)
    assert result["first_after_stop"] == "stopped"
    assert result["exit"] == [0, 0]


def test_alone_in_a_session_jamd_sets_its_tempo_and_keeps_its_bars_on_phase_zero(
    tmp_path: Path,
) -> None:
    result = in_namespace("alone", tmp_path)
    assert result["peers"] == 0, result["log"]
    assert result["tempo"] == [90.0, 90.0]
    assert_bar_lines_coincide(result)
    assert result["exit"] == [0]


def test_without_aalink_jamd_says_so_and_plays_on_its_own_clock(tmp_path: Path) -> None:
    result = in_namespace("unavailable", tmp_path)
    log = result["log"]
    assert "Ableton Link needs the aalink package (pip install aalink)" in log
    assert "jamd plays on its own clock" in log
    assert result["state"] == {"/jamd/link": [0], "/jamd/clock": ["internal"]}
    assert len(result["errors"]) == 1
    assert result["errors"][0][0] == "/jamd/link"
    assert "aalink" in result["errors"][0][1]
    assert result["exit"] == [0]

"""A band of jamd daemons in one Ableton Link session (docs/band.md), inside a private network
namespace as every Link test is (tests/link/test_link_sessions.py says why): two members play
one song, each its own parts; a section jump sent to one lands on the same bar in both; a
third that joins late plays the band's song, section and bar; when it leaves, the others play
on. Bars are compared by the band's count (``/jamd/band/downbeat``: Link shares the phase, each
peer counts its own beats)."""

import itertools
from pathlib import Path
from typing import Any

from test_link_sessions import in_namespace, tolerance

Bars = dict[str, list[Any]]  # session bar -> [seed, section, song bar, chord, downbeat]


def assert_one_song(result: dict[str, Any], members: list[Bars], least: int = 3) -> list[str]:
    """Every session bar two members both played: the same song, section, bar and chord,
    downbeats together; the bars they share, in order."""
    common = sorted(set.intersection(*(set(bars) for bars in members)), key=int)
    assert len(common) >= least, members
    for key in common:
        first = members[0][key]
        for other in members[1:]:
            assert other[key][:4] == first[:4], (key, members)
            assert abs(other[key][4] - first[4]) <= tolerance(result), (key, members)
    return common


def test_a_band_plays_one_song_across_daemons_and_a_late_member_joins_it(
    tmp_path: Path,
) -> None:
    result = in_namespace("band", tmp_path)
    logs = result.pop("logs")
    assert result["exit"] == [0, 0, 0], logs
    assert result["third_exit"] == 0
    assert result["parts"] == ["drums bass", "keys pad lead"]
    assert_one_song(result, result["together"])
    # the section jump sent to the first lands on the same bar in both
    common = assert_one_song(result, result["after_jump"])
    first = result["after_jump"][0]
    jumps = [k for k, after in itertools.pairwise(common) if first[after][2] != first[k][2] + 1]
    assert len(jumps) == 1, result["after_jump"]  # read in both on the bar before and after
    landed = common[common.index(jumps[0]) + 1]
    assert first[landed][1] != first[jumps[0]][1]  # a new section
    # the third member, started late, plays the band's song, section and bar
    assert result["third_peers"] == 2
    assert_one_song(result, result["three"])
    # it left: the other two play on, together
    assert result["transport_after_leave"] == ["playing", "playing"]
    assert_one_song(result, result["after_leave"])

"""The helpers every part shares: grids and swing."""

from hypothesis import given
from hypothesis import strategies as st

from jamd.compose.groove import Groove, Hit, hits


def test_a_grid_reads_onsets_levels_and_holds() -> None:
    assert hits("X--.x.o-") == (Hit(0, "X", 3), Hit(4, "x", 1), Hit(6, "o", 2))
    assert hits("r.t.") == (Hit(0, "r", 1), Hit(2, "t", 1))
    assert hits("....") == ()


def test_swing_moves_only_the_off_beats() -> None:
    eighths = Groove(ratio=0.64, unit=0.5)
    placed = [round(eighths.place(b), 6) for b in (0.0, 0.5, 1.0, 1.5, 2.0)]
    assert placed == [0.0, 0.64, 1.0, 1.64, 2.0]
    sixteenths = Groove(ratio=0.6, unit=0.25)
    assert [round(sixteenths.place(b), 6) for b in (0.0, 0.25, 0.5, 0.75)] == [0, 0.3, 0.5, 0.8]
    assert Groove(ratio=0.5, unit=0.5).place(1.25) == 1.25


@given(
    ratio=st.floats(0.5, 0.75),
    unit=st.sampled_from([0.25, 0.5]),
    first=st.floats(0, 64),
    second=st.floats(0, 64),
)
def test_swing_keeps_order_and_whole_beats(
    ratio: float, unit: float, first: float, second: float
) -> None:
    groove = Groove(ratio, unit)
    if first < second:
        assert groove.place(first) <= groove.place(second)
    assert groove.place(float(int(first))) == float(int(first))

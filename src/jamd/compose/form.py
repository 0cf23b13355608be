"""Fitting a style's song form to an exact number of bars.

A form is ``start``, any number of ``repeat`` blocks (taken in turn), then ``end``. Candidate
shapes are built by adding blocks while the song has room, or, when it has too little, by
dropping sections; any of them may have sections halved. Each candidate
is then stretched or shrunk to the exact length through its elastic sections (intros, outros,
vamps), and the candidate that needed the least surgery wins. The search is small and exact, so
a song of any length gets a form a musician would recognise, not a truncated loop.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from jamd.styles.model import Form, FormSection, SectionKind

# Costs of the operations, in "bars of stretching" a listener would notice as much.
_GROW_COST = 1.0  # per bar added to an elastic section
_SHRINK_COST = 1.5  # per bar taken from one
_DROP_COST = 4.0  # a section of the form left out
_HALVE_COST = 4.0  # a section played at half length, times (0.5 + its energy)
_GROWN_HALVINGS = 2  # halvings tried on forms with repeat blocks (the rest are long enough)


@dataclass(frozen=True, slots=True)
class Slot:
    """One section of a fitted form: its kind and length in bars."""

    kind: SectionKind
    bars: int


def fit_form(form: Form, total_bars: int, energy: Mapping[SectionKind, float]) -> tuple[Slot, ...]:
    """The form's sections, fitted to exactly ``total_bars`` bars (at least 1)."""
    if total_bars < 1:
        raise ValueError(f"a song needs at least 1 bar, got {total_bars}")
    best: tuple[float, tuple[Slot, ...]] | None = None
    for damage, shape in _candidates(form, total_bars, energy):
        fitted = _adjust(shape, total_bars, form.elastic)
        if fitted is None:
            continue
        cost = damage + fitted[0]
        if best is None or cost < best[0]:
            best = (cost, fitted[1])
    if best is None:  # only reachable for songs shorter than the form's section count
        return _squeeze(_slots([*form.start, *form.end]), total_bars)
    return best[1]


def _slots(sections: Sequence[FormSection]) -> list[Slot]:
    return [Slot(section.kind, section.bars) for section in sections]


def _length(shape: Sequence[Slot]) -> int:
    return sum(slot.bars for slot in shape)


def _candidates(
    form: Form, total_bars: int, energy: Mapping[SectionKind, float]
) -> list[tuple[float, list[Slot]]]:
    """Shapes near the target length: the form with as many repeat blocks as fit (and one more),
    each as is or with a section or two halved; and shorter ones for songs below the form.
    """
    end = _slots(form.end)
    body = _slots(form.start)
    longest_block = max(_length(_slots(block)) for block in form.repeat)
    found: list[tuple[float, list[Slot]]] = []
    blocks = 0
    while _length(body) + _length(end) <= total_bars + longest_block:
        if _length(body) + _length(end) >= total_bars - longest_block:
            found += _halvings([*body, *end], form, energy, limit=_GROWN_HALVINGS)
        body += _slots(form.repeat[blocks % len(form.repeat)])
        blocks += 1
    shape = [*_slots(form.start), *end]
    damage = 0.0
    for kind in (None, *form.drop):
        if kind is not None:
            index = next((i for i in range(len(shape) - 2, -1, -1) if shape[i].kind == kind), None)
            if index is None:
                continue
            shape = shape[:index] + shape[index + 1 :]
            damage += _DROP_COST
        found += [(damage + cost, halved) for cost, halved in _halvings(shape, form, energy)]
    return found


def _halvings(
    shape: list[Slot],
    form: Form,
    energy: Mapping[SectionKind, float],
    limit: int | None = None,
) -> list[tuple[float, list[Slot]]]:
    """The shape, then with its sections halved one at a time, down to single bars or ``limit``
    halvings. The longest, least energetic sections go first (a short chorus hurts more than a
    short verse); elastic ones, which stretch and shrink anyway, only when nothing else is left.
    """
    found = [(0.0, list(shape))]
    halved = list(shape)
    damage = 0.0

    def priority(index: int) -> tuple[bool, float, int]:
        slot = halved[index]
        score = slot.bars * (1.25 - energy.get(slot.kind, 0.5))
        return slot.kind not in form.elastic, score, -index

    while any(slot.bars > 1 for slot in halved) and (limit is None or len(found) <= limit):
        index = max((i for i, slot in enumerate(halved) if slot.bars > 1), key=priority)
        slot = halved[index]
        halved[index] = replace(slot, bars=(slot.bars + 1) // 2)
        damage += _HALVE_COST * (0.5 + energy.get(slot.kind, 0.5))
        found.append((damage, list(halved)))
    return found


def _adjust(
    shape: Sequence[Slot], total_bars: int, elastic: Sequence[SectionKind]
) -> tuple[float, tuple[Slot, ...]] | None:
    """Stretch or shrink the elastic sections (the last section if none) to the exact length.

    An odd bar goes to (or comes from) the last section that can take it, the ending first; the
    rest moves two bars at a time, round robin over the elastic sections in the style's order.
    Elastic sections keep at least a quarter of their length. None if the shape cannot fit.
    """
    slots = list(shape)
    order = sorted(
        (i for i, slot in enumerate(slots) if slot.kind in elastic),
        key=lambda i: (elastic.index(slots[i].kind), i),
    ) or [len(slots) - 1]
    difference = total_bars - _length(slots)
    if difference >= 0:
        if difference % 2:
            slots[-1] = replace(slots[-1], bars=slots[-1].bars + 1)
        for turn in range(difference // 2):
            index = order[turn % len(order)]
            slots[index] = replace(slots[index], bars=slots[index].bars + 2)
        return difference * _GROW_COST, tuple(slots)
    floors = {i: max(1, slots[i].bars // 4) for i in order}
    missing = -difference
    if missing > sum(slots[i].bars - floors[i] for i in order):
        return None
    if missing % 2:
        index = max(order, key=lambda i: (slots[i].bars - floors[i] > 0, i))
        slots[index] = replace(slots[index], bars=slots[index].bars - 1)
        missing -= 1
    while missing:
        for index in order:
            take = min(2, missing, slots[index].bars - floors[index])
            slots[index] = replace(slots[index], bars=slots[index].bars - take)
            missing -= take
    return -difference * _SHRINK_COST, tuple(slots)


def _squeeze(shape: list[Slot], total_bars: int) -> tuple[Slot, ...]:
    """Fewer bars than sections: one bar of the first section and of the last ones (the ending
    first), so even a two-bar song begins and ends.
    """
    kept = shape[-1:] if total_bars == 1 else [shape[0], *shape[len(shape) - total_bars + 1 :]]
    return tuple(Slot(slot.kind, 1) for slot in kept)

"""Voice leading: place a chord's tones in a register, moving as little as possible.

``voice_lead`` solves the problem exactly rather than by a rule of thumb. Its voicings:

- have ``voices`` distinct MIDI notes in [low, high], ascending (two voices never share a note:
  a MIDI channel cannot sound the same note twice);
- use only the chord's required pitch classes: the first ``voices`` of its essential tones
  (third, seventh, root unless omitted, fifth, tensions) that the register holds, each at least
  once; spare voices double some of them, the root and fifth before the others;
- minimise the total movement from the previous voicing, the i-th lowest previous note going to
  the i-th lowest new one (for distances on a line that pairing is the optimal one). Ties go to
  fewer doubled thirds, sevenths and tensions, then to the smoother move (least sum of squared
  moves), then to the lower voicing.

Two exact searches, both polynomial in the voices, never a scan of all combinations:

- With as many required tones as voices (the usual case: three voices on a triad, four on a
  seventh chord), each voice takes a different tone, and then that tone's nearest note: an
  assignment of tones to voices, solved over the subsets of tones taken (voices * 2**voices
  steps at most).
- With spare voices, a dynamic programme over the voices from the bottom up, with the set of
  required tones covered so far as its state. A voice never moves past a same-pitch-class note
  that no other voice uses (swapping to it would move less), so it only considers the
  ``voices - tones + 1`` nearest notes of each tone. A first pass looks within a small slack of
  each voice's nearest chord note; if its best voicing moves at most (sum of nearest distances +
  slack), everything outside the window moves more, so it is optimal. Otherwise a second pass
  takes a window holding every voicing that moves no more than one already found.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from jamd.theory.chords import Chord
from jamd.theory.pitch import MIDI_RANGE, PitchClass

# First search window around each voice's nearest chord note, in semitones. Smooth progressions
# finish in this pass; a wider one only follows when a voice has to travel further.
_FIRST_SLACK = 2

# A state of the search: (cost, note, required tones covered as a bit mask, the state below).
_Step = tuple[int, int, int, "_Step | None"]


def nearest(pc: PitchClass, target: int, low: int, high: int) -> int:
    """The MIDI note of pitch class ``pc`` nearest ``target`` in [low, high], the lower on a tie."""
    _check_register(low, high)
    if low + (pc - low) % 12 > high:
        raise ValueError(f"register {low}..{high} holds no note of pitch class {pc % 12}")
    return _nearest(pc, target, low, high)


def _nearest(pc: PitchClass, target: int, low: int, high: int) -> int:
    lowest = low + (pc - low) % 12
    highest = high - (high - pc) % 12
    below = min(max(target - (target - pc) % 12, lowest), highest)
    above = min(max(below + 12, lowest), highest)
    return above if abs(above - target) < abs(below - target) else below


def voice_lead(
    previous: Sequence[int] | None,
    chord: Chord,
    *,
    voices: int,
    low: int,
    high: int,
    omit_root: bool = False,
) -> tuple[int, ...]:
    """Voice ``chord`` in [low, high] with the least total movement from ``previous``.

    The voicing is the chord above the bass part: a slash bass outside the chord (the D of C/D)
    is left to that part, and so is the root with ``omit_root`` (rootless voicings).

    With no previous voicing (None or empty) the result is a close voicing centred in the
    register. Previous notes outside the register count from its nearest end (which adds the
    same distance to every candidate voicing). When the number of voices changes, each new note
    is charged its distance to the nearest previous note (a voice may split in two, or end).
    """
    _check_register(low, high)
    if voices < 1:
        raise ValueError(f"voices must be at least 1, got {voices}")
    required = required_tones(chord, voices=voices, low=low, high=high, omit_root=omit_root)
    allowed = [note for note in range(low, high + 1) if note % 12 in required]
    if len(allowed) < voices:
        raise ValueError(
            f"register {low}..{high} holds {len(allowed)} notes of {chord.symbol}'s tones, "
            f"fewer than {voices} voices; widen the register or use fewer voices"
        )
    # Doubling the root or fifth keeps the chord's balance; doubling a colour tone thickens it.
    colour_tones = frozenset(required) - {chord.root, chord.fifth}
    if not previous:
        return _close_voicing(allowed, voices, low + high, colour_tones)
    clamped = sorted(min(max(note, low), high) for note in previous)
    if len(clamped) != voices:
        return _nearest_to_any(clamped, allowed, required, voices, colour_tones)
    costs = _Costs(allowed, required, colour_tones, voices)
    if len(required) == voices:
        return _one_tone_each(clamped, costs, low, high)
    return _least_movement(clamped, costs)


def required_tones(
    chord: Chord, *, voices: int, low: int, high: int, omit_root: bool = False
) -> tuple[PitchClass, ...]:
    """The pitch classes ``voice_lead`` must sound: the first ``voices`` essential tones that
    the register holds (all of them when voices are many; each then appears at least once).
    """
    in_register = {note % 12 for note in range(low, min(high, low + 11) + 1)}
    essential = [
        pc
        for pc in chord.essential_tones
        if pc in in_register and not (omit_root and pc == chord.root)
    ]
    if not essential:
        raise ValueError(f"register {low}..{high} holds none of {chord.symbol}'s voiced tones")
    return tuple(essential[:voices])


def _check_register(low: int, high: int) -> None:
    if low not in MIDI_RANGE or high not in MIDI_RANGE or low > high:
        raise ValueError(
            f"register must be MIDI notes with 0 <= low <= high <= 127, got {low}..{high}"
        )


def _close_voicing(
    allowed: list[int],
    voices: int,
    register_centre_doubled: int,
    colour_tones: frozenset[PitchClass],
) -> tuple[int, ...]:
    """Consecutive chord notes (so no chord tone is skipped), centred in the register.

    Any ``voices`` consecutive notes cover the required tones: the notes repeat their pitch
    classes every octave, and there are at least as many voices as required tones.
    """

    def off_centre(start: int) -> tuple[int, int, int]:
        window = allowed[start : start + voices]
        doubled_colour = sum(note % 12 in colour_tones for note in window)
        return abs(window[0] + window[-1] - register_centre_doubled), doubled_colour, start

    best = min(range(len(allowed) - voices + 1), key=off_centre)
    return tuple(allowed[best : best + voices])


def _nearest_to_any(
    previous: list[int],
    allowed: list[int],
    required: tuple[PitchClass, ...],
    voices: int,
    colour_tones: frozenset[PitchClass],
) -> tuple[int, ...]:
    """Each note costs its distance to the nearest previous note, so the cheapest set is each
    required tone's cheapest note plus the cheapest of the rest.
    """

    def cost(note: int) -> tuple[int, bool, int]:
        index = bisect_left(previous, note)
        neighbours = previous[max(index - 1, 0) : index + 1]
        return min(abs(note - other) for other in neighbours), note % 12 in colour_tones, note

    by_cost = sorted(allowed, key=cost)
    chosen = [next(note for note in by_cost if note % 12 == pc) for pc in required]
    chosen += [note for note in by_cost if note not in chosen][: voices - len(chosen)]
    return tuple(sorted(chosen))


def _one_tone_each(previous: list[int], costs: "_Costs", low: int, high: int) -> tuple[int, ...]:
    """Give each voice its own required tone, at that tone's nearest note (distinct tones make
    distinct notes), choosing the assignment over the subsets of tones taken so far.
    """
    voices = len(previous)
    options = []
    for note in previous:
        targets = [_nearest(pc, note, low, high) for pc in costs.required]
        options.append([(costs.cost(note, target), target) for target in targets])
    # tones taken (a bit mask) -> the cheapest cost of taking them, and the notes chosen
    best: dict[int, tuple[int, tuple[int, ...]]] = {0: (0, ())}
    for voice_options in options:
        reached: dict[int, tuple[int, tuple[int, ...]]] = {}
        for taken, (cost, notes) in best.items():
            for tone, (step_cost, target) in enumerate(voice_options):
                if taken >> tone & 1:
                    continue
                total = cost + step_cost
                kept = reached.get(taken | 1 << tone)
                if kept is None or total < kept[0]:
                    reached[taken | 1 << tone] = (total, (*notes, target))
        best = reached
    return tuple(sorted(best[(1 << voices) - 1][1]))


def _least_movement(previous: list[int], costs: "_Costs") -> tuple[int, ...]:
    """The search with spare voices (module docstring): a narrow pass, then if need be one pass
    wide enough to hold every voicing that moves no more than a known one.
    """
    nearest_distances = [_distance_to_nearest(note, costs.allowed) for note in previous]
    least_conceivable = sum(nearest_distances)

    def best_within(slack: int) -> _Step | None:
        candidates = [
            costs.options(note, nearest_distance + slack)
            for note, nearest_distance in zip(previous, nearest_distances, strict=True)
        ]
        return _search(candidates, costs.all_covered)

    narrow = best_within(_FIRST_SLACK)
    if narrow is not None and costs.movement(narrow[0]) <= least_conceivable + _FIRST_SLACK:
        return _notes_of(narrow)
    known = (
        _notes_of(narrow)
        if narrow is not None
        else _nearest_to_any(
            previous, costs.allowed, costs.required, costs.voices, costs.colour_tones
        )
    )
    known_movement = sum(abs(new - old) for new, old in zip(known, previous, strict=True))
    best = best_within(known_movement - least_conceivable)
    # ``known`` lies inside that window, so the search always finds it or something better.
    return known if best is None else _notes_of(best)


class _Costs:
    """What a voice may play and at what cost.

    One integer orders voicings by movement, then doubled colour tones, then smoothness (sum of
    squared moves), then height: each weight exceeds the largest total of everything after it.
    """

    __slots__ = (
        "_colour_weight",
        "_movement_weight",
        "_squares_weight",
        "all_covered",
        "allowed",
        "colour_tones",
        "required",
        "voices",
    )

    def __init__(
        self,
        allowed: list[int],
        required: tuple[PitchClass, ...],
        colour_tones: frozenset[PitchClass],
        voices: int,
    ) -> None:
        self.allowed = allowed
        self.required = required
        self.colour_tones = colour_tones
        self.voices = voices
        self.all_covered = (1 << len(required)) - 1
        self._squares_weight = 128 * voices
        self._colour_weight = self._squares_weight * 128 * 128 * voices
        self._movement_weight = self._colour_weight * (voices + 1)

    def cost(self, note: int, option: int) -> int:
        """The cost of moving a voice from ``note`` to ``option``."""
        distance = abs(option - note)
        return (
            distance * self._movement_weight
            + (option % 12 in self.colour_tones) * self._colour_weight
            + distance * distance * self._squares_weight
            + option
        )

    def movement(self, total_cost: int) -> int:
        """The movement in semitones a total cost stands for."""
        return total_cost // self._movement_weight

    def options(self, note: int, reach: int) -> list[tuple[int, int, int]]:
        """(note, cost, tone bit) of the allowed notes within ``reach`` of ``note``, ascending,
        without those that have more same-tone notes nearer than voices can share one tone.
        """
        allowed = self.allowed
        sharing_limit = self.voices - len(self.required) + 1
        return [
            (option, self.cost(note, option), 1 << self.required.index(option % 12))
            for option in allowed[
                bisect_left(allowed, note - reach) : bisect_right(allowed, note + reach)
            ]
            if _nearer_same_pitch_class(option, note, abs(option - note), allowed) < sharing_limit
        ]


def _distance_to_nearest(note: int, allowed: list[int]) -> int:
    index = bisect_left(allowed, note)
    return min(abs(note - other) for other in allowed[max(index - 1, 0) : index + 1])


def _nearer_same_pitch_class(option: int, note: int, distance: int, allowed: list[int]) -> int:
    """How many allowed notes of ``option``'s pitch class lie strictly nearer to ``note``."""
    first = max(note - distance + 1, allowed[0])
    last = min(note + distance - 1, allowed[-1])
    if first > last:
        return 0
    return (last - option) // 12 - (first - 1 - option) // 12


def _notes_of(step: "_Step | None") -> tuple[int, ...]:
    notes = []
    while step is not None:
        notes.append(step[1])
        step = step[3]
    return tuple(reversed(notes))


def _search(candidates: list[list[tuple[int, int, int]]], all_covered: int) -> _Step | None:
    """The cheapest strictly rising choice of one candidate per voice covering every required
    tone; each voice's candidates are (note, cost, pitch-class bit), ascending by note.
    """
    voices = len(candidates)
    missing = [(all_covered & ~covered).bit_count() for covered in range(all_covered + 1)]
    layer: list[_Step] = [
        (cost, note, bit, None) for note, cost, bit in candidates[0] if missing[bit] < voices
    ]
    for voice in range(1, voices):
        voices_above = voices - 1 - voice
        cheapest_below: dict[int, _Step] = {}
        reached: dict[int, _Step] = {}  # keyed by note and covered tones (at most 12 bits)
        below = 0
        for note, cost, bit in candidates[voice]:
            while below < len(layer) and layer[below][1] < note:
                step = layer[below]
                kept = cheapest_below.get(step[2])
                if kept is None or step[0] < kept[0]:
                    cheapest_below[step[2]] = step
                below += 1
            for covered, step in cheapest_below.items():
                now_covered = covered | bit
                if missing[now_covered] > voices_above:
                    continue
                total = step[0] + cost
                state = note << 12 | now_covered
                kept = reached.get(state)
                if kept is None or total < kept[0]:
                    reached[state] = (total, note, now_covered, step)
        layer = list(reached.values())
    finished = [step for step in layer if step[2] == all_covered]
    return min(finished, key=lambda step: step[0], default=None)

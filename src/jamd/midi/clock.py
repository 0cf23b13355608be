"""MIDI clock: following a master's 24 ticks per beat, and the ticks jamd sends.

Following. Each tick's time is the driver's (RtMidi's delta times, summed per port by
``DriverTime``), not the moment Python saw it, and the line is fitted on that timeline.
``ClockFollower`` fits a least-squares line through the ticks: its slope is the tempo, and
the line tells when each of the master's beats falls, a little into the future. The fit takes
two beats of ticks at first and grows to eight while the clock stays steady (the longer the
line, the less a tick's jitter moves it); when the newest two beats' slope leaves the long
line's by more than their jitter explains, the tempo is moving (a ramp) and the fit shrinks
back to them. A tick far off the line, three running on one side, is a jump: the fit starts
again from them (one alone is a late tick, left out); one that falls close to the line a tick
or two on, after one close to it, follows ticks lost on the way (an xrun drops a buffer of
events), which are counted in. Start (the next tick is the song's first), Continue (the next
tick is where Song Position Pointer said) and Stop are events with the time they take
effect.

Sending. ``clock_ticks`` lists the ticks of a stretch of the transport's beats; the daemon
hands them to the MIDI sender, which sends each against its absolute deadline.
"""

import collections
import itertools
import math
from dataclasses import dataclass

TICKS_PER_BEAT = 24
SIXTEENTHS_PER_BEAT = 4  # Song Position Pointer counts MIDI beats: sixteenth notes
SPP_LIMIT = 16383  # the largest position SPP carries (14 bits)
OFF_FRACTION = 0.5  # a tick this far (of a tick's length) off the line is off it ...
OFF_SECONDS = 0.008  # ... and this far: a driver's timestamps jitter by a buffer or so
JUMP_TICKS = 3  # ticks in a row off the line on one side: the tempo jumped
LOST_SECONDS_OFF = 0.003  # a tick this close to the line a tick or two on, after one this
# close to it, follows lost ticks (closer than a tempo change's ticks come to it)
LOST_SECONDS = 0.5  # no tick for this long: the clock is lost (the music plays on)

CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
SONG_POSITION = 0xF2


@dataclass(frozen=True, slots=True)
class Started:
    """The master's transport runs from ``beat`` (0: Start; SPP's: Continue) at ``time``."""

    time: float
    beat: float
    continued: bool = False


@dataclass(frozen=True, slots=True)
class Stopped:
    time: float


ClockEvent = Started | Stopped


class DriverTime:
    """One port's driver timeline (its delta times, summed) and where it sits on the
    monotonic clock.

    ``arrived`` (when Python saw each message) is later than the driver's time by a varying
    delay and never earlier, so the smallest difference of the last ``keep`` messages is the
    timeline's ``offset``. A clock is fitted on the driver's timeline itself, so that a better
    offset found later moves where its beats are placed, never the tempo."""

    def __init__(self, keep: int = 256) -> None:
        self._driver = 0.0
        self._lags: collections.deque[float] = collections.deque(maxlen=keep)

    def stamp(self, delta: float, arrived: float) -> float:
        """The message's time on the driver's timeline."""
        self._driver += max(0.0, delta)
        self._lags.append(arrived - self._driver)
        return self._driver

    @property
    def offset(self) -> float:
        """Monotonic time minus the driver's."""
        return min(self._lags) if self._lags else 0.0


class ClockFollower:
    """A master's tempo and beats from its clock messages (see the module's text)."""

    def __init__(
        self,
        window: int = 2 * TICKS_PER_BEAT,
        longest: int = 8 * TICKS_PER_BEAT,
        lock_ticks: int = TICKS_PER_BEAT,
    ) -> None:
        self.window = window
        self.lock_ticks = lock_ticks
        self._ticks: collections.deque[tuple[int, float]] = collections.deque(maxlen=longest)
        self._count = 0  # ticks heard: the fit's x axis
        self._fit: tuple[float, float] | None = None  # time = a + b * count
        self._stray: list[tuple[int, float]] = []  # ticks in a row off the line
        self.strays = 0  # ticks left out of the fit
        self.lost = 0  # ticks that never came, by the line
        self._clean = False  # the last tick fell close to the line
        self.running = False
        self._origin: tuple[int, float] | None = None  # (count, song tick) when it runs
        self._position = 0.0  # SPP's song position, in ticks, while stopped
        self._waiting: bool | None = None  # Start (False) or Continue (True) awaiting a tick
        self.last_tick: float | None = None
        self.jumps = 0

    # -- messages ---------------------------------------------------------------------------

    def tick(self, moment: float) -> ClockEvent | None:
        self._count += 1
        if self.last_tick is not None and moment - self.last_tick > LOST_SECONDS:
            self._ticks.clear()  # after a gap the old line says nothing
            self._stray.clear()
        self.last_tick = moment
        self._take(self._count, moment)
        self._fit = self._line()
        if self._waiting is None:
            return None
        continued, self._waiting = self._waiting, None
        song_tick = self._position if continued else 0.0
        self._origin = (self._count, song_tick)
        self.running = True
        return Started(moment, song_tick / TICKS_PER_BEAT, continued)

    def start(self) -> None:
        self._waiting = False

    def continue_(self) -> None:
        self._waiting = True

    def stop(self, moment: float) -> ClockEvent | None:
        self._waiting = None
        if not self.running:
            return None
        if self._origin is not None:
            count, song_tick = self._origin
            self._position = song_tick + self._count - count + 1  # the next tick's
        self.running = False
        self._origin = None
        return Stopped(moment)

    def song_position(self, sixteenths: int) -> None:
        """SPP: where Continue goes on from (ignored while running, as MIDI has it)."""
        if not self.running:
            self._position = float(sixteenths * TICKS_PER_BEAT // SIXTEENTHS_PER_BEAT)

    def _take(self, count: int, moment: float) -> None:
        """The tick on the line, or held aside while it is off it: a late tick (a busy
        driver) is left out, and ``JUMP_TICKS`` off on the same side are a new tempo, the fit
        starting again from them."""
        fit = self._fit
        if fit is None or len(self._ticks) < 4:
            self._ticks.append((count, moment))
            return
        a, b = fit
        off = moment - (a + b * count)
        near = max(OFF_FRACTION * b, OFF_SECONDS)
        tight = min(LOST_SECONDS_OFF, 0.25 * b)
        if abs(off) <= near:
            self._ticks.append((count, moment))
            self._stray.clear()
            self._clean = abs(off) <= tight
            return
        missed = round(off / b)
        if self._clean and 1 <= missed <= 2 and abs(off - missed * b) <= tight:
            # on the line a tick or two on: those were lost on the way (an xrun drops a
            # buffer's events); counted, so the song position stays the master's
            self._count += missed
            self.lost += missed
            self._ticks.append((self._count, moment))
            self._clean = False
            return
        self._clean = False
        if self._stray and (self._stray[-1][1] - (a + b * self._stray[-1][0]) > 0) != (off > 0):
            self._stray.clear()
        self._stray.append((count, moment))
        self.strays += 1
        if len(self._stray) >= JUMP_TICKS:
            self.jumps += 1
            self._ticks.clear()
            self._ticks.extend(self._stray)
            self._stray.clear()

    # -- what it tells ----------------------------------------------------------------------

    @property
    def fitted(self) -> int:
        """Ticks the tempo is fitted through."""
        return len(self._ticks) if self._fit is not None else 0

    @property
    def locked(self) -> bool:
        return self.fitted >= self.lock_ticks

    @property
    def bpm(self) -> float | None:
        if self._fit is None or self._fit[1] <= 0:
            return None
        return 60.0 / (self._fit[1] * TICKS_PER_BEAT)

    def time_at(self, beat: float) -> float | None:
        """When the master's song beat ``beat`` falls (None until it runs and has a tempo)."""
        if self._fit is None or self._origin is None:
            return None
        a, b = self._fit
        count, song_tick = self._origin
        return a + b * (count + beat * TICKS_PER_BEAT - song_tick)

    def beat_at(self, moment: float) -> float | None:
        """The master's song beat at ``moment``."""
        if self._fit is None or self._origin is None:
            return None
        a, b = self._fit
        count, song_tick = self._origin
        return ((moment - a) / b - count + song_tick) / TICKS_PER_BEAT

    def _line(self) -> tuple[float, float] | None:
        """The line through the ticks kept, shrunk to the newest ``window`` of them when
        those bend away from it."""
        ticks = self._ticks
        if len(ticks) < 2:
            return None
        whole = _line(ticks)
        if len(ticks) <= self.window:
            return whole[:2]
        newest = _line(list(itertools.islice(ticks, len(ticks) - self.window, None)))
        if abs(newest[1] - whole[1]) > BEND_ERRORS * newest[2] + 1e-12:
            for _ in range(len(ticks) - self.window):
                ticks.popleft()
            return newest[:2]
        return whole[:2]


BEND_ERRORS = 3.0  # the newest slope this many standard errors off the long one: a bend


def _line(
    points: "collections.deque[tuple[int, float]] | list[tuple[int, float]]",
) -> tuple[float, float, float]:
    """Least squares ``time = a + b * count`` through ``points``: (a, b, b's standard error)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    b = sxy / sxx
    a = mean_y - b * mean_x
    if n <= 2:
        return a, b, 0.0
    residuals = sum((y - a - b * x) ** 2 for x, y in points)
    return a, b, math.sqrt(residuals / (n - 2) / sxx)


def clock_ticks(first: float, last: float) -> list[float]:
    """The beats of the ticks in ``[first, last)`` (beats counted as the transport does)."""
    start = math.ceil(first * TICKS_PER_BEAT - 1e-9)
    return [
        tick / TICKS_PER_BEAT
        for tick in itertools.takewhile(
            lambda t: t / TICKS_PER_BEAT < last - 1e-12, itertools.count(start)
        )
    ]


def song_position(beat: float) -> bytes:
    """SPP for transport beat ``beat`` (held at the largest position SPP carries)."""
    sixteenths = min(SPP_LIMIT, max(0, round(beat * SIXTEENTHS_PER_BEAT)))
    return bytes((SONG_POSITION, sixteenths & 0x7F, sixteenths >> 7))

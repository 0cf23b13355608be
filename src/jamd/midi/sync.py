"""MIDI clock in the daemon: following a master, and sending jamd's own clock.

``ClockFollow`` takes the clock messages of one port (the first that ticks; another is heard
again only once that one has been silent for ``LOST_SECONDS``). Start and Continue locate the
conductor so that the master's beat lands on the engine sample playing ``delay`` after it
(the time jamd needs to have the notes there: its engine's lead and a margin); Stop stops it.
Through JACK, RtMidi stamps every event of a cycle with the cycle's start, half a buffer early
on average: ``early`` puts that back. On every tick it places the transport's next beats
where the master's fall, a beat past the engine's lead (``Conductor.sync``), when they are
more than ``SYNC_SAMPLES`` off: the tempo and the phase follow. A clock running without
Start (a master that always sends it) sets the tempo only; so does one heard while jamd
stands still, ready for the next play.

``ClockOut`` sends 24 ticks per beat from the conductor's tempo map, each given to the sender
once it is certain (inside the engine's lead, where nothing moves any more); Start, or Song
Position Pointer and Continue, just before the transport's first tick, and Stop where it stops.
Its listeners count from the last Start (jamd's play from the top), or from where a master it
follows placed the song.
"""

import logging
import time
from collections.abc import Callable

from jamd.engine.clock import AudioClock
from jamd.live.conductor import Conductor
from jamd.midi.clock import (
    CLOCK,
    CONTINUE,
    LOST_SECONDS,
    START,
    STOP,
    ClockFollower,
    Started,
    Stopped,
    clock_ticks,
    song_position,
)
from jamd.midi.messages import Message, Realtime, SongPosition

log = logging.getLogger("jamd.midi")

SYNC_SAMPLES = 12  # a quarter of a millisecond at 48 kHz: closer than that, the plan stays
DELAY_MARGIN_SECONDS = 0.02  # beyond the engine's lead: the loop's reaction to a Start
STEER_TICKS = 12  # after a Start, the master's beats are placed once half a beat is heard
STOPPED_STEP_BPM = 0.05  # stopped, the session's tempo follows in steps this big (not every
# tick's wobble, each of which subscribers would hear)


class ClockFollow:
    def __init__(
        self,
        conductor: Conductor,
        audio: AudioClock,
        position: Callable[[], int],
        stop: Callable[[], None],
        *,
        delay: float | None = None,
        early: float = 0.0,
    ) -> None:
        self.conductor = conductor
        self.audio = audio
        self._position = position
        self._stop = stop
        lead = conductor.engine.lead / conductor.engine.sample_rate
        self.delay = delay if delay is not None else lead + DELAY_MARGIN_SECONDS
        self.early = early  # how early the driver's timestamps are, on average
        self._offset = 0.0  # monotonic minus the port's driver timeline, with ``early``
        self.follower = ClockFollower()
        self.port: str | None = None
        self._link: tuple[float, float] | None = None  # (song beat, transport beat) at start
        self.ignored = 0  # clock messages from a second port

    @property
    def leading(self) -> bool:
        """A master's clock is heard now (its tempo wins over any other)."""
        return self._heard_at(time.monotonic())

    def _heard_at(self, moment: float) -> bool:
        last = self.follower.last_tick
        return last is not None and moment - (last + self._offset) < LOST_SECONDS

    def take(self, port: str, message: Message, moment: float, offset: float = 0.0) -> bool:
        """``message`` at ``moment`` on its port's driver timeline, which sits ``offset``
        before the monotonic clock, if it is clock: whether it was."""
        if not isinstance(message, Realtime | SongPosition):
            return False
        if isinstance(message, Realtime) and message.kind not in _CLOCK_KINDS:
            return False
        if self.port != port:
            if self.port is not None and self._heard_at(moment + offset):
                self.ignored += 1
                return True
            log.info("MIDI clock: following %s", port)
            self.port = port
            self.follower = ClockFollower()  # another port, another timeline
        self._offset = offset + self.early
        follower = self.follower
        match message:
            case SongPosition(beats=sixteenths):
                follower.song_position(sixteenths)
            case Realtime(kind="start"):
                follower.start()
            case Realtime(kind="continue"):
                follower.continue_()
            case Realtime(kind="stop"):
                if isinstance(follower.stop(moment), Stopped):
                    self._link = None
                    self._stop()
            case Realtime(kind="clock"):
                event = follower.tick(moment)
                if isinstance(event, Started):
                    self._started(event)
                self._steer()
        return True

    def song_beat(self, beat: float) -> float | None:
        """The master's song beat that the transport's ``beat`` plays with (None unlinked)."""
        link = self._link
        return None if link is None else beat - link[1] + link[0]

    def _started(self, event: Started) -> None:
        self.audio.update()
        at = round(self.audio.sample_at(event.time + self._offset + self.delay))
        self._link = self.conductor.locate(event.beat, at, self._position())
        log.info(
            "MIDI clock: %s from beat %g, %.0f ms behind the master",
            "continue" if event.continued else "start",
            event.beat + 1,
            self.delay * 1000,
        )

    def _steer(self) -> None:
        follower, conductor = self.follower, self.conductor
        bpm = follower.bpm
        tempo_map = conductor.tempo_map
        needed = STEER_TICKS if self._link is not None else follower.lock_ticks
        if bpm is None or follower.fitted < needed:
            return
        if tempo_map is None or not conductor.playing:
            if abs(conductor.session.tempo - bpm) >= STOPPED_STEP_BPM:
                conductor.sync(0.0, 0, bpm)  # stopped: the tempo the next play starts at
            return
        self.audio.update()
        earliest = self._position() + conductor.engine.lead
        beat = float(int(tempo_map.beat_at(earliest)) + 1)
        wanted = self._wanted(beat, bpm)
        if wanted is None:
            return
        first, second = wanted
        if first < earliest:
            beat += 1
            first, second = second, second + (second - first)
        now_first, now_second = tempo_map.sample_at(beat), tempo_map.sample_at(beat + 1)
        if abs(now_first - first) > SYNC_SAMPLES or abs(now_second - second) > SYNC_SAMPLES:
            bpm = 60.0 * conductor.engine.sample_rate / (second - first)
            conductor.sync(beat, round(first), bpm)

    def _wanted(self, beat: float, bpm: float) -> tuple[float, float] | None:
        """Where the transport's ``beat`` and the one after should fall, as engine samples."""
        tempo_map = self.conductor.tempo_map
        assert tempo_map is not None
        song_beat = self.song_beat(beat)
        if song_beat is None:  # tempo only: the beat stays, the next one moves
            first = tempo_map.sample_at(beat)
            return first, first + tempo_map.samples_per_beat(bpm)
        times = self.follower.time_at(song_beat), self.follower.time_at(song_beat + 1)
        if times[0] is None or times[1] is None:
            return None
        shift = self._offset + self.delay
        return self.audio.sample_at(times[0] + shift), self.audio.sample_at(times[1] + shift)


_CLOCK_KINDS = ("clock", "start", "continue", "stop")


class ClockOut:
    def __init__(
        self, conductor: Conductor, send: Callable[[list[tuple[int, bytes]]], None]
    ) -> None:
        self.conductor = conductor
        self._send = send  # (engine sample, message) pairs: ``MidiSender.add_system``
        self._next: float | None = None  # the transport beat of the next tick to send
        self._origin: float | None = None  # the transport beat the listeners count from
        conductor.transport_listeners.append(self._transport)

    def _transport(self, kind: str, at: int, beat: float, song_beat: float | None) -> None:
        if kind == "stop":
            self._send([(at, bytes((STOP,)))])
            self._next = None
            return
        if song_beat is not None:  # a master placed it: its position goes on
            self._origin = beat - song_beat
        elif kind == "start" or self._origin is None:
            self._origin = beat  # the listeners count from here
        position = beat - self._origin
        if position > 0:
            self._send([(at - 1, song_position(position)), (at - 1, bytes((CONTINUE,)))])
        else:
            self._send([(at - 1, bytes((START,)))])
        self._next = beat

    def tick(self, position: int) -> None:
        """Hand the sender the ticks that can no longer move."""
        tempo_map = self.conductor.tempo_map
        if self._next is None or tempo_map is None:
            return
        until = tempo_map.beat_at(position + self.conductor.engine.lead)
        beats = clock_ticks(self._next, until)
        if not beats:
            return
        tick = bytes((CLOCK,))
        self._send([(round(tempo_map.sample_at(b)), tick) for b in beats])
        self._next = beats[-1] + 1 / 24

"""The band's parts out as MIDI, each on its own channel, from the same plan as the audio.

``MidiTee`` stands between the conductor and the engine: every call goes on to the engine,
and the notes (with their retractions and releases) also go to a ``NoteSchedule``, which
turns them into note-on and note-off events at engine samples. A ``MidiSender`` thread sends
each event when the engine's clock reaches its sample, against that clock (never a sleep of
fixed length, so nothing drifts). Stop and panic send the held notes' note-offs and All Notes
Off on every channel used; so does closing.
"""

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jamd.engine.clock import AudioClock
from jamd.engine.interface import Engine, EngineStats, Fader
from jamd.engine.notes import Note
from jamd.engine.patches import Patch

CHANNELS = {"bass": 1, "keys": 2, "pad": 3, "lead": 4, "drums": 10}  # as musicians count them
ALL_NOTES_OFF = 123


@dataclass(order=True, slots=True)
class _Event:
    at: int
    order: int  # note-offs before note-ons at the same sample, then first come first sent
    seq: int
    data: bytes = field(compare=False)
    start: int = field(compare=False)  # of the note it belongs to (retract drops by it)


class NoteSchedule:
    """Notes as MIDI events waiting for their sample; what sounds, to silence it."""

    def __init__(self, channels: Mapping[str, int] = CHANNELS) -> None:
        self.channels = dict(channels)
        self._events: list[_Event] = []
        self._seq = itertools.count()
        self._sounding: dict[tuple[int, int], int] = {}  # (channel 0..15, note) -> notes held
        self.used: set[int] = set()

    def schedule(self, notes: Iterable[Note]) -> None:
        for note in notes:
            channel = self.channels.get(note.track)
            if channel is None:
                continue
            status = channel - 1
            pitch = min(127, max(0, round(note.pitch)))
            velocity = min(127, max(1, round(note.velocity * 127)))
            on = bytes((0x90 | status, pitch, velocity))
            off = bytes((0x80 | status, pitch, 0))
            heapq.heappush(self._events, _Event(note.start, 1, next(self._seq), on, note.start))
            end = max(note.end, note.start + 1)
            heapq.heappush(self._events, _Event(end, 0, next(self._seq), off, note.start))

    def system(self, events: Iterable[tuple[int, bytes]]) -> None:
        """System messages (clock, start, stop, song position) at their samples: sent before
        the notes of that sample and never retracted (they are given only once they are
        certain)."""
        for at, data in events:
            heapq.heappush(self._events, _Event(at, -1, next(self._seq), data, -1))

    def retract(self, at: int) -> None:
        """Forget the notes that start at or after ``at`` (their offs too)."""
        self._events = [event for event in self._events if event.start < at]
        heapq.heapify(self._events)

    def release(self, at: int) -> None:
        """Notes held at ``at`` end there; later ones are forgotten; All Notes Off follows."""
        kept = []
        for event in self._events:
            if event.start >= at:
                continue
            if event.data[0] & 0xF0 == 0x80 and event.at > at:
                event.at = at  # a held note's off comes now
            kept.append(event)
        self._events = kept
        heapq.heapify(self._events)
        for channel in sorted(self.used):
            data = bytes((0xB0 | channel, ALL_NOTES_OFF, 0))
            heapq.heappush(self._events, _Event(at, 2, next(self._seq), data, -1))

    def next_at(self) -> int | None:
        return self._events[0].at if self._events else None

    def due(self, until: int) -> list[bytes]:
        """The events before sample ``until``, in order, as they should be sent."""
        return [data for _, data in self.timed(until)]

    def timed(self, until: int) -> list[tuple[int, bytes]]:
        """``due``, each with its sample."""
        out: list[tuple[int, bytes]] = []
        while self._events and self._events[0].at < until:
            event = heapq.heappop(self._events)
            out.extend((event.at, data) for data in self._sent(event.data))
        return out

    def _sent(self, data: bytes) -> list[bytes]:
        """What ``data`` becomes on the wire: a re-struck note is cut first; an off goes
        only when the last of the notes on that key ends."""
        if data[0] >= 0xF0:
            return [data]
        kind, channel = data[0] & 0xF0, data[0] & 0x0F
        self.used.add(channel)
        if kind == 0xB0:
            self._sounding = {k: n for k, n in self._sounding.items() if k[0] != channel}
            return [data]
        key = (channel, data[1])
        held = self._sounding.get(key, 0)
        if kind == 0x90:
            self._sounding[key] = held + 1
            return [bytes((0x80 | channel, data[1], 0)), data] if held else [data]
        if held == 0:
            return []  # its note was cut by All Notes Off already
        if held > 1:
            self._sounding[key] = held - 1
            return []
        del self._sounding[key]
        return [data]

    def silence(self) -> list[bytes]:
        """Everything still waiting dropped; offs for what sounds and All Notes Off."""
        self._events = []
        out = [bytes((0x80 | channel, note, 0)) for channel, note in sorted(self._sounding)]
        self._sounding.clear()
        return out + [bytes((0xB0 | channel, ALL_NOTES_OFF, 0)) for channel in sorted(self.used)]


class MidiSender:
    """A thread that sends each event when the engine's audio clock reaches it: at the
    monotonic time that sample plays (``AudioClock``, smoothed from ``clock``'s readings), an
    absolute deadline, so nothing drifts and a reading's lateness does not jitter the ticks.
    An output that places messages itself (JACK's: ``jackout``) gets each ``early`` seconds
    before its time, with the time; RtMidi's ports (``early`` 0) get them at it."""

    def __init__(
        self,
        send: Callable[[bytes, float], None],
        clock: Callable[[], int],
        sample_rate: int,
        channels: Mapping[str, int] = CHANNELS,
        *,
        early: float = 0.0,
    ) -> None:
        self.schedule = NoteSchedule(channels)
        self._send = send
        self.audio = AudioClock(clock, sample_rate)
        self._rate = sample_rate
        self._early = round(early * sample_rate)
        self._wake = threading.Condition()
        self._running = True
        self.sent = 0
        self.closed: list[Callable[[], None]] = []  # called once the thread has stopped
        self._thread = threading.Thread(target=self._run, name="jamd-midi-out", daemon=True)
        self._thread.start()

    def add(self, notes: Iterable[Note]) -> None:
        with self._wake:
            self.schedule.schedule(notes)
            self._wake.notify()

    def add_system(self, events: Iterable[tuple[int, bytes]]) -> None:
        with self._wake:
            self.schedule.system(events)
            self._wake.notify()

    def retract(self, at: int) -> None:
        with self._wake:
            self.schedule.retract(at)

    def release(self, at: int) -> None:
        with self._wake:
            self.schedule.release(at)
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while self._running:
                audio = self.audio
                audio.update()
                now = audio.sample_at(time.monotonic()) + self._early
                for at, data in self.schedule.timed(math.floor(now) + 1):
                    self._send(data, audio.time_at(at))
                    self.sent += 1
                following = self.schedule.next_at()
                wait = 0.05 if following is None else (following - now) / self._rate
                self._wake.wait(min(0.05, max(0.0, wait)))

    def close(self) -> None:
        """Silence what sounds, then stop the thread."""
        with self._wake:
            self._running = False
            now = time.monotonic()
            for data in self.schedule.silence():
                self._send(data, now)
            self._wake.notify()
        self._thread.join(2.0)
        for close in self.closed:
            close()


class MidiTee:
    """The engine, with its notes also sent out as MIDI (an ``Engine`` itself)."""

    def __init__(self, engine: Engine, sender: MidiSender) -> None:
        self.engine = engine
        self.sender = sender

    @property
    def sample_rate(self) -> int:
        return self.engine.sample_rate

    @property
    def lead(self) -> int:
        return self.engine.lead

    def position(self) -> int:
        return self.engine.position()

    def schedule(self, notes: Sequence[Note]) -> None:
        self.engine.schedule(notes)
        self.sender.add(notes)

    def retract(self, at: int) -> None:
        self.engine.retract(at)
        self.sender.retract(at)

    def release(self, at: int) -> None:
        self.engine.release(at)
        self.sender.release(at)

    def prepare(self, patches: Iterable[Patch]) -> None:
        self.engine.prepare(patches)

    def change_patch(self, lane: str, patch: Patch, at: int) -> None:
        self.engine.change_patch(lane, patch, at)

    def set_fader(self, lane: str, fader: Fader) -> None:
        self.engine.set_fader(lane, fader)

    def set_tone(self, lane: str, factor: float) -> None:
        self.engine.set_tone(lane, factor)

    def set_tilt(self, db: float) -> None:
        self.engine.set_tilt(db)

    def set_delay_time(self, seconds: float) -> None:
        self.engine.set_delay_time(seconds)

    def set_master(self, level: float) -> None:
        self.engine.set_master(level)

    def stats(self) -> EngineStats:
        return self.engine.stats()

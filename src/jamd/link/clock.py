"""Ableton Link as a clock source: jamd in a Link session, through aalink.

``LinkClock`` joins and leaves the session, and on every turn of the daemon's loop reads it
once (its beat, read between two monotonic readings, placed on an engine sample by the
``AudioClock``; its tempo; its peers; whether it plays). While it leads (no MIDI clock
does), it steers the conductor as the MIDI clock follower does (``Conductor.sync``): from the
next beat not yet in the engine, the bar in progress is cut short or drawn out so that its bar
line is on the session's nearest one (``phase.bar_offset``: the transport shifts there, once,
on joining, on starting and when the session's timeline jumps); after that, the next beat
past the engine's lead goes where the session's beat falls, when it is more than
``SYNC_SAMPLES`` off, so a peer's tempo change plays from the next beat.
jamd's own tempo changes (OSC, MIDI, the config) set the session's tempo (``set_tempo``).
With ``start_stop``, jamd's play and stop are the session's, and the session's jamd's.
"""

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from jamd.engine.clock import AudioClock
from jamd.errors import JamdError
from jamd.link.phase import Timeline, bar_offset, beat_samples
from jamd.live.commands import Command, Play, Stop
from jamd.live.conductor import Conductor

log = logging.getLogger("jamd.link")

SYNC_SAMPLES = 12  # a quarter of a millisecond at 48 kHz: closer than that, the plan stays
TEMPO_STEP_BPM = 0.005  # tempos this close are the same (Link's own arithmetic wobbles)
READINGS = 3  # the session's beat is read this often a turn; the tightest reading counts
DISCOVERY_SECONDS = 1.0  # alone this long after joining, jamd's session is the session
SETTLE_SECONDS = 0.5  # a peer found, its timeline takes this long to be this one's


class LinkUnavailable(JamdError):
    """aalink cannot be imported: Link stays off, jamd keeps its own clock."""


def load_link() -> Any:
    """The ``aalink.Link`` class, or ``LinkUnavailable`` saying what to install."""
    try:
        import aalink  # noqa: PLC0415  (only when Link is asked for)
    except ImportError as error:
        raise LinkUnavailable(
            f"Ableton Link needs the aalink package (pip install aalink): {error}"
        ) from None
    return aalink.Link


class LinkClock:
    def __init__(
        self,
        conductor: Conductor,
        audio: AudioClock,
        position: Callable[[], int],
        command: Callable[[Command], None],
        *,
        quantum: float | None = None,
        start_stop: bool = True,
        link_class: Callable[[], Any] = load_link,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conductor = conductor
        self.audio = audio
        self._position = position
        self._command = command  # applied by the daemon, as a surface's command would be
        self.quantum = quantum  # None: the beats per bar of the bar coming
        self.start_stop = start_stop
        self._link_class = link_class
        self._clock = clock  # the monotonic clock the audio clock maps onto samples
        self._link: Any = None
        self._offset: float | None = None  # session beat minus transport beat
        self._from_beat = 0.0  # the transport beat the offset holds from
        self._playing: bool | None = None  # the session's play state last seen
        self._downbeat_sample: int | None = None
        self._joined_at: float | None = None  # the first turn after joining (``clock``)
        self._peers_since: float | None = None  # when peers were first seen since joining
        # start the music once the session's timeline is the peers', on its bar line in
        # progress (jamd run with Link and autoplay: join, then play)
        self.start_on_join = False
        conductor.transport_listeners.append(self._transport)

    # -- joining ------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._link is not None and bool(self._link.enabled)

    def join(self) -> None:
        """Join the session (``LinkUnavailable`` without aalink); its bar lines are jamd's
        from the next bar jamd can still move."""
        if self.enabled:
            return
        if self._link is None:
            link_class = self._link_class()
            self._link = link_class(self.conductor.session.tempo)
        link = self._link
        link.quantum = self._quantum()
        link.start_stop_sync_enabled = self.start_stop
        link.enabled = True
        self._offset = None
        self._playing = None
        self._downbeat_sample = None
        self._joined_at = None
        self._peers_since = None
        log.info(
            "Link: joined the session (quantum %g%s)",
            link.quantum,
            ", start/stop shared" if self.start_stop else "",
        )
        self._show()

    def leave(self) -> None:
        if not self.enabled:
            return
        self._link.enabled = False
        self._offset = None
        log.info("Link: left the session; jamd keeps its own clock")
        self._show()

    def close(self) -> None:
        self.leave()
        self._link = None

    # -- every turn of the loop ---------------------------------------------------------------

    def tick(self, *, leads: bool) -> None:
        """Read the session and, if Link ``leads`` (no MIDI clock does), follow it; else the
        session takes jamd's tempo (which the MIDI clock sets)."""
        if not self.enabled:
            return
        link, conductor = self._link, self.conductor
        quantum = self._quantum()
        if link.quantum != quantum:  # a song of another metre: bar lines align again
            link.quantum = quantum
            self._offset = None
        if not leads:
            if abs(link.tempo - conductor.session.tempo) >= TEMPO_STEP_BPM:
                link.tempo = conductor.session.tempo
            self._offset = None
            self._show()
            return
        now = self._clock()
        if self._joined_at is None:
            self._joined_at = now
        if link.num_peers and self._peers_since is None:
            self._peers_since = now
        if self._offset is None and not self._settled(now):
            # peers answer within a moment of joining, and their timeline becomes this one's
            # a moment later: bar lines placed on the fresh one would move again
            self._show()
            return
        self.audio.update()
        timeline = self._timeline()
        if self.start_on_join:
            self.start_on_join = False
            if not conductor.playing:
                self._start(timeline, quantum)
        if self.start_stop:
            self._follow_transport(bool(link.playing))
        if conductor.playing:
            self._steer(timeline, quantum)
        elif abs(conductor.session.tempo - timeline.bpm) >= TEMPO_STEP_BPM:
            conductor.sync(0.0, 0, timeline.bpm)  # stopped: the tempo the next play starts at
        self._show(timeline)

    def _settled(self, now: float) -> bool:
        """Whether the session's timeline is the one to place bar lines on: peers found a
        moment ago, or none found for a while."""
        assert self._joined_at is not None
        if self._peers_since is not None:
            return now - self._peers_since >= SETTLE_SECONDS
        return now - self._joined_at >= DISCOVERY_SECONDS

    @property
    def ready(self) -> bool:
        """In a session whose timeline is the peers' (settled, as bar lines need): a session
        beat names the same moment for every peer."""
        return self.enabled and self._joined_at is not None and self._settled(self._clock())

    def timeline(self) -> Timeline | None:
        """The session's beat on an engine sample, read now (None: not ``ready``)."""
        if not self.ready:
            return None
        self.audio.update()
        return self._timeline()

    @property
    def beats_per_bar(self) -> float:
        """The quantum: the session's beats between bar lines."""
        return self._quantum()

    def set_tempo(self, bpm: float) -> None:
        """jamd's tempo changed (a performer, the config): the session's changes with it."""
        if self.enabled and abs(self._link.tempo - bpm) >= TEMPO_STEP_BPM:
            self._link.tempo = bpm
            log.info("Link: the session's tempo set to %g BPM", bpm)

    # -- following ----------------------------------------------------------------------------

    def _quantum(self) -> float:
        if self.quantum is not None:
            return self.quantum
        song = self.conductor.song
        return float(song.plan.beats_per_bar) if song is not None else 4.0

    def _timeline(self) -> Timeline:
        """One reading of the session: its beat at an engine sample, and its tempo."""
        link = self._link
        best: tuple[float, float, float] | None = None
        for _ in range(READINGS):
            before = self._clock()
            beat = float(link.beat)
            after = self._clock()
            if best is None or after - before < best[0]:
                best = (after - before, beat, (before + after) / 2)
        assert best is not None
        _, beat, moment = best
        sample = self.audio.sample_at(moment)
        return Timeline(beat, sample, float(link.tempo), self.conductor.engine.sample_rate)

    def _start(self, timeline: Timeline, quantum: float) -> None:
        """Play from the top (the count-in first) on the session's bar line in progress: its
        notes still to come play."""
        conductor, position = self.conductor, self._position()
        if abs(conductor.session.tempo - timeline.bpm) >= TEMPO_STEP_BPM:
            conductor.sync(0.0, 0, timeline.bpm)  # stopped: the tempo it starts at
        earliest = position + conductor.engine.lead
        bar_line = math.floor(timeline.beat_at(earliest) / quantum + 1e-9) * quantum
        at = round(timeline.sample_at(bar_line))
        conductor.place(conductor.start_cursor(), at, position)
        log.info(
            "Link: jamd's bar lines on the session's from the start, on session beat %g "
            "(in %.1f ms)",
            bar_line,
            (max(at, earliest) - position) * 1000 / conductor.engine.sample_rate,
        )

    def _steer(self, timeline: Timeline, quantum: float) -> None:
        conductor = self.conductor
        tempo_map = conductor.tempo_map
        assert tempo_map is not None
        earliest = self._position() + conductor.engine.lead
        if self._offset is None:  # joining, starting, a new metre, a jump: bar lines align
            # from the next beat the engine can take: the bar in progress is cut short or
            # drawn out there, so that its bar line, and every one after, is the session's
            beat = float(math.ceil(tempo_map.beat_at(earliest) - 1e-9))
            bar_beat = conductor.bar_line_at(beat)
            if bar_beat is None:
                return
            bar_sample = tempo_map.sample_at(bar_beat)
            offset = bar_offset(timeline, bar_beat, bar_sample, quantum, earliest, beat=beat)
            at = round(timeline.sample_at(beat + offset))
            conductor.sync(beat, at, timeline.bpm)
            self._offset, self._from_beat = offset, beat
            log.info(
                "Link: jamd's bar lines on the session's, from session beat %g (in %.1f ms)",
                beat + offset,
                (at - self._position()) * 1000 / conductor.engine.sample_rate,
            )
            return
        beat = float(math.floor(tempo_map.beat_at(earliest)) + 1)
        if beat < self._from_beat:
            return  # the shift onto the session's bar line is still to come
        first, second = beat_samples(timeline, beat, self._offset)
        if first < earliest:
            beat += 1
            first, second = beat_samples(timeline, beat, self._offset)
        now_first, now_second = tempo_map.sample_at(beat), tempo_map.sample_at(beat + 1)
        if abs(now_first - first) > quantum * timeline.samples_per_beat / 2:
            # no tempo change moves a beat this far: the session's timeline jumped (another
            # session met this one); the next bar line aligns again
            log.info("Link: the session's timeline jumped; jamd's bar lines align again")
            self._offset = None
            return
        if abs(now_first - first) > SYNC_SAMPLES or abs(now_second - second) > SYNC_SAMPLES:
            conductor.sync(beat, round(first), timeline.bpm)

    def _follow_transport(self, playing: bool) -> None:
        """A peer started or stopped the session: so does jamd. On joining, a session that
        stands still starts with jamd if jamd plays."""
        if playing == self._playing:
            return
        joined = self._playing is None
        self._playing = playing
        if playing and not self.conductor.playing:
            log.info("Link: the session plays: so does jamd")
            self._command(Play())
        elif not playing and self.conductor.playing:
            if joined:
                self._link.playing = True
                self._playing = True
            else:
                log.info("Link: the session stopped: so does jamd")
                self._command(Stop())

    def _transport(self, kind: str, _at: int, _beat: float, _song_beat: float | None) -> None:
        """jamd started or stopped: the session does too (start/stop shared); the next bar
        line goes onto the session's again."""
        self._offset = None
        if not (self.enabled and self.start_stop):
            return
        playing = kind != "stop"
        if bool(self._link.playing) != playing:
            self._link.playing = playing
        self._playing = playing

    # -- what the session shows ---------------------------------------------------------------

    def _show(self, timeline: Timeline | None = None) -> None:
        conductor = self.conductor
        session = conductor.session
        if not self.enabled:
            fields: dict[str, object] = {
                "link": False,
                "link_peers": 0,
                "link_tempo": 0.0,
                "link_downbeat": -1.0,
            }
        else:
            link = self._link
            downbeat = session.link_downbeat
            start = conductor.bar_start(self._position())
            if start is None:
                downbeat, self._downbeat_sample = -1.0, None
            elif start != self._downbeat_sample and timeline is not None:
                downbeat, self._downbeat_sample = round(timeline.beat_at(start), 6), start
            fields = {
                "link": True,
                "link_peers": int(link.num_peers),
                "link_tempo": round(float(link.tempo), 2),
                "link_downbeat": downbeat,
            }
        changed = {name: value for name, value in fields.items() if getattr(session, name) != value}
        if changed:
            conductor.set_clock_state(**changed)

"""``LinkClock`` steering the conductor, against a stand-in for aalink's ``Link`` on the engine
twin's clock: no network, time moves only when the test moves it, every figure exact."""

from typing import Any

import pytest
from band import SR, TICK, Band, MakeBand

from jamd.engine.clock import AudioClock
from jamd.link import LinkClock, LinkUnavailable
from jamd.live.commands import Command, Play, Stop
from jamd.live.session import Transport


class SessionOfOne:
    """What jamd reads of a Link session (``aalink.Link``'s attributes), on a given clock:
    the session's beat ``origin`` at time 0, at ``bpm``; a tempo change keeps the beat playing."""

    def __init__(self, clock: Any, bpm: float, origin: float) -> None:
        self._clock = clock
        self._time, self._beat, self._tempo = 0.0, origin, bpm
        self.enabled = False
        self.quantum = 1.0
        self.start_stop_sync_enabled = False
        self.playing = False
        self.num_peers = 1

    def beat_at(self, moment: float) -> float:
        return self._beat + (moment - self._time) * self._tempo / 60.0

    @property
    def beat(self) -> float:
        return self.beat_at(self._clock())

    @property
    def tempo(self) -> float:
        return self._tempo

    @tempo.setter
    def tempo(self, bpm: float) -> None:
        now = self._clock()
        self._beat, self._time, self._tempo = self.beat_at(now), now, bpm


class Linked:
    def __init__(self, band: Band, bpm: float = 120.0, origin: float = 1.3) -> None:
        self.band = band
        engine = band.engine
        self.now = lambda: engine.clock / SR
        self.session = SessionOfOne(self.now, bpm, origin)
        self.commands: list[Command] = []

        def command(made: Command) -> None:
            self.commands.append(made)
            band.apply(made)

        self.clock = LinkClock(
            band.conductor,
            AudioClock(lambda: engine.clock, SR, clock=self.now),
            lambda: engine.clock,
            command,
            link_class=lambda: lambda _bpm: self.session,
            clock=self.now,
        )

    def run(self, seconds: float) -> None:
        """The daemon's loop: every 5 ms, Link's turn, then the conductor's."""
        engine = self.band.engine
        end = engine.clock + round(seconds * SR)
        while engine.clock < end:
            engine.advance(TICK)
            self.clock.tick(leads=True)
            self.band.conductor.tick(engine.clock)

    def bar_lines(self) -> list[float]:
        """The session beat each planned bar starts on."""
        tempo_map = self.band.conductor.tempo_map
        assert tempo_map is not None
        return [
            self.session.beat_at(round(tempo_map.sample_at(bar.start_beat)) / SR)
            for bar in self.band.conductor.planned
        ]


def test_joined_every_bar_line_lands_on_a_session_bar_line(make_band: MakeBand) -> None:
    linked = Linked(make_band())
    linked.clock.join()
    assert linked.session.enabled
    assert linked.session.quantum == 4.0  # the click genre's bar
    linked.run(6.0)
    lines = linked.bar_lines()
    assert lines
    one_sample = 120.0 / 60.0 / SR  # a sample, in beats
    for line in lines:
        assert abs(line - round(line / 4.0) * 4.0) <= one_sample, lines
    session = linked.band.session
    assert (session.link, session.link_peers, session.link_tempo) == (True, 1, 120.0)
    downbeat = session.link_downbeat
    assert downbeat >= 0
    assert abs(downbeat - round(downbeat / 4.0) * 4.0) <= 1e-3


def test_a_peers_tempo_plays_from_the_next_beat_and_bars_stay_on_phase(
    make_band: MakeBand,
) -> None:
    linked = Linked(make_band())
    linked.clock.join()
    linked.run(3.0)
    linked.session.tempo = 133.0  # a peer's change
    changed_at = linked.band.engine.clock
    linked.run(4.0)
    band = linked.band
    assert band.session.tempo == 133.0
    tempo_map = band.conductor.tempo_map
    assert tempo_map is not None
    # from the first beat past the lead on, beats are 60/133 s apart and on the session's
    lead = band.engine.lead
    first = int(tempo_map.beat_at(changed_at + lead)) + 2
    per_beat = SR * 60.0 / 133.0
    for beat in range(first, first + 4):
        assert tempo_map.sample_at(beat + 1) - tempo_map.sample_at(beat) == pytest.approx(
            per_beat, abs=1.0
        )
    for line in linked.bar_lines():
        assert abs(line - round(line / 4.0) * 4.0) <= 2 * 133.0 / 60.0 / SR


def test_jamds_tempo_sets_the_sessions(make_band: MakeBand) -> None:
    linked = Linked(make_band())
    linked.clock.join()
    linked.clock.set_tempo(97.0)
    assert linked.session.tempo == 97.0
    linked.run(2.0)
    assert linked.band.session.tempo == 97.0


def test_start_and_stop_go_both_ways(make_band: MakeBand) -> None:
    linked = Linked(make_band(autoplay=False))
    linked.clock.start_stop = True
    linked.clock.join()
    linked.run(0.5)
    assert linked.band.session.transport is Transport.STOPPED
    linked.session.playing = True  # a peer plays
    linked.run(3.0)
    assert linked.band.session.transport is Transport.PLAYING
    assert [type(command).__name__ for command in linked.commands] == ["Play"]
    linked.session.playing = False  # a peer stops
    linked.run(0.5)
    assert linked.band.session.transport is Transport.STOPPED
    linked.band.apply(Stop())
    linked.run(0.1)
    linked.band.apply(Play())  # jamd plays: the session does
    assert linked.session.playing is True


def test_leaving_shows_link_off_and_jamd_plays_on(make_band: MakeBand) -> None:
    linked = Linked(make_band())
    linked.clock.join()
    linked.run(1.0)
    linked.clock.leave()
    assert not linked.session.enabled
    session = linked.band.session
    assert (session.link, session.link_peers, session.link_tempo) == (False, 0, 0.0)
    assert session.transport is Transport.PLAYING


def test_without_aalink_joining_says_what_to_install(make_band: MakeBand) -> None:
    band = make_band()

    def missing() -> Any:
        raise LinkUnavailable("Ableton Link needs the aalink package (pip install aalink): x")

    clock = LinkClock(
        band.conductor,
        AudioClock(lambda: band.engine.clock, SR, clock=lambda: band.engine.clock / SR),
        lambda: band.engine.clock,
        band.apply,
        link_class=missing,
    )
    with pytest.raises(LinkUnavailable, match="pip install aalink"):
        clock.join()
    assert not clock.enabled
    assert band.session.link is False

"""The conductor on a MIDI clock: following a master's ticks, and the ticks jamd sends.

The master's ticks are made-up times on the engine twin's clock (time moves only when the test
moves it), so every onset is an exact sample; over JACK, tests/app/test_midi.py sends real ones.
"""

import itertools

from band import SR, TICK, Band, MakeBand

from jamd.engine.clock import AudioClock
from jamd.live.commands import Continue, Play, SetTempo, Stop
from jamd.live.session import Transport
from jamd.midi.clock import TICKS_PER_BEAT
from jamd.midi.messages import Realtime, SongPosition
from jamd.midi.sync import SYNC_SAMPLES, ClockFollow, ClockOut

DELAY = 0.05
PIECES = ("hat", "kick", "snare", "cowbell", "tom")  # a section's last beat fills with toms


class Master:
    """A master clock's ticks fed to a ``ClockFollow`` as the twin's clock reaches them."""

    def __init__(self, band: Band, bpm: float, start: float = 1.0) -> None:
        self.band = band
        engine = band.engine
        self.audio = AudioClock(lambda: engine.clock, SR, clock=lambda: engine.clock / SR)
        self.follow = ClockFollow(
            band.conductor,
            self.audio,
            lambda: engine.clock,
            lambda: band.conductor.apply(Stop(), engine.clock),
            delay=DELAY,
        )
        self.bpm = bpm
        self.now = start
        self.tick_times: list[float] = []  # the ticks since Start: beat n is tick 24 n

    def send(self, kind: str) -> None:
        self.follow.take("master", Realtime(kind), self.now)

    def position(self, sixteenths: int) -> None:
        self.follow.take("master", SongPosition(sixteenths), self.now)

    def ticks(self, count: int, *, ramp_to: float | None = None) -> None:
        step = 0.0 if ramp_to is None else (ramp_to - self.bpm) / count
        for _ in range(count):
            self.band.run_to(round(self.now * SR))
            if (
                self.follow.take("master", Realtime("clock"), self.now)
                and self.follow.follower.running
            ):
                self.tick_times.append(self.now)
            self.now += 60.0 / (self.bpm * TICKS_PER_BEAT)
            self.bpm += step

    def onsets(self) -> list[int]:
        return sorted(self.band.onsets(*PIECES))

    def errors(self, expected: list[int]) -> list[int]:
        """How far the drum onset nearest each expected beat is from it, in samples."""
        onsets = self.onsets()
        return [min((onset - beat for onset in onsets), key=abs) for beat in expected]


def beat_onsets(master: Master, start: float, beats: range, bpm: float) -> list[int]:
    """Where the song's beats land: the master's beats, ``DELAY`` later, as samples."""
    return [round((start + beat * 60.0 / bpm + DELAY) * SR) for beat in beats]


def test_start_plays_the_song_from_its_top_on_the_masters_beats_and_stop_stops(
    make_band: MakeBand,
) -> None:
    band = make_band(autoplay=False)
    master = Master(band, 126.0)
    master.ticks(48)  # the clock runs before Start: the tempo is taken while stopped
    assert band.session.tempo == 126.0
    assert band.session.transport is Transport.STOPPED
    start = master.now
    master.send("start")
    master.ticks(16 * TICKS_PER_BEAT)
    assert band.session.transport is Transport.PLAYING
    assert band.session.section == "verse 1"  # bar 3 of the song, its top had no count-in
    errors = master.errors(beat_onsets(master, start, range(14), 126.0))
    assert max(abs(error) for error in errors) <= SYNC_SAMPLES + 1
    master.send("stop")
    assert band.session.transport is Transport.STOPPED


def test_a_master_started_without_a_tempo_is_followed_within_two_beats(
    make_band: MakeBand,
) -> None:
    band = make_band(autoplay=False, tempo=100.0)  # jamd thinks 100; the master plays 132
    master = Master(band, 132.0)
    start = master.now
    master.send("start")
    master.ticks(12 * TICKS_PER_BEAT)
    errors = master.errors(beat_onsets(master, start, range(2, 12), 132.0))
    assert max(abs(error) for error in errors) <= SYNC_SAMPLES + 1
    assert abs(band.session.tempo - 132.0) <= 0.1


def test_a_ramp_from_120_to_128_is_followed_beat_by_beat(make_band: MakeBand) -> None:
    band = make_band(autoplay=False)
    master = Master(band, 120.0)
    master.send("start")
    master.ticks(8 * TICKS_PER_BEAT)
    master.ticks(32 * TICKS_PER_BEAT, ramp_to=128.0)
    master.ticks(8 * TICKS_PER_BEAT)
    assert abs(band.session.tempo - 128.0) <= 0.1
    beats = master.tick_times[::TICKS_PER_BEAT][:46]
    errors = master.errors([round((moment + DELAY) * SR) for moment in beats])
    assert max(abs(error) for error in errors) <= 2 * SYNC_SAMPLES  # a millisecond, all along


def test_song_position_and_continue_start_at_that_bar_in_time(make_band: MakeBand) -> None:
    band = make_band(autoplay=False)
    master = Master(band, 120.0)
    master.ticks(48)
    master.position(4 * 4 * 3)  # bar 4's downbeat (bars 0-based: 3), the verse's 2nd bar
    continued = master.now
    master.send("continue")
    master.ticks(4 * TICKS_PER_BEAT)
    assert band.session.bar == 4
    assert band.session.section == "verse 1"
    errors = master.errors(beat_onsets(master, continued, range(4), 120.0))
    assert max(abs(error) for error in errors) <= SYNC_SAMPLES + 1


def test_a_second_port_sending_clock_is_ignored_while_the_first_ticks(
    make_band: MakeBand,
) -> None:
    band = make_band(autoplay=False)
    master = Master(band, 120.0)
    master.ticks(30)
    assert master.follow.take("other", Realtime("clock"), master.now) is True
    assert master.follow.ignored == 1
    assert master.follow.port == "master"


def play(band: Band, out: ClockOut, seconds: float) -> None:
    """The daemon's loop, for ``seconds`` of the twin's clock: the conductor, then the clock."""
    until = band.engine.clock + round(seconds * SR)
    while band.engine.clock + TICK <= until:
        band.run_to(band.engine.clock + TICK)
        out.tick(band.engine.clock)


def sent_by(out: list[tuple[int, bytes]], data: bytes) -> list[int]:
    return [at for at, message in out if message == data]


def test_jamd_sends_24_ticks_a_beat_with_start_stop_and_song_position(
    make_band: MakeBand,
) -> None:
    band = make_band(autoplay=False)
    sent: list[tuple[int, bytes]] = []
    out = ClockOut(band.conductor, sent.extend)

    def run(until: int) -> None:
        play(band, out, (until - band.engine.clock) / SR)

    band.apply(Play())
    start = band.beat_sample(0)
    run(start + 8 * SR // 2)  # 8 beats at 120
    ticks = sent_by(sent, b"\xf8")
    assert sent_by(sent, b"\xfa") == [start - 1]
    assert ticks[0] == start
    assert {b - a for a, b in itertools.pairwise(ticks)} == {1000}  # 60/120/24 s
    band.apply(SetTempo(150.0))
    run(band.engine.clock + 4 * SR)
    ticks = sent_by(sent, b"\xf8")
    spacings = {b - a for a, b in itertools.pairwise(ticks)}
    assert spacings == {1000, 800}  # the new tempo from a beat on, 24 ticks a beat
    changed = next(i for i, (a, b) in enumerate(itertools.pairwise(ticks)) if b - a == 800)
    assert changed % TICKS_PER_BEAT == 0
    band.apply(Stop())
    stopped = sent_by(sent, b"\xfc")
    assert len(stopped) == 1
    run(band.engine.clock + SR)
    assert max(sent_by(sent, b"\xf8")) < stopped[0]
    band.apply(Continue())
    run(band.engine.clock + SR)
    resumed = band.conductor.planned[0].start_beat  # the listeners count from the Play, beat 0
    spp = bytes((0xF2, round(resumed * 4) & 0x7F, round(resumed * 4) >> 7))
    after_stop = [message for at, message in sent if at > stopped[0]]
    assert [message for message in after_stop if message[0] != 0xF8][:2] == [spp, b"\xfb"]
    first_after = min(at for at in sent_by(sent, b"\xf8") if at > stopped[0])
    assert first_after == band.beat_sample(resumed)


def test_following_and_sending_passes_the_masters_start_and_position_on(
    make_band: MakeBand,
) -> None:
    band = make_band(autoplay=False)
    sent: list[tuple[int, bytes]] = []
    out = ClockOut(band.conductor, sent.extend)
    master = Master(band, 120.0)
    master.ticks(48)
    master.position(4 * 4 * 2)  # bar 3
    master.send("continue")
    master.ticks(2)
    first_beat = band.conductor.planned[0].start_beat
    assert [message for _, message in sent][:2] == [bytes((0xF2, 32, 0)), b"\xfb"]  # bar 3
    assert sent[0][0] == band.beat_sample(first_beat) - 1
    master.ticks(4 * TICKS_PER_BEAT)
    out.tick(band.engine.clock)
    assert sent_by(sent, b"\xf8")[0] == band.beat_sample(first_beat)


def test_song_position_counts_from_the_last_play_from_the_top(make_band: MakeBand) -> None:
    band = make_band(autoplay=False)
    sent: list[tuple[int, bytes]] = []
    out = ClockOut(band.conductor, sent.extend)

    def run(seconds: float) -> None:
        play(band, out, seconds)

    band.apply(Play())
    run(3.0)
    band.apply(Stop())
    run(0.5)
    band.apply(Play())  # from the top: Start, the listeners count from 0 again
    started = band.conductor.planned[0].start_beat
    run(2.3)
    band.apply(Stop())
    run(0.5)
    band.apply(Continue())
    resumed = band.conductor.planned[0].start_beat
    assert len(sent_by(sent, b"\xfa")) == 2
    sixteenths = round((resumed - started) * 4)
    assert sent_by(sent, bytes((0xF2, sixteenths & 0x7F, sixteenths >> 7)))

"""A band member: this jamd as one of several instances that play one song (docs/band.md).

Each member plays its own parts (``[band] parts``) of the same song: every member plans the
song itself, from the same parameters and the same seed, so they only need to agree on which
song, which bar and when. The when is the Ableton Link session's: bar lines are session bar
lines on every member (``jamd.link``). The rest travels over OSC to the peers' addresses
(``jamd.band.wire``):

- A command given to a member (any surface) is shared: it is sent to every peer with the
  session beat from which it lands (``[band] ahead_ms`` after it was given, time for it to
  arrive), and every member, this one included, applies it from there: the same boundary,
  the same bar. A command that needs a random choice (a fresh seed) has it made here first.
  The tempo is not sent (Link shares it), nor joining or leaving Link.
- At every bar line each member tells the others the bar it started: the session beat, the
  song's bar, the song, and its epoch (the shared commands it has seen). Where two disagree,
  the one with the higher epoch (then the name that sorts first) is the band's, and the other
  plays the band's song from its next bar line. This is how a member that missed a message
  comes back, and how two that started apart become one band.
- A member that joins (or is told to play by the Link session) asks the others where the band
  is (``hello``); the first answer puts it on the band's song and bar, from the bar line in
  progress (the notes still to come in it) or the next. Alone after a second, it starts its
  own song on the session's next bar line; of several members starting together, the one whose
  name sorts first starts and the others follow it.
- A member that leaves says nothing: the others play on.

Bad messages (not JSON, not a band message, a command that does not check, a genre this member
does not have) are answered with ``/jamd/error`` to their sender, logged, counted, and change
nothing.
"""

import logging
import math
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jamd.band.wire import (
    COMMAND,
    HELLO,
    STATE,
    BandError,
    Position,
    Shared,
    Song,
    command_from_wire,
    command_to_wire,
    decode,
    encode,
    heard,
)
from jamd.errors import InputError
from jamd.link import LinkClock
from jamd.link.phase import Timeline, next_bar_line
from jamd.live.commands import (
    Boundary,
    Command,
    Continue,
    Play,
    Regenerate,
    SetLink,
    SetTempo,
    parse_held_chord,
)
from jamd.live.conductor import Conductor, Cursor, LiveSong, PlannedBar
from jamd.live.session import Session

log = logging.getLogger("jamd.band")

Address = tuple[str, int]
Peer = Any  # who sent a message: the OSC server's (host, port) or TCP stream
Send = Callable[[str, tuple[Any, ...], Peer], None]

HELLO_SECONDS = 0.25  # a member waiting for the band asks this often
ANSWER_SECONDS = 0.3  # and waits this long for an answer before it may start the song itself
ALONE_SECONDS = 1.0  # no member answered this long after the session settled: it starts alone
ALIVE_SECONDS = 3.0  # a member heard from within this long is in the band
UNSHARED = (SetLink, SetTempo)  # each member's own Link session; Link shares the tempo
STARTS = (Play, Continue)  # stopped, these start on a session bar line


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A command for this member and its peers: from ``earliest`` here, session ``beat``."""

    command: Command
    earliest: int | None
    beat: float | None


class BandMember:
    def __init__(
        self,
        conductor: Conductor,
        link: LinkClock | None,
        position: Callable[[], int],
        send: Send,
        *,
        name: str,
        peers: Sequence[Address],
        parts: Sequence[str] = (),
        ahead_seconds: float = 0.08,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conductor = conductor
        self.link = link
        self._position = position
        self._send = send
        self.name = name
        self.peers = tuple(peers)
        self.parts = tuple(parts)
        self.ahead = round(ahead_seconds * conductor.engine.sample_rate)
        self._wake = wake
        self._clock = clock
        self.epoch = 0  # the shared commands this member has seen (the band's, once in it)
        self.late = 0  # shared commands that came after the bar they were for was taken
        self._heard: dict[str, float] = {}  # member -> when it was last heard from
        self._inbox: list[tuple[Command, int | None]] = []  # peers' commands, for the loop
        self._announced: int | None = None  # the engine sample of the bar last announced
        self._joining = False  # waiting for the band to say where it is, to start there
        self._ready_at: float | None = None  # when the session settled while joining
        self._asked_at: float | None = None  # the last hello
        # heard(), by song: the song kept with it, so that an id used again is not taken for it
        self._prints: dict[tuple[int, str | None, bool], tuple[LiveSong, str]] = {}
        self._offsets: dict[str, float] = {}  # member -> its session beats to this one's
        self._taking_from = -math.inf  # the session beat from which a peer's song plays here

    # -- the daemon's side --------------------------------------------------------------------

    def start(self, *, play: bool) -> None:
        """Jamd started: with ``play`` (autoplay), it starts where the band is, once it
        knows (or alone)."""
        self._joining = play and not self.conductor.playing
        self._show()

    def prepare(self, command: Command) -> "Outgoing":
        """A command given to this member, made definite (a fresh seed chosen here): what to
        apply here, from which engine sample (None: the conductor's own first boundary), and
        for the peers, once it is taken here (``send``)."""
        if isinstance(command, UNSHARED) or not self.peers:
            return Outgoing(command, None, None)
        if isinstance(command, Regenerate) and command.seed is None:
            command = Regenerate(random.randrange(1, 2**31), command.genre)
        beat, earliest = self._landing(command)
        return Outgoing(command, earliest, beat)

    def send(self, outgoing: "Outgoing") -> None:
        """The command taken here goes to the peers (not one this member refused)."""
        if isinstance(outgoing.command, UNSHARED) or not self.peers:
            return
        self.epoch += 1
        timeline = self._timeline()
        shared = Shared(
            member=self.name,
            epoch=self.epoch,
            sent=0.0 if timeline is None else timeline.beat,
            beat=outgoing.beat if timeline is not None else None,
            command=command_to_wire(outgoing.command),
        )
        self._broadcast(COMMAND, encode(shared))

    def take(self) -> list[tuple[Command, int | None]]:
        """The peers' commands that came since, each with the engine sample it lands from."""
        taken, self._inbox = self._inbox, []
        return taken

    def session_started(self) -> None:
        """The Link session started playing (a peer pressed play): start with the band."""
        if not self.conductor.playing:
            self._joining = True

    def tick(self) -> None:
        """Every turn of the loop: join the band, and announce each bar line."""
        now = self._clock()
        self._show(now)
        timeline = self._timeline()
        if self._joining:
            self._join(now, timeline)
        if timeline is None or not self.conductor.playing:
            return
        bar = self.conductor.bar_at(self._position())
        if bar is None:
            return
        start = self.conductor.start_sample(bar)
        if start != self._announced:
            self._announced = start
            where = self._where(bar, timeline)
            if where.beat >= self._taking_from - bar.beats / 4:
                self._broadcast(STATE, encode(where))

    # -- what the peers send (the OSC server's answers: sender, address, arguments) -----------

    def hello(self, peer: Peer, _path: str, args: tuple[Any, ...]) -> None:
        if len(args) != 1 or not isinstance(args[0], str) or not args[0]:
            raise BandError("hello carries the member's name")
        self._heard[args[0]] = self._clock()
        here = self._here()
        if here is not None:
            self._send(STATE, (encode(here),), peer)

    def state(self, _peer: Peer, _path: str, args: tuple[Any, ...]) -> None:
        theirs = decode(Position, args)
        if theirs.member == self.name:
            return
        self._heard[theirs.member] = self._clock()
        timeline = self._timeline()
        if timeline is None:
            return  # no shared beats to place it on yet
        beat = theirs.beat + self._offset(theirs.member, theirs.sent, timeline)
        if not self.conductor.playing:
            if self._joining:
                self._adopt(theirs, beat, timeline)
            return
        if beat < self._taking_from - 8 * self._quantum():
            self._taking_from = -math.inf  # the session's timeline went back: it jumped
        if beat < self._taking_from:
            return  # the band's song starts here from a bar line still to come
        mine = self._mine_at(beat, timeline)
        if mine is None:
            return  # that bar is gone here already, or not planned yet: the next one tells
        # agreeing raises no epoch: one that missed a command loses to the others where the
        # command lands, even if its name sorts first
        if mine != (theirs.bar, theirs.heard) and theirs.wins_over(self.epoch, self.name):
            log.info(
                "band: %s plays bar %d of another song from session beat %g: playing the band's",
                theirs.member,
                theirs.bar + 1,
                beat,
            )
            self._adopt(theirs, beat, timeline)

    def command(self, _peer: Peer, _path: str, args: tuple[Any, ...]) -> None:
        shared = decode(Shared, args)
        command = command_from_wire(shared.command)
        self._heard[shared.member] = self._clock()
        self.epoch = max(self.epoch, shared.epoch)
        earliest: int | None = None
        if shared.beat is not None:
            timeline = self._timeline()
            if timeline is None:
                log.warning(
                    "band: %s from %s lands at once: not in its Link session",
                    command,
                    shared.member,
                )
            else:
                beat = shared.beat + self._offset(shared.member, shared.sent, timeline)
                earliest = round(timeline.sample_at(beat))
                lead = self._position() + self.conductor.engine.lead
                if earliest < lead:
                    self.late += 1
                    log.warning(
                        "band: %s from %s came %.1f ms after the moment it was for: it lands "
                        "on the next boundary here",
                        command,
                        shared.member,
                        (lead - earliest) * 1000 / self.conductor.engine.sample_rate,
                    )
        self._inbox.append((command, earliest))
        self._wake()

    # -- joining ------------------------------------------------------------------------------

    def _join(self, now: float, timeline: Timeline | None) -> None:
        if self.conductor.playing:
            self._joining = False
            return
        if self.link is not None and self.link.enabled and timeline is None:
            return  # the session's timeline is not the peers' yet
        if self._ready_at is None:
            self._ready_at = now
        if self.peers and (self._asked_at is None or now - self._asked_at >= HELLO_SECONDS):
            self._asked_at = now
            self._broadcast(HELLO, self.name)
        waited = now - self._ready_at
        if waited < ANSWER_SECONDS:
            return  # a member that plays answers within a moment: then this one follows it
        band = self._members(now)
        if (band and min(band) > self.name) or waited >= ALONE_SECONDS:
            # none of them plays: the first by name starts (the others follow its bars)
            self._joining = False
            _, earliest = self._landing(Play())
            log.info(
                "band: %s starts the song",
                "this member, first by name," if band else "no member answered: this one",
            )
            self._inbox.append((Play(), earliest))
            self._wake()

    def _adopt(self, theirs: Position, beat: float, timeline: Timeline) -> None:
        """Play ``theirs``' song (its bar started on session ``beat`` here) from the bar in
        progress (when stopped) or the next bar line the engine can still take."""
        conductor = self.conductor
        try:
            song = conductor.band_song(
                theirs.song.params(), theirs.song.patches, frozenset(theirs.song.held)
            )
            hold = theirs.song.hold
            cursor = Cursor(
                song,
                theirs.bar,
                hold=None if hold is None else parse_held_chord(hold, song.plan.key),
                stop_after_song=theirs.song.ending,
            )
        except InputError as error:  # answered to the sender, counted and logged by the server
            raise BandError(f"cannot play {theirs.member}'s song: {error}") from None
        quantum = float(song.plan.beats_per_bar)
        position = self._position()
        soonest = timeline.beat_at(position + conductor.engine.lead)
        if conductor.playing:
            target = next_bar_line(soonest, quantum)
        else:  # starting: in the bar in progress, its notes still to come
            target = math.floor(soonest / quantum + 1e-9) * quantum
        bars = round((target - beat) / quantum)
        if bars < 0:  # a bar still to come (the first of a song about to start): from there
            target, bars = beat, 0
        following = conductor.advance(cursor, bars)
        if following is None:
            return  # the band's music ends before then
        self.epoch = theirs.epoch
        self._joining = False
        self._taking_from = target  # the bars before it are this member's old song: unsaid
        at = round(timeline.sample_at(target))
        outcome = conductor.place(following, at, position)
        sounds = max(outcome.at, position + conductor.engine.lead) - position
        log.info(
            "band: %s's song: %s (plays in %.1f ms)",
            theirs.member,
            outcome.detail,
            sounds * 1000 / conductor.engine.sample_rate,
        )

    # -- where this member is -----------------------------------------------------------------

    def _where(self, bar: PlannedBar, timeline: Timeline) -> Position:
        cursor = bar.before
        beat = timeline.beat_at(self.conductor.start_sample(bar))
        quantum = float(bar.beats)
        return Position(
            member=self.name,
            epoch=self.epoch,
            sent=timeline.beat,
            beat=round(beat / quantum) * quantum,  # on the session's bar line, within a buffer
            bar=cursor.bar,
            song=Song.of(cursor),
            heard=self._print(cursor),
        )

    def _here(self) -> Position | None:
        """The bar playing now (or, about to start, the first), as the band hears of it
        (None: not playing, or no session)."""
        timeline = self._timeline()
        planned = self.conductor.planned
        bar = self.conductor.bar_at(self._position()) or (planned[0] if planned else None)
        if timeline is None or bar is None:
            return None
        where = self._where(bar, timeline)
        return where if where.beat >= self._taking_from - bar.beats / 4 else None

    def _mine_at(self, beat: float, timeline: Timeline) -> tuple[int, str] | None:
        """The song bar and fingerprint of this member's bar that starts on session ``beat``."""
        for bar in self.conductor.planned:
            starts = timeline.beat_at(self.conductor.start_sample(bar))
            if abs(starts - beat) < bar.beats / 4:
                return bar.before.bar, self._print(bar.before)
        return None

    def _print(self, cursor: Cursor) -> str:
        hold = None if cursor.hold is None else cursor.hold.symbol
        key = (id(cursor.song), hold, cursor.stop_after_song)
        kept = self._prints.get(key)
        if kept is None or kept[0] is not cursor.song:
            if len(self._prints) > 64:
                self._prints.clear()
            kept = self._prints[key] = (cursor.song, heard(cursor))
        return kept[1]

    def _landing(self, command: Command) -> tuple[float | None, int | None]:
        """The session beat from which ``command`` lands in every member, and the engine
        sample here (None, None: at once, as each member takes it)."""
        timeline = self._timeline()
        at_once = command.boundary is Boundary.NOW and not isinstance(command, STARTS)
        if timeline is None or at_once:
            return None, None
        earliest = self._position() + self.conductor.engine.lead + self.ahead
        beat = timeline.beat_at(earliest)
        if isinstance(command, STARTS) and not self.conductor.playing:
            beat = next_bar_line(beat, self._quantum())
            earliest = round(timeline.sample_at(beat))
        return beat, earliest

    def _offset(self, member: str, sent: float, timeline: Timeline) -> float:
        """What to add to ``member``'s session beats to make them this one's: whole bars (Link
        keeps the phase, each peer its count), read off the beat it ``sent`` a message on,
        which came a moment ago (well under half a bar)."""
        quantum = self._quantum()
        offset = round((timeline.beat - sent) / quantum) * quantum
        if self._offsets.get(member) != offset:
            if member in self._offsets:
                log.info("band: %s's session beats are now this one's %+g", member, offset)
            self._offsets[member] = offset
        return offset

    def _quantum(self) -> float:
        return self.link.beats_per_bar if self.link is not None else 4.0

    def _timeline(self) -> Timeline | None:
        return None if self.link is None else self.link.timeline()

    def _members(self, now: float) -> set[str]:
        return {name for name, at in self._heard.items() if now - at <= ALIVE_SECONDS}

    def _broadcast(self, path: str, text: str) -> None:
        for peer in self.peers:
            self._send(path, (text,), peer)

    def _show(self, now: float | None = None) -> None:
        members = self._members(self._clock() if now is None else now)
        session: Session = self.conductor.session
        # the downbeat counted as the member first by name counts (the band's count)
        first = min(members | {self.name})
        downbeat = session.link_downbeat
        if downbeat >= 0:
            downbeat -= self._offsets.get(first, 0.0) if first != self.name else 0.0
        shown = {
            "band": True,
            "band_peers": len(members),
            "band_parts": self.parts,
            "band_downbeat": downbeat,
        }
        if any(getattr(session, name) != value for name, value in shown.items()):
            self.conductor.set_clock_state(**shown)


def peer_address(text: str) -> Address:
    """``host:port`` (checked by the settings) as the address to send to, the host's name
    looked up once, now."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        info = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)
    except OSError as error:
        raise BandError(f"band peer {text}: {error}") from None
    return str(info[0][4][0]), int(port)

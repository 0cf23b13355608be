"""The conductor: plans bars ahead from the composer and hands the engine sample-timed notes.

It keeps the engine fed at least a bar ahead of the audio clock (``tick``), so the music never
waits for Python. A command (``apply``) lands on its boundary: now (mixer, mood), on the next
beat (tempo), on the next bar (harmony, sections, energy, transport) or at the next section
(genre, by default). A boundary is the first one at least the engine's ``lead`` after the
clock: bars planned from there are taken back from the engine and planned again with the change,
so what was already sent never plays out of time.

Songs follow each other: when a song's form ends (the final bar is its ending), a count-in
leads into a new song with a new seed, in the genre and key the session asks for.

Each genre may have a style model (``set_model``; what training learned, an immutable
snapshot): songs are planned with their genre's, and a song playing takes a new one at its
first section not planned yet, planned again from there the way a new key or energy plans it
again.

Planning is pure composition (``jamd.compose``) plus bookkeeping here: the planned bars, each
with the cursor it was planned from, so the future can be rolled back to any planned bar. The
composition is done ahead in a thread of its own where it can be (the next bar, the next song,
a song with a new model), so that the loop's own steps stay well under a millisecond.
"""

import contextlib
import dataclasses
import difflib
import logging
import math
import random
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import get_args

from jamd.compose import (
    Arrangement,
    BarState,
    NoteEvent,
    Part,
    SectionKind,
    SongParams,
    SongPlan,
    StyleModel,
    arrange,
    compose_bar,
    count_in,
    key_and_tempo,
    plan_song,
)
from jamd.compose.plan import TEMPO_RANGE, BarChord, Section
from jamd.engine.interface import Engine
from jamd.engine.notes import Note
from jamd.engine.patches import Patch, PatchError, PatchLibrary
from jamd.errors import InputError
from jamd.live.commands import (
    Boundary,
    Command,
    CommandError,
    Continue,
    Ending,
    Fill,
    GotoSection,
    NextSection,
    Panic,
    Play,
    Regenerate,
    SetChord,
    SetEnergy,
    SetGenre,
    SetKey,
    SetLevel,
    SetMaster,
    SetMood,
    SetMute,
    SetPan,
    SetPatch,
    SetSend,
    SetSolo,
    SetTempo,
    SetTone,
    Stop,
    parse_held_chord,
)
from jamd.live.session import Session, Transport
from jamd.live.tempo import TempoMap
from jamd.styles.library import StyleLibrary
from jamd.styles.model import Role, Style
from jamd.theory import Chord, Key, parse_key

log = logging.getLogger("jamd.live")

DELAY_BEATS = 0.75  # the tempo-synced echo: a dotted eighth
START_SECONDS = 0.05  # the transport starts this long after the lead: room for the burst of
# requests (patches, mixer) that goes with a start
TILT_DB = 12.0  # the mood's high shelf spans -6..+6 dB
PLANS_KEPT = 4  # songs planned ahead in the composer's thread, kept for when they are asked


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """How the live set runs (``[live]`` in the config)."""

    song_seconds: float = 180.0
    count_in_bars: int = 1
    genre_change: Boundary = Boundary.SECTION
    after_song: str = "next"  # or "stop"
    autoplay: bool = True
    tempo_follows: bool = False  # a clock sets the tempo: a new genre keeps it
    parts: frozenset[str] = frozenset()  # the parts this instance plays (a band's); none: all


@dataclass(frozen=True)
class LiveSong:
    """A song being played: its plan, arrangement and loaded patches (one per part)."""

    number: int
    seed: int
    style: Style
    plan: SongPlan
    arrangement: Arrangement
    patches: Mapping[str, Patch]  # per lane, for the whole song
    new_tempo: float | None = None  # a genre's own tempo, taken on the song's first bar
    section_patches: Mapping[str, Patch] = field(default_factory=dict)  # by name
    model: StyleModel | None = None  # the style model it was planned with (None: the file's)
    held: frozenset[Part] = frozenset()  # parts on a performer's patch in every section

    @property
    def genre(self) -> str:
        return self.plan.params.genre

    def patches_at(self, song_bar: int) -> Mapping[str, Patch]:
        """What each lane plays in the bar: the song's patches, or its section's own."""
        own = self.arrangement.sections[self.plan.section_index(song_bar)].patches
        if not own:
            return self.patches
        loaded = self.section_patches
        return {
            **self.patches,
            **{part.value: loaded[name] for part, name in own.items() if name in loaded},
        }


@dataclass(frozen=True)
class Cursor:
    """Where planning goes on: the song's next bar (negative: count-in bars still to play),
    the composer's state, and what the performer asked of the next bar."""

    song: LiveSong
    bar: int
    state: BarState = field(default_factory=BarState)
    fill: bool = False  # end the next bar with a fill
    restrike: bool = False  # what was held into the next bar was cut: strike it again
    hold: Chord | None = None  # the performer's chord, in place of the plan's
    stop_after_song: bool = False

    @property
    def starts_section(self) -> bool:
        if self.bar <= 0:
            return True
        return self.song.plan.section_at(self.bar).start_bar == self.bar


@dataclass(frozen=True)
class PlannedBar:
    """A bar handed to the engine, with the cursor it was planned from (to plan it again)."""

    number: int  # bars since the transport first started
    start_beat: float
    beats: int
    song: LiveSong
    song_bar: int | None  # None: a count-in bar
    events: tuple[NoteEvent, ...]  # beats from the transport's start
    before: Cursor
    patches: Mapping[str, Patch]  # what each lane plays during the bar
    chord_changes: tuple[tuple[float, str], ...] = ()  # chords taken on a beat inside the bar

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.beats

    @property
    def label(self) -> str:
        if self.song_bar is None:
            return "count-in"
        return self.song.plan.section_at(self.song_bar).label

    @property
    def chord(self) -> str:
        if self.song_bar is None:
            return ""
        if self.before.hold is not None:
            return self.before.hold.symbol
        return self.song.plan.chords[self.song_bar].symbol

    def chord_at(self, beat: float) -> str:
        """The chord at ``beat``: the bar's own until a chord taken on a beat inside it."""
        chord = self.chord
        for changed_at, changed in self.chord_changes:
            if beat >= changed_at:
                chord = changed
        return chord


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an accepted command lands."""

    command: Command | None  # None: the conductor's own change (a reload)
    at: int  # engine sample
    bar: int | None = None  # the bar number it lands on, for bar and section boundaries
    beat: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class _Pending:
    """A change for a bar not planned yet: the first bar from ``after`` (or the first that
    starts a section, for section boundaries)."""

    after: int
    boundary: Boundary
    change: Callable[["Cursor"], "Cursor"]
    description: str


Listener = Callable[[Session, Session], None]
TransportListener = Callable[[str, int, float, float | None], None]
"""Hears the transport start, continue and stop: (the kind, its engine sample, the transport's
beat there, and the song's beat there when a clock jamd follows placed it); the MIDI clock
jamd sends follows it."""


class Conductor:
    """Owns the session and the plan; one task calls ``apply`` and ``tick``."""

    def __init__(
        self,
        engine: Engine,
        styles: StyleLibrary,
        patches: PatchLibrary,
        session: Session,
        settings: LiveSettings = LiveSettings(),
        *,
        models: Mapping[str, StyleModel] | None = None,
    ) -> None:
        self.engine = engine
        self.styles = styles
        self.patch_library = patches
        self.settings = settings
        self.session = session
        self._published = session  # what the listeners last heard
        self.listeners: list[Listener] = []
        self.transport_listeners: list[TransportListener] = []
        self._map: TempoMap | None = None
        self._bars: list[PlannedBar] = []
        self._cursor: Cursor | None = None
        self._resume: Cursor | None = None
        self._pending: list[_Pending] = []
        self._next_number = 0
        self._patches_before: Mapping[str, Patch] = MappingProxyType({})
        self._song: LiveSong | None = None  # the song the session is in (playing or not)
        self._loaded: dict[str, Patch] = {}
        self._songs_started = 0
        self._position = 0
        self._start_beat = 0.0  # where the next planned bar starts, when none is planned
        self._not_before = 0  # no note before this sample (a start on a bar line gone by)
        # what new songs are made in: the session shows what plays now, and changes that wait
        # for a boundary set these when they land
        self._genre = session.genre
        self._key = parse_key(session.key)
        # each genre's style model (none: its style file alone); songs planned from now on
        # take it, a song playing takes it at its next section (``set_model``)
        self._models: dict[str, StyleModel] = dict(models or {})
        # the bar after the last planned is composed in a thread of its own while the loop
        # goes on (composition is pure: frozen inputs, no shared state); a bar takes 1 ms,
        # up to 15 at a section's first, which the loop's other callbacks need not wait for
        self._composer = ThreadPoolExecutor(1, thread_name_prefix="jamd-composer")
        self._ahead: _Ahead | None = None
        # songs planned ahead there too (the next song, a song with a new style model): a
        # song's plan is 1 to 3 ms, which the loop need not spend when the request is the same
        self._plans_ahead: list[tuple[_SongRequest, Future[tuple[SongPlan, Arrangement]]]] = []

    # -- start, tick --------------------------------------------------------------------------

    def first_patches(self) -> Mapping[str, Patch]:
        """The first song's patches, for an engine to start with (the song is planned now)."""
        if self._song is None:
            self._song = self._new_song(self._genre, self.session.seed)
        return self._song.patches

    def start(self, position: int, *, engine_has: Mapping[str, Patch] | None = None) -> None:
        """Set the engine's mixer and start the first song (playing, if ``autoplay``).
        ``engine_has``: the patches the engine's lanes already play."""
        self._position = position
        self._song = self._song or self._new_song(self._genre, self.session.seed)
        self._patches_before = MappingProxyType(dict(engine_has or {}))
        self._apply_mixer()
        self.engine.set_tilt(self._tilt(self.session.mood))
        self.engine.set_delay_time(DELAY_BEATS * 60.0 / self.session.tempo)
        self.engine.prepare([*self._song.patches.values(), *self._song.section_patches.values()])
        self._prepare_kits(self._song.style)
        if self.settings.autoplay:
            self._play(position)
        self._publish()

    def tick(self, position: int) -> None:
        """Plan ahead of ``position`` and bring the session's "now" up to date."""
        self._position = position
        if self._map is not None:
            while len(self._bars) > 1 and self._start_sample(self._bars[1]) <= position:
                finished = self._bars.pop(0)
                self._patches_before = finished.patches
                if self._bars[0].song.style is not finished.song.style:
                    self._set_master()  # a new genre's count-in: its own gain staging
            self._plan_ahead(position)
            if self._bars:
                self._map.forget_before(self._bars[0].start_beat)
        self._publish()

    @property
    def horizon(self) -> int:
        """Plans reach this far past the clock: the engine's lead plus a bar."""
        bar = (self._song.plan.beats_per_bar if self._song else 4) * 60.0 / self.session.tempo
        return self.engine.lead + math.ceil(bar * self.engine.sample_rate)

    def _plan_ahead(self, position: int) -> None:
        assert self._map is not None
        while self._cursor is not None:
            if self._bars and self._end_sample(self._bars[-1]) >= position + self.horizon:
                break
            self._plan_next()

    # -- commands -----------------------------------------------------------------------------

    def apply(self, command: Command, position: int, *, earliest: int | None = None) -> Outcome:
        """Take a command: it lands on its boundary, the first at or after ``earliest`` (by
        default the first the engine can still take: its lead past ``position``; a band's
        shared command gives a later one, the same in every member); ``CommandError`` if it
        cannot be taken (nothing changes then)."""
        self._position = position
        if self._map is not None and not (command.continuous and command.boundary is Boundary.NOW):
            self._plan_ahead(position)  # a fader move needs no plan: the tick keeps it ahead
        soonest = position + self.engine.lead
        outcome = self._dispatch(command, position, max(soonest, earliest or soonest))
        self._publish()
        log.debug("%s: %s", command, outcome.detail)
        return outcome

    def _dispatch(self, command: Command, position: int, now: int) -> Outcome:
        match command:
            case SetLevel(part=part, db=db):
                return self._mix(command, now, part, level_db=db)
            case SetPan(part=part, pan=pan):
                return self._mix(command, now, part, pan=pan)
            case SetMute(part=part, muted=muted):
                return self._mix(command, now, part, muted=muted)
            case SetSolo(part=part, soloed=soloed):
                self.session = self.session.with_part(part, soloed=soloed)
                for every, fader in self.session.faders().items():  # solo mutes the others
                    self.engine.set_fader(every, fader)
                return Outcome(command, now, detail="now")
            case SetSend(part=part, send=send, amount=amount):
                return self._mix(command, now, part, **{send: amount})
            case SetTone(part=part, brightness=brightness):
                self.session = self.session.with_part(part, tone=brightness)
                self.engine.set_tone(part, self.session.mixer[part].tone_factor)
                return Outcome(command, now, detail="now")
            case SetMaster(db=db):
                self.session = replace(self.session, master_db=db)
                self._set_master()
                return Outcome(command, now, detail="now")
            case SetMood(mood=mood):
                self.session = replace(self.session, mood=mood)
                self.engine.set_tilt(self._tilt(mood))
                return Outcome(command, now, detail="now")
            case SetTempo(bpm=bpm):
                return self._set_tempo(command, bpm, now)
            case Stop():
                return self._stop(command, now)
            case Panic():
                self._reschedule_from(now, cut=True)
                return Outcome(command, now, detail="now")
            case Play():
                return self._play_command(command, position, now)
            case Continue():
                return self._continue(command, position, now)
        return self._musical(command, position, now)

    def _musical(self, command: Command, position: int, now: int) -> Outcome:
        """Commands that change what is composed from their boundary on."""
        change, description = self._change_for(command)
        boundary = command.boundary
        if isinstance(command, SetGenre):
            boundary = self.settings.genre_change
        if isinstance(command, SetChord):
            boundary = command.at
        if not self.playing:
            if isinstance(command, Ending):
                return Outcome(command, position, detail="already stopped")
            # the change waits in the cursor the music will continue from, and in the song
            # it will play from the top
            self._resume = change(self._resume or self.start_cursor())
            self._song = self._resume.song
            return Outcome(command, position, detail=f"{description} when the music starts")
        if boundary is Boundary.BEAT:
            return self._at_beat(command, change, description, now)
        return self._at_boundary(command, boundary, change, description, now)

    def _change_for(self, command: Command) -> tuple[Callable[[Cursor], Cursor], str]:
        session = self.session
        match command:
            case SetKey(key=key):
                return lambda c: self._rekeyed(c, key), f"key {key.name}"
            case SetChord(chord=text):
                hold = None if text is None else parse_held_chord(text, self._key)
                self.session = replace(session, chord_hold=text)
                return (
                    lambda c: replace(c, hold=hold, state=replace(c.state, melody=None)),
                    f"chord {hold.symbol}" if hold else "the song's own chords",
                )
            case SetEnergy(energy=energy):
                self.session = replace(session, energy=energy)
                return lambda c: self._re_energised(c, energy), f"energy {energy:g}"
            case Fill():
                return lambda c: replace(c, fill=True), "a fill"
            case NextSection():
                return self._next_section, "the next section"
            case GotoSection(name=name):
                self._find_section(self._planning_song(), name)  # errors now, not at the bar
                return lambda c: self._goto(c, name), f"section {name}"
            case Ending():
                self.session = replace(session, transport=Transport.ENDING)
                return self._ending, "the ending"
            case Regenerate(seed=seed, genre=wanted):
                new_seed = seed if seed is not None else random.randrange(1, 2**31)
                genre = self._genre
                if wanted is not None and wanted != genre:  # a song played again (its row)
                    self._prepare_kits(self._check_genre(wanted))
                    genre = wanted
                return lambda c: self._new_song_at_same_kind(c, genre, new_seed), (
                    f"a new song (seed {new_seed})"
                )
            case SetPatch(part=part, patch=name):
                if name is not None:
                    patch = self._checked_patch(name)
                    self.engine.prepare([patch])  # a kit's first use costs 0.2 s
                self.session = session.with_part(part, patch=name)
                return lambda c: replace(c, song=self._repatched(c.song, part, name)), (
                    f"{part} on {name}" if name else f"{part} on the genre's patch"
                )
            case SetGenre(genre=genre):
                style = self._check_genre(genre)
                self._prepare_kits(style)
                seed = _next_seed(session.seed)
                return lambda c: self._new_song_at_same_kind(c, genre, seed), f"genre {genre}"
        raise CommandError(f"{type(command).__name__} is not a command the conductor knows")

    def _at_boundary(
        self,
        command: Command | None,
        boundary: Boundary,
        change: Callable[[Cursor], Cursor],
        description: str,
        earliest: int,
    ) -> Outcome:
        """``change`` from the first ``boundary`` at or after sample ``earliest``."""
        index = next(
            (i for i, bar in enumerate(self._bars) if self._start_sample(bar) >= earliest),
            len(self._bars),
        )
        if boundary is Boundary.SECTION:
            index = next(
                (i for i in range(index, len(self._bars)) if self._bars[i].before.starts_section),
                len(self._bars),
            )
        if index < len(self._bars):
            bar = self._bars[index]
            self._replan_from(index, change)
            at = self._start_sample(bar)
            label = self._bars[index].label if index < len(self._bars) else "the end"
            detail = f"{description} on bar {bar.number + 1} ({label})"
            return Outcome(command, at, bar.number, bar.start_beat, detail)
        after = self._next_number
        self._pending.append(_Pending(after, boundary, change, description))
        where = "the next section" if boundary is Boundary.SECTION else f"bar {after + 1}"
        self._publish_pending()
        return Outcome(command, earliest, after, None, f"{description} at {where}")

    def _at_beat(
        self,
        command: Command,
        change: Callable[[Cursor], Cursor],
        description: str,
        earliest: int,
    ) -> Outcome:
        """A change on the next beat (a performer's chord): on a bar line it is the bar's
        change; inside a bar, the bar is composed again with the change and plays it from that
        beat (what was held across the beat strikes again there), keeping its number and what
        played before the beat; the bars after it are planned again with the change."""
        assert self._map is not None
        beat = math.ceil(self._map.beat_at(earliest) - 1e-9)
        index = next(
            (i for i, bar in enumerate(self._bars) if bar.start_beat <= beat < bar.end_beat),
            None,
        )
        if index is None or self._bars[index].start_beat == beat:
            return self._at_boundary(command, Boundary.BAR, change, description, earliest)
        bar = self._bars[index]
        if bar.song_bar is None:  # a count-in has no chord: the song's first bar takes it
            return self._at_boundary(command, Boundary.BAR, change, description, earliest)
        at = round(self._map.sample_at(beat))
        self.engine.release(at)
        cursor = change(replace(bar.before, restrike=True))
        events, state = _bar_events(cursor, bar.start_beat)
        struck = tuple(
            _until_beat(_from_beat(event, beat), bar.end_beat)
            for event in events
            if event.end > beat and (event.start >= beat or event.part is not Part.DRUMS)
        )  # a drum hit sounding across the beat is no chord to strike again; the bars after
        # are planned again from their first beat, so what this one holds strikes again there
        heard = tuple(_until_beat(event, beat) for event in bar.events if event.start < beat)
        chord = replace(bar, before=cursor).chord
        changes = tuple(c for c in bar.chord_changes if c[0] < beat)
        self._bars[index] = replace(
            bar, events=heard + struck, chord_changes=(*changes, (float(beat), chord))
        )
        notes = self._notes(struck)
        if notes:
            self.engine.schedule(notes)

        def carried(following: Cursor) -> Cursor:
            """The change, and the voicings the bar now ends on, for the bars after it."""
            if following.song is cursor.song:
                following = replace(following, state=state)
            return change(following)

        if index + 1 < len(self._bars):
            self._replan_from(index + 1, carried)
        elif self._cursor is not None:
            self._cursor = carried(replace(self._cursor, restrike=True))
            self._plan_ahead(self._position)
        in_bar = beat - bar.start_beat + 1
        detail = f"{description} on beat {in_bar:g} of bar {bar.number + 1} ({bar.label})"
        return Outcome(command, at, bar.number, float(beat), detail)

    def _mix(self, command: Command, now: int, part: str, **changes: object) -> Outcome:
        """One part's strip moves: only its fader is sent (a flood of moves stays small)."""
        self.session = self.session.with_part(part, **changes)
        self.engine.set_fader(part, self.session.faders()[part])
        return Outcome(command, now, detail="now")

    def _apply_mixer(self) -> None:
        for part, fader in self.session.faders().items():
            self.engine.set_fader(part, fader)
        for part, mix in self.session.mixer.items():
            self.engine.set_tone(part, mix.tone_factor)
        self._set_master()

    def _set_master(self) -> None:
        """The performer's master level times the playing genre's trim (its gain staging)."""
        style = self._bars[0].song.style if self._bars else self._song.style if self._song else None
        trim = style.mix.master_gain if style is not None else 1.0
        self.engine.set_master(self.session.master_level * trim)

    @staticmethod
    def _tilt(mood: float) -> float:
        return (mood - 0.5) * TILT_DB

    # -- transport ----------------------------------------------------------------------------

    def start_cursor(self) -> Cursor:
        """Where playing from the top starts: the session's song, after its count-in."""
        song = self._song or self._new_song(self._genre, self.session.seed)
        held = self.session.chord_hold
        hold = None if held is None else parse_held_chord(held, song.plan.key)
        return Cursor(song, -self.settings.count_in_bars, hold=hold)

    def _play(self, position: int, at: int | None = None) -> None:
        """Start from the top of the session's song, after a count-in."""
        self._start_at(self.start_cursor(), position, at=at)

    @property
    def playing(self) -> bool:
        return self._map is not None and (self._cursor is not None or bool(self._bars))

    def _start_at(
        self,
        cursor: Cursor,
        position: int,
        *,
        at: int | None = None,
        continued: bool = False,
        song_beat: float | None = None,
    ) -> None:
        """Play from ``cursor``, its first bar at sample ``at`` (by default as soon as the
        engine can take it)."""
        earliest = position + self.engine.lead + round(START_SECONDS * self.engine.sample_rate)
        start = earliest if at is None else at
        if self._map is None:
            self._map = TempoMap(self.engine.sample_rate, start, self.session.tempo)
            self._start_beat = 0.0
        else:
            self._map.resume(self._start_beat, start, self.session.tempo)
        self._bars = []
        self._cursor = cursor
        self._resume = None
        self.session = replace(self.session, transport=Transport.PLAYING)
        self.engine.set_delay_time(DELAY_BEATS * 60.0 / self.session.tempo)
        self._plan_ahead(position)
        kind = "continue" if continued else "start"
        beat = self._start_beat
        if start < self._not_before:  # a bar line gone by: the listeners from the next beat
            beat = math.ceil(self._map.beat_at(self._not_before) - 1e-9)
            start = round(self._map.sample_at(beat))
        self._tell_transport(kind, start, beat, song_beat)

    def _play_command(self, command: Command, position: int, now: int) -> Outcome:
        if not self.playing:
            self._play(position, self._asked_for(position, now))
            return Outcome(command, now, detail="from the top")
        song = self._planning_song()
        return self._at_boundary(
            command, Boundary.BAR, lambda _: Cursor(song, 0), "the top of the song", now
        )

    def _continue(self, command: Command, position: int, now: int) -> Outcome:
        if self.playing:
            return Outcome(command, position, detail="already playing")
        cursor = self._resume or self.start_cursor()
        at = self._asked_for(position, now)
        self._start_at(replace(cursor, restrike=True), position, at=at, continued=True)
        return Outcome(command, now, detail="from where it stopped")

    def _asked_for(self, position: int, now: int) -> int | None:
        """Where a start asked to start (``now``, when later than the engine's lead), or None:
        as soon as it can."""
        return now if now > position + self.engine.lead else None

    def _stop(self, command: Command, at: int) -> Outcome:
        if not self.playing:
            return Outcome(command, at, detail="already stopped")
        self.engine.release(at)
        playing = next(
            (i for i, bar in enumerate(self._bars) if self._end_sample(bar) > at),
            len(self._bars) - 1,
        )
        if playing + 1 < len(self._bars):
            self._resume = self._bars[playing + 1].before
            self._start_beat = self._bars[playing + 1].start_beat
        else:
            self._resume = self._cursor
            self._start_beat = self._bars[-1].end_beat if self._bars else self._start_beat
        if self._bars:
            self._patches_before = self._bars[max(playing, 0)].patches
        for pending in self._pending:  # what waited for a bar waits for the music instead
            if self._resume is not None:
                self._resume = pending.change(self._resume)
        self._pending = []
        self._publish_pending()
        self._bars = []
        self._cursor = None
        self.session = replace(self.session, transport=Transport.STOPPED)
        self._tell_transport("stop", at, self._start_beat)
        return Outcome(command, at, detail="now")

    def stop(self, position: int) -> None:
        """Stop the music (shutting down): held notes release, nothing more is planned."""
        self._stop(Stop(), position + self.engine.lead)
        self._publish()

    # -- reload -------------------------------------------------------------------------------

    def reload(self, styles: StyleLibrary, patches: PatchLibrary, position: int) -> None:
        """New libraries (SIGHUP): songs from now on use them, and the song playing takes its
        patches from the files again from the next bar, where they changed (a patch that no
        longer loads keeps the old one, with an error in the log)."""
        self.styles, self.patch_library = styles, patches
        self._loaded.clear()
        self._position = position
        if not self.playing:
            if self._song is not None:
                self._song = self._with_patches(self._song)
            return
        self._plan_ahead(position)
        song = self._planning_song()
        fresh = self._with_patches(song)
        if (fresh.patches, fresh.section_patches) == (song.patches, song.section_patches):
            return
        outcome = self._at_boundary(
            None,
            Boundary.BAR,
            lambda c: replace(c, song=self._with_patches(c.song)),
            "the patches as the files now say",
            position + self.engine.lead,
        )
        log.info("reload: %s", outcome.detail)
        self._publish()

    # -- style models -------------------------------------------------------------------------

    def model(self, genre: str) -> StyleModel | None:
        """The style model songs of ``genre`` are planned with now (None: the style file's)."""
        return self._models.get(genre)

    def plan_with(
        self, genre: str, model: StyleModel
    ) -> Future[tuple[SongPlan, Arrangement]] | None:
        """Plan, in the composer's thread, the song ``set_model(genre, model)`` would plan
        again (the song being planned or waiting to play, if it is of ``genre``): given once
        this is done, ``set_model`` finds it planned (a song's plan is 1 to 3 ms the loop need
        not spend). None: there is nothing to plan."""
        song = self._planning_song() if self.playing else self._waiting_song()
        if song is None or song.genre != genre or song.model is model:
            return None
        return self._plan_soon(self._replanning(song, song.plan.params, model))

    def _waiting_song(self) -> LiveSong | None:
        """Stopped: the song the music starts (or continues) with."""
        return self._resume.song if self._resume is not None else self._song

    def set_model(self, genre: str, model: StyleModel, position: int) -> Outcome:
        """A genre's new style model (from the training side task; the daemon's loop hands it
        over like a command). Songs planned from now on take it; a song of the genre that plays
        takes it at its next section: the sections from there are planned again with it (their
        chords, energy and grooves), the section playing goes on as it was."""
        self._check_genre(genre)
        self._models[genre] = model
        self._position = position
        description = f"style model for {genre} v{model.version}"

        def change(cursor: Cursor) -> Cursor:
            return self._remodelled(cursor, genre, model)

        if not self.playing:
            # the song the music starts (or continues) with, if it is of the genre
            waiting = self._resume or (self.start_cursor() if self._song else None)
            if waiting is not None and waiting.song.genre == genre:
                self._resume = change(waiting)
                self._song = self._resume.song
            self._publish()
            return Outcome(None, position, detail=f"{description} when the music starts")
        self._plan_ahead(position)
        if self._planning_song().genre != genre:
            log.info("%s in use from the next %s song", description, genre)
            self._publish()
            return Outcome(None, position, detail=f"{description} from the next {genre} song")
        # from the first section not planned yet, nor composing in the composer's thread:
        # what is planned is not taken back (planned again, its first bars would be composed
        # on the loop)
        after = self._next_number + (self._ahead is not None)
        self._pending.append(_Pending(after, Boundary.SECTION, change, description))
        self._publish_pending()
        self._publish()
        earliest = position + self.engine.lead
        if self._bars:
            earliest = max(earliest, self._end_sample(self._bars[-1]))
        return Outcome(
            None, earliest, after, None, f"{description} at the next section not planned"
        )

    def _repatched(self, song: LiveSong, part: str, name: str | None) -> LiveSong:
        """``song`` with ``part`` on patch ``name`` (``None``: the one the genre chose)."""
        held = self._held() - {Part(part)}
        if name is not None:
            arrangement = song.arrangement.holding(Part(part), name)
            held.add(Part(part))
        else:  # the genre's choice again, section by section
            others = {p: n for p, n in song.arrangement.patches.items() if p.value != part}
            arrangement = arrange(song.plan, song.style, song.seed, patches=others, held=held)
        return self._with_patches(replace(song, arrangement=arrangement, held=frozenset(held)))

    def _with_patches(self, song: LiveSong) -> LiveSong:
        """``song`` with its arrangement's patches loaded (those that load: a lane whose patch
        does not keeps its own; a section whose patch does not plays the song's)."""
        fresh = {**song.patches, **self._load(song.arrangement)}
        names = song.arrangement.names() - set(song.arrangement.patches.values())
        loaded = {name: patch for name in sorted(names) if (patch := self._patch(name))}
        return replace(
            song, patches=MappingProxyType(fresh), section_patches=MappingProxyType(loaded)
        )

    # -- tempo --------------------------------------------------------------------------------

    def _set_tempo(self, command: Command, bpm: float, now: int) -> Outcome:
        self.session = replace(self.session, tempo=bpm)
        if not self.playing or self._map is None:
            return Outcome(command, now, detail=f"{bpm:g} BPM when the music starts")
        beat = math.ceil(self._map.beat_at(now) - 1e-9)
        self._map.change(beat, bpm)
        self.engine.set_delay_time(DELAY_BEATS * 60.0 / bpm)
        at = round(self._map.sample_at(beat))
        self._reschedule_from(at, cut=False)
        return Outcome(command, at, beat=beat, detail=f"{bpm:g} BPM from beat {beat + 1:g}")

    def locate(self, song_beat: float, at: int, position: int) -> tuple[float, float]:
        """Play the session's song so that its beat ``song_beat`` (from its top, no count-in)
        falls on sample ``at``; a clock jamd follows started there. Mid-bar, the music starts
        on the next bar line, in time. (The song's beat it starts on, the transport's beat
        there.) A position past the song's end wraps round to its top."""
        song = self._planning_song() if self.playing else self.start_cursor().song
        if self.playing:
            self._stop(Stop(), position + self.engine.lead)
        per_bar = song.plan.beats_per_bar
        bar = math.ceil(song_beat / per_bar - 1e-9)
        start = at + round((bar * per_bar - song_beat) * self._samples_per_beat())
        while start < position + self.engine.lead:  # too late for that bar: the next one
            bar += 1
            start += round(per_bar * self._samples_per_beat())
        self._song = song
        cursor = replace(self.start_cursor(), bar=bar % song.plan.total_bars, restrike=True)
        self._start_at(
            cursor, position, at=start, continued=bar > 0, song_beat=float(bar * per_bar)
        )
        self._publish()
        return float(bar * per_bar), self._start_beat

    def sync(self, beat: float, at: int, bpm: float) -> None:
        """A clock jamd follows says the transport's beat ``beat`` (one not yet sent to the
        engine) falls on sample ``at``, at ``bpm`` from there: the notes from it move."""
        bpm = min(max(bpm, TEMPO_RANGE[0]), TEMPO_RANGE[1])
        self.session = replace(self.session, tempo=round(bpm, 2))
        if self._map is not None and self.playing:
            was = round(self._map.sample_at(beat))
            self._map.resume(beat, at, bpm)
            self.engine.set_delay_time(DELAY_BEATS * 60.0 / bpm)
            # a beat moved later leaves nothing behind where it was; one moved earlier cuts
            # what was to play before it short
            self._reschedule_from(min(was, at), cut=False, from_beat=beat if at < was else None)
        self._publish()

    def bar_line_at(self, beat: float) -> float | None:
        """The transport beat of the bar line of the planned bar that transport ``beat`` is
        in (None when nothing is planned there)."""
        if self._map is None or not self.playing:
            return None
        for bar in self._bars:
            if bar.start_beat <= beat < bar.end_beat:
                return bar.start_beat
        return None

    def bar_start(self, position: int) -> int | None:
        """The engine sample the bar playing at ``position`` started on (None: none plays)."""
        bar = self._now_playing(position)
        return None if bar is None else self._start_sample(bar)

    def set_clock_state(self, **fields: object) -> None:
        """What the clock sources say (the clock that leads, Link's peers and tempo), shown
        in the session like everything else."""
        self.session = replace(self.session, **fields)  # type: ignore[arg-type]
        self._publish()

    def _samples_per_beat(self) -> float:
        return self.engine.sample_rate * 60.0 / self.session.tempo

    def _tell_transport(
        self, kind: str, at: int, beat: float, song_beat: float | None = None
    ) -> None:
        for listener in list(self.transport_listeners):
            listener(kind, at, beat, song_beat)

    def _reschedule_from(self, at: int, *, cut: bool, from_beat: float | None = None) -> None:
        """Send the planned notes from sample ``at`` again (the tempo map moved them, or a
        panic cut them). Patch changes there are sent again too. ``from_beat``: notes of
        earlier beats are not sent again (a beat moved earlier than they were to play)."""
        if cut:
            self.engine.release(at)
        else:
            self.engine.retract(at)
        previous = self._patches_before
        for bar in self._bars:
            if self._start_sample(bar) >= at:
                self._change_patches(previous, bar)
            events = bar.events
            if from_beat is not None:
                events = tuple(e for e in events if e.start >= from_beat - 1e-9)
            notes = [n for n in self._notes(events) if n.start >= at]
            if notes:
                self.engine.schedule(notes)
            previous = bar.patches

    # -- planning -----------------------------------------------------------------------------

    def _replan_from(self, index: int, change: Callable[[Cursor], Cursor]) -> None:
        """Take back the planned bars from ``index`` and plan them again, changed."""
        bar = self._bars[index]
        self.engine.release(self._start_sample(bar))
        self._bars = self._bars[:index]
        self._next_number = bar.number
        self._start_beat = bar.start_beat
        self._cursor = change(replace(bar.before, restrike=True))
        self._plan_ahead(self._position)

    def _plan_next(self) -> None:
        cursor = self._cursor
        assert cursor is not None
        assert self._map is not None
        number = self._next_number
        cursor = self._apply_pending(cursor, number)
        if cursor is None:
            self._cursor = None
            return
        start_beat = self._bars[-1].end_beat if self._bars else self._start_beat
        first_of_song = not self._bars or self._bars[-1].song is not cursor.song
        if first_of_song and cursor.song.new_tempo is not None:
            self._map.change(start_beat, cursor.song.new_tempo)
            self.session = replace(self.session, tempo=cursor.song.new_tempo)
            self.engine.set_delay_time(DELAY_BEATS * 60.0 / cursor.song.new_tempo)
        bar, following, notes = self._compose(cursor, number, start_beat)
        previous = self._bars[-1].patches if self._bars else self._patches_before
        self._change_patches(previous, bar)
        if notes is None:
            notes = self._notes(bar.events)
        if notes:
            self.engine.schedule(notes)
        self._bars.append(bar)
        if following is not None:  # what is due at the next bar applies now: composed with it
            following = self._apply_pending(following, number + 1)
        self._cursor = following
        self._next_number = number + 1
        if following is not None and following.bar >= 0:  # the next bar, composed meanwhile
            placing = _Placing(self._map.copy(), self.settings.parts, self._not_before)
            work = self._composer.submit(_bar_ahead, following, bar.end_beat, placing)
            self._ahead = _Ahead(following, bar.end_beat, placing, work)
        if following is not None and self._last_bar_next(following):
            request = self._next_song_request(following)
            if request is not None:
                self._plan_soon(request)
        if following is not None and following.song is not cursor.song:
            upcoming = following.song
            self.engine.prepare([*upcoming.patches.values(), *upcoming.section_patches.values()])

    def _apply_pending(self, cursor: Cursor, number: int) -> Cursor | None:
        still: list[_Pending] = []
        result: Cursor | None = cursor
        for pending in self._pending:
            due = number >= pending.after and (
                pending.boundary is not Boundary.SECTION or cursor.starts_section
            )
            if due and result is not None:
                result = pending.change(replace(result, restrike=True))
            else:
                still.append(pending)
        if len(still) != len(self._pending):
            self._pending = still
            self._publish_pending()
        return result

    def _compose(
        self, cursor: Cursor, number: int, start_beat: float
    ) -> tuple[PlannedBar, Cursor | None, list[Note] | None]:
        """The bar ``cursor`` points at, the cursor after it, and its notes where the
        composer's thread placed them already (None: to be placed now)."""
        song = cursor.song
        plan = song.plan
        if cursor.bar < 0:
            events = tuple(count_in(plan.beats_per_bar, start_beat))
            bar = PlannedBar(
                number, start_beat, plan.beats_per_bar, song, None, events, cursor, song.patches
            )
            return bar, replace(cursor, bar=cursor.bar + 1, fill=False, restrike=False), None
        events, state, notes = self._composed(cursor, start_beat)
        bar = PlannedBar(
            number,
            start_beat,
            plan.beats_per_bar,
            song,
            cursor.bar,
            events,
            cursor,
            song.patches_at(cursor.bar),
        )
        if cursor.bar + 1 < plan.total_bars:
            following = replace(cursor, bar=cursor.bar + 1, state=state, fill=False, restrike=False)
            return bar, following, notes
        return bar, self._after_song(cursor), notes

    def _after_song(self, cursor: Cursor) -> Cursor | None:
        """After a song's final bar: a count-in and a new song, or the end of the music."""
        request = self._next_song_request(cursor)
        if request is None:
            return None
        return Cursor(self._planned(request), -self.settings.count_in_bars)

    def _next_song_request(self, cursor: Cursor) -> "_SongRequest | None":
        """What the song after ``cursor``'s is planned from (None: the music stops after it)."""
        if cursor.stop_after_song or self.settings.after_song == "stop":
            return None
        return self._new_song_request(self._genre, _next_seed(cursor.song.seed))

    @staticmethod
    def _last_bar_next(cursor: Cursor) -> bool:
        """Whether ``cursor`` points at its song's last bar (the next song is planned while
        that bar is composed: a bar ahead of the loop's need of it)."""
        return cursor.bar == cursor.song.plan.total_bars - 1

    def _composed(
        self, cursor: Cursor, start_beat: float
    ) -> tuple[tuple[NoteEvent, ...], BarState, list[Note] | None]:
        """The bar ``cursor`` points at, composed: by the composer's thread, ahead of time, if
        it was the bar that was to come (nothing changed it since), else now; with its notes
        if the thread placed them as they are to be placed now (the same tempo map, parts and
        first sample), else None."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.cursor is cursor and ahead.start_beat == start_beat:
            events, state, notes = ahead.work.result()
            placing = ahead.placing
            assert self._map is not None
            placed_alike = (
                placing.map.version == self._map.version
                and placing.parts == self.settings.parts
                and placing.not_before == self._not_before
            )
            return events, state, notes if placed_alike else None
        events, state = _bar_events(cursor, start_beat)
        return events, state, None

    def close(self) -> None:
        """Stop the composer's thread (what it was composing is dropped)."""
        self._ahead = None
        self._composer.shutdown(wait=False, cancel_futures=True)

    def _notes(self, events: tuple[NoteEvent, ...]) -> list[Note]:
        assert self._map is not None
        return _Placing(self._map, self.settings.parts, self._not_before).notes(events)

    def _change_patches(self, previous: Mapping[str, Patch], bar: PlannedBar) -> None:
        at = max(self._start_sample(bar), self._not_before)
        for lane, patch in bar.patches.items():
            before = previous.get(lane)
            if before is not patch and before != patch:  # a song's bars share their patches
                self.engine.change_patch(lane, patch, at)

    def _start_sample(self, bar: PlannedBar) -> int:
        assert self._map is not None
        return round(self._map.sample_at(bar.start_beat))

    def _end_sample(self, bar: PlannedBar) -> int:
        assert self._map is not None
        return round(self._map.sample_at(bar.end_beat))

    # -- songs --------------------------------------------------------------------------------

    def _planning_song(self) -> LiveSong:
        if self._cursor is not None:
            return self._cursor.song
        if self._bars:
            return self._bars[-1].song
        assert self._song is not None
        return self._song

    def _new_song(self, genre: str, seed: int) -> LiveSong:
        return self._planned(self._new_song_request(genre, seed))

    def _new_song_request(self, genre: str, seed: int) -> "_SongRequest":
        """What a new song of ``genre`` is planned from now: the session's key, tempo (or the
        genre's own, outside its range), energy and held patches, the genre's model."""
        style = self.styles.get(genre)
        model = self._models.get(genre)
        session = self.session
        tempo = session.tempo
        new_tempo = None
        if (
            not style.tempo.min <= tempo <= style.tempo.max
            and genre != self._current_genre()
            and not self.settings.tempo_follows
        ):
            # a genre outside its range takes its own (its model's draw, if it has one)
            tempo = new_tempo = key_and_tempo(style, seed, key=self._key, model=model)[1]
        params = SongParams(
            genre=genre,
            key=self._key,
            tempo=tempo,
            duration=self.settings.song_seconds,
            seed=seed,
            energy=session.energy,
        )
        held = {Part(part): mix.patch for part, mix in session.mixer.items() if mix.patch}
        return _SongRequest(style, params, seed, model, held, frozenset(held), new_tempo)

    def _planned(self, request: "_SongRequest") -> LiveSong:
        """A new song planned as ``request`` says, on its patches where given (the genre
        chooses the rest), its patches loaded."""
        plan, arrangement = self._song_plan(request)
        self._songs_started += 1
        song = LiveSong(
            self._songs_started,
            request.seed,
            request.style,
            plan,
            arrangement,
            {},
            request.new_tempo,
            model=request.model,
            held=request.held,
        )
        return self._with_patches(song)

    def _plan_soon(self, request: "_SongRequest") -> Future[tuple[SongPlan, Arrangement]]:
        """Plan ``request`` in the composer's thread (once: a request planned or planning
        already is not planned again); the last few are kept for ``_song_plan``."""
        for known, work in self._plans_ahead:
            if known.same(request):
                return work
        work = self._composer.submit(request.plan)
        self._plans_ahead = [*self._plans_ahead[-(PLANS_KEPT - 1) :], (request, work)]
        return work

    def _song_plan(self, request: "_SongRequest") -> tuple[SongPlan, Arrangement]:
        """The plan and arrangement ``request`` asks for: the composer's thread's if it was
        planned ahead (waited for if it is still at work), else planned now."""
        for known, work in self._plans_ahead:
            if known.same(request) and not work.cancelled():
                return work.result()
        return request.plan()

    def _held(self) -> set[Part]:
        """The parts a performer holds on a patch of their choice."""
        return {Part(part) for part, mix in self.session.mixer.items() if mix.patch}

    def _current_genre(self) -> str:
        return self._song.genre if self._song else self._genre

    def _load(self, arrangement: Arrangement) -> Mapping[str, Patch]:
        """The arrangement's patches; a lane whose patch fails to load keeps the one it has."""
        loaded: dict[str, Patch] = {}
        for part, name in arrangement.patches.items():
            patch = self._patch(name)
            if patch is not None:
                loaded[part.value] = patch
        return MappingProxyType(loaded)

    def _checked_patch(self, name: str) -> Patch:
        """Patch ``name``, or ``CommandError`` saying why it cannot be played."""
        try:
            patch = self._loaded.get(name) or self.patch_library.load(name)
        except PatchError as error:
            raise CommandError(str(error)) from None
        self._loaded[name] = patch
        return patch

    def _patch(self, name: str) -> Patch | None:
        """Patch ``name``, or None (logged) if it cannot be played: its lane keeps its own."""
        try:
            return self._checked_patch(name)
        except CommandError as error:
            log.error("patch %s cannot be used, its lane keeps its patch: %s", name, error)
            return None

    def _prepare_kits(self, style: Style) -> None:
        """Let the engine synthesize the genre's kits early: a kit's first use costs 0.2 s.
        The genre's other patches are read in the composer's thread meanwhile (a patch file
        read and checked is 1 to 5 ms the loop need not spend when a song first plays it)."""
        kits = [self._patch(choice.patch) for choice in style.instruments.drums]
        self.engine.prepare(kit for kit in kits if kit is not None)
        choices = (style.instruments.for_role(role) for role in get_args(Role))
        names = {choice.patch for each in choices for choice in each}
        self._composer.submit(self._read_patches, sorted(names - set(self._loaded)))

    def _read_patches(self, names: list[str]) -> None:
        """Read patch files into the cache (the composer's thread: a dict's item set is one
        step under the GIL; a patch the loop reads at the same time is read twice, the same)."""
        for name in names:
            with contextlib.suppress(PatchError):  # the loop says why, if a song needs it
                self._loaded.setdefault(name, self.patch_library.load(name))

    def _replanned(self, song: LiveSong, params: SongParams, model: StyleModel | None) -> LiveSong:
        """``song`` planned again (same seed, same form, the same instruments) from
        ``params`` and ``model``: a change of key, energy or style model from a boundary on."""
        request = self._replanning(song, params, model)
        plan, arrangement = self._song_plan(request)
        return self._with_patches(
            replace(song, plan=plan, arrangement=arrangement, model=model, held=request.held)
        )

    def _replanning(
        self, song: LiveSong, params: SongParams, model: StyleModel | None
    ) -> "_SongRequest":
        """What ``song`` planned again from ``params`` and ``model`` is planned from."""
        held = frozenset(self._held())
        patches = dict(song.arrangement.patches)
        return _SongRequest(song.style, params, song.seed, model, patches, held, song.new_tempo)

    def _rekeyed(self, cursor: Cursor, key: Key) -> Cursor:
        self._key = key
        song = cursor.song
        new = self._replanned(song, replace(song.plan.params, key=key), song.model)
        hold = cursor.hold
        if self.session.chord_hold is not None:
            hold = parse_held_chord(self.session.chord_hold, key)
        return replace(cursor, song=new, hold=hold, state=replace(cursor.state, melody=None))

    def _re_energised(self, cursor: Cursor, energy: float) -> Cursor:
        song = cursor.song
        new = self._replanned(song, replace(song.plan.params, energy=energy), song.model)
        return replace(cursor, song=new)

    def _remodelled(self, cursor: Cursor, genre: str, model: StyleModel) -> Cursor:
        """The cursor's song planned again with ``model`` from here, if it is of ``genre``."""
        song = cursor.song
        if song.genre != genre or song.model is model or self._models.get(genre) is not model:
            return cursor  # another genre's song, or it has it, or a newer model came since
        where = "the top" if cursor.bar <= 0 else f"bar {cursor.bar + 1}"
        label = song.plan.section_at(max(cursor.bar, 0)).label
        log.info(
            "style model for %s v%d in use from %s (%s) of song %d",
            genre,
            model.version,
            where,
            label,
            song.number,
        )
        new = self._replanned(song, song.plan.params, model)
        return replace(cursor, song=new, state=replace(cursor.state, melody=None))

    def _next_section(self, cursor: Cursor) -> Cursor:
        plan = cursor.song.plan
        index = plan.section_index(max(cursor.bar, 0)) + (1 if cursor.bar >= 0 else 0)
        if index >= len(plan.sections):
            following = self._after_song(cursor)
            return following if following is not None else replace(cursor, bar=plan.total_bars - 1)
        return replace(cursor, bar=plan.sections[index].start_bar)

    def _goto(self, cursor: Cursor, name: str) -> Cursor:
        try:
            section = self._find_section(cursor.song, name, after=cursor.bar)
        except CommandError as error:  # the song changed since the command was checked
            log.warning("goto %s: %s", name, error)
            return cursor
        return replace(cursor, bar=section.start_bar)

    def _find_section(self, song: LiveSong, name: str, after: int = -1) -> Section:
        sections = song.plan.sections
        for section in sections:
            if section.label == name:
                return section
        kinds = [s for s in sections if s.kind.value == name]
        if kinds:
            return next((s for s in kinds if s.start_bar > after), kinds[0])
        names = sorted({s.label for s in sections} | {s.kind.value for s in sections})
        hint = difflib.get_close_matches(name, names, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        known = ", ".join(s.label for s in sections)
        raise CommandError(f"no section '{name}' in this song{suggestion} (sections: {known})")

    def _ending(self, cursor: Cursor) -> Cursor:
        plan = cursor.song.plan
        last = plan.sections[-1]
        bar = cursor.bar
        if last.kind is SectionKind.OUTRO and bar < last.start_bar:
            bar = last.start_bar
        elif last.kind is not SectionKind.OUTRO:
            bar = max(bar, plan.total_bars - 1)
        return replace(cursor, bar=max(bar, 0), stop_after_song=True)

    def _new_song_at_same_kind(self, cursor: Cursor, genre: str, seed: int) -> Cursor:
        """A new song that picks up at the section kind the old one would have played (from
        its top if it has none; after the count-in if one was about to play)."""
        self._genre = genre
        song = self._new_song(genre, seed)
        if cursor.bar < 0:
            return Cursor(song, cursor.bar, stop_after_song=cursor.stop_after_song)
        kind = cursor.song.plan.section_at(cursor.bar).kind
        same = next((s for s in song.plan.sections if s.kind is kind), None)
        start = same.start_bar if same is not None else 0
        return Cursor(song, start, stop_after_song=cursor.stop_after_song)

    def _check_genre(self, genre: str) -> Style:
        try:
            return self.styles.get(genre)
        except InputError as error:
            raise CommandError(str(error)) from None

    # -- a band -------------------------------------------------------------------------------

    def band_song(
        self, params: SongParams, patches: Mapping[Part, str], held: frozenset[Part]
    ) -> LiveSong:
        """The song a band member plays: planned from ``params`` (the style file's: a band's
        members share no style models), on the instruments ``patches``; ``CommandError`` for
        a genre this instance does not have."""
        style = self._check_genre(params.genre)
        return self._planned(_SongRequest(style, params, params.seed, None, patches, held))

    def advance(self, cursor: Cursor, bars: int) -> Cursor | None:
        """``cursor`` ``bars`` bars on, as playing takes it: past a song's last bar into the
        next song's count-in (None: the music stops there)."""
        following: Cursor | None = cursor
        for _ in range(bars):
            if following is None:
                break
            if following.bar + 1 < following.song.plan.total_bars:
                following = replace(following, bar=following.bar + 1, fill=False, restrike=False)
            else:
                following = self._after_song(following)
        return following

    def place(self, cursor: Cursor, at: int, position: int) -> Outcome:
        """Play ``cursor`` from the first bar line at or after sample ``at`` (a band member's
        song and bar, on the bar line they share), or, stopped, start it at ``at``."""
        self._position = position
        song = cursor.song
        self._genre, self._key = song.genre, song.plan.key
        cursor = replace(cursor, restrike=True)
        self.engine.prepare([*song.patches.values(), *song.section_patches.values()])
        where = f"bar {cursor.bar + 1} of the band's {song.genre} song (seed {song.seed})"
        soonest = position + self.engine.lead
        if not self.playing:  # on the bar line, even one gone by: its notes still to come play
            self._song = song
            self._not_before = soonest
            self._start_at(cursor, position, at=at, continued=cursor.bar > 0)
            outcome = Outcome(None, at, detail=f"{where} from sample {at}")
        else:  # the bar line nearest ``at``, as close as this member's are to the band's
            self._plan_ahead(position)
            earliest = max(at - round(self._samples_per_beat() / 2), soonest)
            outcome = self._at_boundary(None, Boundary.BAR, lambda _: cursor, where, earliest)
        self._publish()
        return outcome

    def bar_at(self, sample: int) -> PlannedBar | None:
        """The planned bar that plays at ``sample`` (None: none)."""
        return self._now_playing(sample)

    def start_sample(self, bar: PlannedBar) -> int:
        """The engine sample ``bar`` starts on."""
        return self._start_sample(bar)

    # -- the session --------------------------------------------------------------------------

    def _publish_pending(self) -> None:
        self.session = replace(
            self.session, pending=tuple(pending.description for pending in self._pending)
        )

    def _publish(self) -> None:
        """Bring "what plays now" up to date and tell the listeners if anything changed."""
        if (
            self._cursor is None
            and self._bars
            and self._end_sample(self._bars[-1]) <= self._position
        ):  # the last bar of an ending has played: the music stops
            self._patches_before = self._bars[-1].patches
            self._start_beat = self._bars[-1].end_beat
            self._tell_transport("stop", self._end_sample(self._bars[-1]), self._start_beat)
            self._bars = []
        session = self.session
        now = self._now_playing()
        if now is not None:
            self._song = now.song
            session = _updated(
                session,
                genre=now.song.genre,
                key=now.song.plan.key.name,
                song=now.song.number,
                seed=now.song.seed,
                section=now.label,
                bar=(now.song_bar + 1) if now.song_bar is not None else 0,
                bars=now.song.plan.total_bars,
                chord=self._chord_playing(now),
                patches=_patch_names(now.song),
            )
        if not self.playing:
            session = _updated(
                session,
                genre=self._genre,
                key=self._key.name,
                transport=Transport.STOPPED,
                section="",
                bar=0,
                chord="",
                patches=_patch_names(self._song) if self._song else session.patches,
            )
        old, self.session, self._published = self._published, session, session
        if old != session:
            for listener in list(self.listeners):
                listener(old, session)

    def _chord_playing(self, bar: PlannedBar) -> str:
        """The chord ``bar`` plays at the clock (a chord taken on a beat shows from that beat)."""
        assert self._map is not None
        return bar.chord_at(self._map.beat_at(self._position) + 1e-9)

    def beat_in_bar(self, position: int) -> float | None:
        """Where ``position`` falls in the bar playing, in beats from its start (0 on the bar
        line); None when nothing plays."""
        bar = self._now_playing(position)
        if bar is None or self._map is None:
            return None
        return self._map.beat_at(position) - bar.start_beat

    def _now_playing(self, position: int | None = None) -> PlannedBar | None:
        if self._map is None:
            return None
        at = self._position if position is None else position
        for bar in self._bars:
            if self._start_sample(bar) <= at < self._end_sample(bar):
                return bar
        return None

    @property
    def planned(self) -> tuple[PlannedBar, ...]:
        return tuple(self._bars)

    @property
    def song(self) -> LiveSong | None:
        """The song playing (or, stopped, the one that will): what the daemon's song log
        records."""
        return self._song

    @property
    def tempo_map(self) -> TempoMap | None:
        return self._map


@dataclass(frozen=True, slots=True)
class _Placing:
    """How a bar's events become the engine's notes: the tempo map (its own copy, for the
    composer's thread), the parts this instance plays (none: all) and the first sample the
    engine can still take."""

    map: TempoMap
    parts: frozenset[str]
    not_before: int

    def notes(self, events: tuple[NoteEvent, ...]) -> list[Note]:
        """The events of the parts this instance plays, on engine samples (from the first the
        engine can still take: a band member that joins mid-bar strikes what sounds on late,
        drum hits gone by are gone)."""
        sample_at = self.map.sample_at
        parts, not_before = self.parts, self.not_before
        notes = []
        for event in events:
            if parts and event.part.value not in parts:
                continue  # a band member's: another instance plays it
            start = round(sample_at(event.start))
            end = max(start + 1, round(sample_at(event.end)))
            if start < not_before:
                if end <= not_before or event.part is Part.DRUMS:
                    continue
                start = not_before
            notes.append(
                Note(event.part.value, start, end, float(event.pitch), event.velocity / 127)
            )
        return notes


@dataclass(frozen=True, slots=True)
class _SongRequest:
    """What a song's plan and arrangement are made from (composition is pure: the same
    request, the same song, in whichever thread)."""

    style: Style
    params: SongParams
    seed: int
    model: StyleModel | None
    patches: Mapping[Part, str]  # the parts on a patch of their own (the genre chooses the rest)
    held: frozenset[Part]
    new_tempo: float | None = None

    def same(self, other: "_SongRequest") -> bool:
        """The same request: the same style and model objects (immutable snapshots), the
        same values otherwise."""
        return (
            self.style is other.style
            and self.model is other.model
            and (self.params, self.seed, self.held, self.new_tempo)
            == (other.params, other.seed, other.held, other.new_tempo)
            and dict(self.patches) == dict(other.patches)
        )

    def plan(self) -> tuple[SongPlan, Arrangement]:
        plan = plan_song(self.params, self.style, random.Random(self.seed), self.model)
        arrangement = arrange(plan, self.style, self.seed, patches=self.patches, held=self.held)
        return plan, arrangement


@dataclass(frozen=True, slots=True)
class _Ahead:
    """The bar after the last planned, at work in the composer's thread: composed from
    ``cursor`` to start on ``start_beat``, its notes placed as ``placing`` says."""

    cursor: Cursor
    start_beat: float
    placing: _Placing
    work: Future[tuple[tuple[NoteEvent, ...], BarState, list[Note]]]


def _bar_ahead(
    cursor: Cursor, start_beat: float, placing: _Placing
) -> tuple[tuple[NoteEvent, ...], BarState, list[Note]]:
    """In the composer's thread: the bar composed, and its notes placed (a bar's hundred
    notes are 0.3 to 0.7 ms of Python the loop need not spend when nothing moved since)."""
    events, state = _bar_events(cursor, start_beat)
    return events, state, placing.notes(events)


def _held(plan: SongPlan, hold: Chord | None, bar: int) -> SongPlan:
    """The plan with the performer's chord from ``bar`` to the end (so the melody planned over
    it agrees with every bar it holds)."""
    if hold is None:
        return plan
    chords = list(plan.chords)
    chords[bar:] = [BarChord(hold.symbol, hold)] * (len(chords) - bar)
    return dataclasses.replace(plan, chords=tuple(chords))


def _bar_events(cursor: Cursor, start_beat: float) -> tuple[tuple[NoteEvent, ...], BarState]:
    """The song bar ``cursor`` points at, composed (beats from ``start_beat``, where it plays
    in the transport), and the composer's state after it."""
    song = cursor.song
    plan = song.plan
    composed, state = compose_bar(
        _held(plan, cursor.hold, cursor.bar),
        song.style,
        song.arrangement,
        cursor.bar,
        cursor.state,
        seed=song.seed,
        fill=cursor.fill,
        restrike=cursor.restrike,
    )
    offset = start_beat - plan.bar_start(cursor.bar)
    return tuple(replace(event, start=event.start + offset) for event in composed), state


def _from_beat(event: NoteEvent, beat: float) -> NoteEvent:
    """``event`` as it sounds from ``beat`` on: struck there if it started before."""
    if event.start >= beat:
        return event
    return replace(event, start=float(beat), length=event.end - beat)


def _until_beat(event: NoteEvent, beat: float) -> NoteEvent:
    """``event`` cut at ``beat``, as the engine's release there cuts it."""
    if event.end <= beat:
        return event
    return replace(event, length=beat - event.start)


def _updated(session: Session, **now: object) -> Session:
    """``session`` with what plays now, the same object if nothing changed (the conductor
    publishes after every command and tick: most change nothing here)."""
    if all(getattr(session, name) == value for name, value in now.items()):
        return session
    return replace(session, **now)  # type: ignore[arg-type]


def _patch_names(song: LiveSong) -> dict[str, str]:
    return {part.value: name for part, name in song.arrangement.patches.items()}


def _next_seed(seed: int) -> int:
    return random.Random(f"{seed}:next").randrange(1, 2**31)

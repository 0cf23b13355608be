"""The daemon: the composition root of ``jamd run``.

It builds everything from Settings and starts the parts in dependency order (libraries, the
engine and its audio, the conductor, the command loop, signals), tells systemd it is ready only
once audio runs, and stops them in reverse in ``finally``. One task, the command loop, owns the
session: it takes commands off the bus, ticks the conductor every 5 ms, pings the watchdog.

Signals: SIGTERM and SIGINT fade out (0.4 s), close everything and exit 0; SIGHUP reloads the
config and the patches without a gap in the audio (a changed ``[training]`` restarts the side
task with it). A config that does not validate is refused with all its errors and the old one
keeps playing.
"""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
import tomllib
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from jamd.app.config import (
    audio_spec,
    configure_engine,
    database_path,
    delay_seconds,
    learned_path,
    libraries,
    presets_dir,
    read_settings,
)
from jamd.app.notify import Notifier
from jamd.app.songs import SongLog, replay_commands
from jamd.app.training import make_sources
from jamd.band import BandMember, peer_address
from jamd.band.wire import COMMAND, HELLO, STATE
from jamd.compose import key_and_tempo
from jamd.compose.model import StyleModel
from jamd.engine.backends import AudioUnavailable
from jamd.engine.clock import AudioClock
from jamd.engine.interface import Engine, EngineStats, Recording
from jamd.engine.patches import PatchLibrary
from jamd.engine.process import ENGINE_FIFO_PRIORITY, EngineProcess, to_fifo
from jamd.errors import InputError, JamdError
from jamd.link import LinkClock, LinkUnavailable
from jamd.live.bus import CommandBus
from jamd.live.commands import (
    Boundary,
    Command,
    CommandError,
    Play,
    SetEnergy,
    SetGenre,
    SetKey,
    SetLevel,
    SetLink,
    SetMaster,
    SetMood,
    SetMute,
    SetPan,
    SetSend,
    SetTempo,
    Stop,
)
from jamd.live.conductor import Conductor, LiveSettings, Outcome
from jamd.live.presets import PresetStore
from jamd.live.session import PartMix, Session
from jamd.logs import set_level
from jamd.midi.jackout import JackMidiOut
from jamd.midi.mapping import MapError, load_map
from jamd.midi.out import MidiSender, MidiTee
from jamd.midi.ports import MidiInputs, MidiOutputs, MidiUnavailable, Received, use_jack_server
from jamd.midi.service import MidiService, default_map_path
from jamd.midi.sync import ClockFollow, ClockOut
from jamd.osc.server import OscServer
from jamd.osc.space import Space
from jamd.settings import PARTS, Settings, SettingsError
from jamd.store import Store, StoreError
from jamd.styles.library import StyleLibrary
from jamd.theory import parse_key
from jamd.training.refresh import Trainer, load_models
from jamd.training.source import Source
from jamd.training.workers import WorkerPool

log = logging.getLogger("jamd")

TICK_SECONDS = 0.005
FADE_SECONDS = 0.4
STATUS_SECONDS = 5.0  # STATUS= is refreshed at least this often (xrun counts move)
SWITCH_INTERVAL = 0.0002
"""Seconds a thread may keep the GIL while another waits: the command loop (and, inline,
pyo's callback) waits at most this long for a busy thread (DESIGN.md: 5 ms by default)."""


class EngineDied(JamdError):
    """The engine's process ended while the music should have been playing."""


def start_midi_out(settings: Settings, engine: Engine) -> MidiSender | None:
    """The parts' notes (and the clock) out as MIDI, or None (logged) if the API is not
    there. Through JACK, a process of its own writes each message on its frame (jackout);
    through ALSA, RtMidi sends each at its time."""
    midi = settings.midi
    client = f"{settings.audio.jack_client}-midi"
    channels = midi.channels.model_dump()
    try:
        if midi.api == "jack":
            use_jack_server(settings.audio.jack_server)
            jack_out = JackMidiOut(
                midi.virtual_output or "out",
                midi.outputs,
                client=client,
                server=settings.audio.jack_server,
                rescan=midi.rescan_seconds,
            )
            sender = MidiSender(
                jack_out.send, engine.position, engine.sample_rate, channels, early=jack_out.early
            )
            sender.closed.append(jack_out.close)
            return sender
        outputs = MidiOutputs(
            midi.api,
            midi.outputs,
            virtual=midi.virtual_output,
            client=client,
            rescan=midi.rescan_seconds,
        )
        outputs.start()  # and rescans on the loop until closed
    except MidiUnavailable as error:
        log.warning("MIDI out is off: %s", error)
        return None
    sender = MidiSender(outputs.send, engine.position, engine.sample_rate, channels)
    sender.closed.append(outputs.close)  # once the thread that sends has stopped
    return sender


LEARNED = "learned"  # the store's name for what MIDI learn saved


async def _read_styles(styles: StyleLibrary) -> None:
    """Every genre file read and checked in a thread (``StyleLibrary.read_all``): none is read
    while the music plays, where a genre change or a refresh would (pydantic holds the GIL in
    whichever thread it runs); a broken one is a warning."""
    for error in await asyncio.to_thread(styles.read_all):
        log.warning("a genre file cannot be used: %s", error)


async def open_store(settings: Settings) -> Store | None:
    """The store, or None (logged) if it cannot open: the music never depends on it."""
    path = database_path(settings)
    try:
        store = await Store.open(path)
    except StoreError as error:
        log.error("the store is off, the music plays on without it: %s", error)
        return None
    log.info("store: %s", path)
    return store


async def import_old_files(settings: Settings, store: Store) -> None:
    """Presets and learned MIDI controls jamd kept in TOML files before the store, imported
    once each (the files are left where they are)."""
    try:
        added = await PresetStore(store).import_files(presets_dir(settings))
        if added:
            log.info("%d presets imported from %s", added, presets_dir(settings))
        path = learned_path(settings)
        if path.is_file() and str(path.resolve()) not in await store.imported("midi_map"):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            if await store.import_named("midi_map", LEARNED, data, str(path.resolve())):
                log.info("learned MIDI controls imported from %s", path)
    except (JamdError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        log.error("importing old files into the store: %s", error)


async def read_learned(settings: Settings, store: Store | None) -> dict[str, Any] | None:
    """What MIDI learn saved: from the store, or (without one) the old file, read only."""
    try:
        if store is not None:
            return await store.load_midi_map(LEARNED)
        path = learned_path(settings)
        return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (JamdError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        log.error("MIDI: what was learned is left out: %s", error)
        return None


def start_midi(
    settings: Settings,
    space: Space,
    submit: Callable[[Command], "asyncio.Future[object]"],
    recall: Callable[[str], None] | None = None,
    *,
    learned: dict[str, Any] | None = None,
    save_learned: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> MidiService | None:
    """MIDI in by ``[midi]``, or None (logged) if its map is broken or its API is not there:
    the music plays on without it."""
    midi = settings.midi
    try:
        midi_map = load_map(map_path(settings), space)
    except MapError as error:
        log.error("MIDI is off: %s", error)
        return None
    if midi.api == "jack":
        use_jack_server(settings.audio.jack_server)

    def inputs(received: Received) -> MidiInputs:
        return MidiInputs(
            midi.api,
            midi.inputs,
            received,
            virtual=midi.virtual_input,
            client=f"{settings.audio.jack_client}-midi",
            rescan=midi.rescan_seconds,
        )

    service = MidiService(
        inputs,
        midi_map,
        space,
        submit,
        preset=recall,
        learned=learned,
        save_learned=save_learned,
    )
    try:
        service.start()
    except MidiUnavailable as error:
        log.warning("MIDI is off: %s (set midi.api, or midi.enabled = false)", error)
        return None
    return service


def map_path(settings: Settings) -> Path:
    """``midi.map``, else the map jamd ships."""
    return settings.midi.map or default_map_path()


def osc_space(styles: StyleLibrary, patches: PatchLibrary) -> Space:
    """The OSC addresses for the genres and patches there are (both take indices)."""
    names = patches.names()
    return Space(
        styles.names(),
        {part: [name for name in names if name.startswith(f"{part}/")] for part in PARTS},
    )


def first_session(
    settings: Settings, styles: StyleLibrary, seed: int, model: StyleModel | None = None
) -> Session:
    """Where the music starts: the config's, and where it leaves the key or tempo open, the
    genre's style model's draws (else the genre's own)."""
    music = settings.music
    style = styles.get(music.genre)
    mixer = {part: _part_mix(settings, part) for part in PARTS}
    seed = music.seed or seed
    key, tempo = key_and_tempo(
        style,
        seed,
        key=parse_key(music.key) if music.key else None,
        tempo=music.tempo,
        model=model,
    )
    return Session(
        genre=music.genre,
        key=key.name,
        tempo=tempo,
        energy=music.energy,
        mood=music.mood,
        seed=seed,
        master_db=settings.mixer.master_db,
        mixer=mixer,
    )


def _part_mix(settings: Settings, part: str) -> PartMix:
    mixer = settings.mixer.part(part)
    return PartMix(
        level_db=mixer.level_db,
        pan=mixer.pan,
        reverb=mixer.reverb,
        delay=mixer.delay,
        muted=mixer.mute,
    )


def live_settings(settings: Settings) -> LiveSettings:
    live = settings.live
    following = settings.midi.enabled and settings.midi.follows_clock
    return LiveSettings(
        song_seconds=live.song_minutes * 60.0,
        count_in_bars=live.count_in_bars,
        genre_change=Boundary(live.genre_change),
        after_song=live.after_song,
        # following: the master's Start plays; in a band: the band's song, once it is known;
        # with Link: on the session's bar line, once its timeline is the peers'
        autoplay=live.autoplay
        and not following
        and not settings.band.peers
        and not settings.link.enabled,
        tempo_follows=following or settings.link.enabled,  # a new genre keeps the clock's
        parts=frozenset(settings.band.parts),
    )


class Daemon:
    """Runs the live set until stopped; see the module's text for the order of things."""

    def __init__(
        self,
        settings: Settings,
        *,
        config: Path | None = None,
        overrides: dict[str, Any] | None = None,
        recording: Recording | None = None,
        notifier: Notifier | None = None,
        engine: Any = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.overrides = dict(overrides or {})
        self.recording = recording or Recording()
        self.notifier = notifier or Notifier()
        self.bus = CommandBus()
        self.engine: Any = None
        self._launched = engine  # an engine process already booting (jamd run starts it early)
        self.conductor: Conductor | None = None
        self.osc: OscServer | None = None
        self.osc_address: tuple[str, int] | None = None
        self.midi: MidiService | None = None
        self.store: Store | None = None  # None: it could not open (logged); music plays on
        self._learned: dict[str, Any] | None = None
        self.trainer: Trainer | None = None  # the training side task (training.enabled)
        self.workers: WorkerPool | None = None  # its worker processes, started before READY
        self._retraining: asyncio.Task[None] | None = None  # SIGHUP: the side task restarting
        self._reading: asyncio.Task[None] | None = None  # the genre files, read in a thread
        self.models: dict[str, StyleModel] = {}  # the latest style model per genre
        self._new_models: list[tuple[str, StyleModel]] = []  # for the conductor, in the loop
        self._ordinary: tuple[int, os.sched_param] | None = None  # the loop's thread, before
        self.songs: SongLog | None = None  # each song played, and likes and skips, in the store
        self.midi_out: MidiSender | None = None
        self.clock_out: ClockOut | None = None  # jamd's MIDI clock (midi.clock = send)
        self.clock_follow: ClockFollow | None = None  # a master's (midi.clock = follow)
        self.link: LinkClock | None = None  # Ableton Link (link.enabled or /jamd/link 1)
        self.band: BandMember | None = None  # one of several instances ([band])
        self.started = asyncio.Event()  # audio runs and the conductor plays (READY=1)
        self.stopped_at: float | None = None
        self._stopping = False
        self._reload_wanted = False
        self._last_status = ""
        self._status_at = 0.0
        self._watchdog_at = 0.0
        self.errors = 0  # commands refused, for the status line and tests
        self.engine_description = ""

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> int:
        """Play until a signal (or ``stop``) ends it; the exit status."""
        loop = asyncio.get_running_loop()
        for number, handler in (
            (signal.SIGTERM, self.stop),
            (signal.SIGINT, self.stop),
            (signal.SIGHUP, self.request_reload),
        ):
            loop.add_signal_handler(number, handler)
        try:
            await self._start()
            await self._conduct()
        except EngineDied as error:
            log.critical("%s", error)
            return 1
        finally:
            await self._shutdown()
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(number)
        return 0

    async def _start(self) -> None:
        began = time.monotonic()
        sys.setswitchinterval(SWITCH_INTERVAL)
        settings = self.settings
        # the engine is the slowest part to start: its process boots while the store opens,
        # the libraries load and the first song is planned, then builds that song's patches
        # before its audio runs
        process = self._launched or self._engine_process(settings)
        self.store = await open_store(settings)
        if self.store is not None:
            await import_old_files(settings, self.store)
        self._learned = await read_learned(settings, self.store)
        styles, patches = libraries(settings)
        # every genre read while the engine starts, so that none is read (and checked, which
        # holds the GIL in a thread) while the music plays: at a genre change, or a refresh
        self._reading = asyncio.create_task(_read_styles(styles))
        # the training workers too: a process spawned while the music plays holds the loop up
        sources = await self._training_sources(settings, styles)
        workers = None if sources is None else asyncio.create_task(self._start_workers(sources))
        if settings.band.peers and settings.training.enabled:
            log.info("band: songs are planned from the style files (members share no models)")
        elif settings.training.enabled and self.store is not None:
            self.models = await load_models(self.store, styles)
            if self.models:
                log.info("training: stored models for %s", ", ".join(sorted(self.models)))
        model = self.models.get(settings.music.genre)
        session = first_session(settings, styles, seed=_fresh_seed(), model=model)
        conductor = Conductor(
            process, styles, patches, session, live_settings(settings), models=self.models
        )
        first = conductor.first_patches()
        if process is None:
            self.engine = self._inline_engine(settings, first)
        else:
            self.engine = process
            info = await process.start(first)
            self.engine_description = f"{info.description} (engine pid {process.pid})"
        conductor.engine = self.engine
        if settings.midi.enabled and (settings.midi.virtual_output or settings.midi.outputs):
            self.midi_out = start_midi_out(settings, self.engine)
            if self.midi_out is not None:
                conductor.engine = MidiTee(self.engine, self.midi_out)
                if settings.midi.sends_clock:
                    self.clock_out = ClockOut(conductor, self.midi_out.add_system)
        conductor.listeners.append(self._on_session)
        if self.store is not None:
            self.songs = SongLog(
                self.store,
                conductor,
                recording=self.recording,
                styles=tuple(str(path) for path in settings.paths.styles),
            )
            self.songs.start()
            conductor.listeners.append(self.songs.changed)
        self.conductor = conductor
        conductor.start(self.engine.position(), engine_has=first)
        space = osc_space(styles, patches)  # one for every surface: OSC, MIDI maps, tap tempo
        if settings.osc.enabled:
            self.osc = OscServer(
                space,
                self.submit,
                lambda: conductor.session,
                allow=settings.osc.allow,
                auto_subscribe=settings.osc.auto_subscribe,
                max_ahead=settings.osc.max_ahead_seconds,
                beat=lambda: self._beat_in_bar(conductor),
                beat_hz=settings.osc.beat_hz,
                subscriber_timeout=settings.osc.subscriber_timeout_seconds,
                presets=PresetStore(self.store) if self.store is not None else None,
            )
            self.osc_address = await self.osc.start(
                settings.osc.host,
                settings.osc.port,
                settings.osc.tcp_port if settings.osc.tcp else None,
            )
            conductor.listeners.append(self.osc.publish)
            if self.songs is not None:
                self.osc.feedback = self.songs.feedback
                self.osc.replay = self._replay
        if sources is not None:
            await self._start_training(settings, styles, sources)
        if settings.midi.enabled:
            self._start_midi(settings, space)
            if self.midi is not None and settings.midi.follows_clock:
                self.clock_follow = self._follow_clock(settings, conductor)
                self.midi.clock = self.clock_follow
        self.link = self._make_link(settings, conductor)
        if settings.link.enabled:
            autoplay = settings.live.autoplay and not settings.band.peers
            try:
                self._join_link()
                self.link.start_on_join = autoplay and not self.clock_follow
            except CommandError:  # logged: jamd plays on its own clock
                if autoplay and not self.clock_follow:
                    self._apply(conductor, Play(), None, self.engine.position(), shared=False)
        if settings.band.enabled:
            self.band = self._make_band(settings, conductor)
        await self._reading
        if workers is not None:
            await workers
        gc.collect()
        gc.freeze()  # start-up's objects stay put: the collector's passes stay short
        self._follow_engine_realtime()
        status = self._status_line()
        self.notifier.ready(status)
        self._last_status = status
        self.started.set()
        log.info(
            "ready in %.2f s: %s; %s",
            time.monotonic() - began,
            self.engine_description,
            conductor.session.status(),
        )

    async def _training_sources(self, settings: Settings, styles: Any) -> list[Source] | None:
        """The side task's sources, their MIDI files for the daemon's worker processes
        (``self.workers``: kept while ``training.workers`` stays the same); None when the side
        task is off or cannot run."""
        training = settings.training
        wanted = training.workers if training.enabled and self.store is not None else 0
        if self.workers is not None and self.workers.workers != wanted:
            before, self.workers = self.workers, None
            await before.close()
        if not wanted:
            return None
        if self.workers is None:
            self.workers = WorkerPool(wanted)
        try:
            return make_sources(settings, styles.names(), pool=self.workers)
        except InputError as error:
            log.error("training: %s; the side task is off", error)
            return None

    async def _start_workers(self, sources: list[Source]) -> None:
        """Every worker process of the side task started now (the first refresh would start
        them otherwise, with the music playing), unless they are, or there is nothing for them
        to do: no source, and no stored sample to fit a model from."""
        workers, store = self.workers, self.store
        if workers is None or workers.started or store is None:
            return
        try:
            if not sources and not await store.sample_counts():
                return
        except StoreError:  # the refresh will say what is wrong with the store
            return
        try:
            pids = await workers.start()
        except (OSError, RuntimeError) as error:  # they start at the first refresh instead
            log.error("training: the worker processes could not start: %s", error)
        else:
            log.info("training: %d worker process(es) %s", len(pids), pids)

    async def _start_training(self, settings: Settings, styles: Any, sources: list[Source]) -> None:
        """The side task: refreshes on its schedule (the models stored before are read at
        start, before the first song is planned)."""
        store = self.store
        assert store is not None  # sources are made only with a store
        trainer = Trainer(
            store,
            sources,
            styles,
            refresh_hours=settings.training.refresh_hours,
            refresh_on_start=settings.training.refresh_on_start,
            on_model=self._new_model,
            pool=self.workers,
        )
        trainer.listeners.append(lambda _state: self._refresh_status(time.monotonic()))
        if self.osc is not None:
            self.osc.training = trainer
            trainer.listeners.append(self.osc.publish_training)
        self.trainer = trainer
        await trainer.start()

    async def _restart_training(
        self, settings: Settings, styles: Any, before: "asyncio.Task[None] | None"
    ) -> None:
        """SIGHUP with ``[training]`` changed: the side task starts again with the new
        settings (a refresh in flight stops; what it stored stays), or stops for good."""
        if before is not None:
            await asyncio.wait([before])  # one SIGHUP after another: in order
        trainer, self.trainer = self.trainer, None
        if self.osc is not None:
            self.osc.training = None
        if trainer is not None:
            await trainer.close()
        sources = await self._training_sources(settings, styles)
        if sources is not None:
            await self._start_workers(sources)
            await self._start_training(settings, styles, sources)
        log.info(
            "reload: [training] changed: the side task %s",
            "runs with the new settings" if self.trainer is not None else "is off",
        )

    def _new_model(self, genre: str, model: StyleModel) -> None:
        """A genre's new style model from the side task (on the loop's thread): kept, and
        handed to the conductor by the command loop, its one owner, like a command."""
        self.models[genre] = model
        self._new_models.append((genre, model))
        self.bus.wake()

    def _hand_over_models(self, conductor: Conductor, position: int) -> None:
        """Give the conductor the new models whose songs are planned (in its composer's
        thread: a model that plans the song playing again waits for that, not the loop)."""
        models, self._new_models = self._new_models, []
        waiting: set[str] = set()  # a genre's models are given in the order they came
        for genre, model in models:
            try:
                if genre in waiting or not _done(conductor.plan_with(genre, model)):
                    self._new_models.append((genre, model))  # a later turn of the loop
                    waiting.add(genre)
                    continue
                outcome = conductor.set_model(genre, model, position)
            except CommandError as error:
                self.errors += 1
                log.error("style model for %s v%d not taken: %s", genre, model.version, error)
                continue
            log.debug("style model for %s: %s", genre, outcome.detail)

    def _follow_clock(self, settings: Settings, conductor: Conductor) -> ClockFollow:
        engine = self.engine
        delay = settings.midi.clock_delay_ms
        early = 0.0
        if settings.midi.api == "jack":  # RtMidi stamps a JACK cycle's events with its start
            info = getattr(engine, "info", None)
            frames = info.buffer_size if info is not None else settings.audio.buffer_size
            early = frames / 2 / engine.sample_rate
        return ClockFollow(
            conductor,
            AudioClock(engine.position, engine.sample_rate),
            engine.position,
            lambda: self._apply(conductor, Stop(), None, engine.position()),
            delay=None if delay is None else delay / 1000,
            early=early,
        )

    def _make_link(self, settings: Settings, conductor: Conductor) -> LinkClock:
        engine = self.engine
        return LinkClock(
            conductor,
            AudioClock(engine.position, engine.sample_rate),
            engine.position,
            lambda command: self._from_link(conductor, command),
            quantum=settings.link.quantum,
            start_stop=settings.link.start_stop,
        )

    def _make_band(self, settings: Settings, conductor: Conductor) -> BandMember:
        band = settings.band
        osc, engine = self.osc, self.engine
        if band.peers and osc is None:
            log.error("band: its members talk over OSC: with osc.enabled = false, it has none")
        if band.peers and not settings.link.enabled:
            log.warning(
                "band: without Link (link.enabled) the members share no bar lines: a command "
                "lands in each where it lands when it arrives"
            )
        address = self.osc_address
        name = band.name or (f"{address[0]}:{address[1]}" if address else "jamd")

        def send(path: str, args: tuple[Any, ...], peer: Any) -> None:
            if osc is not None:
                osc.send_message(path, args, peer)

        member = BandMember(
            conductor,
            self.link,
            engine.position,
            send,
            name=name,
            peers=[peer_address(peer) for peer in band.peers] if osc is not None else [],
            parts=band.parts,
            ahead_seconds=band.ahead_ms / 1000.0,
            wake=self.bus.wake,
        )
        if osc is not None:
            osc.answer(HELLO, member.hello)
            osc.answer(STATE, member.state)
            osc.answer(COMMAND, member.command)
        member.start(play=settings.live.autoplay and bool(member.peers))
        parts = " ".join(band.parts) or "every part"
        peers = ", ".join(band.peers) or "no peers"
        log.info("band: %s plays %s, with %s", name, parts, peers)
        return member

    def _from_link(self, conductor: Conductor, command: Command) -> None:
        """The Link session started or stopped (start/stop shared): in a band, a start is the
        band's song; a stop is each member's own (the session stops them all)."""
        if self.band is not None and self.band.peers and isinstance(command, Play):
            self.band.session_started()
            return
        self._apply(conductor, command, None, self.engine.position(), shared=False)

    def _join_link(self) -> None:
        """Into the Link session; without aalink, an error in the log and jamd's own clock."""
        assert self.link is not None
        try:
            self.link.join()
        except LinkUnavailable as error:
            log.error("%s; jamd plays on its own clock", error)
            raise CommandError(str(error)) from None

    def _set_link(self, command: SetLink, position: int) -> Outcome:
        if self.link is None:
            raise CommandError("Link is not ready yet")
        if command.on:
            self._join_link()
            detail = "joined: the next bar on the session's"
        else:
            self.link.leave()
            detail = "left: jamd keeps its own clock"
        self._show_clock()
        return Outcome(command, position, detail=detail)

    def _clock_source(self) -> str:
        """Which clock leads: a running MIDI clock, else Link, else jamd's own."""
        if self.clock_follow is not None and self.clock_follow.leading:
            return "midi"
        if self.link is not None and self.link.enabled:
            return "link"
        return "internal"

    def _show_clock(self) -> None:
        conductor = self.conductor
        if conductor is None:
            return
        source = self._clock_source()
        if conductor.session.clock != source:
            log.info("clock: %s leads", source)
            conductor.set_clock_state(clock=source)
        midi = self.settings.midi
        follows = (midi.enabled and midi.follows_clock) or (
            self.link is not None and self.link.enabled
        )
        if conductor.settings.tempo_follows != follows:  # a new genre keeps the clock's tempo
            conductor.settings = replace(conductor.settings, tempo_follows=follows)

    def _engine_process(self, settings: Settings) -> Any:
        """The engine's process, launched (None: the engine runs inline, in this process)."""
        if settings.audio.engine == "inline":
            return None
        process = EngineProcess.spawn()
        configure_engine(process, settings, self.recording)
        return process

    def _inline_engine(self, settings: Settings, patches: Any) -> Any:
        from jamd.engine.live import LiveEngine  # noqa: PLC0415  (loads pyo here)

        engine = LiveEngine(
            audio_spec(settings),
            PARTS,
            delay_seconds=delay_seconds(settings),
            recording=self.recording,
            patches=patches,
        )
        self.engine_description = engine.backend.describe()
        return engine

    def _beat_in_bar(self, conductor: Conductor) -> float | None:
        engine = self.engine
        if engine is None or not _alive(engine):
            return None
        return conductor.beat_in_bar(engine.position())

    def stop(self) -> None:
        """Ask the command loop to finish (a signal handler)."""
        if not self._stopping:
            log.info("stopping: fading out")
            self._stopping = True
            self.bus.wake()

    def request_reload(self) -> None:
        self._reload_wanted = True
        self.bus.wake()

    def _follow_engine_realtime(self) -> None:
        """With JACK realtime (the engine's threads on SCHED_FIFO), the loop's thread goes on
        SCHED_FIFO too, at the engine's priority, under JACK's audio thread. At ordinary
        priority it waited for a core 0.5 to 3.8 ms at a time on 2 cores, behind the training
        workers, its own composer's thread and the machine's other work (docs/performance.md);
        the threads it starts later begin at ordinary priority."""
        info = getattr(self.engine, "info", None)
        if info is None or not info.realtime:
            return
        before = os.sched_getscheduler(0), os.sched_getparam(0)
        try:
            to_fifo()
        except OSError as error:  # not allowed: LimitRTPRIO, or the audio group
            log.info("the loop's thread stays at ordinary priority (%s)", error)
            return
        self._ordinary = before
        log.info(
            "the loop's thread runs SCHED_FIFO %d, as JACK runs realtime", ENGINE_FIFO_PRIORITY
        )

    def _back_to_ordinary(self) -> None:
        """The loop's thread as it was before ``_follow_engine_realtime`` (the daemon may run
        in a process that goes on: a test's, a benchmark's)."""
        ordinary, self._ordinary = self._ordinary, None
        if ordinary is not None:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, *ordinary)

    async def _shutdown(self) -> None:
        self._back_to_ordinary()
        self.notifier.stopping()
        if self.osc is not None:
            self.osc.close()
        if self.midi is not None:
            self.midi.close()
        if self.link is not None:
            self.link.close()  # the peers hear jamd leave
        engine, self.engine = self.engine, None
        if engine is not None:
            if self.conductor is not None and _alive(engine):
                self.conductor.stop(engine.position())
                engine.fade_out(FADE_SECONDS)
                await asyncio.sleep(FADE_SECONDS + 0.05)
            if self.midi_out is not None:
                self.midi_out.close()  # after the stop's note-offs: all notes off
            if hasattr(engine, "step"):
                engine.close()
            else:
                await engine.close()
        if self.conductor is not None:
            self.conductor.close()  # its composer's thread
        if self._retraining is not None:
            await asyncio.wait([self._retraining])  # a SIGHUP's restart ends before the close
        if self._reading is not None:
            await asyncio.wait([self._reading])  # a thread cannot be cancelled
        trainer, self.trainer = self.trainer, None
        if trainer is not None:
            await trainer.close()  # a refresh in flight stops; what it finished is stored
        workers, self.workers = self.workers, None
        if workers is not None:
            await workers.close()
        songs, self.songs = self.songs, None
        if songs is not None:
            await songs.close()  # the song playing ends, every row is written
        store, self.store = self.store, None
        if store is not None:
            await store.close()  # last: every write the parts above made has committed
        self.notifier.close()
        self.stopped_at = time.monotonic()
        log.info("stopped")

    # -- the command loop ---------------------------------------------------------------------

    async def _conduct(self) -> None:
        conductor, engine = self.conductor, self.engine
        assert conductor is not None
        inline = hasattr(engine, "step")
        next_tick = time.monotonic()
        while not self._stopping:
            wait = max(0.0, next_tick - time.monotonic())
            if inline:
                wait = min(wait, engine.step())
            await self.bus.wait(wait)
            if not inline and not engine.alive:
                raise EngineDied("the engine process ended unexpectedly; see its log above")
            position = engine.position()
            for command, future in self.bus.take():
                self._apply(conductor, command, future, position)
            if self.band is not None:
                for command, earliest in self.band.take():  # a peer's: shared already
                    self._apply(conductor, command, None, position, earliest, shared=False)
            if self._new_models:
                self._hand_over_models(conductor, position)
            if self._reload_wanted:
                self._reload_wanted = False
                self._reload()
            now = time.monotonic()
            if now >= next_tick:
                if self.link is not None:
                    self.link.tick(leads=self._clock_source() == "link")
                    self._show_clock()
                if self.band is not None:
                    self.band.tick()
                conductor.tick(engine.position())
                if self.clock_out is not None:
                    self.clock_out.tick(engine.position())
                next_tick = now + TICK_SECONDS
                self._housekeeping(now)

    def _apply(
        self,
        conductor: Conductor,
        command: Command,
        future: "asyncio.Future[object] | None",
        position: int,
        earliest: int | None = None,
        *,
        shared: bool = True,
    ) -> None:
        """Apply ``command`` (from ``earliest``, a band's shared command); a command given
        here is ``shared`` with the band's members first."""
        try:
            following = self.clock_follow
            if isinstance(command, SetTempo) and following is not None and following.leading:
                raise CommandError(f"the tempo follows the MIDI clock from {following.port}")
            if isinstance(command, SetLink):
                outcome = self._set_link(command, position)
            else:
                band = self.band if shared else None
                outgoing = band.prepare(command) if band is not None else None
                if outgoing is not None:
                    command, earliest = outgoing.command, outgoing.earliest
                outcome = conductor.apply(command, position, earliest=earliest)
                if band is not None and outgoing is not None:  # taken: the members take it
                    band.send(outgoing)
            if isinstance(command, SetTempo) and self.link is not None:
                self.link.set_tempo(command.bpm)  # the session's tempo is jamd's
        except CommandError as error:
            self.errors += 1
            log.debug("refused %s: %s", command, error)
            if future is not None and not future.done():
                future.set_exception(error)
                future.exception()  # nobody may await it; the error is counted and logged
            return
        if future is not None and not future.done():
            future.set_result(outcome)

    def submit(self, command: Command) -> "asyncio.Future[object]":
        return self.bus.submit(command)

    def _housekeeping(self, now: float) -> None:
        seconds = self.notifier.watchdog_seconds
        if seconds is not None and now >= self._watchdog_at:
            self.notifier.watchdog()
            self._watchdog_at = now + seconds
        if now - self._status_at >= STATUS_SECONDS:
            self._refresh_status(now)

    def _on_session(self, old: Session, new: Session) -> None:
        if (old.section, old.transport, old.song, old.genre, old.key, old.tempo) != (
            new.section,
            new.transport,
            new.song,
            new.genre,
            new.key,
            new.tempo,
        ):
            log.info("%s", new.status())
        if old.status() != new.status():  # a fader move leaves it (the counters: housekeeping)
            self._refresh_status(time.monotonic())

    def _refresh_status(self, now: float) -> None:
        status = self._status_line()
        self._status_at = now
        if status != self._last_status:
            self._last_status = status
            self.notifier.status(status)

    def _status_line(self) -> str:
        assert self.conductor is not None
        line = self.conductor.session.status()
        stats: EngineStats = self.engine.stats() if self.engine is not None else EngineStats()
        if stats.xruns:
            line += f"; {stats.xruns} xruns"
        if stats.late_notes or stats.underruns:
            line += f"; {stats.late_notes} late notes, {stats.underruns} underruns"
        if self.trainer is not None and self.trainer.state.running:
            line += f"; {self.trainer.state.status()}"
        if self.band is not None and self.band.peers:
            heard = self.conductor.session.band_peers
            line += f"; band: {heard} of {len(self.band.peers)} peers"
        if self.link is not None and self.link.enabled:
            session = self.conductor.session
            peers = session.link_peers
            line += f"; Link: {peers} peer{'' if peers == 1 else 's'}, {session.link_tempo:g} BPM"
        line += f"; clock: {self.conductor.session.clock}"
        if stats.broken_buffers:
            line += f"; BROKEN AUDIO ({stats.broken_buffers} buffers hold NaN): restart jamd"
        return line

    # -- reload -------------------------------------------------------------------------------

    def _reload(self) -> None:
        """SIGHUP: read the config again; apply what changed, refuse what does not validate."""
        self.notifier.reloading()
        conductor = self.conductor
        assert conductor is not None
        try:
            new = read_settings(self.config, self.overrides)
        except SettingsError as error:
            for problem in error.problems:
                log.error("reload refused: %s", problem)
            log.error("the old config keeps playing (%d problems)", len(error.problems))
            self.notifier.ready(self._status_line())
            return
        old, self.settings = self.settings, new
        styles, patches = libraries(new)
        self._reading = asyncio.create_task(_read_styles(styles))
        set_level(new.log.level)
        for section in ("audio", "record", "osc"):
            if getattr(old, section) != getattr(new, section):
                log.warning("[%s] changed: it takes effect when jamd restarts", section)
        if old.midi.model_copy(update={"map": None}) != new.midi.model_copy(update={"map": None}):
            log.warning("[midi] ports or API changed: that takes effect when jamd restarts")
        if old.training != new.training and self.store is not None:
            self._retraining = asyncio.create_task(
                self._restart_training(new, styles, self._retraining), name="jamd retraining"
            )
        if old.link != new.link:
            self._reload_link(new)
        if (old.band.peers, old.band.name) != (new.band.peers, new.band.name):
            log.warning("[band] peers or name changed: that takes effect when jamd restarts")
        if self.band is not None and old.band.parts != new.band.parts:
            self.band.parts = new.band.parts  # the conductor's settings below play them
            log.info("reload: [band] parts applied: %s", " ".join(new.band.parts) or "all")
        conductor.settings = live_settings(new)
        conductor.reload(styles, patches, self.engine.position())
        space = osc_space(styles, patches)
        if self.osc is not None:
            self.osc.space = space
        self._reload_midi(new, space)
        for command in settings_changes(old, new):
            log.info("reload: %s", command)
            self.bus.submit(command)
        log.info("reloaded %s", self.config or "the settings")
        self.notifier.ready(self._status_line())

    def _reload_link(self, settings: Settings) -> None:
        link = self.link
        if link is None:
            return
        link.quantum, link.start_stop = settings.link.quantum, settings.link.start_stop
        if settings.link.enabled and not link.enabled:
            with contextlib.suppress(CommandError):  # logged: jamd keeps its own clock
                self._join_link()
        elif not settings.link.enabled and link.enabled:
            link.leave()
        self._show_clock()
        log.info("reload: [link] applied")

    def _start_midi(self, settings: Settings, space: Space) -> None:
        """MIDI in, with program changes recalling OSC's presets and MIDI learn over OSC."""
        recall = self.osc.recall if self.osc is not None else None
        save = self._save_learned if self.store is not None else None
        self.midi = start_midi(
            settings, space, self.submit, recall, learned=self._learned, save_learned=save
        )
        if self.osc is not None and self.midi is not None:
            self.osc.learn = self.midi.learn

    async def _replay(self, song_id: int) -> list[Command]:
        """The commands that play recorded song ``song_id`` again (``/jamd/song/replay``)."""
        store, conductor = self.store, self.conductor
        if store is None or conductor is None:
            raise InputError("songs are not kept: the store is not open")
        record = await store.song(song_id)
        if record is None:
            raise InputError(f"no song {song_id} in the store (jamd songs lists them)")
        return replay_commands(record, conductor.session)

    async def _save_learned(self, data: dict[str, Any]) -> None:
        self._learned = data
        if self.store is not None:
            await self.store.save_midi_map(LEARNED, data)

    def _reload_midi(self, settings: Settings, space: Space) -> None:
        """The map read again (a broken one leaves the old in place); MIDI that was off
        for a broken map starts now. The ports and the API change when jamd restarts."""
        if not settings.midi.enabled:
            return
        if self.midi is None:
            self._start_midi(settings, space)
            return
        try:
            midi_map = load_map(map_path(settings), space)
        except MapError as error:
            log.error("reload: the MIDI map keeps its old version: %s", error)
            return
        self.midi.use_map(midi_map, space)
        log.info("reload: the MIDI map is read again")

    @property
    def session(self) -> Session:
        assert self.conductor is not None
        return self.conductor.session


def settings_changes(old: Settings, new: Settings) -> list[Command]:
    """The commands that take the live session from the old config's values to the new ones':
    only what the file changed, so a reload never undoes what performers did since."""
    commands: list[Command] = []
    before, after = old.music, new.music
    changed: list[tuple[object, object, Callable[[Any], Command]]] = [
        (before.genre, after.genre, SetGenre),
        (before.key, after.key, SetKey.parse),
        (before.tempo, after.tempo, SetTempo),
        (before.energy, after.energy, SetEnergy),
        (before.mood, after.mood, SetMood),
        (old.mixer.master_db, new.mixer.master_db, SetMaster),
    ]
    for was, now, make in changed:
        if was != now and now is not None:
            commands.append(make(now))
    for part in PARTS:
        was_part, now_part = old.mixer.part(part), new.mixer.part(part)
        if was_part.level_db != now_part.level_db:
            commands.append(SetLevel(part, now_part.level_db))
        if was_part.pan != now_part.pan and now_part.pan is not None:
            commands.append(SetPan(part, now_part.pan))
        if was_part.mute != now_part.mute:
            commands.append(SetMute(part, now_part.mute))
        for send in ("reverb", "delay"):
            value = getattr(now_part, send)
            if getattr(was_part, send) != value and value is not None:
                commands.append(SetSend(part, send, value))
    return commands


def _done(work: Future[Any] | None) -> bool:
    """Whether ``work`` (None: nothing to do) is done."""
    return work is None or work.done()


def _alive(engine: Engine) -> bool:
    return bool(getattr(engine, "alive", True))


def _fresh_seed() -> int:
    return int(time.time_ns() % (2**31 - 1)) + 1


async def run_daemon(
    settings: Settings,
    *,
    config: Path | None,
    overrides: dict[str, Any],
    recording: Recording,
    engine: Any = None,
) -> int:
    """``jamd run``: the exit status (2 when the audio cannot start)."""
    daemon = Daemon(
        settings, config=config, overrides=overrides, recording=recording, engine=engine
    )
    try:
        return await daemon.run()
    except AudioUnavailable as error:
        log.error("%s", error)
        return 2


__all__ = [
    "Daemon",
    "EngineDied",
    "run_daemon",
    "settings_changes",
]

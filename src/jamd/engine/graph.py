"""The pyo DSP graph: tracks hosting patches, a mixer with sends, a master bus with a limiter.

The effects (a track's inserts, the sends' returns, the master chain) are built by
``jamd.engine.effects`` from the patches' specs.

The graph is built once. Notes never create pyo objects: they are data in control rings (see
``jamd.engine.control``) that the graph reads at the sample clock. Every pyo object is kept
referenced by its owner for the graph's lifetime: pyo frees a table or signal whose Python
wrapper is collected while C objects still read it, which crashes the audio thread.
"""

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from jamd.engine.control import EnvelopeShape, HitScheduler, Ring, VoiceScheduler, ring_spans
from jamd.engine.drumsynth import render_piece
from jamd.engine.effects import (
    build_chain,
    build_echo_send,
    build_reverb_send,
    check_chain,
    echo_times,
    latency,
    tail_seconds,
)
from jamd.engine.interface import Fader
from jamd.engine.loudness import k_weighting
from jamd.engine.notes import Note
from jamd.engine.patches import (
    DrumKitPatch,
    FmPatch,
    InstrumentPatch,
    MasterPatch,
    Patch,
    PluckPatch,
    RenderedPatch,
    VoicePatch,
    default_master,
)
from jamd.engine.pluck import PluckSounds
from jamd.engine.sampler import SampledSounds
from jamd.engine.server import pyo, reaper
from jamd.engine.voices import instrument_kind

T = TypeVar("T")

RING_SAMPLES = 1 << 16  # 1.37 s at 48 kHz: control is written well inside this horizon
_SMOOTHING = 0.05  # seconds: faders and sends glide instead of stepping
_CHAIN_TAIL_SECONDS = 0.3  # a track's chain runs this long after its last voice, plus its effects'
_TILT_HZ = 2500.0  # where the mood's high shelf turns
CROSSFADE_SECONDS = 0.05  # a patch change: held notes fade from the old patch to the new
_CUT_SECONDS = 0.005  # a rendered note stolen or re-struck fades out this fast: no click


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


class _Owner:
    """Keeps every pyo object it makes alive as long as itself."""

    def __init__(self) -> None:
        self._objects: list[Any] = []

    def own(self, obj: Any) -> Any:
        self._objects.append(obj)
        return obj

    def release(self) -> None:
        """Drop numpy views of tables before the tables themselves (see ``Rings.release``)."""
        for obj in self._objects:
            if isinstance(obj, _Owner):
                obj.release()

    def stop_all(self) -> None:
        """Stop every stream owned, so nothing in C reads these objects any more."""
        for obj in self._objects:
            if isinstance(obj, _Owner):
                obj.stop_all()
            elif hasattr(obj, "stop"):
                obj.stop()


class _TableView(np.ndarray):
    """A numpy view of a pyo table that keeps the table alive (pyo's buffer export does not)."""

    table: Any = None

    def __array_finalize__(self, parent: object) -> None:
        self.table = getattr(parent, "table", None)


def table_view(table: Any) -> Ring:
    view = np.asarray(table.getBuffer()).view(_TableView)
    view.table = table
    return view


class Rings(_Owner):
    """A set of control or capture rings: pyo DataTables with numpy views on their memory."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.tables = [self.own(pyo.DataTable(RING_SAMPLES)) for _ in range(count)]
        self.views: list[Ring] = [table_view(table) for table in self.tables]
        for view in self.views:
            view[:] = 0.0

    def release(self) -> None:
        """Forget the views before the server goes: a table or view alive after the server's
        shutdown crashes the process at exit. Schedulers hold this same list."""
        self.views.clear()
        super().release()


@dataclass(frozen=True, slots=True)
class Channel:
    """A track's effective strip: the patch's mix defaults under the part's fader."""

    gain_db: float
    pan: float
    reverb: float
    delay: float
    muted: bool = False

    @classmethod
    def of(cls, patch: Patch, fader: Fader) -> "Channel":
        mix = patch.mix
        return cls(
            gain_db=mix.gain_db + fader.level_db,
            pan=mix.pan if fader.pan is None else fader.pan,
            reverb=mix.reverb if fader.reverb is None else fader.reverb,
            delay=mix.delay if fader.delay is None else fader.delay,
            muted=fader.muted,
        )

    @property
    def level(self) -> float:
        return 0.0 if self.muted else db_to_gain(self.gain_db)

    def gains(self, *, stereo_source: bool) -> tuple[float, float]:
        """Left and right gains: constant-power panning for a mono source (-3 dB each side in
        the centre), balance for a stereo one (the centre leaves both sides untouched)."""
        if stereo_source:
            return self.level * min(1.0, 1.0 - self.pan), self.level * min(1.0, 1.0 + self.pan)
        angle = (self.pan + 1.0) * math.pi / 4.0
        return self.level * math.cos(angle), self.level * math.sin(angle)


class Track(_Owner):
    """One patch playing one part: control rings -> voices -> tone -> the part's fader.

    ``output`` is the post-fader stereo signal; ``reverb_send`` and ``delay_send`` are mono,
    post-fader (sends follow the fader and mute). A track may be built on any thread; it is
    silent until a ``Lane`` routes notes to it.
    """

    def __init__(
        self,
        name: str,
        patch: Patch,
        clock: Any,
        sample_rate: int,
        *,
        fader: Fader | None = None,
        tone: float = 1.0,
    ) -> None:
        super().__init__()
        effects = getattr(patch, "effects", ())
        check_chain(effects, master=False)
        self.name = name
        self.patch = patch
        self.sample_rate = sample_rate
        self.streams: list[Any] = []  # what pyo made for this track (``reaper.watch``)
        self.channel = Channel.of(patch, fader or Fader())
        self._stereo_source = isinstance(patch, DrumKitPatch)
        left, right = self.channel.gains(stereo_source=self._stereo_source)
        # the fader and pan as two smoothed gains: a multiply per sample, where pyo's Pan
        # would compute a sine and a cosine per sample
        self._gains = [self._smoothed(left), self._smoothed(right)]
        self._reverb = self._smoothed(self.channel.level * self.channel.reverb)
        self._delay = self._smoothed(self.channel.level * self.channel.delay)
        self._tone = self._smoothed(tone)  # for cutoffs that are signals already
        self._tone_octaves = _Glide(math.log2(tone), _SMOOTHING * sample_rate)
        self._static_cutoff: float | None = None  # a filter whose cutoff is a float
        self._filter: Any = None
        self.scheduler: VoiceScheduler | HitScheduler
        voices = patch.voices if isinstance(patch, VoicePatch) else 0
        self._voice_streams: list[list[Any]] = [[] for _ in range(voices)]
        self._voice_awake = [True] * voices
        self._chain_streams: list[Any] = []
        self._chain_awake = True
        self._chain_tail = int((_CHAIN_TAIL_SECONDS + tail_seconds(effects)) * sample_rate)
        self._sample_rate = sample_rate
        if isinstance(patch, DrumKitPatch):
            stereo = self._build_kit(patch, clock, sample_rate)
            self.output = self.own(pyo.Sig(stereo, mul=self._gains))
            mono: Any = self.own(pyo.Mix(stereo, voices=1))
        else:
            mono = (
                self._build_instrument(patch, clock, sample_rate)
                if isinstance(patch, VoicePatch)
                else self._build_rendered(patch, clock, sample_rate)
            )
            self.output = self._after_voices(pyo.Sig(mono, mul=self._gains))
        keep = self.own if isinstance(patch, DrumKitPatch) else self._after_voices
        self.reverb_send = keep(pyo.Sig(mono, mul=self._reverb))
        self.delay_send = keep(pyo.Sig(mono, mul=self._delay))

    def schedule(self, note: Note) -> None:
        self.scheduler.add(note)

    def render_control(self, start: int, stop: int, *, playing: int | None = None) -> None:
        """Write the control rings for [start, stop); run the voices that sound from
        ``playing`` (where the audio is; the window's start offline) to ``stop``."""
        self.scheduler.render(start, stop)
        self.wake_voices(start if playing is None else min(playing, start), stop)
        if self._tone_octaves.step(stop - start) and self._static_cutoff is not None:
            cutoff = self._static_cutoff * 2.0**self._tone_octaves.value
            self._filter.freq = min(18000.0, max(20.0, cutoff))

    @property
    def tail(self) -> int:
        """Samples the chain after the voices (filter, effects) rings after the last note."""
        return self._chain_tail

    def set_fader(self, fader: Fader) -> None:
        """Move the strip to the part's fader; pyo glides each gain to its new value in 50 ms."""
        channel = self.channel = Channel.of(self.patch, fader)
        for signal, gain in zip(
            self._gains, channel.gains(stereo_source=self._stereo_source), strict=True
        ):
            signal.value = gain
        self._reverb.value = channel.level * channel.reverb
        self._delay.value = channel.level * channel.delay

    def set_tone(self, factor: float) -> None:
        """Scale the track filter's cutoff (1.0: as the patch says), smoothed. Patches without
        a filter have no tone to move."""
        self._tone.value = factor
        self._tone_octaves.set(math.log2(factor))

    def fade_out(self) -> None:
        """Glide to silence (50 ms) before the track is freed while it may still sound."""
        for signal in (*self._gains, self._reverb, self._delay):
            signal.value = 0.0

    def clear_outputs(self) -> None:
        """Zero the outputs' buffers before a lane's slot reads them. pyo does not clear a new
        object's buffer, and the slot, made before this track, reads it once before the track
        first computes: memory freed by patches swapped earlier can hold NaN, which the echo's
        and the reverb's feedback would keep for good. A stream that stops clears its buffer."""
        for signal in (self.output, self.reverb_send, self.delay_send):
            signal.stop()
            signal.play()

    def close(self) -> None:
        """Stop every stream, so no C object reads this track's tables when they are freed."""
        self.stop_all()
        self.release()

    def _smoothed(self, value: float) -> Any:
        return self.own(pyo.SigTo(value, time=_SMOOTHING, init=value))

    def _build_kit(self, kit: DrumKitPatch, clock: Any, sample_rate: int) -> Any:
        rings = self.own(Rings(2))
        pieces = kit.pieces
        self.scheduler = HitScheduler.kit(
            [render_piece(name, piece, sample_rate) for name, piece in pieces.items()],
            [piece.notes for piece in pieces.values()],
            [piece.choke for piece in pieces.values()],
            rings=rings.views,
        )
        return self.own(pyo.TableIndex(rings.tables, clock))

    def _build_instrument(self, patch: VoicePatch, clock: Any, sample_rate: int) -> Any:
        kind = instrument_kind(patch)
        frequency_rings = self.own(Rings(patch.voices))
        amplitude_rings = self.own(Rings(patch.voices))
        self.scheduler = VoiceScheduler(
            EnvelopeShape.from_patch(patch.envelope, sample_rate),
            frequency_rings=frequency_rings.views,
            amplitude_rings=amplitude_rings.views,
            glide=patch.glide * sample_rate,
            mono=patch.mono,
            frequency_scale=kind.frequency_scale(patch) if kind.frequency_scale else 1.0,
            vibrato_rate=patch.vibrato.rate / sample_rate,
            vibrato_depth=2.0 ** (patch.vibrato.depth / 1200.0) - 1.0,
        )
        frequency = self._per_voice(pyo.TableIndex(frequency_rings.tables, clock))
        amplitude = self._per_voice(pyo.TableIndex(amplitude_rings.tables, clock))
        voices = kind.build(patch, _TrackVoices(self, frequency, amplitude, sample_rate))
        mixed = self._after_voices(pyo.Mix(list(voices), voices=1))
        return self._shape(patch, mixed, amplitude)

    def _build_rendered(self, patch: RenderedPatch, clock: Any, sample_rate: int) -> Any:
        """Pitched one-shots (``pluck``, ``sampler``): each note's sound is rendered ahead in
        numpy and mixed into one mono ring, which the track's filter and effects then shape."""
        sounds = (
            PluckSounds(patch, sample_rate)
            if isinstance(patch, PluckPatch)
            else SampledSounds(patch, sample_rate)
        )
        ring = self.own(Rings(1))
        self.scheduler = HitScheduler(
            sounds,
            rings=ring.views,
            velocity_curve=patch.envelope.velocity_curve,
            cut=max(1, int(_CUT_SECONDS * sample_rate)),
            voices=patch.voices,
            release=max(1, math.ceil(patch.envelope.release * sample_rate)),
        )
        played = self._after_voices(pyo.TableIndex(ring.tables, clock))
        return self._shape(patch, played, None)

    def _per_voice(self, obj: Any) -> Any:
        """Own an object with one stream per voice; each stream sleeps while its voice is silent."""
        streams = obj._base_objs
        if len(streams) != len(self._voice_streams):
            raise ValueError(
                f"{self.patch.kind}: a per-voice object has {len(streams)} streams for "
                f"{len(self._voice_streams)} voices"
            )
        for voice, stream in enumerate(streams):
            self._voice_streams[voice].append(stream)
        return self.own(obj)

    def _after_voices(self, obj: Any) -> Any:
        """Own an object of the track's chain after the voices; it sleeps while all of them do."""
        self._chain_streams.extend(obj._base_objs)
        return self.own(obj)

    def wake_voices(self, start: int, stop: int) -> None:
        """Run only the voices that sound in [start, stop) (and the chain while any does).

        pyo computes every playing stream whether it is silent or not; a stopped stream costs
        nothing and outputs zeros. Onsets stay exact: the rings decide when a voice sounds, and
        a voice is woken before the block that holds its note.
        """
        if isinstance(self.scheduler, HitScheduler):  # no voices: the chain, if it has one
            self._wake_chain(self.scheduler.sounds_between(start - self._chain_tail, stop))
            return
        voices = range(self.scheduler.voices)
        wanted = [self.scheduler.sounds_between(voice, start, stop) for voice in voices]
        chain = any(
            self.scheduler.sounds_between(v, start - self._chain_tail, stop) for v in voices
        )
        for voice, awake in enumerate(wanted):
            if awake != self._voice_awake[voice]:
                for stream in self._voice_streams[voice]:
                    stream.play() if awake else stream.stop()
                self._voice_awake[voice] = awake
        self._wake_chain(chain)

    def _wake_chain(self, chain: bool) -> None:
        if chain != self._chain_awake:
            for stream in self._chain_streams:
                stream.play() if chain else stream.stop()
            self._chain_awake = chain

    def _shape(self, patch: InstrumentPatch, signal: Any, amplitude: Any) -> Any:
        """Filter and effects on the summed voices: one chain per track, not per voice."""
        if isinstance(patch, FmPatch) and (1.0 / patch.ratio).is_integer():
            # FM's sidebands lie at c +- k*m; when the modulator is the carrier over n, one falls
            # on 0 Hz: a 1:1 piano measured a DC offset of -0.013 in its stem (headroom lost,
            # a thump at every chord). Other ratios have none and skip the blocker.
            signal = self._after_voices(pyo.DCBlock(signal))
        lowpass = patch.filter
        if lowpass.env_amount > 0 or lowpass.cutoff < 18000 or lowpass.resonance > 0:
            cutoff: Any = min(18000.0, max(20.0, lowpass.cutoff * 2.0**self._tone_octaves.value))
            if lowpass.env_amount > 0:
                level = self._after_voices(pyo.Mix(amplitude, voices=1))
                opened = self._after_voices(
                    pyo.Sig(level, mul=lowpass.cutoff * lowpass.env_amount, add=lowpass.cutoff)
                )
                cutoff = self._after_voices(pyo.Clip(opened * self._tone, 20.0, 18000.0))
            self._filter = self._after_voices(
                pyo.Biquad(signal, freq=cutoff, q=0.707 + 9.0 * lowpass.resonance, type=0)
            )
            self._static_cutoff = None if lowpass.env_amount > 0 else lowpass.cutoff
            signal = self._filter
        return build_chain(
            patch.effects, signal, self._after_voices, self._sample_rate, master=False
        )


class _TrackVoices:
    """A track's voices as an instrument kind's ``build`` sees them (``instruments.Voices``)."""

    def __init__(self, track: Track, frequency: Any, amplitude: Any, sample_rate: int) -> None:
        self.frequency = frequency
        self.amplitude = amplitude
        self.sample_rate = sample_rate
        self._track = track

    def per_voice(self, obj: T) -> T:
        return cast(T, self._track._per_voice(obj))

    def keep(self, obj: T) -> T:
        return cast(T, self._track.own(obj))


class Capture(Rings):
    """Records signals at the sample clock into rings that Python copies out after processing."""

    def __init__(self, signal: Any, clock: Any, channels: int = 2) -> None:
        super().__init__(channels)
        self.own(pyo.TableWrite(signal, clock, self.tables, mode=1))

    def read(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        """Frames [start, stop) as an array of shape (frames, channels)."""
        out = np.empty((stop - start, len(self.views)), dtype=np.float32)
        for ring_lo, ring_hi, absolute_lo in ring_spans(start, stop, RING_SAMPLES):
            for channel, view in enumerate(self.views):
                out[absolute_lo - start : absolute_lo - start + ring_hi - ring_lo, channel] = view[
                    ring_lo:ring_hi
                ]
        return out


@dataclass(slots=True)
class _Playing:
    """A track in a lane: it takes the lane's notes from ``since`` until the next one's since."""

    since: int
    track: Track
    slot: int


class Lane(_Owner):
    """A part's place in the mixer: the patch that plays it, switchable while the music runs.

    A fixed lane (offline renders) plays one track, wired straight to the buses. A switchable
    lane has slots: a new patch takes over the lane's notes from a given sample while the
    previous one rings out in another slot, then is freed. An empty slot's streams are stopped.
    """

    def __init__(self, name: str, *, track: Track | None = None, slots: int = 3) -> None:
        super().__init__()
        self.name = name
        self.fader = Fader()
        self.tone = 1.0
        self.dropped = 0  # notes that arrived before the lane had any track
        self.cut = 0  # tracks silenced early because every slot was taken
        self._playing: list[_Playing] = []
        self._slots: list[tuple[Any, Any, Any]] = []
        if track is not None:
            self.output, self.reverb_send, self.delay_send = (
                track.output,
                track.reverb_send,
                track.delay_send,
            )
            self._playing.append(_Playing(0, track, -1))
            return
        for _ in range(slots):
            slot = (
                self.own(pyo.Sig([0.0, 0.0])),
                self.own(pyo.Sig(0.0)),
                self.own(pyo.Sig(0.0)),
            )
            for signal in slot:
                signal.stop()
            self._slots.append(slot)
        self.output = self.own(pyo.Mix([slot[0] for slot in self._slots], voices=2))
        self.reverb_send = self.own(pyo.Mix([slot[1] for slot in self._slots], voices=1))
        self.delay_send = self.own(pyo.Mix([slot[2] for slot in self._slots], voices=1))

    @property
    def tracks(self) -> list[Track]:
        return [playing.track for playing in self._playing]

    @property
    def current(self) -> Track | None:
        return self._playing[-1].track if self._playing else None

    def track_at(self, start: int) -> Track | None:
        """The track that takes a note starting at sample ``start`` (as ``schedule`` routes)."""
        for playing in reversed(self._playing):
            if playing.since <= start:
                return playing.track
        return None

    def install(self, track: Track, since: int) -> None:
        """``track`` plays the lane's notes from sample ``since`` on (later than any before)."""
        if not self._slots:
            raise ValueError(f"lane {self.name} is fixed to one track")
        if self._playing and since <= self._playing[-1].since:
            raise ValueError(f"lane {self.name}: a patch change must come after the last one")
        taken = {playing.slot for playing in self._playing}
        free = [slot for slot in range(len(self._slots)) if slot not in taken]
        if not free:  # every slot still rings: the oldest is cut short
            oldest = self._playing[0]
            self._free(oldest)
            self.cut += 1
            free = [oldest.slot]
        slot = free[0]
        previous = self.current
        track.set_fader(self.fader)
        track.set_tone(self.tone)
        track.clear_outputs()
        for signal, source in zip(
            self._slots[slot], (track.output, track.reverb_send, track.delay_send), strict=True
        ):
            signal.value = source
            signal.play()
        self._playing.append(_Playing(since, track, slot))
        if previous is not None:
            self._hand_over(previous, track, since)

    def _hand_over(self, previous: Track, track: Track, since: int) -> None:
        """Notes held across the change cross-fade: the old patch lets them go in at most
        ``CROSSFADE_SECONDS`` (its own release if shorter) while the new one takes them up from
        ``since``. Drum hits ring out as they are, and a kit takes nothing over."""
        if isinstance(track.patch, DrumKitPatch):
            return
        fade = CROSSFADE_SECONDS * track.sample_rate
        for pitch, velocity, end in previous.scheduler.hand_over(since, fade):
            track.schedule(Note(self.name, since, end, pitch, velocity))

    def schedule(self, note: Note) -> bool:
        """Hand the note to the track playing at its start; False if the lane has none yet."""
        for playing in reversed(self._playing):
            if playing.since <= note.start:
                playing.track.schedule(note)
                return True
        self.dropped += 1
        return False

    def retract(self, at: int) -> None:
        """Forget notes from sample ``at`` on, and patch changes planned from there."""
        while len(self._playing) > 1 and self._playing[-1].since >= at:
            self._free(self._playing[-1])
        for playing in self._playing:
            playing.track.scheduler.retract(at)

    def release_all(self, at: int) -> None:
        for playing in self._playing:
            playing.track.scheduler.release_all(at)

    def render_control(self, start: int, stop: int, *, playing: int | None = None) -> None:
        for entry in self._playing:
            entry.track.render_control(start, stop, playing=playing)

    def silence(self, start: int, stop: int) -> None:
        for playing in self._playing:
            playing.track.scheduler.silence(start, stop)

    def retire(self, position: int) -> int:
        """Free the tracks that no longer take notes and have fallen silent; how many."""
        freed = 0
        for playing, following in zip(self._playing, self._playing[1:], strict=False):
            track = playing.track
            if following.since <= position and track.scheduler.silent_from(position - track.tail):
                self._free(playing)
                freed += 1
        return freed

    def set_fader(self, fader: Fader) -> None:
        self.fader = fader
        for playing in self._playing:
            playing.track.set_fader(fader)

    def set_tone(self, factor: float) -> None:
        self.tone = factor
        for playing in self._playing:
            playing.track.set_tone(factor)

    def close(self) -> None:
        for playing in list(self._playing):
            self._free(playing)
        self.stop_all()

    def _free(self, playing: _Playing) -> None:
        self._playing.remove(playing)
        if playing.slot >= 0:
            for signal in self._slots[playing.slot]:
                signal.stop()
                signal.value = 0.0
        playing.track.close()
        if playing.slot >= 0:  # pyo's leaks on its streams go once the track is gone
            reaper.bury(playing.track.streams)


class Graph(_Owner):
    """Lanes, sends and the master bus, reading one sample clock.

    Given ``lanes`` (live), the lanes are switchable: they take patches while the music runs,
    starting with none (``patches`` may start some). Otherwise each lane starts on its patch
    in ``patches`` and is fixed to it (offline renders: no slot costs a stream), but for the
    lanes in ``changing``, which are switchable. ``master`` sets the sends' returns and the master
    chain (the shipped ``master/default`` if not given); ``master_gain`` is what goes into it
    (a genre's gain staging). ``levelling`` builds no master chain: it records what would
    enter it (``bus_capture``) and that bus's K-weighted squares (``loudness_capture``), so that
    an offline render can meter the bus, then put it through the chain (``MasterChain``) at the
    gain its loudness calls for; ``master_capture`` is None then.
    """

    def __init__(
        self,
        patches: Mapping[str, Patch],
        sample_rate: int,
        *,
        delay_seconds: float,
        stems: bool,
        lanes: Sequence[str] | None = None,
        changing: Collection[str] = (),
        master_gain: float = 1.0,
        master: MasterPatch | None = None,
        levelling: bool = False,
    ) -> None:
        super().__init__()
        master = default_master() if master is None else master
        # every chain is checked before any pyo object exists: a half-built graph leaks them
        check_chain(master.effects, master=True)
        for patch in patches.values():
            check_chain(getattr(patch, "effects", ()), master=False)
        self.sample_rate = sample_rate
        # Count includes its max: 0 .. RING_SAMPLES - 1 is one lap of the rings
        self.clock = self.own(pyo.Count(self.own(pyo.Trig()), min=0, max=RING_SAMPLES - 1))
        switchable = lanes is not None
        if lanes is not None:
            self.lanes = {name: self.own(Lane(name)) for name in lanes}
            for name, patch in patches.items():
                self.lanes[name].install(self.build_track(name, patch), 0)
        else:
            self.lanes = {}
            for name, patch in patches.items():
                if name in changing:  # a lane whose patch changes needs slots to change in
                    self.lanes[name] = self.own(Lane(name))
                    self.lanes[name].install(self.build_track(name, patch), 0)
                else:
                    track = self.own(self.build_track(name, patch))
                    self.lanes[name] = self.own(Lane(name, track=track))
        strips = self.lanes.values()
        dry = self.own(pyo.Mix([strip.output for strip in strips], voices=2))
        reverb_in = self.own(pyo.Mix([strip.reverb_send for strip in strips], voices=1))
        delay_in = self.own(pyo.Mix([strip.delay_send for strip in strips], voices=1))
        reverb = build_reverb_send(master.reverb, reverb_in, self.own)
        self._delay_time = _Glide(delay_seconds, _SMOOTHING * sample_rate)
        self._echo_spread = master.delay.spread
        self._echoes, echoes = build_echo_send(
            master.delay, delay_in, self.own, self._echo_times(delay_seconds)
        )
        self.effects = self.own(pyo.Mix([reverb, echoes], voices=2))
        self.master_level = self.own(pyo.SigTo(master_gain, time=_SMOOTHING, init=master_gain))
        summed: Any = self.own(pyo.Mix([dry, self.effects], voices=2, mul=self.master_level))
        self._tilt = _Glide(0.0, _SMOOTHING * sample_rate)
        self._tilt_filter: Any = None
        if switchable:  # the mood's tone colour: a high shelf, flat until the mood moves
            self._tilt_filter = summed = self.own(
                pyo.EQ(summed, freq=_TILT_HZ, q=0.7, boost=0.0, type=2)
            )
        self.master_capture: Capture | None = None
        self.bus_capture: Capture | None = None
        self.loudness_capture: Capture | None = None
        if levelling:
            self.bus_capture = self.own(Capture(summed, self.clock))
            self.loudness_capture = self.own(
                Capture(k_weighted_squares(summed, self.own, sample_rate), self.clock)
            )
        else:
            self.master = build_chain(master.effects, summed, self.own, sample_rate, master=True)
            self.master.out()
            self.master_capture = self.own(Capture(self.master, self.clock))
        # the master chain's look-aheads delay it by exactly this many samples (the server runs
        # that far ahead when levelling too: the chain's last frames need the bus past the end)
        self.latency = latency(master.effects, sample_rate)
        self.stem_captures: dict[str, Capture] = {}
        if stems:
            for name, lane in self.lanes.items():
                self.stem_captures[name] = self.own(Capture(lane.output, self.clock))
            self.stem_captures["fx"] = self.own(Capture(self.effects, self.clock))

    @property
    def tracks(self) -> dict[str, Track]:
        """The track playing each lane now (the last installed)."""
        return {name: lane.current for name, lane in self.lanes.items() if lane.current}

    def build_track(self, lane: str, patch: Patch) -> Track:
        """A new track for ``lane`` with the lane's fader and tone; any thread may build one."""
        current = self.lanes.get(lane) if hasattr(self, "lanes") else None
        with reaper.watch(self.clock) as streams:
            track = Track(
                lane,
                patch,
                self.clock,
                self.sample_rate,
                fader=current.fader if current else None,
                tone=current.tone if current else 1.0,
            )
        track.streams = streams
        return track

    def schedule(self, notes: Sequence[Note]) -> int:
        """Hand notes to their lanes; returns how many could not be placed (they are dropped)."""
        unknown = 0
        for note in notes:
            lane = self.lanes.get(note.track)
            if lane is None or not lane.schedule(note):
                unknown += 1
        return unknown

    def retract(self, at: int) -> None:
        for lane in self.lanes.values():
            lane.retract(at)

    def release_all(self, at: int) -> None:
        for lane in self.lanes.values():
            lane.release_all(at)

    def render_control(self, start: int, stop: int, *, playing: int | None = None) -> None:
        """Write control for [start, stop); the audio is at ``playing`` when it runs ahead
        (live), and a voice sleeps only when it is silent from there on."""
        for lane in self.lanes.values():
            lane.render_control(start, stop, playing=playing)
        if self._tilt.step(stop - start):
            self._tilt_filter.boost = self._tilt.value
        if self._delay_time.step(stop - start):
            self._echoes.delay = self._echo_times(self._delay_time.value)

    def silence(self, start: int, stop: int) -> None:
        for lane in self.lanes.values():
            lane.silence(start, stop)

    def retire(self, position: int) -> int:
        freed: int = sum(lane.retire(position) for lane in self.lanes.values())
        reaper.reap(self.clock)
        return freed

    def set_tilt(self, db: float) -> None:
        """The master's high shelf, in dB (0 is flat); live graphs only."""
        if self._tilt_filter is not None:
            self._tilt.set(db)

    def set_delay_time(self, seconds: float) -> None:
        """The echo's time, glided over 50 ms (stepped from Python as the control is written)."""
        self._delay_time.set(seconds)

    def _echo_times(self, seconds: float) -> list[float]:
        """Left and right echo times, each a whole number of samples and a half (see
        ``jamd.engine.effects.whole_and_a_half``: pyo's Delay reads past its buffer otherwise)."""
        return echo_times(seconds, self._echo_spread, self.sample_rate)

    def fade_master(self, level: float, seconds: float) -> None:
        self.master_level.time = max(seconds, 0.001)
        self.master_level.value = level

    def close(self) -> None:
        for lane in self.lanes.values():
            lane.close()
        reaper.forget()
        self.stop_all()
        self.release()


class MasterChain(_Owner):
    """A master chain alone, fed from rings that Python fills ahead of the audio: an offline
    render's master made again from what entered it (``Graph.bus_capture``), times ``gain``.

    The chain reads the ring at the sample clock as ``Graph``'s reads the mix, so at a gain of
    1 it gives the graph's master sample for sample.
    """

    def __init__(self, master: MasterPatch, sample_rate: int, gain: float) -> None:
        super().__init__()
        check_chain(master.effects, master=True)
        self.clock = self.own(pyo.Count(self.own(pyo.Trig()), min=0, max=RING_SAMPLES - 1))
        self._input = self.own(Rings(2))
        summed = self.own(pyo.TableIndex(self._input.tables, self.clock, mul=gain))
        self.master = build_chain(master.effects, summed, self.own, sample_rate, master=True)
        self.master.out()
        self.master_capture = self.own(Capture(self.master, self.clock))
        squares = k_weighted_squares(self.master, self.own, sample_rate)
        self.loudness_capture = self.own(Capture(squares, self.clock))
        self.latency = latency(master.effects, sample_rate)

    def feed(self, start: int, frames: npt.NDArray[np.float32]) -> None:
        """What enters the chain at samples [start, start + len(frames)), before it is computed."""
        for ring_lo, ring_hi, absolute_lo in ring_spans(start, start + len(frames), RING_SAMPLES):
            for channel, view in enumerate(self._input.views):
                view[ring_lo:ring_hi] = frames[
                    absolute_lo - start : absolute_lo - start + ring_hi - ring_lo, channel
                ]

    def close(self) -> None:
        self.stop_all()
        self.release()


def k_weighted_squares(signal: Any, own: Any, sample_rate: int) -> Any:
    """``signal`` through BS.1770's K-weighting, squared: what ``LoudnessMeter`` sums."""
    for b, a in k_weighting(sample_rate):
        signal = own(pyo.Biquada(signal, *b, *a))
    return own(signal * signal)


class _Glide:
    """A float pyo reads as a constant, ramped by Python over ``samples`` written samples when
    it changes: a moving signal would make a filter recompute its coefficients every sample."""

    def __init__(self, value: float, samples: float) -> None:
        self.value = self.target = self._origin = value
        self._samples = samples
        self._done = samples

    def set(self, target: float) -> None:
        self._origin, self.target, self._done = self.value, target, 0.0

    def step(self, samples: int) -> bool:
        """Advance by ``samples``; True if the value moved."""
        if self._done >= self._samples:
            return False
        self._done = min(self._samples, self._done + samples)
        self.value = self._origin + (self.target - self._origin) * self._done / self._samples
        return True

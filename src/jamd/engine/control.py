"""Control signals: notes turned into per-sample data that pyo's C objects read in time.

Python never fires a note. It writes, ahead of the audio, each voice's frequency and amplitude
(``VoiceScheduler``), or the audio of one-shots rendered ahead: drum hits, plucked strings,
samples (``HitScheduler``), into ring buffers indexed by the sample clock; the DSP graph reads
them with ``TableIndex`` at exactly that sample. So an onset is exact to the sample whatever the
buffer size, and pitch glides or envelopes are plain data.

This module is numpy only (no pyo), so the scheduling logic is tested without audio.
"""

import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jamd.engine.notes import Note
from jamd.engine.patches import Envelope
from jamd.engine.sounds import Sound, SoundFor

Ring = npt.NDArray[np.float32]

_DECAY_TIME_CONSTANTS = 5.0  # an exponential segment is "done" after 5 time constants (-43 dB)


def ring_spans(start: int, stop: int, size: int) -> Iterator[tuple[int, int, int]]:
    """Split the absolute sample range [start, stop) into (ring_lo, ring_hi, absolute_lo) pieces."""
    position = start
    while position < stop:
        ring_lo = position % size
        length = min(stop - position, size - ring_lo)
        yield ring_lo, ring_lo + length, position
        position += length


def release_curve(fraction: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A release's level (of where it started) at fractions 0..1 of its length: exponential,
    shaped to reach zero exactly at its end."""
    curve: npt.NDArray[np.float64] = np.exp(-_DECAY_TIME_CONSTANTS * fraction) * (1.0 - fraction)
    return curve


def midi_to_hz(pitch: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 440.0 * np.power(2.0, (pitch - 69.0) / 12.0)


@dataclass(frozen=True, slots=True)
class EnvelopeShape:
    """An envelope in samples; ``level`` evaluates it in closed form at any sample offsets."""

    attack: float
    decay: float
    sustain: float
    release: float
    velocity_curve: float

    @classmethod
    def from_patch(cls, envelope: Envelope, sample_rate: int) -> "EnvelopeShape":
        return cls(
            attack=max(1.0, envelope.attack * sample_rate),
            decay=envelope.decay * sample_rate,
            sustain=envelope.sustain,
            release=max(1.0, envelope.release * sample_rate),
            velocity_curve=envelope.velocity_curve,
        )

    @property
    def _settles_at(self) -> int:
        """Offset after which the decay is within 1e-4 of the sustain level: held constant."""
        return math.ceil(self.attack + self.decay * math.log(1e4) / _DECAY_TIME_CONSTANTS)

    def peak(self, velocity: float) -> float:
        return float(velocity**self.velocity_curve)

    def levels(
        self, first: int, stop: int, *, gate: int, start_level: float, release: float = 0.0
    ) -> npt.NDArray[np.float64]:
        """Levels (0..1 of the peak) at the offsets [first, stop) from the note's start.

        Attack rises linearly from ``start_level`` (non-zero from the very first sample, so the
        onset is exact); decay falls exponentially towards the sustain level; after ``gate`` the
        release falls from wherever the level was, shaped to reach zero exactly at its end.
        Each segment is computed only over the offsets that fall inside it. ``release``, when
        given, replaces the envelope's release time (samples), for a note handed over.
        """
        out = np.empty(stop - first, dtype=np.float64)
        attack_end = min(stop, max(first, min(gate, math.ceil(self.attack))))
        if first < attack_end:
            offsets = np.arange(first, attack_end, dtype=np.float64)
            out[: attack_end - first] = start_level + (1.0 - start_level) * np.minimum(
                (offsets + 1.0) / self.attack, 1.0
            )
        decay_start, decay_end = max(first, attack_end), min(stop, max(first, gate))
        settled = max(decay_start, min(decay_end, self._settles_at))
        if decay_start < settled:
            offsets = np.arange(decay_start, settled, dtype=np.float64)
            out[decay_start - first : settled - first] = self._decayed(offsets)
        out[settled - first : decay_end - first] = self.sustain
        release_start = max(first, gate)
        if release_start < stop:
            at_gate = self._held_at(gate, start_level)
            fraction = np.minimum(
                (np.arange(release_start, stop, dtype=np.float64) - gate)
                / (release or self.release),
                1.0,
            )
            out[release_start - first :] = at_gate * release_curve(fraction)
        return out

    def _decayed(self, offsets: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        since_peak = np.maximum(offsets - self.attack, 0.0)
        return self.sustain + (1.0 - self.sustain) * np.exp(
            -_DECAY_TIME_CONSTANTS * since_peak / self.decay
        )

    def _held_at(self, offset: int, start_level: float) -> float:
        if offset < self.attack:
            return start_level + (1.0 - start_level) * min((offset + 1.0) / self.attack, 1.0)
        return float(self._decayed(np.array([float(offset)]))[0])


@dataclass(slots=True)
class _Sounding:
    """A note placed on a voice; ``stop`` shrinks if a later note takes the voice over."""

    start: int
    gate: int  # samples the key is held
    stop: int  # first sample after its release (or after it was cut)
    pitch: float
    from_pitch: float  # where a glide starts (== pitch when there is none)
    peak: float
    start_level: float  # of the new peak, for a click-free takeover of a sounding voice
    velocity: float
    release: float  # samples: the envelope's, or a hand-over's shorter fade
    handed_at: int | None = None  # where another patch took the note over
    held: int = 0  # the gate before the hand-over shortened it


class VoiceScheduler:
    """Allocates notes to a patch's voices and renders their frequency and amplitude rings.

    Allocation: a voice already sounding the same pitch is reused (a re-struck key); otherwise
    the voice that has been silent longest; otherwise the one whose note ends first is stolen,
    continuing from its current level so the takeover does not click. A mono patch has one
    voice: a note that starts before the previous one ends is legato and glides to its pitch.
    """

    def __init__(
        self,
        envelope: EnvelopeShape,
        *,
        frequency_rings: list[Ring],
        amplitude_rings: list[Ring],
        glide: float = 0.0,
        mono: bool = False,
        frequency_scale: float = 1.0,
        vibrato_rate: float = 0.0,
        vibrato_depth: float = 0.0,
    ) -> None:
        if len(frequency_rings) != len(amplitude_rings) or not frequency_rings:
            raise ValueError("one frequency ring and one amplitude ring per voice")
        self.envelope = envelope
        self.frequency_rings = frequency_rings
        self.amplitude_rings = amplitude_rings
        self.glide = glide
        self.mono = mono
        self.frequency_scale = frequency_scale
        self.vibrato_rate = vibrato_rate  # cycles per sample, one phase for the whole track
        self.vibrato_depth = vibrato_depth  # frequency ratio at the wobble's peak, minus 1
        self._queues: list[deque[_Sounding]] = [deque() for _ in frequency_rings]
        self._written_until = [0] * len(frequency_rings)  # after the last non-zero amplitude
        self.stolen = 0

    @property
    def voices(self) -> int:
        return len(self._queues)

    def add(self, note: Note) -> None:
        """Place a note. Notes arrive in order of start per track (bars are planned in order)."""
        voice = 0 if self.mono else self._choose_voice(note)
        queue = self._queues[voice]
        previous = queue[-1] if queue else None
        gate = note.end - note.start
        peak = self.envelope.peak(note.velocity)
        start_level = 0.0
        from_pitch = note.pitch
        if previous is not None and previous.stop > note.start:
            current = self._level_of(previous, note.start)
            start_level = min(1.0, current / peak) if peak > 0 else 0.0
            legato = self.mono and previous.start + previous.gate > note.start
            if legato and self.glide > 0:
                from_pitch = self._pitch_of(previous, note.start)
            if previous.start + previous.gate > note.start and not self.mono:
                self.stolen += 1
            previous.stop = note.start
        release = self.envelope.release
        stop = note.start + gate + math.ceil(release)
        queue.append(
            _Sounding(
                note.start,
                gate,
                stop,
                note.pitch,
                from_pitch,
                peak,
                start_level,
                note.velocity,
                release,
            )
        )

    def hand_over(self, at: int, fade: float) -> list[tuple[float, float, int]]:
        """Let the notes held at sample ``at`` go, fading in at most ``fade`` samples, for another
        patch to take over; their (pitch, velocity, key-up sample). A retract before ``at``
        gives them back."""
        taken = []
        for queue in self._queues:
            for sounding in queue:
                if sounding.start < at < sounding.start + sounding.gate:
                    taken.append(
                        (sounding.pitch, sounding.velocity, sounding.start + sounding.gate)
                    )
                    sounding.handed_at, sounding.held = at, sounding.gate
                    sounding.gate = at - sounding.start
                    sounding.release = max(1.0, min(fade, self.envelope.release))
                    sounding.stop = at + math.ceil(sounding.release)
        return taken

    def retract(self, at: int) -> None:
        """Forget every note that starts at or after sample ``at`` (a replanned future).

        A note whose voice they took rings out again as if they had never come.
        """
        for voice, queue in enumerate(self._queues):
            if not queue or queue[-1].start < at:
                continue
            kept = self._queues[voice] = deque(s for s in queue if s.start < at)
            if kept:
                last = kept[-1]
                last.stop = last.start + last.gate + math.ceil(last.release)
        for queue in self._queues:
            for sounding in queue:
                if sounding.handed_at is not None and sounding.handed_at >= at:
                    sounding.gate, sounding.release = sounding.held, self.envelope.release
                    sounding.handed_at = None
                    sounding.stop = sounding.start + sounding.gate + math.ceil(sounding.release)

    def silence(self, start: int, stop: int) -> None:
        """Zero the amplitude rings over the played samples [start, stop): a writer that falls
        behind then leaves silence, never the ring's previous cycle."""
        for voice, amplitude in enumerate(self.amplitude_rings):
            if self._written_until[voice] > start:
                for ring_lo, ring_hi, _ in ring_spans(start, stop, len(amplitude)):
                    amplitude[ring_lo:ring_hi] = 0.0

    def silent_from(self, at: int) -> bool:
        """Whether nothing sounds at or after sample ``at`` (a retired patch may be freed)."""
        return all(
            self._written_until[voice] <= at and all(s.stop <= at for s in queue)
            for voice, queue in enumerate(self._queues)
        )

    def release_all(self, at: int) -> None:
        """Let every note still held at sample ``at`` go into its release there (stop, panic)."""
        for queue in self._queues:
            for sounding in queue:
                if sounding.start < at < sounding.start + sounding.gate:
                    sounding.gate = at - sounding.start
                    sounding.stop = at + math.ceil(sounding.release)
                elif sounding.start >= at:
                    sounding.stop = sounding.start  # never sounds
        for queue in self._queues:
            while queue and queue[-1].stop <= queue[-1].start:
                queue.pop()

    def render(self, start: int, stop: int) -> None:
        """Write every voice's rings for the absolute samples [start, stop).

        Work goes to sounding voices: a voice silent for a whole ring cycle holds zeros already
        and is skipped; frequencies are written only where a note sounds.
        """
        wobble = self._vibrato(start, stop)
        for voice, queue in enumerate(self._queues):
            amplitude = self.amplitude_rings[voice]
            frequency = self.frequency_rings[voice]
            size = len(amplitude)
            while queue and queue[0].stop <= start:
                queue.popleft()
            if self._written_until[voice] > start - size:
                for ring_lo, ring_hi, _ in ring_spans(start, stop, size):
                    amplitude[ring_lo:ring_hi] = 0.0
            for sounding in queue:
                if sounding.start >= stop:
                    break
                lo, hi = max(start, sounding.start), min(stop, sounding.stop)
                if lo >= hi:
                    continue
                levels = sounding.peak * self.envelope.levels(
                    lo - sounding.start,
                    hi - sounding.start,
                    gate=sounding.gate,
                    start_level=sounding.start_level,
                    release=sounding.release,
                )
                pitches = self._frequencies(sounding, lo - sounding.start, hi - sounding.start)
                if wobble is not None:
                    pitches *= wobble[lo - start : hi - start]
                for ring_lo, ring_hi, absolute_lo in ring_spans(lo, hi, size):
                    piece = slice(absolute_lo - lo, absolute_lo - lo + ring_hi - ring_lo)
                    amplitude[ring_lo:ring_hi] = levels[piece]
                    frequency[ring_lo:ring_hi] = pitches[piece]
                self._written_until[voice] = max(self._written_until[voice], hi)

    def _vibrato(self, start: int, stop: int) -> npt.NDArray[np.float64] | None:
        """The window's frequency multiplier, or None without vibrato. Its phase follows the
        absolute sample, so every window and every voice share one continuous wobble."""
        if self.vibrato_depth <= 0 or not any(self._queues):
            return None
        phase = 2.0 * np.pi * self.vibrato_rate * np.arange(start, stop, dtype=np.float64)
        return 1.0 + self.vibrato_depth * np.sin(phase)

    def sounds_between(self, voice: int, start: int, stop: int) -> bool:
        """Whether the voice's amplitude may be non-zero anywhere in [start, stop)."""
        if self._written_until[voice] > start:
            return True
        return any(s.start < stop and s.stop > start for s in self._queues[voice])

    def _choose_voice(self, note: Note) -> int:
        best_idle: tuple[int, int] | None = None  # (stop, voice): silent the longest
        best_steal: tuple[int, int] | None = None  # (key-up time, voice): ends soonest
        for voice, queue in enumerate(self._queues):
            if not queue:
                return voice
            last = queue[-1]
            if last.pitch == note.pitch and last.stop > note.start:
                return voice
            if last.stop <= note.start:
                if best_idle is None or last.stop < best_idle[0]:
                    best_idle = (last.stop, voice)
            elif best_steal is None or last.start + last.gate < best_steal[0]:
                best_steal = (last.start + last.gate, voice)
        if best_idle is not None:
            return best_idle[1]
        assert best_steal is not None
        return best_steal[1]

    def _level_of(self, sounding: _Sounding, at: int) -> float:
        offset = at - sounding.start
        levels = self.envelope.levels(
            offset,
            offset + 1,
            gate=sounding.gate,
            start_level=sounding.start_level,
            release=sounding.release,
        )
        return sounding.peak * float(levels[0])

    def _pitch_of(self, sounding: _Sounding, at: int) -> float:
        return float(self._pitches(sounding, np.array([float(at - sounding.start)]))[0])

    def _pitches(
        self, sounding: _Sounding, offsets: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """MIDI pitch at offsets from the note's start: a legato note glides linearly from
        ``from_pitch`` over the glide time, any other note holds its pitch."""
        if sounding.from_pitch == sounding.pitch or self.glide <= 0:
            return np.full(offsets.shape, sounding.pitch)
        progress = np.minimum(offsets / self.glide, 1.0)
        return sounding.from_pitch + (sounding.pitch - sounding.from_pitch) * progress

    def _frequencies(self, sounding: _Sounding, first: int, stop: int) -> npt.NDArray[np.float64]:
        """What the frequency ring holds at offsets [first, stop): past any glide the pitch is
        constant, so that part is one fill rather than a power per sample."""
        gliding = sounding.from_pitch != sounding.pitch and self.glide > 0
        gliding_until = min(stop, max(first, math.ceil(self.glide))) if gliding else first
        steady = float(midi_to_hz(np.array([sounding.pitch]))[0])
        out = np.full(stop - first, self.frequency_scale * steady)
        if first < gliding_until:
            offsets = np.arange(first, gliding_until, dtype=np.float64)
            out[: gliding_until - first] = self.frequency_scale * midi_to_hz(
                self._pitches(sounding, offsets)
            )
        return out


@dataclass(slots=True)
class _Hit:
    """A one-shot placed at ``start``; ``stop`` moves earlier when it is released or cut."""

    start: int
    sound: Sound
    pitch: float
    gain: float
    released_at: int | None = None  # key-up: the release fade starts here (pitched sounds)
    cut_at: int | None = None  # choked, stolen or re-struck: the short fade starts here
    stop: int = 0
    velocity: float = 1.0
    fade: int | None = None  # a hand-over's release, shorter than the patch's
    handed: tuple[int, int] | None = None  # (where another patch took it over, its key-up)

    def holds_voice(self, at: int) -> bool:
        """Whether the hit sounds at ``at`` and has not been cut (it may be in its release)."""
        return self.start <= at < self.stop and (self.cut_at is None or self.cut_at > at)


class HitScheduler:
    """Mixes one-shot sounds into audio rings (one per channel), ahead of the sound.

    A one-shot is a fixed recording: a drum hit, a plucked string or a sample rendered for its
    pitch. Playing it is a scaled copy into the ring at its onset sample: exact to the sample,
    and work only while it sounds. pyo then reads the ring like any other signal. ``sound``
    picks each note's recording from its pitch and velocity; the gain follows the velocity.

    Drums ring out: ``chokes`` maps a note to the notes it cuts (an open hat closed by the
    pedal). Pitched sounds have a ``release`` (samples): the key-up starts a fade to silence; a
    re-struck pitch cuts the one sounding; and at most ``voices`` notes hold a voice at once,
    the oldest (a released one first) cut to make room. Every cut fades over ``cut`` samples.
    """

    CHOKE_SAMPLES = 96

    def __init__(
        self,
        sound: SoundFor,
        *,
        rings: list[Ring],
        velocity_curve: float = 1.4,
        chokes: Mapping[int, frozenset[int]] | None = None,
        cut: int = CHOKE_SAMPLES,
        voices: int | None = None,
        release: int | None = None,
    ) -> None:
        if not rings or cut < 1 or (voices is not None and voices < 1):
            raise ValueError("a hit scheduler needs rings, a cut of a sample or more, a voice")
        self.sound = sound
        self.rings = rings
        self.velocity_curve = velocity_curve
        self.chokes = chokes or {}
        self.cut = cut
        self.voices = voices
        self.release = release
        self._hits: deque[_Hit] = deque()
        self._written_until = 0
        self.unmapped = 0
        self.stolen = 0

    @classmethod
    def kit(
        cls,
        samples: Sequence[Sound],
        notes: Sequence[tuple[int, ...]],
        choke_groups: Sequence[str | None],
        *,
        rings: list[Ring],
        velocity_curve: float = 1.4,
    ) -> "HitScheduler":
        """A drum kit: piece ``i`` sounds ``samples[i]`` for each of ``notes[i]`` and cuts the
        other pieces of its choke group, in 2 ms."""
        if any(sample.ndim != 2 or sample.shape[0] != len(rings) for sample in samples):
            raise ValueError("a kit's samples are (channels, frames), one channel per ring")
        piece_of_note = {note: piece for piece, numbers in enumerate(notes) for note in numbers}
        chokes = {
            note: frozenset(
                other_note
                for other, group in enumerate(choke_groups)
                if group and group == choke_groups[piece] and other != piece
                for other_note in notes[other]
            )
            for note, piece in piece_of_note.items()
        }

        def sound(pitch: float, _velocity: float) -> Sound | None:
            piece = piece_of_note.get(round(pitch))
            return None if piece is None else samples[piece]

        return cls(sound, rings=rings, velocity_curve=velocity_curve, chokes=chokes)

    def add(self, note: Note) -> None:
        """Place a note. Notes arrive in order of start per track (bars are planned in order)."""
        sound = self.sound(note.pitch, note.velocity)
        if sound is None:
            self.unmapped += 1
            return
        if sound.shape[0] != len(self.rings):
            raise ValueError(f"a sound of {sound.shape[0]} channels for {len(self.rings)} rings")
        choked = self.chokes.get(round(note.pitch), frozenset())
        for hit in self._hits:
            if hit.start < note.start < hit.stop and round(hit.pitch) in choked:
                self._cut(hit, note.start)
            elif (
                self.release is not None and hit.pitch == note.pitch and hit.holds_voice(note.start)
            ):
                self._cut(hit, note.start)  # re-struck: the previous strike makes way
        if self.voices is not None:
            holding = [hit for hit in self._hits if hit.holds_voice(note.start)]
            released_first = sorted(
                holding, key=lambda hit: hit.released_at is None or hit.released_at > note.start
            )
            for hit in released_first[: max(0, len(holding) - self.voices + 1)]:
                self._cut(hit, note.start)
                self.stolen += 1
        hit = _Hit(
            note.start,
            sound,
            note.pitch,
            note.velocity**self.velocity_curve,
            released_at=note.end if self.release is not None else None,
            velocity=note.velocity,
        )
        self._end(hit)
        self._hits.append(hit)

    def release_all(self, at: int) -> None:
        """Drop notes not yet started at ``at``; pitched ones held there go into their release
        (stop, panic); a drum already struck rings out."""
        self.retract(at)
        if self.release is None:
            return
        for hit in self._hits:
            if hit.released_at is not None and hit.released_at > at:
                hit.released_at = at
                self._end(hit)

    def retract(self, at: int) -> None:
        """Forget notes that start at or after ``at``; what they cut or stole sounds on, and
        what was handed over from there on is given back."""
        self._hits = deque(hit for hit in self._hits if hit.start < at)
        for hit in self._hits:
            if hit.cut_at is not None and hit.cut_at >= at:
                hit.cut_at = None
                self._end(hit)
            if hit.handed is not None and hit.handed[0] >= at:
                hit.released_at, hit.fade, hit.handed = hit.handed[1], None, None
                self._end(hit)

    def hand_over(self, at: int, fade: float) -> list[tuple[float, float, int]]:
        """As ``VoiceScheduler.hand_over``: pitched notes held at ``at`` fade in at most
        ``fade`` samples (their release if shorter); drums ring out and are not handed over."""
        if self.release is None:
            return []
        taken = []
        for hit in self._hits:
            held = hit.released_at is not None and hit.start < at < hit.released_at
            if held and hit.holds_voice(at):
                assert hit.released_at is not None
                taken.append((hit.pitch, hit.velocity, hit.released_at))
                hit.handed = (at, hit.released_at)
                hit.released_at, hit.fade = at, max(1, min(round(fade), self.release))
                self._end(hit)
        return taken

    def silence(self, start: int, stop: int) -> None:
        """Zero the played samples [start, stop) (see ``VoiceScheduler.silence``)."""
        if self._written_until > start:
            for ring_lo, ring_hi, _ in ring_spans(start, stop, len(self.rings[0])):
                for ring in self.rings:
                    ring[ring_lo:ring_hi] = 0.0

    def silent_from(self, at: int) -> bool:
        return self._written_until <= at and all(hit.stop <= at for hit in self._hits)

    def sounds_between(self, start: int, stop: int) -> bool:
        """Whether the rings may be non-zero anywhere in [start, stop)."""
        if self._written_until > start:
            return True
        return any(hit.start < stop and hit.stop > start for hit in self._hits)

    def sounding(self, at: int) -> int:
        """How many notes hold a voice at sample ``at`` (sounding and not cut)."""
        return sum(hit.holds_voice(at) for hit in self._hits)

    def render(self, start: int, stop: int) -> None:
        """Mix every note sounding in [start, stop) into the rings; the rest costs nothing."""
        size = len(self.rings[0])
        while self._hits and self._hits[0].stop <= start:
            self._hits.popleft()
        if self._written_until > start - size:
            for ring_lo, ring_hi, _ in ring_spans(start, stop, size):
                for ring in self.rings:
                    ring[ring_lo:ring_hi] = 0.0
        for hit in self._hits:
            if hit.start >= stop:
                break
            lo, hi = max(start, hit.start), min(stop, hit.stop)
            if lo >= hi:
                continue
            sound = hit.sound[:, lo - hit.start : hi - hit.start] * np.float32(hit.gain)
            if hit.released_at is not None and self.release is not None and hi > hit.released_at:
                fade_from = max(lo, hit.released_at)
                since = np.arange(fade_from - hit.released_at, hi - hit.released_at)
                sound[:, fade_from - lo :] *= release_curve(since / (hit.fade or self.release))
            if hit.cut_at is not None and hi > hit.cut_at:
                fade_from = max(lo, hit.cut_at)
                since = np.arange(fade_from - hit.cut_at, hi - hit.cut_at)
                sound[:, fade_from - lo :] *= np.clip(1.0 - since / self.cut, 0.0, 1.0)
            for ring_lo, ring_hi, absolute_lo in ring_spans(lo, hi, size):
                piece = slice(absolute_lo - lo, absolute_lo - lo + ring_hi - ring_lo)
                for channel, ring in enumerate(self.rings):
                    ring[ring_lo:ring_hi] += sound[channel, piece]
            self._written_until = max(self._written_until, hi)

    def _cut(self, hit: _Hit, at: int) -> None:
        if hit.cut_at is None or at < hit.cut_at:
            hit.cut_at = at
            self._end(hit)

    def _end(self, hit: _Hit) -> None:
        """Where the hit falls silent: its sound's end, its release's end or its cut's end."""
        stop = hit.start + hit.sound.shape[1]
        if hit.released_at is not None and self.release is not None:
            stop = min(stop, hit.released_at + (hit.fade or self.release))
        if hit.cut_at is not None:  # a note cut on its own onset never sounds
            stop = min(stop, hit.cut_at + self.cut if hit.cut_at > hit.start else hit.start)
        hit.stop = stop

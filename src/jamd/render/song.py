"""Render a whole song offline: compose it, play it through the offline engine, write files.

This is the same path the live daemon takes (composer -> beat-timed events -> sample-timed
engine notes -> the DSP graph), run as fast as the machine allows. One step more: the song's
master is levelled to ``LOUDNESS`` (``jamd.engine.offline``), which a genre's trim alone
cannot promise for every seed.
"""

import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jamd.compose import (
    NoteEvent,
    Part,
    Song,
    SongParams,
    SongPlan,
    StyleModel,
    compose_song,
    key_and_tempo,
    plan_song,
)
from jamd.engine.loudness import LoudnessTarget
from jamd.engine.notes import Note, PatchChange
from jamd.engine.offline import RenderReport, render_to_wav
from jamd.engine.patches import DrumKitPatch, Patch, PatchLibrary, default_patch_dirs
from jamd.errors import InputError
from jamd.render.midifile import song_midi, write_midi
from jamd.styles.library import StyleLibrary
from jamd.theory import parse_key

SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)
DELAY_BEATS = 0.75  # a dotted-eighth echo, the classic tempo-synced delay
# issue 6: -14 +-1 LUFS, as the streaming services play; a master more than 0.5 LU off is
# levelled, which leaves room for the meters that read a little differently from ours
LOUDNESS = LoudnessTarget(lufs=-14.0, window_lu=0.5)


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """What to render: a genre, the song's parameters and outputs; ``model``, the genre's style
    model to plan with (None: the genre file alone). A key or tempo of None is the model's
    draw (the genre's default, without one)."""

    genre: str
    key: str | None
    tempo: float | None
    duration: float
    seed: int
    energy: float
    out: Path | None
    midi: Path | None
    stems: Path | None
    sample_rate: int = 48000
    model: StyleModel | None = None

    def __post_init__(self) -> None:
        # tempo, duration and energy are checked by SongParams, which states their ranges
        if self.sample_rate not in SAMPLE_RATES:
            rates = ", ".join(str(rate) for rate in SAMPLE_RATES)
            raise InputError(f"sample rate must be one of {rates}, got {self.sample_rate}")
        if self.out is None and self.midi is None and self.stems is None:
            raise InputError("nothing to write: give --out, --midi or --stems")
        if self.model is not None and self.model.genre != self.genre:
            raise InputError(f"a {self.model.genre} style model cannot plan {self.genre}")


@dataclass(frozen=True, slots=True)
class RenderResult:
    song: Song
    report: RenderReport | None
    written: tuple[Path, ...]
    seconds: float  # the whole render: composing, audio and files


def render(
    request: RenderRequest,
    *,
    styles: StyleLibrary | None = None,
    patches: PatchLibrary | None = None,
) -> RenderResult:
    """Compose and render ``request``; files appear only if everything succeeded."""
    began = time.perf_counter()
    styles = styles or StyleLibrary()
    patches = patches or PatchLibrary(default_patch_dirs())
    style = styles.get(request.genre)
    key, tempo = key_and_tempo(
        style,
        request.seed,
        key=parse_key(request.key) if request.key else None,
        tempo=request.tempo,
        model=request.model,
    )
    params = SongParams(
        genre=request.genre,
        key=key,
        tempo=tempo,
        duration=request.duration,
        seed=request.seed,
        energy=request.energy,
    )
    _check_writable(request)
    plan = plan_song(params, style, random.Random(request.seed), request.model)
    song = compose_song(plan, style, request.seed)
    first = song.arrangement.patches_in(0)  # the first section may play patches of its own
    loaded = {part.value: patches.load(name) for part, name in first.items()}
    changes = section_changes(song, patches, tempo, request.sample_rate)
    written: list[Path] = []
    report = None
    if request.out is not None or request.stems is not None:
        created = _make_directories(request.stems) if request.stems is not None else []
        try:
            report = _render_audio(
                request, song, loaded, changes, tempo=tempo, master_gain=style.mix.master_gain
            )
        except BaseException:
            for directory in reversed(created):
                directory.rmdir()
            raise
        written += report.files
    if request.midi is not None:
        programs = {
            Part(name): patch.program
            for name, patch in loaded.items()
            if not isinstance(patch, DrumKitPatch)
        }
        midi = song_midi(
            song.events,
            tempo=tempo,
            meter=plan.meter,
            key_signature=key.midi_key_signature(),
            programs=programs,
            title=f"jamd {request.genre} in {key.name}, seed {request.seed}",
        )
        write_midi(midi, request.midi)
        written.append(request.midi)
    return RenderResult(song, report, tuple(written), time.perf_counter() - began)


def section_changes(
    song: Song, library: PatchLibrary, tempo: float, sample_rate: int
) -> list[PatchChange]:
    """Where a section plays a lane on a patch of its own, and where the song's comes back."""
    plan, arrangement = song.plan, song.arrangement
    samples_per_beat = sample_rate * 60.0 / tempo
    playing = dict(arrangement.patches_in(0))
    changes = []
    for index, section in enumerate(plan.sections[1:], start=1):
        at = round(plan.bar_start(section.start_bar) * samples_per_beat)
        for part, name in arrangement.patches_in(index).items():
            if playing[part] != name:
                changes.append(PatchChange(part.value, library.load(name), at))
                playing[part] = name
    return changes


def _render_audio(
    request: RenderRequest,
    song: Song,
    patches: dict[str, Patch],
    changes: Sequence[PatchChange],
    *,
    tempo: float,
    master_gain: float,
) -> RenderReport:
    return render_to_wav(
        patches,
        engine_notes(song.events, tempo, request.sample_rate),
        round(request.duration * request.sample_rate),
        out=request.out,
        stems_dir=request.stems,
        sample_rate=request.sample_rate,
        seed=request.seed,
        delay_seconds=DELAY_BEATS * 60.0 / tempo,
        changes=changes,
        master_gain=master_gain,
        loudness=LOUDNESS,
    )


def _make_directories(path: Path) -> list[Path]:
    """Create ``path`` and missing parents; return those created, outermost first."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def engine_notes(events: Sequence[NoteEvent], tempo: float, sample_rate: int) -> list[Note]:
    """Beat-timed events as sample-timed engine notes at a steady tempo."""
    samples_per_beat = sample_rate * 60.0 / tempo
    notes = []
    for event in events:
        start = round(event.start * samples_per_beat)
        end = max(start + 1, round(event.end * samples_per_beat))
        notes.append(Note(event.part.value, start, end, float(event.pitch), event.velocity / 127.0))
    return notes


def describe_plan(plan: SongPlan) -> list[str]:
    """The plan as printed by ``jamd render``: one line per section, bars counted from 1."""
    return [
        f"  bars {s.first_bar + 1:>3}-{s.last_bar + 1:<3} {s.label:<12} {' | '.join(s.chords)}"
        for s in plan.section_summaries()
    ]


def _check_writable(request: RenderRequest) -> None:
    """Refuse before any work if an output cannot be written, so nothing partial is left."""
    for path in (request.out, request.midi):
        if path is not None:
            if path.is_dir():
                raise InputError(f"cannot write {path}: it is a directory")
            _probe_directory(path.parent, path)
    if request.stems is not None:
        if request.stems.exists() and not request.stems.is_dir():
            raise InputError(f"cannot write stems to {request.stems}: it is not a directory")
        existing = next(
            (p for p in [request.stems, *request.stems.parents] if p.exists()), Path(".")
        )
        _probe_directory(existing, request.stems)


def _probe_directory(directory: Path, target: Path) -> None:
    if not directory.is_dir():
        raise InputError(f"cannot write {target}: directory {directory} does not exist")
    try:
        descriptor, probe = tempfile.mkstemp(dir=directory, prefix=".jamd-probe-")
    except OSError as error:
        raise InputError(f"cannot write {target}: {error.strerror}") from None
    os.close(descriptor)
    os.unlink(probe)

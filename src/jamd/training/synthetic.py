"""Songs with known answers, written as Standard MIDI Files.

One generator serves the test suite (every file's tempo, meter, key, chords per bar and drum
grid are known, so the analysis can be checked exactly), ``bench/training.py`` (a library of
thousands of files) and anyone who wants to try the MIDI library source without a library of
their own. A song is a ``SongSpec``: per bar one Roman numeral, voiced as a held chord in the
middle register, its root in the bass on every beat, an arpeggio of its chord tones on top, and
a one-bar drum grid repeated on channel 10.
"""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mido

from jamd.styles.model import DRUM_NOTES
from jamd.theory import Key, Mode, parse_roman

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9
_BASS, _KEYS, _LEAD = 0, 1, 2
_PROGRAMS = {_BASS: 33, _KEYS: 0, _LEAD: 73}  # GM finger bass, grand piano, flute


@dataclass(frozen=True, slots=True)
class SongSpec:
    """What a generated file holds, bar by bar.

    ``drums`` maps a piece (``DRUM_NOTES``' names) to a one-bar grid, a character per sixteenth
    (``x`` a hit, anything else a rest), so a 4/4 grid is 16 long and a 3/4 or 6/8 one 12.
    ``tempo_changes`` are ``(bar, bpm)`` after the first bar's ``tempo``. ``velocity`` scales
    every part (0..1), which is how songs of low and high energy are made.
    """

    numerals: tuple[str, ...]
    tonic: int
    mode: Mode = Mode.MAJOR
    tempo: float = 120.0
    meter: tuple[int, int] = (4, 4)
    drums: Mapping[str, str] = field(default_factory=dict)
    tempo_changes: tuple[tuple[int, float], ...] = ()
    velocity: float = 0.8
    single_track: bool = False  # a type 0 file: every part in one track

    @property
    def key(self) -> Key:
        return Key(self.tonic, self.mode)

    @property
    def beats_per_bar(self) -> float:
        numerator, denominator = self.meter
        return numerator * 4 / denominator


# Progressions (a numeral per bar) and grooves per genre, in the spelling the style files use.
BLUES_12_BAR = ("I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7")
PROGRESSIONS: dict[str, tuple[tuple[tuple[str, ...], Mode], ...]] = {
    "blues": (
        (BLUES_12_BAR, Mode.MAJOR),
        (("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"), Mode.MAJOR),
        (("i7", "i7", "i7", "i7", "iv7", "iv7", "i7", "i7", "bVI7", "V7", "i7", "V7"), Mode.MINOR),
    ),
    "jazz": (
        (("ii7", "V7", "Imaj7", "Imaj7"), Mode.MAJOR),
        (("Imaj7", "vi7", "ii7", "V7"), Mode.MAJOR),
        (("iiø7", "V7", "i7", "i7"), Mode.MINOR),
    ),
    "pop": (
        (("I", "V", "vi", "IV"), Mode.MAJOR),
        (("I", "vi", "IV", "V"), Mode.MAJOR),
        (("I", "IV", "I", "V"), Mode.MAJOR),
    ),
    "rock": (
        (("I", "bVII", "IV", "I"), Mode.MAJOR),
        (("I", "IV", "V", "IV"), Mode.MAJOR),
        (("i", "bVI", "bVII", "i"), Mode.MINOR),
    ),
    "country": (
        (("I", "IV", "I", "V"), Mode.MAJOR),
        (("I", "I", "IV", "IV", "V", "V", "I", "I"), Mode.MAJOR),
    ),
    "electronic": (
        (("i", "bVI", "bIII", "bVII"), Mode.MINOR),
        (("i", "bVI", "bVII", "i"), Mode.MINOR),
    ),
    "hip-hop": (
        (("i7", "iv7", "i7", "iv7"), Mode.MINOR),
        (("i", "bVI", "bIII", "bVII"), Mode.MINOR),
    ),
    "classical": (
        (("I", "IV", "V", "I"), Mode.MAJOR),
        (("i", "iv", "V", "i"), Mode.MINOR),
        (("I", "ii", "V7", "I"), Mode.MAJOR),
    ),
}
GROOVES: dict[str, Mapping[str, str]] = {
    "rock": {
        "kick": "x.......x.x.....",
        "snare": "....x.......x...",
        "hat": "x.x.x.x.x.x.x.x.",
    },
    "shuffle": {
        "kick": "x.......x.......",
        "snare": "....x.......x...",
        "ride": "x..xx..xx..xx..x",
    },
    "four": {
        "kick": "x...x...x...x...",
        "clap": "....x.......x...",
        "hat": "..x...x...x...x.",
    },
    "boom-bap": {
        "kick": "x......x..x.....",
        "snare": "....x.......x...",
        "hat": "x.x.x.x.x.x.x.x.",
    },
    "brushes": {"snare": "x...x...x...x...", "ride": "x...x..xx...x..x"},
    "waltz": {"kick": "x...........", "snare": "....x...x...", "hat": "x.x.x.x.x.x."},
}
_GENRE_GROOVES = {
    "blues": ("shuffle",),
    "jazz": ("brushes",),
    "pop": ("rock", "four"),
    "rock": ("rock",),
    "country": ("rock", "waltz"),
    "electronic": ("four",),
    "hip-hop": ("boom-bap",),
    "classical": (),
}
_TEMPI = {
    "blues": (70, 120),
    "jazz": (90, 200),
    "pop": (90, 130),
    "rock": (100, 160),
    "country": (80, 140),
    "electronic": (118, 135),
    "hip-hop": (75, 100),
    "classical": (60, 120),
}


def song_midi(spec: SongSpec) -> mido.MidiFile:
    """The song as a type 1 file (a conductor track, then bass, keys, lead and drums) or, with
    ``single_track``, a type 0 file."""
    beat = TICKS_PER_BEAT
    bar = round(spec.beats_per_bar * beat)
    numerator, denominator = spec.meter
    conductor: list[tuple[int, mido.MetaMessage]] = [
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(spec.tempo))),
        (0, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)),
    ]
    conductor += [
        (at * bar, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
        for at, bpm in spec.tempo_changes
    ]
    key = spec.key
    parts: dict[int, list[tuple[int, int, int, int]]] = {
        channel: [] for channel in (_BASS, _KEYS, _LEAD, DRUM_CHANNEL)
    }  # (start, end, note, velocity)
    loud = max(1, min(127, round(127 * spec.velocity)))
    beats = max(1, round(spec.beats_per_bar))
    for index, numeral in enumerate(spec.numerals):
        start = index * bar
        chord = parse_roman(numeral, key)
        tones = [60 + (chord.root - 60) % 12 + step for step in chord.intervals if step < 12]
        parts[_KEYS] += [(start, start + bar, note, loud * 3 // 4) for note in tones]
        root = 36 + chord.root
        step = bar // beats
        parts[_BASS] += [
            (start + n * step, start + (n + 1) * step - beat // 8, root, loud) for n in range(beats)
        ]
        arpeggio = [note + 12 for note in tones]
        parts[_LEAD] += [
            (start + n * step, start + n * step + step // 2, arpeggio[n % len(arpeggio)], loud)
            for n in range(beats)
        ]
        sixteenth = beat // 4
        for piece, grid in spec.drums.items():
            note = DRUM_NOTES[piece]
            parts[DRUM_CHANNEL] += [
                (start + n * sixteenth, start + n * sixteenth + sixteenth // 2, note, loud)
                for n, mark in enumerate(grid)
                if mark == "x"
            ]
    midi = mido.MidiFile(type=0 if spec.single_track else 1, ticks_per_beat=beat)
    tracks: list[list[tuple[int, mido.Message | mido.MetaMessage]]] = [conductor]
    for channel, notes in parts.items():
        events: list[tuple[int, mido.Message | mido.MetaMessage]] = []
        if channel != DRUM_CHANNEL:
            events.append(
                (0, mido.Message("program_change", channel=channel, program=_PROGRAMS[channel]))
            )
        for on, off, note, velocity in notes:
            events.append(
                (on, mido.Message("note_on", channel=channel, note=note, velocity=velocity))
            )
            events.append((off, mido.Message("note_off", channel=channel, note=note, velocity=0)))
        tracks.append(events)
    if spec.single_track:
        tracks = [[event for track in tracks for event in track]]
    for events in tracks:
        midi.tracks.append(_track(events))
    return midi


def write_song(spec: SongSpec, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    song_midi(spec).save(path)


def random_song(genre: str, rng: random.Random, *, repeats: int | None = None) -> SongSpec:
    """A song of ``genre`` in a random key and tempo, its progression played ``repeats`` times
    (random, 2..4, if not given)."""
    numerals, mode = rng.choice(PROGRESSIONS[genre])
    grooves = _GENRE_GROOVES[genre]
    groove_name = rng.choice(grooves) if grooves else None
    drums = GROOVES[groove_name] if groove_name else {}
    meter = (3, 4) if groove_name == "waltz" else (4, 4)
    low, high = _TEMPI[genre]
    times = repeats if repeats is not None else rng.randint(2, 4)
    return SongSpec(
        numerals=numerals * times,
        tonic=rng.randrange(12),
        mode=mode,
        tempo=float(rng.randint(low, high)),
        meter=meter,
        drums=drums,
        velocity=round(rng.uniform(0.5, 0.95), 2),
    )


FOLDER_NAMES = {
    "blues": "Blues",
    "jazz": "Jazz",
    "pop": "Pop",
    "rock": "Rock",
    "country": "Country",
    "electronic": "Electronic",
    "hip-hop": "Hip Hop",
    "classical": "Classical",
}
"""How the demo library names its genre folders (as people do: "Hip Hop", not "hip-hop")."""


def write_library(
    folder: Path, files: int, rng: random.Random, genres: Sequence[str] = tuple(PROGRESSIONS)
) -> dict[Path, tuple[str, SongSpec]]:
    """``files`` songs spread over ``genres``, each in ``folder/<Genre>/song-NNNN.mid``; what
    each file holds, by path."""
    written: dict[Path, tuple[str, SongSpec]] = {}
    for number in range(files):
        genre = genres[number % len(genres)]
        spec = random_song(genre, rng)
        path = folder / FOLDER_NAMES.get(genre, genre) / f"song-{number:04d}.mid"
        write_song(spec, path)
        written[path] = (genre, spec)
    return written


def _track(events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    """Absolute ticks to deltas; at one tick note-offs go before note-ons (a re-struck note is
    released, then struck), meta events first of all."""

    def order(event: tuple[int, mido.Message | mido.MetaMessage]) -> tuple[int, int]:
        at, message = event
        rank = 0 if message.is_meta or message.type == "program_change" else 1
        if message.type == "note_on":
            rank = 2
        return at, rank

    track = mido.MidiTrack()
    now = 0
    for at, message in sorted(events, key=order):
        track.append(message.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track

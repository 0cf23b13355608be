"""A song as a Standard MIDI File: one track per part, drums on channel 10.

Track 0 carries the tempo, meter and key signature; each part's track names the part, selects
its General MIDI program and holds its notes. Ticks come from beats by rounding, events are
ordered by a total key, so the same song gives the same bytes.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path

import mido

from jamd.compose import NoteEvent, Part
from jamd.files import new_file_beside

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # "channel 10" counted from 1
_CHANNELS = {Part.DRUMS: DRUM_CHANNEL, Part.BASS: 0, Part.KEYS: 1, Part.PAD: 2, Part.LEAD: 3}


def song_midi(
    events: Iterable[NoteEvent],
    *,
    tempo: float,
    meter: tuple[int, int],
    key_signature: str,
    programs: Mapping[Part, int],
    title: str,
) -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    numerator, denominator = meter
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name=title, time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0),
            mido.MetaMessage(
                "time_signature", numerator=numerator, denominator=denominator, time=0
            ),
            mido.MetaMessage("key_signature", key=key_signature, time=0),
            mido.MetaMessage("end_of_track", time=0),
        ]
    )
    midi.tracks.append(conductor)
    by_part: dict[Part, list[NoteEvent]] = {part: [] for part in Part}
    for event in events:
        by_part[event.part].append(event)
    for part in Part:
        midi.tracks.append(_part_track(part, by_part[part], programs.get(part)))
    return midi


def _part_track(part: Part, events: list[NoteEvent], program: int | None) -> mido.MidiTrack:
    channel = _CHANNELS[part]
    header: list[mido.Message | mido.MetaMessage] = [
        mido.MetaMessage("track_name", name=part.value)
    ]
    if program is not None and channel != DRUM_CHANNEL:
        header.append(mido.Message("program_change", channel=channel, program=program))
    timed: list[tuple[int, int, int, mido.Message]] = []
    for event, off in _note_spans(events):
        on = round(event.start * TICKS_PER_BEAT)
        # at equal ticks note-offs go first, so a repeated note is released before it is struck
        timed.append(
            (
                on,
                1,
                event.pitch,
                mido.Message("note_on", channel=channel, note=event.pitch, velocity=event.velocity),
            )
        )
        timed.append(
            (
                off,
                0,
                event.pitch,
                mido.Message("note_off", channel=channel, note=event.pitch, velocity=0),
            )
        )
    timed.sort(key=lambda item: item[:3])
    track = mido.MidiTrack(header)
    now = 0
    for tick, _, _, message in timed:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _note_spans(events: list[NoteEvent]) -> Iterable[tuple[NoteEvent, int]]:
    """Each note with its note-off tick, cut where the same key is struck again (MIDI has one
    note-on per key and channel, so overlapping repeats would end each other early)."""
    ordered = sorted(events, key=lambda event: (event.pitch, event.start))
    for index, event in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        on = round(event.start * TICKS_PER_BEAT)
        off = round(event.end * TICKS_PER_BEAT)
        if following is not None and following.pitch == event.pitch:
            off = min(off, round(following.start * TICKS_PER_BEAT))
        yield event, max(on + 1, off)


def write_midi(midi: mido.MidiFile, path: Path) -> None:
    """Write atomically: a hidden file beside ``path``, renamed over it when complete."""
    temporary = new_file_beside(path)
    try:
        midi.save(str(temporary))
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)

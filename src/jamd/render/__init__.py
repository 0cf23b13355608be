"""Offline rendering: a composed song to WAV, stems and a Standard MIDI File."""

from jamd.render.midifile import song_midi, write_midi
from jamd.render.song import RenderRequest, RenderResult, describe_plan, engine_notes, render

__all__ = [
    "RenderRequest",
    "RenderResult",
    "describe_plan",
    "engine_notes",
    "render",
    "song_midi",
    "write_midi",
]

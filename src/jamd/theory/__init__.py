"""jamd.theory: pitches, keys and scales, chords from Roman numerals and symbols, voice leading.

Pure functions over frozen values; user input that cannot be read raises ``InputError`` naming
the accepted forms.
"""

from jamd.theory.chords import (
    QUALITY_INTERVALS,
    Chord,
    chord_symbol,
    parse_chord_symbol,
    parse_roman,
    recognize_chord,
)
from jamd.theory.keys import MODE_INTERVALS, Key, Mode, parse_key
from jamd.theory.pitch import (
    PitchClass,
    midi_to_hz,
    note_name,
    parse_note,
    parse_pitch_class,
)
from jamd.theory.voicing import nearest, required_tones, voice_lead

__all__ = [
    "MODE_INTERVALS",
    "QUALITY_INTERVALS",
    "Chord",
    "Key",
    "Mode",
    "PitchClass",
    "chord_symbol",
    "midi_to_hz",
    "nearest",
    "note_name",
    "parse_chord_symbol",
    "parse_key",
    "parse_note",
    "parse_pitch_class",
    "parse_roman",
    "recognize_chord",
    "required_tones",
    "voice_lead",
]

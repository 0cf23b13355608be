"""The engine: the only package that imports pyo.

Upstream code hands it sample-timed ``Note``s and patches by name; it plays them through the DSP
graph, live (``jamd.engine.live``, or in a process of its own: ``jamd.engine.process``) or
offline (``jamd.engine.offline``). This package's own namespace loads no pyo, so the daemon's
process, which drives an engine in another process, never pays for it.
"""

from jamd.engine.backends import BACKENDS, AudioSpec, AudioUnavailable
from jamd.engine.interface import Engine, EngineStats, Fader, Recording
from jamd.engine.notes import Note
from jamd.engine.patches import (
    DrumKitPatch,
    Patch,
    PatchError,
    PatchLibrary,
    default_patch_dirs,
    load_patch_file,
    parse_patch,
)

__all__ = [
    "BACKENDS",
    "AudioSpec",
    "AudioUnavailable",
    "DrumKitPatch",
    "Engine",
    "EngineStats",
    "Fader",
    "Note",
    "Patch",
    "PatchError",
    "PatchLibrary",
    "Recording",
    "default_patch_dirs",
    "load_patch_file",
    "parse_patch",
]

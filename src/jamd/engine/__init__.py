"""The engine: the only package that imports pyo.

Upstream code hands it sample-timed ``Note``s and patches by name; it plays them through the DSP
graph, live or (here) offline.
"""

from jamd.engine.notes import Note
from jamd.engine.offline import OfflineEngine, RenderReport, render_to_wav
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
    "DrumKitPatch",
    "Note",
    "OfflineEngine",
    "Patch",
    "PatchError",
    "PatchLibrary",
    "RenderReport",
    "default_patch_dirs",
    "load_patch_file",
    "parse_patch",
    "render_to_wav",
]

"""Instrument kinds: what a patch file's ``kind`` names. jamd's own kinds and third parties'
are registered the same way; third parties through the ``jamd.instruments`` entry point group.

A kind is a patch model (a pydantic model deriving from ``jamd.engine.patches.VoicePatch``, with
``kind: Literal["<name>"]``) and a ``build`` function. The host gives every kind the same
voices: per voice, a frequency and an amplitude signal that the scheduler writes at the sample
clock (the envelope, glide, vibrato and voice stealing are the host's). ``build`` returns the
pyo objects that sound them, each with one stream per voice; the host sums them, then runs the
patch's filter and effects and the track's fader. A voice's streams sleep while it is silent.

A package registers a kind in its ``pyproject.toml``::

    [project.entry-points."jamd.instruments"]
    bell = "jamd_bell:KIND"

where ``KIND = InstrumentKind("bell", BellPatch, build_bell)`` (docs/patches.md has the worked
example). A plugin that fails to import, or names a kind jamd has, is logged and left out: a
broken plugin never stops the music, and only patches of its kind are refused.

This module does not import pyo: patch files are validated without the audio engine.
"""

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from jamd.engine.patches import VoicePatch

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "jamd.instruments"

T = TypeVar("T")


class Voices(Protocol):
    """What the host hands a kind's ``build``.

    ``frequency`` and ``amplitude`` are pyo objects with one stream per voice: the note's
    frequency in Hz (times the kind's ``frequency_scale``) and its envelope, 0..1 of the peak.
    """

    frequency: Any
    amplitude: Any
    sample_rate: int

    def per_voice(self, obj: T) -> T:
        """Keep a pyo object with one stream per voice; its streams sleep with their voices."""
        ...

    def keep(self, obj: T) -> T:
        """Keep any other pyo object (a table, a shared LFO) alive as long as the track."""
        ...


@dataclass(frozen=True, slots=True)
class InstrumentKind:
    """An instrument model: its patch file's model and the pyo voices it builds."""

    name: str
    patch: "type[VoicePatch]"
    build: "Callable[[Any, Voices], Sequence[Any]]"
    frequency_scale: "Callable[[Any], float] | None" = None
    """What the frequency signal holds relative to the note's frequency (default 1)."""


@functools.cache
def plugin_kinds() -> Mapping[str, InstrumentKind]:
    """Kinds registered by installed packages, loaded once; broken ones are logged and left out."""
    from jamd.engine.patches import BUILTIN_KINDS, VoicePatch  # noqa: PLC0415

    found: dict[str, InstrumentKind] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = f"instrument plugin {entry.name} ({entry.value})"
        try:
            kind = entry.load()
        except Exception as error:  # noqa: BLE001 - a plugin may raise anything on import
            log.error("%s cannot be loaded, its kind is not available: %s", where, error)
            continue
        problem = _problem(kind, entry.name, VoicePatch)
        if problem is None and (kind.name in BUILTIN_KINDS or kind.name in found):
            problem = f"kind {kind.name!r} is taken already"
        if problem is not None:
            log.error("%s is left out: %s", where, problem)
            continue
        found[kind.name] = kind
    return found


def _problem(kind: object, name: str, base: type) -> str | None:
    if not isinstance(kind, InstrumentKind):
        return f"it is a {type(kind).__name__}, not a jamd.engine.instruments.InstrumentKind"
    if kind.name != name:
        return f"the entry point is named {name!r} but its kind is {kind.name!r}"
    if not (isinstance(kind.patch, type) and issubclass(kind.patch, base)):
        return "its patch model does not derive from jamd.engine.patches.VoicePatch"
    field = kind.patch.model_fields.get("kind")
    if field is None or getattr(field.annotation, "__args__", None) != (kind.name,):
        return f'its patch model needs kind: Literal["{kind.name}"]'
    if not callable(kind.build):
        return "its build is not callable"
    return None

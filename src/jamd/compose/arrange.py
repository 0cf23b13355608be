"""The arrangement: which patch plays each part, and which parts play in each section.

Patches are chosen once per song from the style's candidates whose energy range holds the
song's energy, by weight, from the seed. Each section plays the parts the style lists for its
kind, each at an intensity (the section's energy times the part's level), so verses thin out and
choruses fill in; a part too quiet to matter sits the section out.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from jamd.compose.events import Part
from jamd.compose.plan import SongPlan
from jamd.styles.model import Style

_MIN_INTENSITY = 0.1


@dataclass(frozen=True, slots=True)
class PartRole:
    """A part playing in a section, and how hard (0..1: density, velocity, busier patterns)."""

    part: Part
    intensity: float


@dataclass(frozen=True, slots=True)
class SectionArrangement:
    label: str
    parts: tuple[PartRole, ...]

    def intensity(self, part: Part) -> float:
        """How hard ``part`` plays here; 0.0 when it rests."""
        return next((role.intensity for role in self.parts if role.part is part), 0.0)


@dataclass(frozen=True, slots=True)
class Arrangement:
    """One patch per part for the whole song (read-only, every part, in mixer order), and the
    parts that play in each section (in plan order).
    """

    patches: Mapping[Part, str]
    sections: tuple[SectionArrangement, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "patches", MappingProxyType(dict(self.patches)))

    def patch(self, part: Part) -> str:
        return self.patches[part]

    def intensity(self, section_index: int, part: Part) -> float:
        """How hard ``part`` plays in the section; 0.0 when it rests (or past the song's end)."""
        if not 0 <= section_index < len(self.sections):
            return 0.0
        return self.sections[section_index].intensity(part)


def arrange(
    plan: SongPlan, style: Style, seed: int, *, patches: Mapping[Part, str] | None = None
) -> Arrangement:
    """Pick the song's patches and each section's parts (see the module docstring).

    Given ``patches`` (a song re-planned while it plays: a new key or energy), the song keeps
    its instruments and only the sections' parts are worked out again.
    """
    energy = plan.params.energy
    chosen: dict[Part, str] = dict(patches or {})
    for part in Part:
        if part in chosen:
            continue
        choices = style.instruments.for_role(part.value)
        fitting = [c for c in choices if c.energy[0] <= energy <= c.energy[1]] or list(choices)
        rng = random.Random(f"{seed}:patch:{part}")
        chosen[part] = rng.choices(fitting, weights=[c.weight for c in fitting])[0].patch

    sections = []
    for section in plan.sections:
        levels = style.arrangement.get(section.kind, {})
        roles = []
        for part in Part:
            intensity = round(min(1.0, section.energy * levels.get(part.value, 0.0)), 3)
            if intensity >= _MIN_INTENSITY:
                roles.append(PartRole(part, intensity))
        sections.append(SectionArrangement(section.label, tuple(roles)))
    return Arrangement({part: chosen[part] for part in Part}, tuple(sections))

"""The arrangement: which patch plays each part, and which parts play in each section.

Patches are chosen once per song from the style's candidates whose energy range holds the
song's energy, by weight, from the seed. A section whose energy falls outside the song's patch's
range plays another candidate whose range holds it (the same one each time it comes back): a
brushed kit in a quiet head and sticks in the solos, a warm pad in the verse and a supersaw in
the chorus. Each section plays the parts the style lists for its kind, each at an intensity (the
section's energy times the part's level), so verses thin out and choruses fill in; a part too
quiet to matter sits the section out. A part the performer holds on a patch keeps it throughout.
"""

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
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
    """The parts playing in a section, and the patches it plays where the song's do not fit
    its energy (``patches``: only those parts)."""

    label: str
    parts: tuple[PartRole, ...]
    patches: Mapping[Part, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patches", MappingProxyType(dict(self.patches)))

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

    def patches_in(self, section_index: int) -> Mapping[Part, str]:
        """The patch each part plays in the section: the song's, or the section's own."""
        if not 0 <= section_index < len(self.sections):
            return self.patches
        own = self.sections[section_index].patches
        return {**self.patches, **own} if own else self.patches

    def names(self) -> set[str]:
        """Every patch the song plays somewhere."""
        return {*self.patches.values(), *(n for s in self.sections for n in s.patches.values())}

    def holding(self, part: Part, patch: str) -> "Arrangement":
        """The arrangement with ``part`` on ``patch`` in every section (a performer's choice)."""
        sections = tuple(
            SectionArrangement(
                s.label, s.parts, {p: n for p, n in s.patches.items() if p is not part}
            )
            for s in self.sections
        )
        return Arrangement({**self.patches, part: patch}, sections)

    def intensity(self, section_index: int, part: Part) -> float:
        """How hard ``part`` plays in the section; 0.0 when it rests (or past the song's end)."""
        if not 0 <= section_index < len(self.sections):
            return 0.0
        return self.sections[section_index].intensity(part)


def arrange(
    plan: SongPlan,
    style: Style,
    seed: int,
    *,
    patches: Mapping[Part, str] | None = None,
    held: Collection[Part] = (),
) -> Arrangement:
    """Pick the song's patches and each section's parts (see the module docstring).

    Given ``patches`` (a song re-planned while it plays: a new key or energy), the song keeps
    its instruments and only the sections' parts are worked out again. Parts in ``held`` play
    their patch in every section.
    """
    energy = plan.params.energy
    chosen: dict[Part, str] = dict(patches or {})
    for part in Part:
        if part in chosen:
            continue
        chosen[part] = _pick(style, part, energy, seed)

    sections = []
    for section in plan.sections:
        levels = style.arrangement.get(section.kind, {})
        roles = []
        for part in Part:
            intensity = round(min(1.0, section.energy * levels.get(part.value, 0.0)), 3)
            if intensity >= _MIN_INTENSITY:
                roles.append(PartRole(part, intensity))
        own = {
            role.part: patch
            for role in roles
            if role.part not in held
            and (patch := _for_section(style, role.part, chosen[role.part], section.energy, seed))
        }
        sections.append(SectionArrangement(section.label, tuple(roles), own))
    return Arrangement({part: chosen[part] for part in Part}, tuple(sections))


def _pick(style: Style, part: Part, energy: float, seed: int) -> str:
    """A candidate whose energy range holds ``energy``, by weight (any, if none does)."""
    choices = style.instruments.for_role(part.value)
    fitting = [c for c in choices if c.energy[0] <= energy <= c.energy[1]] or list(choices)
    rng = random.Random(f"{seed}:patch:{part}")
    return rng.choices(fitting, weights=[c.weight for c in fitting])[0].patch


def _for_section(style: Style, part: Part, song: str, energy: float, seed: int) -> str | None:
    """The patch a section of ``energy`` plays instead of the song's; None to keep the song's
    (it fits, or no candidate does better, or the song's is not one of the style's)."""
    choices = style.instruments.for_role(part.value)
    mine = next((c for c in choices if c.patch == song), None)
    if mine is None or mine.energy[0] <= energy <= mine.energy[1]:
        return None
    if not any(c.energy[0] <= energy <= c.energy[1] for c in choices):
        return None
    other = _pick(style, part, energy, seed)
    return other if other != song else None

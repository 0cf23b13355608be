"""The session: what the band is asked to play and what it plays now, as one frozen value.

The conductor owns it and replaces it whenever anything changes (a command, a new bar, a new
song); everyone else (status lines, feedback to control surfaces) reads the latest snapshot.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from jamd.engine.interface import Fader
from jamd.live.commands import PARTS


class Transport(StrEnum):
    PLAYING = "playing"
    STOPPED = "stopped"
    ENDING = "ending"  # playing the song's ending, then stopping


@dataclass(frozen=True, slots=True)
class PartMix:
    """A part's strip as a performer set it (``None``: the patch's own value)."""

    level_db: float = 0.0
    pan: float | None = None
    reverb: float | None = None
    delay: float | None = None
    muted: bool = False
    soloed: bool = False
    tone: float = 0.5  # brightness 0..1; 0.5 as the patch sounds
    patch: str | None = None  # the patch the performer chose, in every song until cleared

    def fader(self, *, any_solo: bool) -> Fader:
        """What the engine plays: solo in place mutes every part not soloed."""
        silent = self.muted or (any_solo and not self.soloed)
        return Fader(self.level_db, self.pan, self.reverb, self.delay, silent)

    @property
    def tone_factor(self) -> float:
        """The cutoff multiplier: two octaves either way around the patch's own."""
        return float(2.0 ** ((self.tone - 0.5) * 4.0))


def _frozen_mixer(mixer: Mapping[str, PartMix]) -> Mapping[str, PartMix]:
    if isinstance(mixer, MappingProxyType) and len(mixer) == len(PARTS):
        return mixer  # one of ours, passed on by ``replace``: frozen already
    return MappingProxyType({part: mixer.get(part, PartMix()) for part in PARTS})


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return mapping if isinstance(mapping, MappingProxyType) else MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Session:
    """Requested values (genre, key, tempo, energy, mood, mixer) and what plays now (song,
    section, bar, chord). Bars are counted from 1 within the song, as musicians count."""

    genre: str
    key: str
    tempo: float
    energy: float = 0.5
    mood: float = 0.5
    transport: Transport = Transport.STOPPED
    seed: int = 1
    song: int = 0  # songs started since jamd started
    section: str = ""
    bar: int = 0
    bars: int = 0  # in the song
    chord: str = ""
    chord_hold: str | None = None
    patches: Mapping[str, str] = field(default_factory=dict)  # the patch each part plays now
    master_db: float = 0.0
    mixer: Mapping[str, PartMix] = field(default_factory=dict)
    pending: tuple[str, ...] = ()  # changes waiting for their boundary, in words
    clock: str = "internal"  # the clock source that leads: internal, link or midi
    link: bool = False  # in an Ableton Link session
    link_peers: int = 0  # other Link peers in it
    link_tempo: float = 0.0  # the session's tempo (0: not in one)
    link_downbeat: float = -1.0  # the session beat the bar playing started on (-1: none)
    band: bool = False  # one of a band's members (band.peers or band.parts)
    band_peers: int = 0  # the band's other members heard from lately
    band_parts: tuple[str, ...] = ()  # the parts this member plays (none: all)
    band_downbeat: float = -1.0  # link_downbeat, counted as the band counts (-1: none)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mixer", _frozen_mixer(self.mixer))
        object.__setattr__(self, "patches", _frozen(self.patches))

    def with_part(self, part: str, **changes: object) -> "Session":
        mixer = dict(self.mixer)
        mixer[part] = replace(mixer[part], **changes)  # type: ignore[arg-type]
        return replace(self, mixer=mixer)

    def faders(self) -> dict[str, Fader]:
        any_solo = any(mix.soloed for mix in self.mixer.values())
        return {part: mix.fader(any_solo=any_solo) for part, mix in self.mixer.items()}

    @property
    def master_level(self) -> float:
        return float(10.0 ** (self.master_db / 20.0)) if self.master_db > -math.inf else 0.0

    def status(self) -> str:
        """One line for systemd's STATUS= and the log: what plays, where."""
        head = f"{self.transport} {self.genre} in {self.key}, {self.tempo:g} BPM"
        if self.transport is Transport.STOPPED or not self.section:
            return head
        if not self.bar:
            return f"{head}, count-in to song {self.song} (seed {self.seed})"
        where = f"song {self.song} (seed {self.seed}) {self.section}, bar {self.bar}/{self.bars}"
        return f"{head}, {where}, {self.chord}"

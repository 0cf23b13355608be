"""Presets: what a performer set (genre, key, tempo, energy, mood, the mixer and each part's
patch), saved under a name and loaded again later.

A preset is a TOML file laid out like the config's ``[music]`` and ``[mixer]`` tables, one per
name in the presets directory (``paths.presets``). Loading one gives the commands that move the
session to it, for what differs from the session now: each lands on its own boundary, as from
any surface (a new genre at the next section, the mixer at once). A file is written beside its
target and renamed over it, so a preset is never half written; a broken one is refused whole.
"""

import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jamd.compose.plan import TEMPO_RANGE
from jamd.errors import InputError, validation_messages
from jamd.files import write_toml
from jamd.live.commands import (
    PARTS,
    Command,
    SetEnergy,
    SetGenre,
    SetKey,
    SetLevel,
    SetMaster,
    SetMood,
    SetMute,
    SetPan,
    SetPatch,
    SetSend,
    SetSolo,
    SetTempo,
    SetTone,
)
from jamd.live.session import PartMix, Session
from jamd.settings import Mixer, PartMixer

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}")
SUFFIX = ".toml"


class PresetError(InputError):
    """A preset that cannot be saved or loaded; nothing changed."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PresetMusic(_Model):
    genre: Annotated[str, Field(min_length=1)]
    key: Annotated[str, Field(min_length=1)]
    tempo: Annotated[float, Field(ge=TEMPO_RANGE[0], le=TEMPO_RANGE[1])]
    energy: Annotated[float, Field(ge=0, le=1)] = 0.5
    mood: Annotated[float, Field(ge=0, le=1)] = 0.5


class PresetPart(PartMixer):
    """A part's strip as the config's ``[mixer.PART]`` has it, and what only a performer sets."""

    solo: bool = False
    tone: Annotated[float, Field(ge=0, le=1)] = 0.5
    patch: str | None = None  # None: the genre's choice


class PresetMixer(Mixer):
    drums: PresetPart = PresetPart()
    bass: PresetPart = PresetPart()
    keys: PresetPart = PresetPart()
    pad: PresetPart = PresetPart()
    lead: PresetPart = PresetPart()

    def part(self, name: str) -> PresetPart:
        part: PresetPart = getattr(self, name)
        return part


class Preset(_Model):
    music: PresetMusic
    mixer: PresetMixer = PresetMixer()

    @classmethod
    def of(cls, session: Session) -> "Preset":
        """What the performer set in ``session``."""
        parts = {part: _part_of(mix) for part, mix in session.mixer.items()}
        return cls(
            music=PresetMusic(
                genre=session.genre,
                key=session.key,
                tempo=session.tempo,
                energy=session.energy,
                mood=session.mood,
            ),
            mixer=PresetMixer(master_db=session.master_db, **parts),
        )

    def commands(self, session: Session) -> list[Command]:
        """The commands that take ``session`` to this preset (only where they differ)."""
        music = self.music
        wanted: list[tuple[object, Command]] = [
            (session.genre == music.genre, SetGenre(music.genre)),
            (session.key == music.key, SetKey.parse(music.key)),
            (session.tempo == music.tempo, SetTempo(music.tempo)),
            (session.energy == music.energy, SetEnergy(music.energy)),
            (session.mood == music.mood, SetMood(music.mood)),
            (session.master_db == self.mixer.master_db, SetMaster(self.mixer.master_db)),
        ]
        for name in PARTS:
            now, part = session.mixer[name], self.mixer.part(name)
            wanted += [
                (now.level_db == part.level_db, SetLevel(name, part.level_db)),
                (now.muted == part.mute, SetMute(name, part.mute)),
                (now.soloed == part.solo, SetSolo(name, part.solo)),
                (now.tone == part.tone, SetTone(name, part.tone)),
                (now.patch == part.patch, SetPatch(name, part.patch)),
            ]
            if part.pan is not None:  # unset: as the patch sits, whatever moved it since
                wanted.append((now.pan == part.pan, SetPan(name, part.pan)))
            for send in ("reverb", "delay"):
                amount = getattr(part, send)
                if amount is not None:
                    wanted.append((getattr(now, send) == amount, SetSend(name, send, amount)))
        return [command for same, command in wanted if not same]


def _part_of(mix: PartMix) -> PresetPart:
    return PresetPart(
        level_db=mix.level_db,
        pan=mix.pan,
        reverb=mix.reverb,
        delay=mix.delay,
        mute=mix.muted,
        solo=mix.soloed,
        tone=mix.tone,
        patch=mix.patch,
    )


class PresetStore:
    """The presets in ``directory`` (made when the first one is saved)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(
            path.stem
            for path in self.directory.glob(f"*{SUFFIX}")
            if NAME.fullmatch(path.stem) and path.is_file()
        )

    def path_of(self, name: object) -> Path:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise PresetError(
                "a preset name is 1..64 letters, digits, spaces or _.+- (starting with a "
                f"letter or digit), got {name!r}"
            )
        return self.directory / f"{name}{SUFFIX}"

    def save(self, name: str, session: Session) -> Path:
        """Write the preset (replacing one of the same name, whole)."""
        path = self.path_of(name)
        preset = Preset.of(session)
        head = f'# jamd preset "{name}", saved {datetime.now().isoformat(timespec="seconds")}\n'
        try:
            write_toml(path, preset.model_dump(), head)
        except OSError as error:
            raise PresetError(f"cannot save preset {name!r} to {path}: {error}") from None
        return path

    def load(self, name: str) -> Preset:
        path = self.path_of(name)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none saved yet"
            raise PresetError(f"no preset {name!r} (presets: {known})") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise PresetError(f"preset {name!r} ({path}) cannot be read: {error}") from None
        try:
            return Preset.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(validation_messages(error, Preset))
            raise PresetError(f"preset {name!r} ({path}) is broken: {problems}") from None

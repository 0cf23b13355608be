"""Presets: what a performer set (genre, key, tempo, energy, mood, the mixer and each part's
patch), saved under a name and loaded again later.

A preset is laid out like the config's ``[music]`` and ``[mixer]`` tables and kept in the store
(one row per name, written in one transaction, so never half written); TOML files in the old
presets directory (``paths.presets``) are imported into it once. Loading one gives the commands
that move the session to it, for what differs from the session now: each lands on its own
boundary, as from any surface (a new genre at the next section, the mixer at once). A broken
one is refused whole.
"""

import logging
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jamd.compose.plan import TEMPO_RANGE
from jamd.errors import InputError, validation_messages
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
from jamd.store import Store, StoreError

log = logging.getLogger(__name__)

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
    """The presets, kept in the store (``jamd.store``), by name."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def names(self) -> list[str]:
        try:
            return await self.store.preset_names()
        except StoreError as error:
            raise PresetError(f"cannot list presets: {error}") from None

    async def save(self, name: str, session: Session) -> None:
        """Save the preset (replacing one of the same name, whole)."""
        check_name(name)
        try:
            await self.store.save_preset(name, Preset.of(session).model_dump(mode="json"))
        except StoreError as error:
            raise PresetError(f"cannot save preset {name!r}: {error}") from None

    async def load(self, name: str) -> Preset:
        check_name(name)
        try:
            data = await self.store.load_preset(name)
        except StoreError as error:
            raise PresetError(f"preset {name!r} cannot be read: {error}") from None
        if data is None:
            known = ", ".join(await self.names()) or "none saved yet"
            raise PresetError(f"no preset {name!r} (presets: {known})")
        return parse_preset(data, f"preset {name!r} (in {self.store.path})")

    async def import_files(self, directory: Path) -> int:
        """The TOML presets in ``directory`` (jamd before the store kept them there), each
        imported once: a file is never deleted, a preset of that name in the store is kept,
        and one deleted from the store stays deleted. How many were added."""
        if not directory.is_dir():
            return 0
        done = await self.store.imported("preset")
        added = 0
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            origin = str(path.resolve())
            if origin in done or not NAME.fullmatch(path.stem) or not path.is_file():
                continue
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                log.error("preset file %s is left out (it cannot be read): %s", path, error)
                continue
            if await self.store.import_named("preset", path.stem, data, origin):
                added += 1
                log.info("preset %r imported from %s into the store", path.stem, path)
        return added


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PresetError(
            "a preset name is 1..64 letters, digits, spaces or _.+- (starting with a "
            f"letter or digit), got {name!r}"
        )
    return name


def parse_preset(data: Mapping[str, Any], where: str) -> Preset:
    """A stored preset, validated; ``PresetError`` says what is wrong (nothing is taken)."""
    try:
        return Preset.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(validation_messages(error, Preset))
        raise PresetError(f"{where} is broken: {problems}") from None

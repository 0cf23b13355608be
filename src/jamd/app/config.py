"""Reading what ``jamd run`` is asked to do, before anything heavy is loaded.

``jamd run`` launches the engine's process first (its imports and the sound card are the
slowest part of a start), then reads and checks its settings with this module, tells the
engine what to open, and only then loads the conductor.
"""

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jamd.engine.backends import AudioSpec
from jamd.engine.interface import Recording
from jamd.engine.patches import PatchLibrary, default_patch_dirs
from jamd.errors import InputError
from jamd.settings import PARTS, Music, Settings, load_settings
from jamd.styles.library import StyleLibrary
from jamd.theory import parse_key


def resolve_recording(master: str, stems: str, now: datetime | None = None) -> Recording:
    """The recording paths the settings name; a file that exists is never overwritten."""
    stamp = now or datetime.now()
    master_path = Path(stamp.strftime(master)).expanduser() if master else None
    stems_path = Path(stamp.strftime(stems)).expanduser() if stems else None
    if master_path is not None:
        if master_path.exists():
            raise InputError(f"cannot record to {master_path}: it exists (jamd never overwrites)")
        if not master_path.parent.is_dir():
            raise InputError(f"cannot record to {master_path}: no directory {master_path.parent}")
    if stems_path is not None:
        if stems_path.exists() and not stems_path.is_dir():
            raise InputError(f"cannot record stems to {stems_path}: it is not a directory")
        taken = [p.name for p in stems_path.glob("*.wav")] if stems_path.is_dir() else []
        clashing = sorted(set(taken) & {f"{part}.wav" for part in (*PARTS, "fx")})
        if clashing:
            raise InputError(
                f"cannot record stems to {stems_path}: {', '.join(clashing)} exist "
                "(jamd never overwrites)"
            )
    return Recording(master_path, stems_path)


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where jamd keeps what it makes: systemd's StateDirectory (``$STATE_DIRECTORY``), else
    ``$XDG_STATE_HOME/jamd``, else ``~/.local/state/jamd``."""
    env = os.environ if environ is None else environ
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jamd"


def presets_dir(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """``paths.presets``, else ``presets/`` in the state directory."""
    return (settings.paths.presets or state_dir(environ) / "presets").expanduser()


def database_path(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """``paths.database``, else ``jamd.sqlite3`` in the state directory (docs/store.md)."""
    return (settings.paths.database or state_dir(environ) / "jamd.sqlite3").expanduser()


def learned_path(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """``midi.learned``, else ``midi/learned.toml`` in the state directory."""
    return (settings.midi.learned or state_dir(environ) / "midi" / "learned.toml").expanduser()


def check_settings(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What pydantic cannot know: the genre exists, the key reads, the directories exist.
    Reads the merged values as they are (they may not have validated), for ``load_settings``."""
    problems: list[tuple[str, str]] = []
    music = _table(data, "music")
    paths = _table(data, "paths")
    directories = {name: _paths(paths.get(name, ())) for name in ("patches", "styles")}
    for name, found in directories.items():
        for directory in found:
            if not directory.is_dir():
                problems.append((f"paths.{name}", f"{directory} is not a directory"))
    genre = music.get("genre", Music().genre)
    if isinstance(genre, str):
        try:
            StyleLibrary([d for d in directories["styles"] if d.is_dir()]).get(genre)
        except InputError as error:
            problems.append(("music.genre", str(error)))
    key = music.get("key")
    if isinstance(key, str):
        try:
            parse_key(key)
        except InputError as error:
            problems.append(("music.key", str(error)))
    return problems


def read_settings(path: Path | None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """The settings ``jamd run`` uses: the file, the environment, the overrides, all checked."""
    return load_settings(path, overrides=overrides, check=check_settings)


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    return table if isinstance(table, Mapping) else {}


def _paths(value: object) -> list[Path]:
    items = value if isinstance(value, list | tuple) else []
    return [Path(item) for item in items if isinstance(item, str | Path)]


def libraries(settings: Settings) -> tuple[StyleLibrary, PatchLibrary]:
    styles = StyleLibrary(settings.paths.styles)
    patches = PatchLibrary([*settings.paths.patches, *default_patch_dirs()])
    return styles, patches


def audio_spec(settings: Settings) -> AudioSpec:
    """The engine's audio options: ``[audio]`` but for where the engine runs."""
    audio = settings.audio
    return AudioSpec(**{name: getattr(audio, name) for name in AudioSpec.__dataclass_fields__})


def configure_engine(process: Any, settings: Settings, recording: Recording) -> None:
    import logging  # noqa: PLC0415

    process.configure(
        audio_spec(settings),
        PARTS,
        delay_seconds=delay_seconds(settings),
        recording=recording,
        log_level=logging.getLogger("jamd").level,
    )


def delay_seconds(settings: Settings) -> float:
    """The echo's time to start with: a dotted eighth at the configured tempo."""
    return 0.75 * 60.0 / (settings.music.tempo or 120.0)

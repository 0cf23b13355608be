"""Files that appear only when complete.

Outputs are written to a hidden file beside their target and renamed over it at the end, so a
failed or interrupted write never leaves a partial file under the requested name.
"""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w


def new_file_beside(path: Path) -> Path:
    """A new, empty hidden file next to ``path``, created with the usual permissions (the
    process umask applies, unlike ``tempfile.mkstemp``'s 0600: a rendered song is for sharing)."""
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate


def write_toml(path: Path, data: Mapping[str, Any], head: str = "") -> None:
    """``data`` as TOML in ``path``, whole or not at all: written beside it, flushed to disk,
    renamed over it. Unset (None) values are left out, as TOML has no null. ``OSError`` if the
    directory cannot be made or written."""
    text = head + tomli_w.dumps(_without_none(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = new_file_beside(path)
    try:
        with part.open("w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: _without_none(value)
        if isinstance(value, Mapping)
        else [_without_none(v) if isinstance(v, Mapping) else v for v in value]
        if isinstance(value, list | tuple)
        else value
        for key, value in data.items()
        if value is not None
    }

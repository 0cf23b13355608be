"""Finding and loading style files: the only part of ``jamd.styles`` that reads files.

Built-in genres live in ``jamd/styles/data/<genre>.toml``. Extra directories (a user's own
genres) are searched first, so a file there can also replace a built-in genre.
"""

import difflib
import threading
import tomllib
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import ValidationError

from jamd.errors import InputError, validation_messages
from jamd.styles.model import Style

SUFFIX = ".toml"


class StyleError(InputError):
    """A style file that cannot be used; ``problems`` holds one ``file: a.b.c: message`` each."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def load_style_file(path: Path | Traversable) -> Style:
    """Read and validate one style file; the genre's name is the file's stem."""
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise StyleError([f"{name}: cannot read: {error}"]) from error
    except tomllib.TOMLDecodeError as error:
        raise StyleError([f"{name}: not valid TOML: {error}"]) from error
    if "name" in data:
        raise StyleError([f"{name}: name: unknown key (a genre is named by its file name)"])
    try:
        return Style.model_validate({"name": name.removesuffix(SUFFIX), **data})
    except ValidationError as error:
        messages = validation_messages(error, Style)
        raise StyleError(f"{name}: {message}" for message in messages) from error


class StyleLibrary:
    """The genres available: built-in ones plus any found in ``extra_dirs``, loaded on demand
    (from any thread: each genre is read once) or all at once (``read_all``)."""

    def __init__(self, extra_dirs: Iterable[Path] = ()) -> None:
        self._files: dict[str, Path | Traversable] = {}
        builtin = resources.files("jamd.styles").joinpath("data")
        for directory in [builtin, *reversed(list(extra_dirs))]:
            for entry in sorted(directory.iterdir(), key=lambda entry: entry.name):
                if entry.is_file() and entry.name.endswith(SUFFIX):
                    self._files[entry.name.removesuffix(SUFFIX)] = entry
        self._loaded: dict[str, Style] = {}
        self._loading = threading.Lock()  # threads that ask for a genre at once get one Style

    def names(self) -> tuple[str, ...]:
        """Every genre's name, sorted."""
        return tuple(sorted(self._files))

    def loaded(self) -> tuple[str, ...]:
        """The genres read and checked so far, sorted."""
        return tuple(sorted(self._loaded))

    def get(self, name: str) -> Style:
        """The validated style of genre ``name``; unknown names get a did-you-mean."""
        if name not in self._files:
            hint = difflib.get_close_matches(name, self._files, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            raise InputError(
                f"unknown genre '{name}'{suggestion} (genres: {', '.join(self.names())})"
            )
        with self._loading:
            if name not in self._loaded:
                self._loaded[name] = load_style_file(self._files[name])
            return self._loaded[name]

    def read_all(self) -> list[InputError]:
        """Every genre read and checked now, so that ``get`` finds it later (a daemon does
        this while its engine starts: a genre's file is ~1.5 ms, its validation holding the
        GIL); the errors of those that cannot be used."""
        errors: list[InputError] = []
        for name in self.names():
            try:
                self.get(name)
            except InputError as error:
                errors.append(error)
        return errors


def load_style(name: str, extra_dirs: Iterable[Path] = ()) -> Style:
    """The style of genre ``name``, from the built-ins or ``extra_dirs``."""
    return StyleLibrary(extra_dirs).get(name)

"""Settings: config/jamd.toml, validated once into a frozen value.

Where a value comes from, lowest first: the defaults below, the config file, the environment
(``JAMD_SECTION__KEY``, e.g. ``JAMD_AUDIO__BACKEND=null``; lists as JSON), the command line
(its own flags, and ``--set section.key=value``). Every problem in all of them is reported at
once, each as ``section.key: message`` with a did-you-mean for unknown keys; the file's keys are
documented in config/jamd.toml itself.

pydantic-settings parses the environment (nested names, JSON lists); the merging and the
messages are jamd's, so a bad variable is reported like a bad line of the file.
"""

import difflib
import ipaddress
import json
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from jamd.errors import InputError, validation_messages

ENV_PREFIX = "JAMD_"
MASK = "********"
PARTS = ("drums", "bass", "keys", "pad", "lead")


class SettingsError(InputError):
    """Settings that cannot be used; ``problems`` holds every one, ``where: message``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Audio(_Section):
    backend: Literal["auto", "jack", "portaudio", "null"] = "auto"
    sample_rate: Literal[22050, 32000, 44100, 48000, 88200, 96000] = 48000
    buffer_size: Annotated[int, Field(ge=16, le=4096)] = 256
    engine: Literal["process", "inline"] = "process"
    jack_client: Annotated[str, Field(min_length=1, max_length=60)] = "jamd"
    jack_server: str = ""
    connect: tuple[str, ...] = ("system:playback_1", "system:playback_2")
    device: str = ""


class Music(_Section):
    """Where the music starts; each can be changed live."""

    genre: str = "pop"
    key: str | None = None  # None: the genre's usual key (its style model's draw, if any)
    tempo: Annotated[float, Field(ge=20, le=300)] | None = None  # None: likewise
    energy: Annotated[float, Field(ge=0, le=1)] = 0.5
    mood: Annotated[float, Field(ge=0, le=1)] = 0.5
    seed: Annotated[int, Field(ge=1)] | None = None  # None: a new one at every start


class Live(_Section):
    song_minutes: Annotated[float, Field(gt=0, le=60)] = 3.0
    count_in_bars: Annotated[int, Field(ge=0, le=4)] = 1
    genre_change: Literal["section", "bar"] = "section"
    after_song: Literal["next", "stop"] = "next"
    autoplay: bool = True


class PartMixer(_Section):
    level_db: Annotated[float, Field(ge=-60, le=12)] = 0.0
    pan: Annotated[float, Field(ge=-1, le=1)] | None = None
    reverb: Annotated[float, Field(ge=0, le=1)] | None = None
    delay: Annotated[float, Field(ge=0, le=1)] | None = None
    mute: bool = False


class Mixer(_Section):
    master_db: Annotated[float, Field(ge=-60, le=6)] = 0.0
    drums: PartMixer = PartMixer()
    bass: PartMixer = PartMixer()
    keys: PartMixer = PartMixer()
    pad: PartMixer = PartMixer()
    lead: PartMixer = PartMixer()

    def part(self, name: str) -> PartMixer:
        part: PartMixer = getattr(self, name)
        return part


class Record(_Section):
    """Recordings of the live output; ``strftime`` patterns (%Y%m%d-%H%M%S) in the names."""

    master: str = ""
    stems: str = ""


class Osc(_Section):
    """The OSC server (docs/osc.md)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9000  # 0: any free port
    allow: tuple[IPvAnyNetwork, ...] = Field(
        default_factory=lambda: (ipaddress.ip_network("127.0.0.0/8"),)
    )
    auto_subscribe: bool = True
    max_ahead_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0  # bundles' timetags
    beat_hz: Annotated[float, Field(ge=0, le=100)] = 10.0  # /jamd/beat to subscribers; 0: off
    subscriber_timeout_seconds: Annotated[float, Field(ge=0)] = 0.0  # silent ones go; 0: never
    tcp: bool = False  # also OSC over TCP (SLIP, OSC 1.1; or size-prefixed, OSC 1.0)
    tcp_port: Annotated[int, Field(ge=0, le=65535)] = 9000  # 0: any free port


class MidiChannels(_Section):
    """Each part's channel out, 1..16 as musicians count them (General MIDI drums on 10)."""

    bass: Annotated[int, Field(ge=1, le=16)] = 1
    keys: Annotated[int, Field(ge=1, le=16)] = 2
    pad: Annotated[int, Field(ge=1, le=16)] = 3
    lead: Annotated[int, Field(ge=1, le=16)] = 4
    drums: Annotated[int, Field(ge=1, le=16)] = 10


class Midi(_Section):
    """MIDI in (docs/midi.md)."""

    enabled: bool = True
    api: Literal["alsa", "jack"] = "alsa"  # jack: the server audio.jack_server names
    inputs: tuple[str, ...] = ("*",)  # port name patterns to open (any case); "*": every port
    virtual_input: str = "jamd in"  # "": none
    map: Path | None = None  # None: config/midi/default.toml as installed
    rescan_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0  # ports that come and go
    learned: Path | None = None  # MIDI learn's file; None: midi/learned.toml in the state dir
    virtual_output: str = "jamd out"  # the parts' notes out; "": none
    outputs: tuple[str, ...] = ()  # port name patterns the parts' notes also go to
    channels: MidiChannels = MidiChannels()
    # MIDI clock (docs/midi.md): internal (jamd keeps its own time, sends none), follow (a
    # master's clock on any input), send (jamd's clock on its outputs), or both
    clock: Literal["internal", "follow", "send", "follow-and-send"] = "internal"
    # how far jamd's beats trail the master's when following; None: as little as the engine
    # allows (its lead and 20 ms)
    clock_delay_ms: Annotated[float, Field(ge=0, le=1000)] | None = None

    @property
    def follows_clock(self) -> bool:
        return self.clock in ("follow", "follow-and-send")

    @property
    def sends_clock(self) -> bool:
        return self.clock in ("send", "follow-and-send")


class Link(_Section):
    """Ableton Link (docs/clock.md): jamd joins the session on the local network, follows and
    sets its tempo, and puts its bar lines on the session's (Link phase 0)."""

    enabled: bool = False
    # beats per session bar; None: the beats per bar of the song playing
    quantum: Annotated[float, Field(gt=0, le=64)] | None = None
    start_stop: bool = True  # share play and stop with the peers that do too


PartName = Literal["drums", "bass", "keys", "pad", "lead"]  # jamd.compose.Part's values


class Band(_Section):
    """Several jamd instances playing one song (docs/band.md): this one plays ``parts`` (none
    named: all of them); a command given to it is shared with ``peers`` (their OSC addresses,
    ``host:port``) and lands on the same Link bar in all of them, ``ahead_ms`` after it was
    given at the earliest (time for it to reach them). ``name`` tells this one from its peers
    (empty: the host and port of its OSC server)."""

    parts: tuple[PartName, ...] = ()
    peers: tuple[str, ...] = ()
    name: str = ""
    ahead_ms: Annotated[float, Field(ge=0, le=2000)] = 80.0

    @field_validator("peers")
    @classmethod
    def _addresses(cls, peers: tuple[str, ...]) -> tuple[str, ...]:
        for peer in peers:
            host, colon, port = peer.rpartition(":")
            if not colon or not host or not port.isdigit() or not 0 < int(port) <= 65535:
                raise ValueError(f"a peer is host:port, such as 127.0.0.1:9001; got {peer!r}")
        return peers

    @property
    def enabled(self) -> bool:
        return bool(self.peers or self.parts)


class Log(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Paths(_Section):
    patches: tuple[Path, ...] = ()
    styles: tuple[Path, ...] = ()
    presets: Path | None = None  # None: presets/ in the state directory (presets_dir)
    database: Path | None = None  # the store; None: jamd.sqlite3 in the state directory


class Spotify(_Section):
    """The Spotify Web API source: client credentials (here, in the environment as
    ``SPOTIPY_CLIENT_ID``/``SPOTIPY_CLIENT_SECRET``, or in ``credentials_file``), and how far
    each refresh goes. ``api_url`` and ``token_url`` are Spotify's own unless a test says not."""

    enabled: bool = False
    client_id: SecretStr = SecretStr("")
    client_secret: SecretStr = SecretStr("")
    credentials_file: Path | None = None
    market: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    tracks_per_genre: Annotated[int, Field(ge=1, le=1000)] = 100
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    retry_after_cap_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    attempts: Annotated[int, Field(ge=1, le=20)] = 5
    api_url: str = "https://api.spotify.com/v1/"
    token_url: str = "https://accounts.spotify.com/api/token"


class MidiLibrary(_Section):
    """The local MIDI library source: folders of .mid files; a file's genre is the first
    folder name on its path that names a genre, unless ``genre_map`` (a TOML sidecar of
    ``"path/under/a/folder" = "genre"``) says otherwise."""

    folders: tuple[Path, ...] = ()
    genre_map: Path | None = None
    max_files: Annotated[int, Field(ge=1, le=1_000_000)] = 100_000


class Training(_Section):
    """The side task that refreshes training data into the store, and what it learns from."""

    enabled: bool = True
    refresh_on_start: bool = True  # when the last refresh is older than refresh_hours
    refresh_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 24.0  # 0: only when asked
    workers: Annotated[int, Field(ge=1, le=64)] = 1  # processes that parse MIDI files
    sources: tuple[Literal["spotify", "midi"], ...] = ("spotify", "midi")
    spotify: Spotify = Spotify()
    midi: MidiLibrary = MidiLibrary()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
    )

    audio: Audio = Audio()
    music: Music = Music()
    live: Live = Live()
    mixer: Mixer = Mixer()
    record: Record = Record()
    osc: Osc = Osc()
    midi: Midi = Midi()
    link: Link = Link()
    band: Band = Band()
    log: Log = Log()
    paths: Paths = Paths()
    training: Training = Training()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: Any,  # noqa: ARG003
        init_settings: Any,
        env_settings: Any,  # noqa: ARG003
        dotenv_settings: Any,  # noqa: ARG003
        file_secret_settings: Any,  # noqa: ARG003
    ) -> Any:
        return (init_settings,)  # every source is merged by load_settings, in its order


SECTIONS = tuple(Settings.model_fields)


Check = Callable[[Mapping[str, Any]], list[tuple[str, str]]]
"""Checks pydantic cannot make (a genre that exists): (dotted key, message) for the merged
values, run whether or not the rest validates, so every problem is reported at once."""


def load_settings(
    path: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    check: Check | None = None,
) -> Settings:
    """Defaults < the file at ``path`` < the environment < ``overrides`` (dotted keys)."""
    problems: list[str] = []
    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}  # where each value came from, for the messages
    if path is not None:
        try:
            _merge(data, tomllib.loads(path.read_text(encoding="utf-8")), origins, str(path))
        except FileNotFoundError:
            problems.append(f"{path}: no such config file")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path}: cannot read: {error}")
        except tomllib.TOMLDecodeError as error:
            problems.append(f"{path}: not valid TOML: {error}")
    environment = dict(os.environ if environ is None else environ)
    problems += _unknown_variables(environment)
    _merge(data, _from_environment(environment, problems), origins, "environment")
    for dotted, value in (overrides or {}).items():
        _merge(data, _nested(dotted.split("."), value), origins, "command line")

    def origin_of(dotted: str) -> str:
        where = tuple(dotted.split("."))
        return next(
            (origins[where[:n]] for n in range(len(where), 0, -1) if where[:n] in origins),
            str(path) if path is not None else "defaults",
        )

    try:
        settings = Settings(**data)
    except ValidationError as error:
        for message in validation_messages(error, Settings):
            problems.append(f"{origin_of(message.split(':', 1)[0])}: {message}")
    for dotted, message in check(data) if check is not None else []:
        problems.append(f"{origin_of(dotted)}: {dotted}: {message}")
    if problems:
        raise SettingsError(problems)
    return settings


def parse_assignment(text: str) -> tuple[str, Any]:
    """``section.key=value`` from ``--set``; the value is read as TOML (``128``, ``"jazz"``,
    ``true``, ``["a", "b"]``), else taken as text."""
    dotted, equals, raw = text.partition("=")
    if not equals or "." not in dotted:
        raise SettingsError([f"--set {text}: expected section.key=value, e.g. music.tempo=128"])
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return dotted.strip(), value


def dump_settings(settings: Settings) -> str:
    """The effective settings as TOML, secrets masked, unset values as comments."""
    data = settings.model_dump(mode="json")
    masked = _mask(settings, data)
    lines: list[str] = []
    for section, values in masked.items():
        lines.append(f"[{section}]")
        nested: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, dict):
                nested[key] = value
            elif value is None:
                lines.append(f"# {key} = (not set)")
            else:
                lines.append(tomli_w.dumps({key: value}).strip())
        lines.append("")
        for key, table in nested.items():
            lines.append(f"[{section}.{key}]")
            for name, value in table.items():
                if value is None:
                    lines.append(f"# {name} = (not set)")
                else:
                    lines.append(tomli_w.dumps({name: value}).strip())
            lines.append("")
    return "\n".join(lines)


def _mask(model: BaseModel, data: dict[str, Any]) -> dict[str, Any]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            data[name] = MASK if value.get_secret_value() else ""
        elif isinstance(value, BaseModel):
            data[name] = _mask(value, data[name])
    return data


def _from_environment(environ: dict[str, str], problems: list[str]) -> dict[str, Any]:
    source = EnvSettingsSource(Settings, env_parse_none_str="")
    source.env_vars = {key.lower(): value for key, value in environ.items()}
    try:
        values: dict[str, Any] = source()
    except (ValueError, json.JSONDecodeError) as error:
        problems.append(f"environment: {error}")
        return {}
    return values


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``JAMD_`` variables naming no section: a typo would otherwise be ignored silently."""
    problems = []
    for name in environ:
        if not name.startswith(ENV_PREFIX):
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in SECTIONS:
            hint = difflib.get_close_matches(section, SECTIONS, n=1)
            better = f"; did you mean {ENV_PREFIX}{hint[0].upper()}__...?" if hint else ""
            problems.append(
                f"{name}: no settings section '{section}'{better} (sections: {', '.join(SECTIONS)})"
            )
    return problems


def _nested(keys: list[str], value: Any) -> dict[str, Any]:
    result: Any = value
    for key in reversed(keys):
        result = {key: result}
    nested: dict[str, Any] = result
    return nested


def _merge(
    into: dict[str, Any],
    extra: Mapping[str, Any],
    origins: dict[tuple[str, ...], str],
    origin: str,
    at: tuple[str, ...] = (),
) -> None:
    for key, value in extra.items():
        here = (*at, str(key))
        if isinstance(value, Mapping):
            if not isinstance(into.get(key), dict):
                into[key] = {}
            _merge(into[key], value, origins, origin, here)
        else:
            into[key] = value
            named = f"{ENV_PREFIX}{'__'.join(here).upper()}"  # the variable itself
            origins[here] = named if origin == "environment" else origin

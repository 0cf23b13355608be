"""The ``jamd`` command line.

Exit status: 0 on success, 2 for input jamd cannot accept (one clear line per problem on stderr,
naming what is allowed), 1 for anything else.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jamd import __version__
from jamd.errors import InputError
from jamd.logs import LEVELS

if TYPE_CHECKING:
    from jamd.settings import Settings

EXIT_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jamd", description="Generative, genre-aware music, live and offline."
    )
    parser.add_argument("--version", action="version", version=f"jamd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    render = commands.add_parser(
        "render",
        help="compose a song and render it to WAV, stems and MIDI",
        description="Compose a song and render it offline, much faster than real time. "
        "The same arguments and seed give the same files.",
    )
    render.add_argument(
        "--genre",
        help="pop, rock, jazz, electronic, hip-hop, "
        "classical, country, blues (or a genre file of your own); required unless --song",
    )
    render.add_argument(
        "--song",
        type=int,
        metavar="ID",
        help="render a song jamd played (jamd songs lists them): its genre, key, tempo, "
        "energy, duration and seed, unless given here",
    )
    _database_arguments(render)
    render.add_argument(
        "--key", help="e.g. C, F#m, Bb, 'Eb minor', 'D dorian' (default: the genre's)"
    )
    render.add_argument(
        "--tempo", type=float, help="quarter-note BPM, 20..300 (default: the genre's)"
    )
    render.add_argument("--duration", type=float, help="seconds, up to 3600 (default 30)")
    render.add_argument("--seed", type=int, help="same seed, same song (default 1)")
    render.add_argument("--energy", type=float, help="overall intensity 0..1 (default 0.5)")
    render.add_argument("--out", type=Path, help="stereo WAV of the mix")
    render.add_argument("--midi", type=Path, help="Standard MIDI File, one track per part")
    render.add_argument("--stems", type=Path, help="directory for one WAV per part, plus fx.wav")
    render.add_argument("--sample-rate", type=int, default=48000, help="Hz (default 48000)")
    render.add_argument(
        "--no-model",
        action="store_true",
        help="plan from the genre file alone, not the style model the store (--db) holds",
    )
    render.add_argument(
        "--styles",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra directory of genre files (may repeat)",
    )
    render.set_defaults(handler=_render)

    run = commands.add_parser(
        "run",
        help="play live: the daemon (systemd service or a terminal)",
        description="Play endlessly, song after song, steered live. SIGTERM or Ctrl-C fades out "
        "and stops; SIGHUP reloads the config and the patches without a gap.",
    )
    _settings_arguments(run)
    audio = run.add_argument_group("audio")
    audio.add_argument(
        "--audio", metavar="BACKEND", help="auto, jack, portaudio or null (audio.backend)"
    )
    audio.add_argument("--engine", choices=("process", "inline"), help="audio.engine")
    audio.add_argument("--sample-rate", type=int, help="Hz (audio.sample_rate)")
    audio.add_argument("--buffer-size", type=int, help="frames (audio.buffer_size)")
    audio.add_argument("--jack-client", help="JACK client name (audio.jack_client)")
    audio.add_argument("--jack-server", help="JACK server name (audio.jack_server)")
    audio.add_argument("--record", metavar="FILE", help="record the master to a WAV file")
    audio.add_argument("--record-stems", metavar="DIR", help="record each part to DIR/<part>.wav")
    osc = run.add_argument_group("OSC (docs/osc.md)")
    osc.add_argument("--osc-host", metavar="HOST", help="address to listen on (osc.host)")
    osc.add_argument("--osc-port", type=int, metavar="PORT", help="UDP port (osc.port)")
    run.add_argument(
        "--midi-api", choices=("alsa", "jack"), help="MIDI through ALSA or JACK (midi.api)"
    )
    run.add_argument(
        "--clock",
        choices=("internal", "follow", "send", "follow-and-send"),
        help="MIDI clock: keep jamd's own, follow a master, send jamd's, or both (midi.clock)",
    )
    run.add_argument(
        "--link",
        action="store_const",
        const=True,
        help="join the Ableton Link session on the network (link.enabled; docs/clock.md)",
    )
    music = run.add_argument_group("music (where it starts; all can change live)")
    music.add_argument("--genre", help="music.genre")
    music.add_argument("--key", help="music.key, e.g. F#m")
    music.add_argument("--tempo", type=float, help="music.tempo, BPM")
    music.add_argument("--energy", type=float, help="music.energy, 0..1")
    music.add_argument("--seed", type=int, help="music.seed: the first song's seed")
    run.set_defaults(handler=_run)

    songs = commands.add_parser(
        "songs",
        help="list the songs jamd played, newest first (docs/store.md)",
        description="The songs jamd run played, from its store: each can be rendered again "
        "(jamd render --song ID) or played again (OSC /jamd/song/replay ID).",
    )
    _database_arguments(songs)
    songs.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    songs.set_defaults(handler=_songs)

    config = commands.add_parser(
        "config",
        help="print the effective configuration (secrets masked)",
        description="Print the configuration jamd run would use, after the file, the "
        "environment (JAMD_SECTION__KEY) and --set; errors exit with status 2.",
    )
    _settings_arguments(config)
    config.set_defaults(handler=_config)

    send = commands.add_parser(
        "send",
        help="send one OSC message to a running jamd (docs/osc.md)",
        description="Send one OSC message, e.g. `jamd send /jamd/tempo 128`; print what jamd "
        "answers (/jamd/state's values, or an error: then exit status 1).",
    )
    send.add_argument("address", help="e.g. /jamd/tempo")
    send.add_argument("values", nargs="*", help="128 is an int, 0.5 a float, others strings")
    _jamd_address(send)
    send.add_argument("--string", action="store_true", help="send every value as a string")
    send.add_argument(
        "--wait", type=float, default=0.3, help="seconds to wait for answers (default 0.3)"
    )
    send.set_defaults(handler=_send)

    midi = commands.add_parser(
        "midi", help="MIDI ports (docs/midi.md)", description="What jamd sees of MIDI."
    )
    midi_commands = midi.add_subparsers(dest="midi_command", required=True)
    ports = midi_commands.add_parser(
        "ports",
        help="list the MIDI ports jamd can listen to and send to",
        description="List the MIDI inputs and outputs of an API, as midi.inputs patterns "
        "match them.",
    )
    ports.add_argument("--api", choices=("alsa", "jack"), default="alsa", help="default alsa")
    ports.add_argument("--jack-server", default="", help="the JACK server (default: default)")
    ports.set_defaults(handler=_midi_ports)
    learn = midi_commands.add_parser(
        "learn",
        help="map the next MIDI control moved to a target, and save it",
        description="Ask a running jamd to map the next MIDI control moved (a knob, a fader, "
        "a pad) to TARGET, an OSC control address such as /jamd/energy; wait for it.",
    )
    learn.add_argument("target", help="an OSC control address (docs/osc.md)")
    _jamd_address(learn)
    learn.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (30)")
    learn.set_defaults(handler=_midi_learn)

    train = commands.add_parser(
        "train",
        help="refresh the training data now and fit the style models (docs/training.md)",
        description="Read training data (a MIDI library, Spotify) into the store, genre by "
        "genre, and fit each genre's style model from what the store holds. A running jamd "
        "plays the new models from its next section.",
    )
    train.add_argument(
        "--source",
        action="append",
        choices=("midi", "spotify"),
        help="the source to read (may repeat; default: those training.sources names)",
    )
    train.add_argument(
        "--path",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a MIDI library folder, instead of training.midi.folders (may repeat)",
    )
    train.add_argument(
        "--genre",
        action="append",
        dest="genres",
        help="only this genre (may repeat; default: every genre)",
    )
    train.add_argument("--db", type=Path, metavar="FILE", help="the store (paths.database)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    _settings_arguments(train)
    train.set_defaults(handler=_train)

    doctor = commands.add_parser(
        "doctor",
        help="check the audio, JACK, realtime limits, MIDI and the config",
        description="Check what jamd needs from this machine and say what to fix; exit status "
        "1 if something the config asks for cannot work.",
    )
    _settings_arguments(doctor)
    doctor.set_defaults(handler=_doctor)
    return parser


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, metavar="FILE", help="the store (default: paths.database of --config)"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="config file (TOML)")


def _jamd_address(parser: argparse.ArgumentParser) -> None:
    """Where a running jamd listens for OSC."""
    parser.add_argument("--host", default="127.0.0.1", help="jamd's osc.host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="jamd's osc.port (default 9000)")


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="config file (TOML)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one setting, e.g. --set music.tempo=128 (may repeat)",
    )
    parser.add_argument("--log-level", choices=LEVELS, help="log.level")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    try:
        handler = arguments.handler
        status: int = handler(arguments)
    except InputError as error:
        for line in str(error).splitlines():
            print(f"jamd {arguments.command}: error: {line}", file=sys.stderr)
        return EXIT_INPUT
    return status


def _render(arguments: argparse.Namespace) -> int:
    # Imported here, not at the top: they load pyo, numpy and pydantic, which other commands
    # (and --help) do not need.
    from jamd.render import RenderRequest, describe_plan, render  # noqa: PLC0415
    from jamd.styles.library import StyleLibrary  # noqa: PLC0415

    extra_styles = list(arguments.styles)
    if arguments.song is not None:
        record = _read_store(arguments, lambda store: store.song(arguments.song))
        if record is None:
            raise InputError(f"no song {arguments.song} in the store (jamd songs lists them)")
        params = record.params
        for name in ("genre", "key", "tempo", "duration", "energy"):
            if getattr(arguments, name) is None:
                setattr(arguments, name, params.get(name))
        if arguments.seed is None:
            arguments.seed = record.seed
        if params.get("genre") == arguments.genre:
            arguments.model_version = params.get("model")  # the model it was played with
        extra_styles += [Path(path) for path in params.get("styles", [])]
    if arguments.genre is None:
        raise InputError("give --genre (or --song ID)")
    styles = StyleLibrary(extra_styles)
    styles.get(arguments.genre)  # an unknown genre is the error, not the store
    model, model_line = (None, "none (--no-model)")
    if not arguments.no_model:
        model, model_line = _stored_model(arguments, arguments.genre)
    request = RenderRequest(
        genre=arguments.genre,
        key=arguments.key,
        tempo=arguments.tempo,
        duration=30.0 if arguments.duration is None else arguments.duration,
        seed=1 if arguments.seed is None else arguments.seed,
        energy=0.5 if arguments.energy is None else arguments.energy,
        out=arguments.out,
        midi=arguments.midi,
        stems=arguments.stems,
        sample_rate=arguments.sample_rate,
        model=model,
    )
    result = render(request, styles=styles)
    plan = result.song.plan
    numerator, denominator = plan.meter
    music = plan.total_bars * plan.beats_per_bar * 60.0 / plan.tempo
    print(
        f"{request.genre} in {plan.key.name}, {plan.tempo:g} BPM, {numerator}/{denominator}, "
        f"seed {request.seed}, energy {request.energy:g}: {plan.total_bars} bars, "
        f"{music:.1f} s of music in {request.duration:g} s"
    )
    for line in describe_plan(plan):
        print(line)
    instruments = " ".join(
        f"{part}={name}" for part, name in result.song.arrangement.patches.items()
    )
    print(f"instruments: {instruments}")
    print(f"style model: {model_line}")
    speed = ""
    if result.report is not None:
        report = result.report
        speed = f"; engine {report.engine_seconds:.3f} s, {report.realtime_factor:.1f}x real time"
        if report.loudness_lufs is not None:
            passes = "once" if report.master_passes == 1 else f"{report.master_passes} times"
            how = f"levelled {report.correction_db:+.1f} dB: the master chain ran {passes}"
            print(f"master: {report.loudness_lufs:.1f} LUFS integrated ({how})")
        if report.unmapped_drum_notes:
            print(
                f"warning: {report.unmapped_drum_notes} drum notes have no piece in the kit "
                "and were not played",
                file=sys.stderr,
            )
    files = ", ".join(str(path) for path in result.written)
    print(f"wrote {files} in {result.seconds:.2f} s{speed}")
    return 0


_FLAGS = {
    "audio": "audio.backend",
    "engine": "audio.engine",
    "sample_rate": "audio.sample_rate",
    "buffer_size": "audio.buffer_size",
    "jack_client": "audio.jack_client",
    "jack_server": "audio.jack_server",
    "record": "record.master",
    "record_stems": "record.stems",
    "osc_host": "osc.host",
    "osc_port": "osc.port",
    "midi_api": "midi.api",
    "clock": "midi.clock",
    "link": "link.enabled",
    "genre": "music.genre",
    "key": "music.key",
    "tempo": "music.tempo",
    "energy": "music.energy",
    "seed": "music.seed",
    "log_level": "log.level",
}


def _load(arguments: argparse.Namespace) -> tuple["Settings", dict[str, object]]:
    from jamd.app.config import read_settings  # noqa: PLC0415
    from jamd.settings import parse_assignment  # noqa: PLC0415

    overrides: dict[str, object] = dict(parse_assignment(text) for text in arguments.set)
    for flag, dotted in _FLAGS.items():
        value = getattr(arguments, flag, None)
        if value is not None:
            overrides[dotted] = value
    return read_settings(arguments.config, overrides), overrides


def _run(arguments: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from jamd.engine.process import EngineProcess  # noqa: PLC0415  (stdlib only, on purpose)

    # the engine's process starts first: it loads pyo while this one reads its settings
    engine = None if arguments.engine == "inline" else EngineProcess.spawn()
    try:
        settings, overrides = _load(arguments)
    except InputError:
        if engine is not None:
            asyncio.run(engine.close())
        raise
    from jamd.app.config import configure_engine, resolve_recording  # noqa: PLC0415
    from jamd.logs import configure_logging  # noqa: PLC0415

    configure_logging(settings.log.level)
    try:
        recording = resolve_recording(settings.record.master, settings.record.stems)
    except InputError:
        if engine is not None:
            asyncio.run(engine.close())
        raise
    if engine is not None and settings.audio.engine == "inline":
        asyncio.run(engine.close())
        engine = None
    if engine is not None:
        configure_engine(engine, settings, recording)
    from jamd.app.daemon import run_daemon  # noqa: PLC0415

    return asyncio.run(
        run_daemon(
            settings,
            config=arguments.config,
            overrides=overrides,
            recording=recording,
            engine=engine,
        )
    )


def _stored_model(arguments: argparse.Namespace, genre: str) -> tuple[Any, str]:
    """The genre's latest style model in the store ``--db`` (or the config's) names, and a line
    saying which; none when the store is not there (unless named) or holds none for the genre,
    or (a warning) when the stored one is broken."""
    from jamd.app.config import database_path, read_settings  # noqa: PLC0415
    from jamd.compose import StyleModel  # noqa: PLC0415

    if arguments.db is None:
        try:
            path = database_path(read_settings(arguments.config))
        except InputError:
            if arguments.config is not None:
                raise
            return None, "none (the config does not read, so no store is known)"
        if not path.is_file():
            return None, f"none (no store at {path}: the genre file alone)"
    stats = None
    version = getattr(arguments, "model_version", None)  # --song: the one it played with
    if isinstance(version, int) and not isinstance(version, bool):
        stats = _read_store(arguments, lambda store: store.style(genre, version))
        if stats is None:
            print(
                f"jamd render: warning: the song played {genre} model v{version}, which the "
                "store no longer holds: its latest plays",
                file=sys.stderr,
            )
    if stats is None:
        stats = _read_store(arguments, lambda store: store.latest_style(genre))
    if stats is None:
        return None, f"none (the store holds none for {genre}: the genre file alone)"
    try:
        model = StyleModel.from_dict(stats.model).with_version(stats.version)
    except InputError as error:
        print(
            f"jamd render: warning: the stored {genre} model v{stats.version} is broken, "
            f"the genre file plays alone: {error}",
            file=sys.stderr,
        )
        return None, f"none (the stored v{stats.version} is broken)"
    return model, f"{genre} v{stats.version} ({stats.samples} samples) from the store"


def _read_store(arguments: argparse.Namespace, read: Any) -> Any:
    """What ``read(store)`` gives from the store ``--db`` (or the config's) names; the file
    must exist (reading never makes one)."""
    import asyncio  # noqa: PLC0415

    from jamd.app.config import database_path, read_settings  # noqa: PLC0415
    from jamd.store import Store  # noqa: PLC0415

    path = arguments.db or database_path(read_settings(arguments.config))
    if not path.is_file():
        raise InputError(f"no store at {path} (jamd run makes it; --db names another)")

    async def go() -> Any:
        async with await Store.open(path) as store:
            return await read(store)

    return asyncio.run(go())


def _songs(arguments: argparse.Namespace) -> int:
    from datetime import datetime  # noqa: PLC0415

    songs, feedback = _read_store(
        arguments, lambda store: _songs_and_feedback(store, arguments.limit)
    )
    if not songs:
        print("no songs yet")
        return 0
    print(f"{'id':>5}  {'started':19}  {'genre':10} {'key':12} {'tempo':>6} {'energy':>6} "
          f"{'seed':>11} {'played':>7}  likes skips")  # fmt: skip
    for song in songs:
        params = song.params
        started = datetime.fromtimestamp(song.started_at).strftime("%Y-%m-%d %H:%M:%S")
        played = "playing"
        if song.ended_at is not None:
            seconds = round(song.ended_at - song.started_at)
            played = f"{seconds // 60}:{seconds % 60:02d}"
        likes = sum(1 for f in feedback if f.song_id == song.id and f.kind == "like")
        skips = sum(1 for f in feedback if f.song_id == song.id and f.kind == "skip")
        print(
            f"{song.id:>5}  {started:19}  {params.get('genre', '?'):10} "
            f"{params.get('key', '?'):12} {params.get('tempo', 0):>6g} "
            f"{params.get('energy', 0):>6g} {song.seed:>11} {played:>7}  {likes:>5} {skips:>5}"
        )
    return 0


async def _songs_and_feedback(store: Any, limit: int) -> tuple[Any, Any]:
    return await store.songs(limit), await store.feedback()


def _config(arguments: argparse.Namespace) -> int:
    from jamd.settings import dump_settings  # noqa: PLC0415

    settings, _ = _load(arguments)
    print(dump_settings(settings), end="")
    return 0


def _send(arguments: argparse.Namespace) -> int:
    from jamd.osc.client import send, typed  # noqa: PLC0415

    values = [value if arguments.string else typed(value) for value in arguments.values]
    replies = send(arguments.host, arguments.port, arguments.address, values, wait=arguments.wait)
    failed = False
    for address, args in replies:
        if address == "/jamd/error":
            failed = True
            where, text = [*args, "", ""][:2]
            print(f"jamd send: error: {where or arguments.address}: {text}", file=sys.stderr)
        else:
            print(address, *args)
    return 1 if failed else 0


def _midi_ports(arguments: argparse.Namespace) -> int:
    from jamd.midi.ports import MidiUnavailable, list_ports, use_jack_server  # noqa: PLC0415

    if arguments.api == "jack":
        use_jack_server(arguments.jack_server)
    try:
        inputs, outputs = list_ports(arguments.api)
    except MidiUnavailable as error:
        raise InputError(str(error)) from None
    for title, names in (
        ("inputs (jamd can listen to)", inputs),
        ("outputs (jamd can send to)", outputs),
    ):
        print(f"{title}:")
        for name in names or ["(none)"]:
            print(f"  {name}")
    return 0


def _midi_learn(arguments: argparse.Namespace) -> int:
    from jamd.osc.client import send  # noqa: PLC0415

    print(f"move the MIDI control that should drive {arguments.target}", flush=True)
    replies = send(
        arguments.host,
        arguments.port,
        "/jamd/midi/learn",
        [arguments.target],
        wait=arguments.timeout,
        until=("/jamd/midi/learned", "/jamd/error"),
    )
    for address, args in replies:
        if address == "/jamd/error":
            print(f"jamd midi learn: error: {args[1] if len(args) > 1 else args}", file=sys.stderr)
            return 1
        if address == "/jamd/midi/learned" and args[:1] == (arguments.target,):
            print(f"{args[1]} drives {arguments.target} (saved)")
            return 0
    print(f"jamd midi learn: nothing moved in {arguments.timeout:g} s", file=sys.stderr)
    return 1


def _train(arguments: argparse.Namespace) -> int:
    from jamd.app.training import run_train  # noqa: PLC0415

    if arguments.path and arguments.source and "midi" not in arguments.source:
        raise InputError("--path names MIDI library folders: use it with --source midi")
    settings, _ = _load(arguments)
    result = run_train(
        settings=settings,
        sources=arguments.source or (["midi"] if arguments.path else None),
        midi_folders=arguments.path,
        genres=arguments.genres,
        database=arguments.db,
        progress=not arguments.no_progress,
    )
    failed = any(result_genre.errors for result_genre in result.genres)
    return 1 if failed else 0


def _doctor(arguments: argparse.Namespace) -> int:
    from jamd.app.doctor import diagnose  # noqa: PLC0415
    from jamd.logs import configure_logging  # noqa: PLC0415
    from jamd.settings import parse_assignment  # noqa: PLC0415

    configure_logging("error")
    overrides: dict[str, object] = dict(parse_assignment(text) for text in arguments.set)
    findings = diagnose(arguments.config, overrides)
    for finding in findings:
        print(finding)
    failed = sum(finding.level == "fail" for finding in findings)
    warned = sum(finding.level == "warn" for finding in findings)
    print(f"{failed} to fix, {warned} to consider" if failed or warned else "all good")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

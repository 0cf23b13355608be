"""The ``jamd`` command line.

Exit status: 0 on success, 2 for input jamd cannot accept (one clear line per problem on stderr,
naming what is allowed), 1 for anything else.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from jamd import __version__
from jamd.errors import InputError

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
        required=True,
        help="pop, rock, jazz, electronic, hip-hop, "
        "classical, country, blues (or a genre file of your own)",
    )
    render.add_argument(
        "--key", help="e.g. C, F#m, Bb, 'Eb minor', 'D dorian' (default: the genre's)"
    )
    render.add_argument(
        "--tempo", type=float, help="quarter-note BPM, 20..300 (default: the genre's)"
    )
    render.add_argument(
        "--duration", type=float, default=30.0, help="seconds, up to 3600 (default 30)"
    )
    render.add_argument("--seed", type=int, default=1, help="same seed, same song (default 1)")
    render.add_argument(
        "--energy", type=float, default=0.5, help="overall intensity 0..1 (default 0.5)"
    )
    render.add_argument("--out", type=Path, help="stereo WAV of the mix")
    render.add_argument("--midi", type=Path, help="Standard MIDI File, one track per part")
    render.add_argument("--stems", type=Path, help="directory for one WAV per part, plus fx.wav")
    render.add_argument("--sample-rate", type=int, default=48000, help="Hz (default 48000)")
    render.add_argument(
        "--styles",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra directory of genre files (may repeat)",
    )
    render.set_defaults(handler=_render)
    return parser


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

    request = RenderRequest(
        genre=arguments.genre,
        key=arguments.key,
        tempo=arguments.tempo,
        duration=arguments.duration,
        seed=arguments.seed,
        energy=arguments.energy,
        out=arguments.out,
        midi=arguments.midi,
        stems=arguments.stems,
        sample_rate=arguments.sample_rate,
    )
    result = render(request, styles=StyleLibrary(arguments.styles))
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
    speed = ""
    if result.report is not None:
        report = result.report
        speed = f"; engine {report.engine_seconds:.3f} s, {report.realtime_factor:.1f}x real time"
        if report.unmapped_drum_notes:
            print(
                f"warning: {report.unmapped_drum_notes} drum notes have no piece in the kit "
                "and were not played",
                file=sys.stderr,
            )
    files = ", ".join(str(path) for path in result.written)
    print(f"wrote {files} in {result.seconds:.2f} s{speed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

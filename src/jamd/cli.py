"""The ``jamd`` command line."""

import argparse
import sys
from collections.abc import Sequence

from jamd import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jamd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"jamd {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``relu-course`` command: one verb per module (build, grade, ...)."""
from __future__ import annotations

import argparse
import sys

from . import __version__
from .commands import build, check, export, feedback, grade, gradescope_bundle, release

VERBS = (build, check, grade, export, feedback, gradescope_bundle, release)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="relu-course", description="Build, check and grade the ReLU course.")
    top.add_argument("--version", action="version", version=f"relu-course {__version__}")
    verbs = top.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        sub = verbs.add_parser(verb.NAME, help=verb.HELP, description=verb.__doc__)
        verb.add_arguments(sub)
        sub.set_defaults(run=verb.run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("relu-course: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

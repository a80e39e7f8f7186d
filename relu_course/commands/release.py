"""Write the student bundle to OUT: the student notebooks, the relu_course package, the files to
install it and a student README. It is refused, naming each line, if any line of solution code
or of a hidden test is in it; then nothing is written."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import fail
from ..course import CourseNotFound, find_course
from ..release import ReleaseError, release

NAME = "release"
HELP = "write the student bundle (refused if a solution or a hidden test is in it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT", help="a new folder for the bundle")
    parser.add_argument("--course", type=Path, metavar="DIR", help="the course directory (default: found from here)")


def run(args: argparse.Namespace) -> int:
    try:
        found = release(find_course(args.course), args.out)
    except (CourseNotFound, ReleaseError, OSError) as exc:
        return fail(NAME, str(exc))
    if found:
        for leak in found:
            print(f"relu-course release: leak: {leak.line()}", file=sys.stderr)
        print(f"relu-course release: refused: {len(found)} line(s) of solution code or hidden tests would reach "
              f"students; nothing was written", file=sys.stderr)
        return 1
    print(f"wrote the student bundle to {args.out}")
    return 0

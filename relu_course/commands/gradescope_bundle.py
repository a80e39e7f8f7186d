"""Write the autograder zip to upload to Gradescope for one assignment: setup.sh installs the
pinned environment, run_autograder grades /autograder/submission/*.ipynb into
/autograder/results/results.json with the hidden tests (their output hidden until published)."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import fail
from ..course import CourseNotFound, find_course
from ..gradescope import write_bundle

NAME = "gradescope-bundle"
HELP = "write the Gradescope autograder zip of an assignment"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", metavar="ASSIGNMENT", help="e.g. 01_activations")
    parser.add_argument("out", type=Path, metavar="OUT.zip")
    parser.add_argument("--course", type=Path, metavar="DIR", help="the course directory (default: found from here)")


def run(args: argparse.Namespace) -> int:
    try:
        names = write_bundle(find_course(args.course), args.assignment, args.out)
    except (CourseNotFound, ValueError, OSError) as exc:
        return fail(NAME, str(exc))
    print(f"wrote {args.out} ({len(names)} files); upload it as the assignment's autograder on Gradescope")
    return 0

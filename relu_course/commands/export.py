"""Export the stored grades of a class: ``--format csv`` (a row per student and assignment, a column
per exercise, totals) or ``--format gradescope`` (a results.json per submission, in Gradescope's
format, the hidden tests' output hidden until published)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import exports
from ..gradebook import GradebookError, read_graded
from . import class_options, fail

NAME = "export"
HELP = "export a class's grades as CSV or as Gradescope results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    class_options.add_arguments(parser)
    parser.add_argument("--format", choices=("csv", "gradescope"), default="csv", help="default: %(default)s")
    parser.add_argument("-o", "--output", type=Path, metavar="PATH",
                        help="the CSV file ('-' for stdout; default COURSE_DIR/exports/grades.csv) or the folder "
                             "for Gradescope's files (default COURSE_DIR/exports/gradescope)")


def run(args: argparse.Namespace) -> int:
    try:
        url = class_options.gradebook(args)
        graded = read_graded(url, args.assignment)
    except (ValueError, GradebookError) as exc:
        return fail(NAME, str(exc))
    if args.format == "csv":
        if str(args.output) == "-":
            exports.write_csv(graded, sys.stdout)
            return 0
        target = args.output or args.class_dir / "exports" / "grades.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", newline="", encoding="utf-8") as out:
            rows = exports.write_csv(graded, out)
        print(f"wrote {rows} rows to {target}")
        return 0
    folder = args.output or args.class_dir / "exports" / "gradescope"
    try:
        written = exports.write_gradescope(graded, folder)
    except ValueError as exc:
        return fail(NAME, str(exc))
    print(f"wrote {len(written)} results.json files under {folder}")
    return 0

"""Grade notebooks with the hidden tests, in a sandbox, and print a table per notebook.

The exit status is 0 whenever grading worked, whatever the scores; 2 with a one-line
error when it could not (a missing file, a notebook of no known assignment, broken
hidden tests).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..classroom import is_class_dir
from ..course import CourseNotFound, find_course
from . import grade_class
from ..engine.reference import ReferenceError_
from ..engine.results import format_table
from ..engine.runner import GradingError, Submission, grade_submissions
from ..engine.faults import WorkerError
from ..engine.limits import SandboxLimits

NAME = "grade"
HELP = "grade notebooks against the hidden tests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook files, or directories searched for *.ipynb; or one COURSE_DIR "
                             "with submitted/<student>/<assignment>/ (nbgrader's layout) to grade a class")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the result as JSON (an object for one notebook, a list for several)")
    parser.add_argument("--assignment", metavar="ID",
                        help="grade as this assignment whatever the notebook says (e.g. 01_activations)")
    parser.add_argument("--course", type=Path, metavar="DIR", help="the course directory (default: found from here)")
    parser.add_argument("-j", "--jobs", type=int, metavar="N",
                        help="grade with N workers in parallel (default: 1; for a class, the number of cores)")
    parser.add_argument("--call-timeout", type=float, default=SandboxLimits.call_seconds, metavar="S",
                        help="seconds one call into the notebook may take (default %(default)s)")
    parser.add_argument("--submission-timeout", type=float, default=SandboxLimits.submission_seconds,
                        metavar="S", help="seconds one notebook may take in all (default %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print only the total of each notebook")
    grade_class.add_arguments(parser)


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; directories replaced by the notebooks under them (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts))
        else:
            found.append(path)
    return found


def fail(message: str) -> int:
    print(f"relu-course grade: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if len(args.notebooks) == 1 and is_class_dir(args.notebooks[0]):  # a class: see grade_class
        return grade_class.run(args, args.notebooks[0])
    paths = expand(args.notebooks)
    missing = [p for p in paths if not p.exists()]
    if missing:
        return fail(f"{missing[0]}: no such file")
    if not paths:
        return fail("no notebooks found")
    try:
        course = find_course(args.course)
    except CourseNotFound as exc:
        return fail(str(exc))
    limits = SandboxLimits(call_seconds=args.call_timeout, cell_seconds=args.call_timeout,
                           submission_seconds=args.submission_timeout)
    try:
        results = grade_submissions([Submission(p, args.assignment) for p in paths], course, limits, args.jobs or 1)
    except (GradingError, WorkerError, ReferenceError_) as exc:
        return fail(str(exc))
    for result in results:
        if args.quiet:
            print(f"{result.notebook}: {result.score:g}/{result.max_score:g}")
        else:
            print(format_table(result), end="\n\n" if len(results) > 1 else "\n")
    if args.json:
        payload = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    ungraded = [r for r in results if r.assignment is None]
    if ungraded:
        return fail(ungraded[0].error or "a notebook could not be graded")
    return 0

"""Grade notebooks with the hidden tests, in a sandbox, and print a table per notebook.

The exit status is 0 whenever grading worked, whatever the scores; 2 with a one-line
error when some notebook could not be graded (a missing file, a notebook of no known
assignment, a broken solution notebook: the other notebooks are graded all the same) or
grading could not start (bad options, broken hidden tests); 130 when SIGINT or SIGTERM
stopped it. ``--json`` always writes a list with one record per notebook, in the order
graded; a notebook grading did not finish has ``"finished": false`` and no score.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from ..classroom import is_class_dir
from ..course import CourseNotFound, find_course
from . import grade_class
from .. import commands
from ..engine.faults import WorkerError
from ..engine.limits import SandboxLimits
from ..engine.results import SubmissionResult, format_table
from ..engine.runner import GradingError, Interrupted, Submission, grade_submissions
from ..engine.text import clean

NAME = "grade"
HELP = "grade notebooks against the hidden tests"


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds above 0")
    return value


def positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook files, or directories searched for *.ipynb; or one COURSE_DIR "
                             "with submitted/<student>/<assignment>/ (nbgrader's layout) to grade a class")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the records as JSON: a list with one record per notebook")
    parser.add_argument("--assignment", metavar="ID",
                        help="grade as this assignment whatever the notebook says (e.g. 01_activations)")
    parser.add_argument("--course", type=Path, metavar="DIR", help="the course directory (default: found from here)")
    parser.add_argument("-j", "--jobs", type=positive_count, metavar="N",
                        help="grade with N workers in parallel (default: 1; for a class, the number of cores)")
    parser.add_argument("--call-timeout", type=positive_seconds, default=SandboxLimits.call_seconds, metavar="S",
                        help="seconds one call into the notebook may take (default %(default)s)")
    parser.add_argument("--submission-timeout", type=positive_seconds, default=SandboxLimits.submission_seconds,
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
    """A notebook's problem may hold its text: said cleaned and bounded."""
    return commands.fail(NAME, clean(message, 2000))


def json_problem(path: Path) -> str | None:
    """Why the records could not be written to ``path``, found before grading starts."""
    if path.is_dir():
        return f"--json {path} is a directory; give a file name"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"--json {path}: the folder {parent} does not exist"
    if not os.access(parent, os.W_OK) or path.exists() and not os.access(path, os.W_OK):
        return f"--json {path} cannot be written"
    return None


def write_json(path: Path, results: list[SubmissionResult]) -> None:
    text = json.dumps([r.to_dict() for r in results], indent=2) + "\n"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # a reader never sees half a file


def report(results: list[SubmissionResult], quiet: bool) -> None:
    width = shutil.get_terminal_size((100, 24)).columns
    for result in results:
        if quiet:
            total = f"{result.score:g}/{result.max_score:g}" if result.finished and result.graded else "not graded"
            print(f"{clean(result.notebook, 500)}: {total}")
        else:
            print(format_table(result, width), end="\n\n" if len(results) > 1 else "\n")


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if len(args.notebooks) == 1 and is_class_dir(args.notebooks[0]):  # a class: see grade_class
        return grade_class.run(args, args.notebooks[0])
    paths = expand(args.notebooks)
    missing = [p for p in paths if not (p.exists() or p.is_symlink())]
    if missing:
        return fail(f"{missing[0]}: no such file")
    if not paths:
        return fail("no notebooks found")
    if args.json and (problem := json_problem(args.json)):
        return fail(problem)
    try:
        course = find_course(args.course)
    except CourseNotFound as exc:
        return fail(str(exc))
    limits = SandboxLimits(call_seconds=args.call_timeout, cell_seconds=args.call_timeout,
                           submission_seconds=args.submission_timeout)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        results = grade_submissions([Submission(p, args.assignment) for p in paths], course, limits, args.jobs or 1)
    except Interrupted as stopped:
        report([r for r in stopped.results if r.finished], args.quiet)
        if args.json:
            write_json(args.json, stopped.results)
        done = sum(r.finished for r in stopped.results)
        print(f"relu-course grade: interrupted: {done} of {len(stopped.results)} notebooks graded"
              + (f"; {args.json} marks the rest as not finished" if args.json else ""), file=sys.stderr)
        return 130
    except (GradingError, WorkerError) as exc:
        return fail(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
    report(results, args.quiet)
    if args.json:
        write_json(args.json, results)
    problems = list(dict.fromkeys(r.error or "could not be graded" for r in results if not r.graded))
    for problem in problems[:-1]:
        fail(problem)
    return fail(problems[-1]) if problems else 0

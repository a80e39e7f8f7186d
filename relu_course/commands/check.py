"""Run a notebook's public checks in the sandbox and print the verdict of each.

The same code path as grading (the notebook runs in a fenced child, the checks call it
through the data-only proxy), with the public checks that ship with the package in place
of the hidden tests: no solutions or hidden tests are needed. Exit status 0 when every
public check passes, 1 when some fail, 2 when the notebook could not be checked.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checks import HIDDEN_TESTS_NOTE
from ..engine.runner import GradingError, Submission, grade_submissions, public_suite
from ..engine.faults import WorkerError
from ..engine.limits import SandboxLimits

NAME = "check"
HELP = "run a notebook's public checks (what a student can check before submitting)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--assignment", metavar="ID", help="check as this assignment whatever the notebook says")
    parser.add_argument("--call-timeout", type=float, default=SandboxLimits.call_seconds, metavar="S",
                        help="seconds one call into the notebook may take (default %(default)s)")


def fail(message: str) -> int:
    print(f"relu-course check: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if not args.notebook.is_file():
        return fail(f"{args.notebook}: no such file")
    limits = SandboxLimits(call_seconds=args.call_timeout, cell_seconds=args.call_timeout)
    try:
        [result] = grade_submissions([Submission(args.notebook, args.assignment)], None, limits, suite=public_suite())
    except (GradingError, WorkerError) as exc:
        return fail(str(exc))
    if result.assignment is None or result.error:
        return fail(result.error or "the notebook could not be checked")
    print(f"{result.notebook}  (assignment {result.assignment})")
    passed = total = 0
    for ex in result.exercises:
        total += len(ex.tests)
        passed += sum(t.status == "passed" for t in ex.tests)
        if ex.tests and all("is not implemented yet" in t.message for t in ex.tests):
            print(f"{ex.name}: not implemented yet")
            continue
        print(f"{ex.name}:")
        for test in ex.tests:
            print(f"  {'PASS' if test.status == 'passed' else 'FAIL'}  {test.name}")
            if test.status != "passed":
                print(f"        {test.message}")
    print(f"{passed} of {total} public checks passed")
    for note in result.notes:
        print(f"note: {note}")
    print(HIDDEN_TESTS_NOTE)
    return 0 if passed == total else 1

"""Run a notebook's public checks in the sandbox and print the verdict of each.

The notebook runs in a fenced child, as in grading, and the public checks that ship with
the package call its functions through the data-only proxy: no solutions or hidden tests
are needed. A failed check shows the input, the returned and the expected value, as
``check("name")`` does in the notebook. Exit status 0 when every public check passes, 1 when
some fail, 2 when the notebook could not be checked.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from .. import checks, notebook
from . import fail
from ..checks import HIDDEN_TESTS_NOTE, Outcome
from ..engine.client import Worker
from ..engine.faults import WorkerError
from ..engine.limits import SandboxLimits
from ..engine.proxy import Student
from ..engine.sandbox import Sandbox

NAME = "check"
HELP = "run a notebook's public checks (what a student can check before submitting)"


class CannotCheck(Exception):
    """The notebook cannot be checked at all; the message is one line."""


@dataclass
class Checked:
    """The public checks' outcomes for one notebook, by exercise in notebook order, and notes on its cells."""

    assignment: str
    outcomes: dict[str, list[Outcome]]
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for found in self.outcomes.values() for o in found)

    @property
    def total(self) -> int:
        return sum(len(found) for found in self.outcomes.values())


def check_notebook(path: Path, worker: Worker, assignment: str | None = None) -> Checked:
    """Run every public check of the notebook's assignment on the notebook, in a sandbox of ``worker``."""
    known = checks.exercises()
    if assignment is not None and assignment not in known:
        raise CannotCheck(f"no public checks for assignment {assignment!r}; there are checks for {', '.join(known)}")
    try:
        nb = notebook.read(path)
    except notebook.NotebookError as exc:
        raise CannotCheck(str(exc)) from None
    assignment = assignment or notebook.identify(nb, {a: set(names) for a, names in known.items()})
    if assignment is None:
        raise CannotCheck(f"cannot tell which assignment {path} is; pass --assignment "
                          f"({', '.join(known)})")
    sandbox = Sandbox(worker, notebook.code_cells(nb))
    try:
        student = Student(sandbox)
        outcomes = {exercise: [checks.run_check(c, student) for c in checks.checks_of(assignment, exercise)]
                    for exercise in known[assignment]}
    finally:
        sandbox.close()
    return Checked(assignment, outcomes, sandbox.notes())


def printable(text: str) -> str:
    """Text from the notebook as a terminal should show it: control characters escaped."""
    return "".join(ch if ch.isprintable() or ch == "\n" else ascii(ch)[1:-1] for ch in text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--assignment", metavar="ID", help="check as this assignment whatever the notebook says")
    parser.add_argument("--call-timeout", type=float, default=SandboxLimits.call_seconds, metavar="S",
                        help="seconds one call into the notebook may take (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    if not args.notebook.is_file():
        return fail(NAME, f"{args.notebook}: no such file")
    if not args.call_timeout > 0:
        return fail(NAME, f"--call-timeout must be a positive number of seconds, not {args.call_timeout:g}")
    limits = SandboxLimits(call_seconds=args.call_timeout, cell_seconds=args.call_timeout)
    try:
        cells = notebook.code_cells(notebook.read(args.notebook))
    except notebook.NotebookError as exc:
        return fail(NAME, str(exc))
    try:
        with Worker(limits, preload_torch=any("torch" in c.source for c in cells)) as worker:
            result = check_notebook(args.notebook, worker, args.assignment)
    except (CannotCheck, WorkerError) as exc:
        return fail(NAME, str(exc))
    print(f"{args.notebook}  (assignment {result.assignment})")
    for exercise, outcomes in result.outcomes.items():
        print(printable(checks.report(exercise, outcomes, every_pass=False)))
    print(f"\n{result.passed} of {result.total} public checks passed")
    for note in result.notes:
        print(printable(f"note: {note}"))
    print(HIDDEN_TESTS_NOTE)
    return 0 if result.passed == result.total else 1

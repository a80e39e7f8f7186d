"""Generate the student notebooks in assignments/ from the solutions, with nbgrader's preprocessors.

Solution regions become stubs that raise NotImplementedError, hidden tests and outputs
are removed, test cells are locked, and nbgrader checksums are set. Points come from the
hidden tests (their @exercise marks) and must agree with the solution's grade cells.
The output is byte-identical for the same input. ``--check`` writes nothing and exits 1
naming every file that is out of step.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

from . import fail
from .. import notebook
from ..course import Course, CourseNotFound, find_course
from ..engine.runner import GradingError, exercise_points

NAME = "build"
HELP = "generate assignments/ from solutions/ (--check: verify they are in step)"

NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
#: how exercise text states points, e.g. "### Exercise 4: `relu` (4 points)"; checked against the hidden tests
STATED_POINTS = re.compile(r"`(\w+)` \((\d+(?:\.\d+)?) points?\)")
#: cell metadata kept in the student notebooks; anything else (editor state) is dropped
CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")
#: nbgrader's own steps, in the order its generate_assignment runs them
PREPROCESSORS = ("LockCells", "ClearSolutions", "ClearOutput", "ClearHiddenTests", "ClearMarkScheme",
                 "ComputeChecksums", "CheckCellMetadata")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if assignments/ is stale")
    parser.add_argument("--course", type=Path, metavar="DIR", help="the course directory (default: found from here)")


def check_solution(course: Course, assignment: str, nb: dict) -> list[str]:
    """Problems with a solution notebook: metadata, outputs, and points against the hidden tests."""
    problems = []
    path = course.solution(assignment)
    if notebook.assignment_of(nb) != assignment:
        problems.append(f"{path}: metadata {notebook.METADATA_KEY}.assignment should be {assignment!r}, "
                        f"found {notebook.assignment_of(nb)!r}")
    if not notebook.is_stripped(nb):
        problems.append(f"{path}: has outputs or execution counts; clear them before committing")
    declared = {ex: sum(tests.values()) for ex, tests in exercise_points(course, assignment).items()}
    in_notebook = {notebook.grade_id(c): notebook.nbgrader(c).get("points") for c in nb["cells"]
                   if notebook.is_test_cell(c)}
    for exercise, points in declared.items():
        if exercise not in in_notebook:
            problems.append(f"{path}: no test cell with grade_id {exercise!r}, which the hidden tests grade")
        elif in_notebook[exercise] != points:
            problems.append(f"{path}: test cell {exercise!r} has points {in_notebook[exercise]}, "
                            f"the hidden tests declare {points:g}")
    for exercise in in_notebook.keys() - declared.keys():
        problems.append(f"{path}: test cell {exercise!r} is graded by no hidden test")
    for cell in nb["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        for exercise, points in STATED_POINTS.findall(notebook.source_of(cell)):
            if exercise in declared and float(points) != declared[exercise]:
                problems.append(f"{path}: the text gives {exercise} {points} points, "
                                f"the hidden tests declare {declared[exercise]:g}")
    return problems


def student_notebook(solution: dict, assignment: str) -> str:
    """The student copy of a solution notebook, serialised (deterministic)."""
    import nbformat
    from nbgrader import preprocessors

    nb = copy.deepcopy(solution)
    resources: dict = {}
    for step in PREPROCESSORS:
        nb, resources = getattr(preprocessors, step)().preprocess(nb, resources)
    nb.metadata = nbformat.from_dict({**NOTEBOOK_METADATA, notebook.METADATA_KEY: {"assignment": assignment}})
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k in CELL_METADATA})
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def build(course: Course, check: bool) -> list[str]:
    """Build (or check) every assignment. Returns the problems found; empty means done."""
    problems: list[str] = []
    expected = set()
    import nbformat

    for assignment in course.assignment_ids():
        source = nbformat.read(course.solution(assignment), as_version=4)
        found = check_solution(course, assignment, source)
        problems += found
        if found:
            continue
        target = course.student_notebook(assignment)
        expected.add(target)
        text = student_notebook(source, assignment)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if check:
            problems.append(f"{target} is {'missing' if current is None else 'out of step with ' + str(course.solution(assignment))}; "
                            "run relu-course build")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    for extra in sorted(set(course.assignments.glob("*.ipynb")) - expected):
        if not course.solution(extra.stem).exists():
            problems.append(f"{extra} has no solution notebook; remove it")
    return problems


def run(args: argparse.Namespace) -> int:
    from nbformat import ValidationError

    try:
        course = find_course(args.course)
        problems = build(course, args.check)
    except (CourseNotFound, GradingError, OSError, ValidationError) as exc:
        return fail(NAME, str(exc))
    for problem in problems:
        print(f"relu-course build: {problem}", file=sys.stderr)
    if problems:
        return 1
    if args.check:
        count = len(course.assignment_ids())
        print(f"assignments/ is in step with solutions/ ({count} notebook{'s' * (count != 1)})")
    return 0

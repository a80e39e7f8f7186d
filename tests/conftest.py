"""Shared fixtures: the course checkout, one warm worker, and submission variants."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from relu_course import notebook
from relu_course.course import Course
from relu_course.engine.runner import Submission, grade_submissions
from relu_course.engine.client import Worker
from relu_course.engine.limits import SandboxLimits

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(REPO)


@pytest.fixture(scope="session")
def worker():
    """One warm worker for the whole test session (starting one costs seconds)."""
    with Worker(SandboxLimits()) as w:  # the limits grading uses
        yield w


def solution_with(course: Course, assignment: str, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """The solution notebook with the sources of some cells (by grade_id) replaced."""
    nb = copy.deepcopy(nbformat.read(course.solution(assignment), as_version=4))
    unknown = set(replacements) - set(notebook.grade_ids(nb))
    assert not unknown, f"no cells {unknown} in {assignment}"
    for cell in nb.cells:
        if notebook.grade_id(cell) in replacements:
            cell.source = replacements[notebook.grade_id(cell)]
    return nb


@pytest.fixture(scope="session")
def write_variant(course, tmp_path_factory):
    """write_variant(assignment, name, {grade_id: source}) -> path of a modified solution."""
    folder = tmp_path_factory.mktemp("variants")

    def write(assignment: str, name: str, replacements: dict[str, str]) -> Path:
        path = folder / f"{name}.ipynb"
        nbformat.write(solution_with(course, assignment, replacements), path)
        return path

    return write


@pytest.fixture(scope="session")
def grade_variants(course, grade, write_variant):
    """grade_variants(assignment, {name: {grade_id: source}}) -> {name: record}, one batch.

    The solution and the student notebook are graded beside the variants, as "solution"
    and "assignment".
    """

    def run(assignment: str, variants: dict[str, dict[str, str]]) -> dict:
        paths = {"solution": course.solution(assignment), "assignment": course.student_notebook(assignment)}
        paths.update({name: write_variant(assignment, name, repl) for name, repl in variants.items()})
        return dict(zip(paths, grade(list(paths.values()))))

    return run


@pytest.fixture(scope="session")
def grade(course, worker):
    """grade(paths, assignment=None) -> results, graded in one batch with the shared worker."""

    def run(paths: list[Path], assignment: str | None = None):
        return grade_submissions([Submission(p, assignment) for p in paths], course, worker=worker)

    return run


def points_by_exercise(result) -> dict[str, float]:
    return {e.name: e.points for e in result.exercises}


def assert_full_marks(result, assignment: str, total: float) -> None:
    """The record of a correct notebook: every exercise passed, nothing to note."""
    assert result.assignment == assignment
    assert result.score == result.max_score == total, [(e.name, e.reason) for e in result.exercises if e.reason]
    assert all(e.status == "passed" for e in result.exercises)
    assert result.notes == []


def assert_not_implemented(result, total: float) -> None:
    """The record of an untouched student notebook: zero, and why."""
    assert result.score == 0 and result.max_score == total
    for ex in result.exercises:
        assert ex.reason == f"{ex.name} is not implemented yet", ex.reason

"""Every assignment of the course graded end to end, and its public checks held to its hidden tests.

For each assignment (``Course.assignment_ids()``): the solution earns full marks and passes
every public check, the student notebook earns nothing, each wrong submission in its hidden
tests' ``WRONG`` table gets exactly its marks with the expected words in the reason, and
``CORRECT_BUT_DIFFERENT`` (where the table exists) earns full marks. Then the promise to
students: wherever the hidden tests take points from a wrong submission, some public check
of that exercise fails, and for the exercise with the mistake its message names the rule
(the same words). An assignment brings its cases here by its hidden tests alone.
"""
from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

import pytest

from conftest import REPO, assert_full_marks, assert_not_implemented, points_by_exercise
from relu_course import notebook
from relu_course.checks import exercises
from relu_course.commands.check import check_notebook
from relu_course.course import Course
from relu_course.engine.runner import exercise_points

COURSE = Course(REPO)
ASSIGNMENTS = COURSE.assignment_ids()


@functools.cache
def hidden_tests(assignment: str) -> ModuleType:
    """The assignment's hidden-test module, imported from its file (for its tables)."""
    spec = importlib.util.spec_from_file_location(f"hidden_tests_{assignment}", COURSE.tests(assignment))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wrong(assignment: str) -> dict:
    """name -> ({grade_id: source}, {exercise: points where not full}, words expected in the reason)."""
    return getattr(hidden_tests(assignment), "WRONG", {})


def correct_but_different(assignment: str) -> dict | None:
    """{grade_id: source} of correct code written unlike the reference, where the assignment has it."""
    return getattr(hidden_tests(assignment), "CORRECT_BUT_DIFFERENT", None)


WRONG_CASES = [pytest.param(a, name, id=f"{a}-{name}") for a in ASSIGNMENTS for name in wrong(a)]
WITH_CORRECT = [a for a in ASSIGNMENTS if correct_but_different(a)]


@functools.cache
def full_marks(assignment: str) -> float:
    """The assignment's total, from the points its hidden tests declare."""
    return sum(sum(tests.values()) for tests in exercise_points(COURSE, assignment).values())


def variants(assignment: str) -> dict[str, dict[str, str]]:
    found = {name: replacements for name, (replacements, _, _) in wrong(assignment).items()}
    if correct_but_different(assignment):
        found["correct_but_different"] = correct_but_different(assignment)
    return found


@pytest.fixture(scope="session")
def graded(grade_variants):
    """graded(assignment) -> {name: record} for the solution, the student notebook and every variant."""
    return functools.cache(lambda assignment: grade_variants(assignment, variants(assignment)))


@pytest.fixture(scope="session")
def checked(worker, write_variant):
    """checked(assignment) -> {name: the public checks' outcomes} for the solution and every variant."""

    @functools.cache
    def run(assignment: str) -> dict:
        paths = {"solution": COURSE.solution(assignment)}
        paths.update({name: write_variant(assignment, f"public_{name}", repl)
                      for name, repl in variants(assignment).items()})
        return {name: check_notebook(path, worker, assignment) for name, path in paths.items()}

    return run


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(graded, assignment):
    assert_full_marks(graded(assignment)["solution"], assignment, full_marks(assignment))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_earns_nothing(graded, assignment):
    assert_not_implemented(graded(assignment)["assignment"], full_marks(assignment))


@pytest.mark.parametrize("assignment", WITH_CORRECT)
def test_correct_but_different_code_earns_full_marks(graded, assignment):
    result = graded(assignment)["correct_but_different"]
    assert result.score == full_marks(assignment), [(e.name, e.reason) for e in result.exercises if e.reason]


@pytest.mark.parametrize("assignment, name", WRONG_CASES)
def test_wrong_submission_gets_exact_marks(graded, assignment, name):
    _, changed, words = wrong(assignment)[name]
    results = graded(assignment)
    full = {e.name: e.max_points for e in results["solution"].exercises}
    result = results[name]
    assert points_by_exercise(result) == {**full, **changed}, [(e.name, e.reason) for e in result.exercises if e.reason]
    mistake = next(iter(changed))
    reason = next(e.reason for e in result.exercises if e.name == mistake)
    assert words in reason, reason


@pytest.mark.parametrize("assignment, name", WRONG_CASES)
def test_public_checks_fail_wherever_hidden_tests_take_points(graded, checked, assignment, name):
    """No public check says "fine" where the hidden tests will not: the promise of the public checks."""
    _, changed, words = wrong(assignment)[name]
    result = graded(assignment)[name]
    losing = {e.name: e.points for e in result.exercises if e.points < e.max_points}
    assert losing, f"{name} loses no points: not a wrong submission"
    outcomes = checked(assignment)[name].outcomes
    for exercise, points in losing.items():
        assert not all(o.passed for o in outcomes[exercise]), \
            f"{name}: every public check of {exercise} passes, the hidden tests give {points:g}"
    mistake = next(iter(changed))
    reasons = [o.reason for o in outcomes[mistake] if not o.passed]
    assert any(words in reason for reason in reasons), (words, reasons)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_right_code_passes_every_public_check(checked, assignment):
    names = ["solution"] + (["correct_but_different"] if correct_but_different(assignment) else [])
    for name in names:
        found = checked(assignment)[name]
        failed = [(o.check.name, o.reason) for outcomes in found.outcomes.values() for o in outcomes if not o.passed]
        assert found.total > 0 and failed == [], (name, failed)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_has_public_checks_in_notebook_order(assignment):
    nb = notebook.read(COURSE.solution(assignment))
    tested = [notebook.grade_id(c) for c in nb["cells"] if notebook.is_test_cell(c)]
    assert exercises()[assignment] == tested
    for cell in nb["cells"]:
        if notebook.is_test_cell(cell):
            gid = notebook.grade_id(cell)
            assert notebook.source_of(cell) in (f'check("{gid}")', f'check("{gid}", assignment="{assignment}")')

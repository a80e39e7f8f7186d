"""A failed test's record says what failed (input, returned, expected) and, for a function of x,
carries the student's and the reference's curves, fetched through the proxy after the tests."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import points_by_exercise
from relu_course.engine.curves import GRID_POINTS

A = "01_activations"
ABS = "def relu(x):\n    return np.abs(np.asarray(x, dtype=float))\n"
#: abs as relu, but on the grader's grid (only there) something a plot cannot use
GRID_TRICKS = {
    "huge_on_grid": "def relu(x):\n    x = np.asarray(x, dtype=float)\n"
                    f"    if x.size == {GRID_POINTS}:\n        return np.zeros(10**6)\n    return np.abs(x)\n",
    "hangs_on_grid": "def relu(x):\n    x = np.asarray(x, dtype=float)\n"
                     f"    while x.size == {GRID_POINTS}:\n        pass\n    return np.abs(x)\n",
}


@pytest.fixture(scope="module")
def graded(grade, write_variant):
    variants = {"abs": ABS, **GRID_TRICKS}
    paths = [write_variant(A, f"details_{name}", {"relu_code": source}) for name, source in variants.items()]
    return dict(zip(variants, grade(paths)))


def relu_test(result, name: str):
    exercise = next(e for e in result.exercises if e.name == "relu")
    return next(t for t in exercise.tests if t.name == name)


def test_a_failed_value_names_the_smallest_failing_input(graded):
    test = relu_test(graded["abs"], "test_values")
    assert test.status == "failed"
    x = float(test.details["input"].removeprefix("relu(").split(")")[0].split(" at x = ")[-1])
    assert x < 0 and float(test.details["returned"]) == pytest.approx(-x) and float(test.details["expected"]) == 0


def test_the_curve_is_the_students_function_against_the_reference(graded):
    curve = relu_test(graded["abs"], "test_values").curve
    x = np.array(curve["x"])
    assert len(x) == GRID_POINTS and x.min() < 0 < x.max()
    np.testing.assert_allclose(curve["student"], np.abs(x), rtol=1e-5)
    np.testing.assert_allclose(curve["reference"], np.maximum(x, 0), rtol=1e-5)


def test_passing_tests_carry_no_details(graded):
    passed = [t for e in graded["abs"].exercises for t in e.tests if t.status == "passed"]
    assert passed and all(t.details == {} and t.curve is None for t in passed)


@pytest.mark.parametrize("name", GRID_TRICKS)
def test_what_happens_on_the_grid_costs_the_curve_never_a_grade(graded, name):
    assert points_by_exercise(graded[name]) == points_by_exercise(graded["abs"])
    curve = relu_test(graded[name], "test_values").curve
    assert curve["student"] is None and len(curve["reference"]) == GRID_POINTS

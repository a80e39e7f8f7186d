"""Assignment 01 graded end to end: solution, stubs, and wrong-but-plausible submissions."""
from __future__ import annotations

import pytest

from conftest import assert_full_marks, assert_not_implemented, points_by_exercise

A = "01_activations"

# name -> ({grade_id: replacement source}, {exercise: expected points where not full}, words in the reason)
WRONG = {
    "relu_is_abs": (
        {"relu_code": "def relu(x):\n    return np.abs(np.asarray(x, dtype=float))\n"},
        {"relu": 1}, "relu("),
    "unstable_sigmoid": (
        {"sigmoid_code": "def sigmoid(x):\n    x = np.asarray(x, dtype=float)\n    return 1 / (1 + np.exp(-x))\n"},
        {"sigmoid": 3, "sigmoid_grad": 3}, "overflow"),
    "leaky_alpha_on_positives": (
        {"leaky_relu_code": "def leaky_relu(x, alpha=0.01):\n    if not 0 <= alpha < 1:\n        raise ValueError('alpha')\n"
                            "    x = np.asarray(x, dtype=float)\n    return np.where(x > 0, alpha * x, x)\n"},
        {"leaky_relu": 2}, "leaky_relu("),
    "relu_mutates_input": (
        {"relu_code": "def relu(x):\n    x = np.asarray(x, dtype=float)\n    np.maximum(x, 0, out=x)\n    return x\n"},
        {"relu": 3}, "modified its input"),
    "relu_returns_list": (
        {"relu_code": "def relu(x):\n    return np.maximum(np.asarray(x, dtype=float), 0.0).tolist()\n"},
        {"relu": 3}, "returned a"),
    "relu_grad_one_at_zero": (
        {"relu_grad_code": "def relu_grad(x):\n    return (np.asarray(x) >= 0).astype(float)\n"},
        {"relu_grad": 3}, "relu_grad("),
    "leaky_relu_no_alpha_check": (
        {"leaky_relu_code": "def leaky_relu(x, alpha=0.01):\n    x = np.asarray(x, dtype=float)\n"
                            "    return np.maximum(alpha * x, x)\n"},
        {"leaky_relu": 4}, "ValueError"),
    "collapse_forgets_b2": (
        {"collapse_linear_code": "def collapse_linear(W1, b1, W2, b2):\n    W1, W2 = np.asarray(W1, float), np.asarray(W2, float)\n"
                                 "    return W2 @ W1, W2 @ np.asarray(b1, float)\n"},
        {"collapse_linear": 1}, "b3 of collapse_linear"),
    "relu_grad_integer_dtype": (
        {"relu_grad_code": "def relu_grad(x):\n    return (np.asarray(x) > 0).astype(int)\n"},
        {"relu_grad": 3}, "floating dtype"),
    "tanh_grad_forgets_square": (
        {"tanh_grad_code": "def tanh_grad(x):\n    return 1 - np.tanh(np.asarray(x, dtype=float))\n"},
        {"tanh_grad": 1}, "tanh_grad("),
}


@pytest.fixture(scope="module")
def graded(grade_variants):
    """The solution, the student notebook and every wrong submission, graded in one batch."""
    return grade_variants(A, {name: repl for name, (repl, _, _) in WRONG.items()})


@pytest.fixture(scope="module")
def full(graded):
    return {e.name: e.max_points for e in graded["solution"].exercises}


def test_solution_earns_full_marks(graded):
    assert_full_marks(graded["solution"], A, 38)


def test_student_notebook_earns_nothing(graded):
    assert_not_implemented(graded["assignment"], 38)


@pytest.mark.parametrize("name", WRONG)
def test_wrong_submission_gets_exact_partial_marks(graded, full, name):
    _, changed, words = WRONG[name]
    result = graded[name]
    assert points_by_exercise(result) == {**full, **changed}
    for exercise in changed:
        reason = next(e.reason for e in result.exercises if e.name == exercise)
        assert words in reason, reason


def test_records_carry_each_test(graded):
    relu = next(e for e in graded["relu_returns_list"].exercises if e.name == "relu")
    assert {t.name: t.status for t in relu.tests} == {
        "test_values": "passed", "test_edge_cases": "passed", "test_contract": "failed"}
    assert relu.status == "partial"

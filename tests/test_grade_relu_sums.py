"""Assignment 02 graded end to end: solution, stubs, wrong-but-plausible and correct-but-different
submissions.

The student notebook's form is tested for every assignment in test_build.py, and the
notebooks in a real Jupyter kernel in test_student_checks.py."""
from __future__ import annotations

import pytest

from conftest import assert_full_marks, assert_not_implemented, points_by_exercise

A = "02_relu_sums"
FULL = 29

# name -> ({grade_id: replacement source}, {exercise: expected points where not full}, words in the reason)
# The first exercise named is the one with the mistake (the words are in its reason); any after it
# lose points because approximation_errors builds on relu_sum and fit_output_weights.
WRONG = {
    "shifted_relu_shifts_left": (
        {"shifted_relu_code": "def shifted_relu(x, h):\n    x = np.asarray(x, dtype=np.float64)\n"
                              "    return np.maximum(x + h, 0.0)\n"},
        {"shifted_relu": 1}, "shifted_relu("),
    "neuron_bias_after_relu": (
        {"neuron_code": "def neuron(x, w, b):\n    x = np.asarray(x, dtype=np.float64)\n"
                        "    return np.maximum(w * x, 0.0) + b\n"},
        {"neuron": 1}, "neuron("),
    "hinge_b_over_w": (
        {"hinge_code": "def hinge(w, b):\n    if w == 0:\n        raise ValueError('w == 0: no hinge')\n"
                       "    return float(b / w), ('right' if w > 0 else 'left')\n"},
        {"hinge": 1}, "the position of hinge("),
    "hinge_divides_by_zero": (
        {"hinge_code": "def hinge(w, b):\n    return float(-b / w), ('right' if w > 0 else 'left')\n"},
        {"hinge": 2}, "expected ValueError"),
    "relu_sum_forgets_bias": (
        {"relu_sum_code": "def relu_sum(x, weights, shifts, bias=0.0):\n    x = np.asarray(x, dtype=np.float64)\n"
                          "    shifts, weights = np.asarray(shifts, float), np.asarray(weights, float)\n"
                          "    return np.maximum(x[..., None] - shifts, 0.0) @ weights\n"},
        {"relu_sum": 3, "approximation_errors": 1}, "relu_sum("),
    "relu_sum_python_loop": (
        {"relu_sum_code": "def relu_sum(x, weights, shifts, bias=0.0):\n    x = np.asarray(x, dtype=np.float64)\n"
                          "    out = np.full(x.shape, float(bias))\n"
                          "    for index in np.ndindex(x.shape):\n"
                          "        for i in range(len(weights)):\n"
                          "            out[index] += weights[i] * max(0.0, x[index] - shifts[i])\n"
                          "    return out\n"},
        {"relu_sum": 3}, "did not return within"),
    "interpolation_cumulative_slopes": (
        {"interpolating_relu_sum_code":
            "def interpolating_relu_sum(knots, values):\n"
            "    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)\n"
            "    if knots.ndim != 1 or knots.shape != values.shape or len(knots) < 2 or np.any(np.diff(knots) <= 0):\n"
            "        raise ValueError('bad knots')\n"
            "    slopes = np.diff(values) / np.diff(knots)\n"
            "    return slopes, knots[:-1].copy(), float(values[0])\n"},
        {"interpolating_relu_sum": 2}, "interpolating_relu_sum("),
    "interpolation_no_validation": (
        {"interpolating_relu_sum_code":
            "def interpolating_relu_sum(knots, values):\n"
            "    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)\n"
            "    slopes = np.diff(values) / np.diff(knots)\n"
            "    return np.diff(slopes, prepend=0.0), knots[:-1].copy(), float(values[0])\n"},
        {"interpolating_relu_sum": 5}, "expected it to raise ValueError"),
    "fit_without_bias_column": (
        {"fit_output_weights_code":
            "def fit_output_weights(target, shifts, x):\n    x = np.asarray(x, dtype=float)\n"
            "    A = np.maximum(x[:, None] - np.asarray(shifts, dtype=float), 0.0)\n"
            "    weights, *_ = np.linalg.lstsq(A, target, rcond=None)\n    return weights, 0.0\n"},
        {"fit_output_weights": 1, "approximation_errors": 1}, "fit_output_weights("),
    "approximation_shifts_reach_the_right_end": (
        {"approximation_errors_code":
            "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
            "    max_errors, mses = [], []\n    for n in unit_counts:\n        shifts = np.linspace(-1, 1, n)\n"
            "        weights, bias = fit_output_weights(y, shifts, x)\n"
            "        e = relu_sum(x, weights, shifts, bias) - y\n"
            "        max_errors.append(np.abs(e).max())\n        mses.append(np.mean(e ** 2))\n"
            "    return np.array(max_errors), np.array(mses)\n"},
        {"approximation_errors": 1}, "approximation_errors("),
    "approximation_root_mean_square": (
        {"approximation_errors_code":
            "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
            "    max_errors, mses = [], []\n    for n in unit_counts:\n        shifts = -1 + 2 * np.arange(n) / n\n"
            "        weights, bias = fit_output_weights(y, shifts, x)\n"
            "        e = relu_sum(x, weights, shifts, bias) - y\n"
            "        max_errors.append(np.abs(e).max())\n        mses.append(np.sqrt(np.mean(e ** 2)))\n"
            "    return np.array(max_errors), np.array(mses)\n"},
        {"approximation_errors": 1}, "the mean squared errors of approximation_errors("),
}

#: correct code written differently from the reference: loops where they are harmless, normal
#: equations, np.where, other shift formulas. It must earn full marks.
CORRECT_BUT_DIFFERENT = {
    "shifted_relu_code": (
        "def shifted_relu(x, h):\n    x = np.array(x, dtype=float)\n    return np.where(x > h, x - h, 0.0)\n"),
    "neuron_code": (
        "def neuron(x, w, b):\n    x = np.asarray(x, dtype=float)\n"
        "    if w > 0:\n        return w * shifted_relu(x, -b / w)\n"
        "    if w < 0:\n        return -w * np.maximum(-b / w - x, 0.0)\n"
        "    return np.full(x.shape, max(float(b), 0.0))\n"),
    "hinge_code": (
        "def hinge(w, b):\n    if not w:\n        raise ValueError(f'w is {w}: a constant neuron has no hinge')\n"
        "    return np.float64(-b) / w, 'right' if w > 0 else 'left'\n"),
    "relu_sum_code": (
        "def relu_sum(x, weights, shifts, bias=0.0):\n    x = np.asarray(x, dtype=float)\n"
        "    total = np.full(x.shape, float(bias))\n"
        "    for w, h in zip(weights, shifts):   # a loop over units, each step over all points\n"
        "        total = total + w * np.maximum(x - h, 0.0)\n    return total\n"),
    "interpolating_relu_sum_code": (
        "def interpolating_relu_sum(knots, values):\n    knots, values = list(knots), list(values)\n"
        "    if len(knots) != len(values) or len(knots) < 2:\n        raise ValueError('need two or more points')\n"
        "    weights, previous = [], 0.0\n"
        "    for j in range(len(knots) - 1):\n"
        "        if not knots[j] < knots[j + 1]:\n            raise ValueError('knots must increase')\n"
        "        slope = (values[j + 1] - values[j]) / (knots[j + 1] - knots[j])\n"
        "        weights.append(slope - previous)\n        previous = slope\n"
        "    return np.array(weights, dtype=float), np.array(knots[:-1], dtype=float), values[0] * 1.0\n"),
    "fit_output_weights_code": (
        "def fit_output_weights(target, shifts, x):\n    x = np.asarray(x, dtype=float)\n"
        "    A = np.hstack([np.ones((len(x), 1)), np.maximum(np.subtract.outer(x, shifts), 0.0)])\n"
        "    theta = np.linalg.solve(A.T @ A, A.T @ target)   # the normal equations\n"
        "    return theta[1:], theta[0]\n"),
    "approximation_errors_code": (
        "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
        "    rows = []\n    for n in unit_counts:\n        shifts = np.linspace(-1, 1, n, endpoint=False)\n"
        "        weights, bias = fit_output_weights(y, shifts, x)\n"
        "        e = relu_sum(x, weights, shifts, bias) - y\n"
        "        rows.append((np.max(np.abs(e)), np.mean(np.square(e))))\n"
        "    rows = np.array(rows, dtype=float).reshape(-1, 2)\n    return rows[:, 0].copy(), rows[:, 1].copy()\n"),
}


@pytest.fixture(scope="module")
def graded(grade_variants):
    """The solution, the student notebook and every variant, graded in one batch."""
    variants = {name: repl for name, (repl, _, _) in WRONG.items()}
    return grade_variants(A, {**variants, "correct_but_different": CORRECT_BUT_DIFFERENT})


@pytest.fixture(scope="module")
def full(graded):
    return {e.name: e.max_points for e in graded["solution"].exercises}


def test_solution_earns_full_marks(graded):
    assert_full_marks(graded["solution"], A, FULL)


def test_student_notebook_earns_nothing(graded):
    assert_not_implemented(graded["assignment"], FULL)


def test_correct_but_different_code_earns_full_marks(graded):
    result = graded["correct_but_different"]
    assert result.score == FULL, [(e.name, e.reason) for e in result.exercises if e.reason]


@pytest.mark.parametrize("name", WRONG)
def test_wrong_submission_gets_exact_partial_marks(graded, full, name):
    _, changed, words = WRONG[name]
    result = graded[name]
    assert points_by_exercise(result) == {**full, **changed}
    target = next(iter(changed))  # the exercise the mistake is in; any others follow from it
    reason = next(e.reason for e in result.exercises if e.name == target)
    assert words in reason, reason


def test_the_size_test_alone_catches_a_python_loop(graded):
    relu_sum = next(e for e in graded["relu_sum_python_loop"].exercises if e.name == "relu_sum")
    assert {t.name: t.status for t in relu_sum.tests} == {
        "test_values": "passed", "test_contract": "passed", "test_relu_sum_size": "timeout"}
    assert relu_sum.status == "partial"
    assert "10,000 points and 10,000 units did not return within" in relu_sum.reason



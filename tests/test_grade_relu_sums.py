"""Assignment 02 graded end to end: what test_assignments.py does not already check for every assignment."""
from __future__ import annotations

import pytest

from test_assignments import wrong

A = "02_relu_sums"

#: an interpolating_relu_sum that answers with a million weights and shifts: the hidden tests must see
#: the shapes before the reference is handed them
OVERSIZED = {"interpolating_relu_sum_code": (
    "def interpolating_relu_sum(knots, values):\n"
    "    return np.zeros(1_000_000), np.zeros(1_000_000), 0.0\n")}


@pytest.fixture(scope="module")
def graded(grade_variants):
    return grade_variants(A, {"relu_sum_python_loop": wrong(A)["relu_sum_python_loop"][0], "oversized": OVERSIZED})


def test_the_size_test_alone_catches_a_python_loop(graded):
    relu_sum = next(e for e in graded["relu_sum_python_loop"].exercises if e.name == "relu_sum")
    assert {t.name: t.status for t in relu_sum.tests} == {
        "test_values": "passed", "test_contract": "passed", "test_relu_sum_size": "timeout"}
    assert relu_sum.status == "partial"
    assert "3,000 points and 3,000 units did not return within 1 s" in relu_sum.reason


def test_shapes_are_checked_before_the_reference_sees_a_childs_value(graded):
    interpolation = next(e for e in graded["oversized"].exercises if e.name == "interpolating_relu_sum")
    hits = next(t for t in interpolation.tests if t.name == "test_interpolation_hits_every_point")
    assert hits.status == "failed" and interpolation.points == 0
    assert "returned weights, shifts and bias of shapes (1000000,), (1000000,) and (); expected (1,), (1,)" \
        in hits.message, hits.message

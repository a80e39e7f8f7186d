"""Assignment 02 graded end to end: what test_assignments.py does not already check for every assignment."""
from __future__ import annotations

import pytest

from test_assignments import wrong

A = "02_relu_sums"


@pytest.fixture(scope="module")
def graded(grade_variants):
    return grade_variants(A, {"relu_sum_python_loop": wrong(A)["relu_sum_python_loop"][0]})


def test_the_size_test_alone_catches_a_python_loop(graded):
    relu_sum = next(e for e in graded["relu_sum_python_loop"].exercises if e.name == "relu_sum")
    assert {t.name: t.status for t in relu_sum.tests} == {
        "test_values": "passed", "test_contract": "passed", "test_relu_sum_size": "timeout"}
    assert relu_sum.status == "partial"
    assert "10,000 points and 10,000 units did not return within" in relu_sum.reason

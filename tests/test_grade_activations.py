"""Assignment 01 graded end to end: what test_assignments.py does not already check for every assignment."""
from __future__ import annotations

import pytest

from test_assignments import wrong

A = "01_activations"


@pytest.fixture(scope="module")
def graded(grade_variants):
    return grade_variants(A, {"relu_returns_list": wrong(A)["relu_returns_list"][0]})


def test_records_carry_each_test(graded):
    relu = next(e for e in graded["relu_returns_list"].exercises if e.name == "relu")
    assert {t.name: t.status for t in relu.tests} == {
        "test_values": "passed", "test_edge_cases": "passed", "test_contract": "failed"}
    assert relu.status == "partial"

"""Assignment 03 graded end to end: what test_assignments.py does not already check for every assignment
(the solution, the student notebook, the WRONG and CORRECT_BUT_DIFFERENT tables are graded there)."""
from __future__ import annotations

import pytest

from test_assignments import full_marks, wrong

A = "03_two_neuron_x2"


def test_there_are_at_least_eight_wrong_submissions():
    assert len(wrong(A)) >= 8


@pytest.fixture(scope="module")
def slow(grade_variants):
    return grade_variants(A, {"slow": wrong(A)["train_one_point_at_a_time"][0]})["slow"]


def test_slow_training_loses_the_training_points_only_and_says_why(slow):
    train = next(e for e in slow.exercises if e.name == "train")
    assert {t.status for t in train.tests} == {"timeout"}
    assert "did not return within the limit of 5 s" in train.reason
    assert [e.name for e in slow.exercises if e.points < e.max_points] == ["train"]


def test_five_gradings_of_one_submission_give_one_score(grade, write_variant):
    """Training in the child, seeds, timing: nothing makes a grade vary from one run to the next."""
    copies = [write_variant(A, f"graded_five_times_{i}", wrong(A)["train_never_calls_zero_grad"][0]) for i in range(5)]
    results = grade(copies)  # five submissions of one batch, each in its own child
    assert len({r.notebook for r in results}) == 5 and all(r.seconds > 0 for r in results)
    marks = {tuple((e.name, e.points, e.reason) for e in r.exercises) for r in results}
    assert len(marks) == 1, marks
    assert results[0].score == full_marks(A) - 4

"""The example class: generated from what the course holds (solutions, student notebooks, each
assignment's WRONG table), graded with the scores those tables promise."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from class_helpers import example_class, make_class  # noqa: F401
from conftest import REPO
from relu_course.classroom import gradebook_url
from relu_course.course import Course
from relu_course.gradebook import ClassGradebook


@pytest.fixture(scope="module")
def graded(example_class):
    root, kinds, proc = example_class
    with ClassGradebook(gradebook_url(root)) as book:
        return {(g.student, g.assignment): g.result for g in book.graded()}


def test_a_dozen_students_for_every_assignment(example_class, course):
    _, kinds, _ = example_class
    for assignment in course.assignment_ids():
        students = [s for s, a in kinds if a == assignment]
        assert len(students) == 12
        assert {kinds[s, assignment] for s in students} == {"correct", "partial", "broken", "hostile"}


def test_correct_students_earn_full_marks_and_stubs_nothing(example_class, graded):
    _, kinds, _ = example_class
    for (student, assignment), kind in kinds.items():
        result = graded[student, assignment]
        if kind == "correct":
            assert result.score == result.max_score, (student, assignment)
        if student == "gus":
            assert result.score == 0


def test_partial_students_earn_what_their_wrong_submission_promises(example_class, graded, course):
    _, kinds, _ = example_class
    checked = 0
    for assignment in course.assignment_ids():
        wrong = make_class.wrong_table(course, assignment)
        for index, (student, _, _) in enumerate(s for s in make_class.STUDENTS if s[1] == "partial"):
            name = list(wrong)[index * len(wrong) // 5]
            _, changed, words = wrong[name]
            points = {e.name: e.points for e in graded[student, assignment].exercises}
            full = {e.name: e.max_points for e in graded[student, assignment].exercises}
            assert points == {**full, **changed}, (student, name)
            reason = next(e.reason for e in graded[student, assignment].exercises if e.name == next(iter(changed)))
            assert words in reason
            checked += 1
    assert checked == 5 * len(course.assignment_ids())


def test_broken_and_hostile_students_are_recorded_with_reasons(example_class, graded):
    root, kinds, proc = example_class
    assert graded["ivan", "01_activations"].error and "not valid JSON" in graded["ivan", "01_activations"].error
    assert any("SyntaxError" in note for note in graded["hana", "01_activations"].notes)
    for student in make_class.HOSTILE_IDS:
        assert (student, "01_activations") in graded
    assert f"{len(kinds)} submissions graded now" in proc.stdout


def test_the_generator_follows_the_course(tmp_path):
    """A new assignment with a WRONG table beside its hidden tests gets its students."""
    course = tmp_path / "course"
    for folder in ("solutions", "autograder", "assignments", "tests"):
        shutil.copytree(REPO / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__"))
    new = "03_again"
    shutil.copy(course / "solutions" / "01_activations.ipynb", course / "solutions" / f"{new}.ipynb")
    shutil.copy(course / "assignments" / "01_activations.ipynb", course / "assignments" / f"{new}.ipynb")
    wrong = {"relu_is_zero": ({"relu_code": "def relu(x):\n    return np.zeros(np.shape(x))\n"}, {"relu": 1}, "relu(")}
    tests = (course / "autograder" / "test_01_activations.py").read_text() + f"\n\nWRONG = {wrong!r}\n"
    (course / "autograder" / f"test_{new}.py").write_text(tests)
    kinds = make_class.generate(Course(course), tmp_path / "class")
    assert len([s for s, a in kinds if a == new]) == 12
    partial = json.loads((tmp_path / "class" / "submitted" / "bea" / new / f"{new}.ipynb").read_text())
    assert any("np.zeros(np.shape(x))" in "".join(c["source"]) for c in partial["cells"])


def test_the_readme_starts_with_grading_the_example_class():
    readme = (REPO / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    assert "examples/make_class.py" in first and "relu-course grade examples/demo_class" in first

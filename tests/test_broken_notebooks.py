"""Broken notebooks get a clear message and a graded record; the grader never shows a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO, points_by_exercise, solution_with

A = "01_activations"


def relu_course(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_course", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def broken(course, tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken")
    paths = {}
    paths["not_json"] = folder / "not_json.ipynb"
    paths["not_json"].write_text("this is not a notebook {")
    paths["empty"] = folder / "empty.ipynb"
    empty = nbformat.v4.new_notebook()
    empty.metadata["relu_course"] = {"assignment": A}
    nbformat.write(empty, paths["empty"])
    paths["syntax_error"] = folder / "syntax_error.ipynb"
    nbformat.write(solution_with(course, A, {"relu_code": "def relu(x)\n    return np.maximum(x, 0.0)\n"}),
                   paths["syntax_error"])
    reordered = nbformat.read(course.solution(A), as_version=4)
    reordered.cells.reverse()
    paths["reordered"] = folder / "reordered.ipynb"
    nbformat.write(reordered, paths["reordered"])
    return paths


@pytest.fixture(scope="module")
def results(broken, grade):
    return dict(zip(broken, grade(list(broken.values()), assignment=A)))


def test_not_json_gets_zero_with_reason(results):
    result = results["not_json"]
    assert result.score == 0 and result.max_score == 38
    assert "not valid JSON" in result.error
    assert all("not valid JSON" in e.reason for e in result.exercises)


def test_empty_notebook_gets_zero_with_reason(results):
    result = results["empty"]
    assert result.score == 0
    assert all(e.reason == f"{e.name} is not defined in the notebook" for e in result.exercises)
    assert "the notebook has no code cells" in result.notes


def test_syntax_error_costs_only_its_exercise(results):
    result = results["syntax_error"]
    points = points_by_exercise(result)
    assert points.pop("relu") == 0
    assert all(points[name] > 0 for name in points) and result.score == 34
    relu = next(e for e in result.exercises if e.name == "relu")
    assert "relu is not defined in the notebook" in relu.reason and "SyntaxError" in relu.reason
    assert any("(relu_code) raised SyntaxError" in note for note in result.notes)


def test_reordered_cells_are_graded_in_notebook_order(results):
    result = results["reordered"]
    assert result.score == 38  # every function is defined by the end; nothing is affected
    assert any("not in the assignment's order" in note for note in result.notes)


def test_cli_full_marks_and_json(tmp_path):
    out = tmp_path / "result.json"
    proc = relu_course("grade", "solutions/01_activations.ipynb", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "total: 38/38" in proc.stdout
    [data] = json.loads(out.read_text())  # always a list, one record per notebook
    assert data["assignment"] == A and data["score"] == data["max_score"] == 38
    assert [e["name"] for e in data["exercises"]][:2] == ["collapse_linear", "sigmoid"]


def test_cli_stub_gets_zero():
    proc = relu_course("grade", "assignments/01_activations.ipynb")
    assert proc.returncode == 0, proc.stderr
    assert "total: 0/38" in proc.stdout and "not implemented yet" in proc.stdout


@pytest.mark.parametrize("args, words", [
    (["grade", "nowhere.ipynb"], "nowhere.ipynb: no such file"),
    (["grade", "solutions/01_activations.ipynb", "--assignment", "99_nothing"], "unknown assignment '99_nothing'"),
    (["grade", "README.md"], "is not a notebook"),
])
def test_cli_fails_with_one_line(args, words):
    proc = relu_course(*args)
    assert proc.returncode == 2
    assert words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_cli_broken_notebook_with_assignment_is_graded(broken):
    proc = relu_course("grade", str(broken["not_json"]), "--assignment", A)
    assert proc.returncode == 0, proc.stderr
    assert "total: 0/38" in proc.stdout and "not valid JSON" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_cli_identifies_the_assignment_from_the_notebook_not_its_name(tmp_path):
    renamed = tmp_path / "homework_final_v2.ipynb"
    renamed.write_bytes((REPO / "solutions/01_activations.ipynb").read_bytes())
    proc = relu_course("grade", str(renamed))
    assert proc.returncode == 0 and "(assignment 01_activations)" in proc.stdout and "total: 38/38" in proc.stdout


def test_two_workers_give_the_same_records_as_one(course, write_variant):
    """--jobs 2: each forked grader has its own worker; same scores, same order."""
    from conftest import points_by_exercise
    from relu_course.engine.runner import Submission, grade_submissions

    paths = [course.solution(A), course.student_notebook(A), write_variant(A, "jobs_relu_abs",
             {"relu_code": "def relu(x):\n    return np.abs(np.asarray(x, dtype=float))\n"})]
    results = grade_submissions([Submission(p) for p in paths], course, jobs=2)
    assert [r.score for r in results] == [38, 0, 34]  # relu as |x|: wrong values, so its contract pays nothing
    assert points_by_exercise(results[2])["relu"] == 0


@pytest.mark.parametrize("source, words", [
    ("def test_x(:\n    pass\n", "SyntaxError"),
    ("def test_x():\n    pass\n", "has no @exercise mark"),
    ("import pytest\n", "it has no tests"),
])
def test_broken_hidden_tests_stop_grading_with_one_clear_reason(tmp_path, source, words):
    from relu_course.engine.runner import GradingError, Submission, Suite, grade_submissions

    tests = tmp_path / f"test_broken_{len(words)}.py"  # pytest caches a test module by its name
    tests.write_text(source)
    suite = Suite(known={A: []}, tests=lambda assignment: tests)
    with pytest.raises(GradingError, match=f"{tests.name} could not run: .*{words}"):
        grade_submissions([Submission(tmp_path / "any.ipynb", A)], None, suite=suite)

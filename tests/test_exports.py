"""relu-course export: the CSV a spreadsheet opens safely, Gradescope's results.json per submission."""
from __future__ import annotations

import csv
import io
import json

import pytest

from class_helpers import example_class, relu_course  # noqa: F401
from relu_course.exports import FORMULA_STARTS
from relu_course.gradebook import ClassGradebook
from relu_course.classroom import gradebook_url


@pytest.fixture(scope="module")
def stored(example_class):
    root, _, _ = example_class
    with ClassGradebook(gradebook_url(root)) as book:
        return {(g.student, g.assignment): g.result for g in book.graded()}


@pytest.fixture(scope="module")
def rows(example_class):
    root, _, _ = example_class
    proc = relu_course("export", root, "--format", "csv", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    return list(csv.DictReader(io.StringIO(proc.stdout)))


def unquote(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def test_a_row_per_student_and_assignment_with_totals_and_a_column_per_exercise(rows, stored):
    assert len(rows) == len(stored)
    for row in rows:
        result = stored[unquote(row["student_id"]), row["assignment"]]
        assert float(row["score"]) == result.score and float(row["max_score"]) == result.max_score
        points = {e.name: e.points for e in result.exercises}
        assert {k: float(v) for k, v in row.items() if k in points} == points
        assert all(v == "" for k, v in row.items() if k not in points and k not in ("student_id", "assignment",
                                                                                    "score", "max_score"))


def test_no_cell_starts_a_formula(rows, stored):
    formulas = [s for s, _ in stored if s.startswith(FORMULA_STARTS)]
    assert formulas, "the example class has a student id that is a formula"
    cells = [cell for row in rows for cell in row.values()]
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    assert {unquote(row["student_id"]) for row in rows} == {s for s, _ in stored}


def test_gradescope_results_per_submission(example_class, stored, tmp_path):
    root, _, _ = example_class
    proc = relu_course("export", root, "--format", "gradescope", "-o", tmp_path / "gs")
    assert proc.returncode == 0, proc.stderr
    files = sorted((tmp_path / "gs").glob("*/*/results.json"))
    assert len(files) == len(stored)
    for path in files:
        results = json.loads(path.read_text())
        record = stored[path.parent.parent.name, path.parent.name]
        assert results["score"] == record.score
        assert set(results) >= {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
        tests = results["tests"]
        assert sum(t["score"] for t in tests) == pytest.approx(record.score)
        assert sum(t["max_score"] for t in tests) == pytest.approx(record.max_score)
        assert len(tests) == sum(len(e.tests) for e in record.exercises)
        for test in tests:
            assert test["status"] in ("passed", "failed") and test["visibility"] == "after_published"
            assert test["output_format"] in ("text", "html", "simple_format", "md", "ansi")
            assert (test["status"] == "passed") == (test["score"] == test["max_score"])
        assert results["visibility"] == "after_published" and results["stdout_visibility"] == "hidden"

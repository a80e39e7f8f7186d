"""relu-course grade COURSE_DIR: a class in nbgrader's layout graded into nbgrader's gradebook,
resumably, with a summary; what nbgrader itself reads back agrees."""
from __future__ import annotations

import fcntl
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import termios

import pytest

from class_helpers import grade_class, make_class, nbgrader_export, relu_course, state, write_class
from conftest import REPO
from relu_course.class_grading import hidden_tests_hash, to_grade
from relu_course.classroom import ClassSubmission, gradebook_url
from relu_course.engine.runner import Submission, grade_submissions

A1, A2 = "01_activations", "02_relu_sums"


@pytest.fixture(scope="module")
def notebooks(course):
    """(student, assignment) -> notebook, made as the example class makes them."""
    wrong = {a: make_class.wrong_table(course, a) for a in (A1, A2)}
    made = {
        ("ada", A1): make_class.correct(course, A1, wrong[A1]),
        ("ada", A2): make_class.correct(course, A2, wrong[A2]),
        ("bea", A1): make_class.partial(0, 3)(course, A1, wrong[A1]),
        ("carl", A1): make_class.partial(1, 3)(course, A1, wrong[A1]),
        ("carl", A2): make_class.partial(0, 1)(course, A2, wrong[A2]),
        ("gus", A1): make_class.stub(course, A1, wrong[A1]),
        ("ivan", A1): make_class.not_json(course, A1, wrong[A1]),
        ("x\x1b[31mred\nline", A1): make_class.correct(course, A1, wrong[A1]),  # skipped, with one line
    }
    return made


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory, notebooks):
    root = write_class(tmp_path_factory.mktemp("class") / "course", notebooks)
    (root / "submitted" / "ada" / A1 / "timestamp.txt").write_text("2026-03-01 09:30:00.000000 UTC")
    return root


@pytest.fixture(scope="module")
def first_run(class_dir):
    return grade_class(class_dir, "-j", "2")


@pytest.fixture(scope="module")
def direct(course, worker, class_dir):
    """The same notebooks graded directly by the engine: what the gradebook must hold."""
    paths = sorted(class_dir.glob("submitted/*/*/*.ipynb"))
    paths = [p for p in paths if p.parent.parent.name.isprintable()]
    results = grade_submissions([Submission(p, p.parent.name) for p in paths], course, worker=worker)
    return {(p.parent.parent.name, p.parent.name): r for p, r in zip(paths, results)}


def test_every_submission_has_one_grade_per_graded_cell(first_run, class_dir, direct):
    held = state(gradebook_url(class_dir))
    expected = sorted((student, assignment, e.name, e.points, e.max_points)
                      for (student, assignment), r in direct.items() for e in r.exercises)
    assert held["grades"] == expected
    assert held["submissions"] == len(direct) and held["claims"] == 0
    assert [r[-1] for r in held["records"]] == [1] * len(direct)  # each graded once


def test_unknown_students_are_added(first_run, class_dir, direct):
    assert state(gradebook_url(class_dir))["students"] == sorted({s for s, _ in direct})


def test_nbgrader_export_lists_the_same_totals(first_run, class_dir, direct):
    exported = nbgrader_export(class_dir)
    assert {key: exported[key] for key in direct} == {key: r.score for key, r in direct.items()}


def test_nbgrader_keeps_the_submission_time(first_run, class_dir):
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(class_dir)) as gb:
        assert str(gb.find_submission(A1, "ada").timestamp) == "2026-03-01 09:30:00"


def test_summary_gives_counts_mean_and_median_per_assignment(first_run, direct):
    lines = first_run.stdout.splitlines()
    for assignment in (A1, A2):
        scores = [r.score for (s, a), r in direct.items() if a == assignment]
        row = next(line.split() for line in lines if line.startswith(assignment))
        count = str(len(scores))
        assert row[1:4] == [count, count, "0"]
        assert float(row[4]) == pytest.approx(statistics.mean(scores), rel=1e-3)
        assert float(row[5]) == pytest.approx(statistics.median(scores))
    assert "6 students; 7 submissions graded now, 0 up to date, 2 with a problem" in first_run.stdout


def test_a_notebook_that_is_not_json_is_recorded_as_zero_with_one_line(first_run):
    lines = [line for line in first_run.stdout.splitlines() if line.strip().startswith("ivan/")]
    assert len(lines) == 1 and "recorded as 0/38" in lines[0] and "not valid JSON" in lines[0]


def test_a_student_id_with_control_characters_is_one_escaped_line(first_run):
    assert "\x1b" not in first_run.stdout and "\x1b" not in first_run.stderr
    lines = [line for line in first_run.stdout.splitlines() if "red" in line]
    assert lines == ["  'x\\x1b[31mred\\nline'/-: a student id with control characters; skipped"]


@pytest.fixture
def graded_copy(first_run, class_dir, tmp_path):
    """A copy of the graded class, gradebook included, to run again."""
    copy = tmp_path / "course"
    shutil.copytree(class_dir, copy)
    return copy


def test_a_second_run_changes_nothing_and_says_so(graded_copy):
    before = state(gradebook_url(graded_copy))
    proc = grade_class(graded_copy)
    assert "nothing to grade: all 7 graded submissions are up to date" in proc.stdout
    assert state(gradebook_url(graded_copy)) == before


def test_only_a_changed_notebook_is_graded_again(graded_copy, course):
    before = {r[:2]: r for r in state(gradebook_url(graded_copy))["records"]}
    path = graded_copy / "submitted" / "gus" / A1 / f"{A1}.ipynb"
    path.write_bytes(course.solution(A1).read_bytes())  # gus finished the work
    proc = grade_class(graded_copy)
    assert "1 submissions graded now, 6 up to date" in proc.stdout
    after = {r[:2]: r for r in state(gradebook_url(graded_copy))["records"]}
    assert after["gus", A1][4] == 38 and after["gus", A1][-1] == 2
    assert {k: v for k, v in after.items() if k != ("gus", A1)} == {k: v for k, v in before.items() if k != ("gus", A1)}


def test_force_grades_everything_again(graded_copy):
    before = state(gradebook_url(graded_copy))
    proc = grade_class(graded_copy, "--force", "--assignment", A2)
    assert "2 submissions graded now" in proc.stdout
    after = state(gradebook_url(graded_copy))
    assert after["grades"] == before["grades"]
    assert {r[:2]: r[-1] for r in after["records"]} == {r[:2]: r[-1] + (r[1] == A2) for r in before["records"]}


def test_changed_tests_make_every_grade_stale(course, tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text("{}")
    found = [ClassSubmission("ada", A1, notebook, "abc")]
    current = {A1: hidden_tests_hash(course, A1)}
    assert to_grade(found, {("ada", A1): ("abc", current[A1])}, current) == []
    assert to_grade(found, {("ada", A1): ("abc", "other tests")}, current) == found
    assert to_grade(found, {("ada", A1): ("other notebook", current[A1])}, current) == found
    assert hidden_tests_hash(course, A1) != hidden_tests_hash(course, A2)


def test_the_progress_bar_shows_only_on_a_terminal(course, tmp_path):
    root = write_class(tmp_path / "tiny", {("ada", A1): make_class.correct(course, A1, {})})
    piped = relu_course("grade", root, "--course", REPO, "-j", "1")
    assert piped.returncode == 0 and "\r" not in piped.stderr and "%|" not in piped.stderr
    (root / "gradebook.db").unlink()
    ours, theirs = pty.openpty()
    fcntl.ioctl(theirs, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide
    proc = subprocess.Popen([sys.executable, "-m", "relu_course", "grade", str(root), "--course", str(REPO), "-j", "1"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=theirs, stdin=subprocess.DEVNULL)
    os.close(theirs)
    seen = b""
    while True:
        try:
            chunk = os.read(ours, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=300) == 0
    os.close(ours)
    assert b"%|" in seen and b"1/1" in seen, seen[-500:]


def test_json_is_refused_for_a_class(class_dir):
    proc = relu_course("grade", class_dir, "--course", REPO, "--json", class_dir / "out.json")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert not (class_dir / "out.json").exists()


def test_notebooks_are_still_graded_one_by_one(course):
    proc = relu_course("grade", course.solution(A1), "--quiet")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("38/38"), proc.stdout + proc.stderr

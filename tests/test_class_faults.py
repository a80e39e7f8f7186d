"""Grading a class when things go wrong: a grader killed mid-class, two graders at once, broken
submission folders, a gradebook that cannot be reached."""
from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from class_helpers import (grade_class, graded_now, make_class, relu_course, slow, slow_class as make_slow_class,
                           start_grader, state, stored_count, write_class)
from conftest import REPO
from relu_course.classroom import gradebook_url

A1 = "01_activations"
#: students whose notebook takes a while, so that a run can be caught in the middle
SLOW_STUDENTS = [f"s{i:02d}" for i in range(8)]


@pytest.fixture(scope="module")
def slow_class(course, tmp_path_factory):
    return make_slow_class(course, tmp_path_factory.mktemp("slow") / "course", SLOW_STUDENTS, 0.6)


def copy_of(root, tmp_path, name):
    copy = tmp_path / name
    shutil.copytree(root, copy)
    return copy


@pytest.fixture(scope="module")
def uninterrupted(slow_class, tmp_path_factory):
    """The gradebook an uninterrupted run leaves."""
    root = copy_of(slow_class, tmp_path_factory.mktemp("uninterrupted"), "course")
    grade_class(root, "-j", "2")
    return state(gradebook_url(root))


def test_a_grader_killed_mid_class_then_rerun_leaves_the_same_gradebook(slow_class, uninterrupted, tmp_path):
    root = copy_of(slow_class, tmp_path, "course")
    grader = start_grader(root, "-j", "2")
    deadline = time.monotonic() + 300
    while stored_count(root) < 2 and grader.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    grader.send_signal(signal.SIGKILL)
    grader.communicate(timeout=60)
    kept = stored_count(root)
    assert 2 <= kept < len(SLOW_STUDENTS), "the kill came before or after the class, not in it"
    rerun = grade_class(root, "-j", "2")
    assert graded_now(rerun.stdout) == len(SLOW_STUDENTS) - kept
    assert state(gradebook_url(root)) == uninterrupted  # no grade lost, none counted twice (revision 1 each)


def test_two_graders_at_once_share_the_class(slow_class, uninterrupted, tmp_path):
    root = copy_of(slow_class, tmp_path, "course")
    graders = [start_grader(root, "-j", "1") for _ in range(2)]
    outputs = [g.communicate(timeout=600) for g in graders]
    for grader, (out, err) in zip(graders, outputs):
        assert grader.returncode == 0, err
    assert sum(graded_now(out) for out, _ in outputs) == len(SLOW_STUDENTS)  # each submission graded once
    assert state(gradebook_url(root)) == uninterrupted


# -- broken submission folders ------------------------------------------------------------------
FAULTS = {
    "nina": "no notebook (.ipynb) in the folder",
    "otto": "2 notebooks (a.ipynb, b.ipynb); keep one",
    "pia": "unknown assignment; this course has",
    "quinn": "01_activations.ipynb is not a regular file",      # a named pipe: reading it would block
    "rosa": "01_activations.ipynb is a symbolic link",          # dangling
    "sam": "01_activations.ipynb is a symbolic link",           # to the solution: never graded as the student's
    "ulla": "01_activations.ipynb is not a regular file",       # a folder named like a notebook
}
if os.geteuid() != 0:  # root reads any file; the named pipe stands in for an unreadable file there
    FAULTS["vera"] = "01_activations.ipynb cannot be read: Permission denied"


@pytest.fixture(scope="module")
def faulty(course, tmp_path_factory):
    root = write_class(tmp_path_factory.mktemp("faulty") / "course", {("ada", A1): course.solution(A1).read_bytes()})
    folder = lambda student, assignment=A1: (root / "submitted" / student / assignment)  # noqa: E731
    for student in FAULTS:
        folder(student, "99_unknown" if student == "pia" else A1).mkdir(parents=True)
    for name in ("a.ipynb", "b.ipynb"):
        shutil.copy(course.solution(A1), folder("otto") / name)
    shutil.copy(course.solution(A1), folder("pia", "99_unknown") / "x.ipynb")
    os.mkfifo(folder("quinn") / f"{A1}.ipynb")
    (folder("rosa") / f"{A1}.ipynb").symlink_to(root / "nowhere.ipynb")
    (folder("sam") / f"{A1}.ipynb").symlink_to(course.solution(A1))
    (folder("ulla") / f"{A1}.ipynb").mkdir()
    if "vera" in FAULTS:
        target = folder("vera") / f"{A1}.ipynb"
        shutil.copy(course.solution(A1), target)
        target.chmod(0)
    return root, grade_class(root, "-j", "1", timeout=300)


@pytest.mark.parametrize("student", FAULTS)
def test_a_broken_submission_folder_gets_one_clear_line(faulty, student):
    _, proc = faulty
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith(f"{student}/")]
    assert len(lines) == 1 and FAULTS[student] in lines[0], proc.stdout


def test_the_rest_of_the_class_is_graded(faulty):
    root, proc = faulty
    held = state(gradebook_url(root))
    assert [(r[0], r[1], r[4]) for r in held["records"]] == [("ada", A1, 38.0)]
    assert held["students"] == ["ada"]


def test_a_submission_cannot_read_another_students_notebook(course, tmp_path):
    root = tmp_path / "course"
    ada = root / "submitted" / "ada" / A1 / f"{A1}.ipynb"
    thief = make_class.correct(course, A1, {})
    make_class.with_cell(thief, f"try:\n    STOLEN = open({str(ada)!r}).read()\nexcept OSError:\n    STOLEN = None\n", 1)
    for cell in thief["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "relu_code":
            cell["source"] = ("def relu(x):\n    if STOLEN is None:\n        raise RuntimeError('could not read ada')\n"
                              "    return np.maximum(np.asarray(x, dtype=float), 0.0)\n")
    write_class(root, {("ada", A1): course.solution(A1).read_bytes(), ("mallory", A1): thief})
    grade_class(root, "-j", "1")
    records = {r[0]: r[4] for r in state(gradebook_url(root))["records"]}
    assert records == {"ada": 38.0, "mallory": 34.0}  # mallory's relu found nothing to read


# -- a gradebook that cannot be reached ----------------------------------------------------------
@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:9/gradebook", "sqlite:////no/such/folder/gradebook.db",
                                 "not a database"])
def test_an_unreachable_gradebook_is_one_line_before_anything_is_graded(course, tmp_path, url):
    # grading this notebook would take two minutes: an error within the timeout came first
    root = write_class(tmp_path / "course", {("ada", A1): slow(make_class.correct(course, A1, {}), 120)})
    proc = relu_course("grade", root, "--course", REPO, "--db", url, timeout=100)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "gradebook" in proc.stderr or "database URL" in proc.stderr
    assert not (root / "gradebook.db").exists()

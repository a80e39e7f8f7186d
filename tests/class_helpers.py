"""Helpers for the class-grading tests: write a class, run the command, read a gradebook back."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "examples"))

import make_class  # noqa: E402

from relu_course.classroom import gradebook_url  # noqa: E402


def write_class(root: Path, notebooks: dict[tuple[str, str], dict | bytes]) -> Path:
    """``root/submitted/<student>/<assignment>/<assignment>.ipynb`` for each (student, assignment)."""
    for (student, assignment), content in notebooks.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        (folder / f"{assignment}.ipynb").write_bytes(data)
    return root


def relu_course(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """``relu-course ARGS`` in a subprocess (from the repository), output captured as text."""
    return subprocess.run([sys.executable, "-m", "relu_course", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def grade_class(class_dir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = relu_course("grade", class_dir, "--course", REPO, *args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc


def state(url: str) -> dict:
    """What a gradebook holds, comparable across runs: nbgrader's grades and our records
    (without the times, which differ from run to run)."""
    from nbgrader.api import Gradebook, SubmittedAssignment
    from sqlalchemy import create_engine, text

    with Gradebook(url) as gb:
        submitted = gb.db.query(SubmittedAssignment).all()
        grades = sorted((s.student.id, s.assignment.name, grade.name, grade.auto_score, grade.max_score)
                        for s in submitted for nb in s.notebooks for grade in nb.grades)
        students = sorted(s.id for s in gb.students)
        submissions = len(submitted)
    engine = create_engine(url)
    with engine.connect() as db:
        records = sorted(tuple(row) for row in db.execute(text(
            "select student_id, assignment, notebook_sha256, tests_sha256, score, max_score, revision "
            "from relu_course_grade")))
        claims = db.execute(text("select count(*) from relu_course_claim")).scalar()
    engine.dispose()
    return {"grades": grades, "students": students, "submissions": submissions, "records": records,
            "claims": claims}


def nbgrader_export(class_dir: Path, url: str | None = None) -> dict[tuple[str, str], float]:
    """(student, assignment) -> score, as the real ``nbgrader export`` lists them."""
    out = class_dir / "nbgrader-export.csv"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["nbgrader", "export", f"--CourseDirectory.root={class_dir}",
                    f"--CourseDirectory.db_url={url or gradebook_url(class_dir)}", f"--to={out}"],
                   cwd=class_dir, env=env, check=True, capture_output=True, timeout=300)
    with open(out, newline="") as handle:
        return {(row["student_id"], row["assignment"]): float(row["score"]) for row in csv.DictReader(handle)}


def slow(nb: dict, seconds: float) -> dict:
    """The notebook with a first code cell that sleeps: a submission that takes a while to grade."""
    return make_class.with_cell(json.loads(json.dumps(nb)), f"import time\ntime.sleep({seconds})\n", 1)


def slow_class(course, root: Path, students: list[str], seconds: float) -> Path:
    """A class of assignment 01 at ``root`` whose notebooks each sleep ``seconds`` first (correct, stub,
    and two partial solutions in turn): a class long enough to be caught in the middle."""
    assignment = "01_activations"
    wrong = make_class.wrong_table(course, assignment)
    kinds = [make_class.correct, make_class.stub, make_class.partial(0, 2), make_class.partial(1, 2)]
    return write_class(root, {(s, assignment): slow(kinds[i % len(kinds)](course, assignment, wrong), seconds)
                              for i, s in enumerate(students)})


def start_grader(class_dir: Path, *args: str) -> subprocess.Popen:
    """``relu-course grade CLASS_DIR ARGS`` started in the background, output piped as text."""
    return subprocess.Popen([sys.executable, "-m", "relu_course", "grade", str(class_dir), "--course", str(REPO), *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored_count(class_dir: Path) -> int:
    """How many grades the class's SQLite gradebook holds (0 before it is made)."""
    try:
        with sqlite3.connect(class_dir / "gradebook.db", timeout=30) as db:
            return db.execute("select count(*) from relu_course_grade").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def graded_now(output: str) -> int:
    """The summary's count of submissions graded in this run."""
    found = re.search(r"(\d+) submissions graded now", output)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="session")
def postgres():
    """The URL of an empty PostgreSQL database: RELU_COURSE_TEST_POSTGRES (``.ci/run`` starts one),
    else a server started here if PostgreSQL is installed; skipped only where it is not."""
    import postgres_server

    given = os.environ.get("RELU_COURSE_TEST_POSTGRES")
    if given:
        yield given
        return
    if postgres_server.bindir() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)")
    folder = Path(tempfile.mkdtemp(prefix="relu-course-postgres-"))  # pytest's own is closed to the server's user
    os.chmod(folder, 0o755)
    try:
        yield postgres_server.start(folder)
    finally:
        postgres_server.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """A new, empty database beside the one at ``url`` (PostgreSQL), for one test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        db.execute(text(f'drop database if exists "{name}"'))
        db.execute(text(f'create database "{name}"'))
    engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


_example: dict = {}


@pytest.fixture(scope="session")
def example_class(tmp_path_factory):
    """The example class, generated and graded once for the whole session (read it, never change it):
    (class directory, {(student, assignment): kind}, the grading run's output)."""
    if not _example:
        from relu_course.course import Course

        root = tmp_path_factory.mktemp("example") / "demo_class"
        kinds = make_class.generate(Course(REPO), root)
        _example["value"] = (root, kinds, grade_class(root, "-j", "2"))
    return _example["value"]

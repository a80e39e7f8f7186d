"""relu-course build: deterministic student notebooks, --check, and the real nbgrader accepting them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from relu_course import notebook
from relu_course.commands.build import build

A = "01_activations"


def relu_course(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_course", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def course_copy(tmp_path) -> Path:
    for folder in ("solutions", "autograder", "assignments"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def test_committed_assignments_are_in_step():
    proc = relu_course("build", "--check")
    assert proc.returncode == 0, proc.stderr


def test_build_is_byte_identical_on_rerun(course_copy):
    from relu_course.course import Course

    target = course_copy / "assignments" / f"{A}.ipynb"
    target.unlink()
    assert build(Course(course_copy), check=False) == []
    first = target.read_bytes()
    target.unlink()
    assert build(Course(course_copy), check=False) == []
    assert target.read_bytes() == first == (REPO / "assignments" / f"{A}.ipynb").read_bytes()


def test_check_names_the_stale_file(course_copy):
    solution = course_copy / "solutions" / f"{A}.ipynb"
    nb = nbformat.read(solution, as_version=4)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, solution)
    proc = relu_course("build", "--check", "--course", str(course_copy))
    assert proc.returncode == 1
    assert f"assignments/{A}.ipynb is out of step" in proc.stderr
    assert relu_course("build", "--course", str(course_copy)).returncode == 0
    assert relu_course("build", "--check", "--course", str(course_copy)).returncode == 0


def test_points_are_checked_against_the_hidden_tests(course_copy):
    solution = course_copy / "solutions" / f"{A}.ipynb"
    nb = nbformat.read(solution, as_version=4)
    cell = next(c for c in nb.cells if notebook.grade_id(c) == "relu")
    cell.metadata.nbgrader["points"] = 7
    nbformat.write(nb, solution)
    proc = relu_course("build", "--check", "--course", str(course_copy))
    assert proc.returncode == 1
    assert "test cell 'relu' has points 7, the hidden tests declare 4" in proc.stderr


def solution_lines(source: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line inside a solution region of the instructor notebook."""
    lines = []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
                inside = "BEGIN" in line
            elif inside and line.strip() and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


@pytest.mark.parametrize("assignment", sorted(p.stem for p in (REPO / "solutions").glob("*.ipynb")))
def test_student_notebook_is_stubbed_locked_and_clean(assignment):
    source = nbformat.read(REPO / "solutions" / f"{assignment}.ipynb", as_version=4)
    student = nbformat.read(REPO / "assignments" / f"{assignment}.ipynb", as_version=4)
    nbformat.validate(student)
    assert student.metadata[notebook.METADATA_KEY] == {"assignment": assignment}
    assert [c.id for c in student.cells] == [c.id for c in source.cells]
    student_code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in student_code
    leaked = [line for line in solution_lines(source) if len(line) > 12 and line in student_code]
    assert not leaked, f"solution lines in the student notebook: {leaked[:3]}"
    stubs = [c for c in student.cells if notebook.nbgrader(c).get("solution")]
    assert stubs and all("raise NotImplementedError()" in c.source and "def " in c.source for c in stubs)
    for cell in student.cells:
        meta = notebook.nbgrader(cell)
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if meta.get("grade") and not meta.get("solution"):
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
        if meta:
            assert meta["schema_version"] == 3 and meta.get("checksum")


@pytest.mark.slow
def test_real_nbgrader_accepts_both_notebooks(tmp_path):
    """nbgrader generates the same student notebook and autogrades solution 38, stub 0."""
    root = tmp_path / "course"
    for where, src in (("source", "solutions"), ("submitted/alice", "solutions"), ("submitted/bob", "assignments")):
        folder = root / where / A
        folder.mkdir(parents=True)
        shutil.copy(REPO / src / f"{A}.ipynb", folder / f"{A}.ipynb")
    (root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def nbgrader(*args: str) -> None:
        proc = subprocess.run(["nbgrader", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]

    nbgrader("generate_assignment", A, "--force")
    released = nbformat.read(root / "release" / A / f"{A}.ipynb", as_version=4)
    ours = nbformat.read(REPO / "assignments" / f"{A}.ipynb", as_version=4)
    assert [c.source for c in released.cells] == [c.source for c in ours.cells]
    assert [notebook.nbgrader(c) for c in released.cells] == [notebook.nbgrader(c) for c in ours.cells]
    for student in ("alice", "bob"):
        nbgrader("db", "student", "add", student)
    nbgrader("autograde", A)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(A, "alice").score == 38
        assert gradebook.find_submission(A, "bob").score == 0
        assert gradebook.find_assignment(A).max_score == 38


def test_points_stated_in_the_text_are_checked_too(course_copy):
    solution = course_copy / "solutions" / f"{A}.ipynb"
    nb = nbformat.read(solution, as_version=4)
    cell = next(c for c in nb.cells if "`relu` (4 points)" in c.source)
    cell.source = cell.source.replace("`relu` (4 points)", "`relu` (5 points)")
    nbformat.write(nb, solution)
    proc = relu_course("build", "--check", "--course", str(course_copy))
    assert proc.returncode == 1
    assert "the text gives relu 5 points, the hidden tests declare 4" in proc.stderr

"""relu-course release: the student bundle holds what a student needs and nothing secret; a planted
leak is refused, named, and nothing is written."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from class_helpers import relu_course
from conftest import REPO
from relu_course import leaks, notebook

A1 = "01_activations"


@pytest.fixture
def course_copy(tmp_path):
    root = tmp_path / "course"
    for folder in ("solutions", "autograder", "assignments", "relu_course"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(REPO / name, root / name)
    return root


def solution_line(course) -> str:
    """A line from inside a solution region of the first assignment."""
    for cell in notebook.read(course.solution(A1))["cells"]:
        source = notebook.source_of(cell)
        if "### BEGIN SOLUTION" in source:
            inside = source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            return next(line for line in inside.splitlines()
                        if leaks.significant(line) and leaks.distinctive(line.strip()))
    raise AssertionError("no solution region")


def hidden_test_lines(course) -> list[str]:
    """Two consecutive lines of a hidden test, as they would be pasted."""
    lines = [line for line in course.tests(A1).read_text().splitlines() if leaks.significant(line)]
    return lines[len(lines) // 2: len(lines) // 2 + 2]


def test_the_real_course_is_released_and_nothing_leaks(course, tmp_path):
    """The course as committed releases: nothing that would ship holds a line of a secret."""
    out = tmp_path / "bundle"
    proc = relu_course("release", out)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    from relu_course.release import assemble

    assemble(course, scratch)
    assert leaks.find_leaks(scratch, leaks.secrets(course)) == []
    assert proc.returncode == 0 and out.exists(), proc.stderr


def test_the_bundle_holds_the_notebooks_and_the_package_and_no_secret(course_copy, tmp_path):
    from relu_course.course import Course

    copy = Course(course_copy)
    out = tmp_path / "bundle"
    proc = relu_course("release", out, "--course", course_copy)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "assignments").iterdir()) == sorted(p.name for p in copy.assignments.iterdir()
                                                                             if p.suffix == ".ipynb")
    assert (out / "relu_course" / "checks").is_dir() and (out / "README.md").is_file()
    assert not (out / "solutions").exists() and not (out / "autograder").exists()
    assert leaks.find_leaks(out, leaks.secrets(copy)) == []
    # the bundle's package is what a student runs: it imports from the bundle
    env = {**os.environ, "PYTHONPATH": str(out)}
    answer = subprocess.run([sys.executable, "-c", "import relu_course, sys; print(relu_course.__file__)"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert answer.stdout.strip() == str(out / "relu_course" / "__init__.py")


@pytest.mark.parametrize("where", ["notebook", "package"])
def test_a_planted_leak_is_refused_and_named(course, course_copy, tmp_path, where):
    if where == "notebook":  # the answer, pasted into a markdown cell of the student notebook
        planted = solution_line(course)
        path = course_copy / "assignments" / f"{A1}.ipynb"
        nb = json.loads(path.read_text())
        nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": f"Hint:\n\n    {planted.strip()}\n"})
        path.write_text(json.dumps(nb))
        expected = [f"assignments/{A1}.ipynb:", "solution code (solutions/01_activations.ipynb"]
    else:  # a hidden test, pasted into a public check
        planted = hidden_test_lines(course)
        path = course_copy / "relu_course" / "checks" / "activations.py"
        path.write_text(path.read_text() + "\n\ndef _pasted():\n" + "".join(f"    {line.strip()}\n" for line in planted))
        expected = ["relu_course/checks/activations.py:", "from a hidden test (autograder/test_01_activations.py:"]
    out = tmp_path / "bundle"
    proc = relu_course("release", out, "--course", course_copy)
    assert proc.returncode == 1
    named = [line for line in proc.stderr.splitlines() if "leak:" in line]
    assert any(all(part in line for part in expected) for line in named), proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".bundle-*"))

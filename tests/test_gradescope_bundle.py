"""relu-course gradescope-bundle: the zip unpacked into a scratch root standing in for /autograder,
run_autograder run on a solution and on a stub, and the results.json files checked."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from class_helpers import relu_course

A1 = "01_activations"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    proc = relu_course("gradescope-bundle", A1, out)
    assert proc.returncode == 0, proc.stderr
    return out


def run_autograder(bundle, root, notebooks: dict[str, bytes]) -> dict:
    """Unpack the bundle into ``root`` (for /autograder), put the submission in, run it."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source-zip")
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert stat.S_IMODE(modes["run_autograder"]) & 0o111 and stat.S_IMODE(modes["setup.sh"]) & 0o111
    shutil.copytree(root / "source-zip" / "source", root / "source")
    (root / "submission").mkdir()
    for name, data in notebooks.items():
        (root / "submission" / name).write_bytes(data)
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(root / "source-zip" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "results" / "results.json").read_text())


def check_format(results: dict) -> None:
    """Gradescope's results.json: the fields and values it accepts (../shared/FACTS.md)."""
    assert isinstance(results["score"], (int, float)) and isinstance(results["tests"], list)
    assert results["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    for test in results["tests"]:
        assert {"score", "max_score", "status", "name", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == "after_published"  # the hidden tests' output: hidden until published
    if results["tests"]:
        assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"])


def test_a_solution_earns_full_marks(bundle, course, tmp_path):
    results = run_autograder(bundle, tmp_path, {"my work.ipynb": course.solution(A1).read_bytes()})
    check_format(results)
    assert results["score"] == 38 and sum(t["max_score"] for t in results["tests"]) == 38
    assert all(t["status"] == "passed" for t in results["tests"])


def test_a_stub_earns_nothing_and_says_why(bundle, course, tmp_path):
    results = run_autograder(bundle, tmp_path, {f"{A1}.ipynb": course.student_notebook(A1).read_bytes()})
    check_format(results)
    assert results["score"] == 0 and sum(t["max_score"] for t in results["tests"]) == 38
    assert all("not implemented yet" in t["output"] for t in results["tests"])


def test_two_notebooks_get_one_message(bundle, course, tmp_path):
    data = course.solution(A1).read_bytes()
    results = run_autograder(bundle, tmp_path, {"a.ipynb": data, "b.ipynb": data})
    assert results["score"] == 0 and "exactly one notebook" in results["output"]


def test_the_bundle_holds_only_this_assignment(bundle):
    names = zipfile.ZipFile(bundle).namelist()
    assert f"source/solutions/{A1}.ipynb" in names and f"source/autograder/test_{A1}.py" in names
    assert not [n for n in names if ("solutions/" in n or "autograder/" in n) and A1 not in n]

"""A grader that survives hostile data: one notebook never costs the batch.

Malformed notebooks of every kind (generated with hypothesis, fixed seed), text that tries to
fool a terminal, replies that try to fill the grader's memory or break its types, cells that
make IPython's translator crawl, interrupted runs, and options that make no sense.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, solution_with
from relu_course.engine.cleanup import remove_tree

A = "01_activations"
SOLUTION = REPO / "solutions" / f"{A}.ipynb"
STUB = REPO / "assignments" / f"{A}.ipynb"
FULL = 38
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def relu_course(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_course", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def with_relu(course, body: str) -> nbformat.NotebookNode:
    return solution_with(course, A, {"relu_code": "def relu(x):\n" + "".join(f"    {l}\n" for l in body.splitlines())})


# -- malformed notebooks, generated -----------------------------------------------------------

BASE = json.loads(SOLUTION.read_text())


def nested(levels: int) -> object:
    value: object = "deep"
    for _ in range(levels):
        value = {"x": value}
    return value


def mutate(kind: str, where: int, size: int) -> bytes:
    """The 01 solution broken in one way: ``where`` picks a cell, ``size`` a depth or a length."""
    nb = copy.deepcopy(BASE)
    cells = nb["cells"]
    i = where % len(cells)
    if kind == "cell_is_a_string":
        cells[i] = "print('not a cell')"
    elif kind == "cell_is_a_number":
        cells[i] = 12345
    elif kind == "source_of_numbers":
        cells[i]["source"] = list(range(size))
    elif kind == "source_is_a_dict":
        cells[i]["source"] = {"a": 1}
    elif kind == "deep_metadata":
        cells[i]["metadata"] = nested(60 + size)
    elif kind == "nbgrader_is_a_list":
        cells[i]["metadata"]["nbgrader"] = [1, 2]
    elif kind == "grade_id_is_a_number":
        cells[i].setdefault("metadata", {})["nbgrader"] = {"grade_id": size, "grade": True}
    elif kind == "nbformat_is_text":
        nb["nbformat"] = "four"
    elif kind == "old_nbformat":
        nb["nbformat"] = 3
    elif kind == "cells_is_a_dict":
        nb["cells"] = {"0": cells[0]}
    elif kind == "top_level_list":
        return json.dumps([nb]).encode()
    elif kind == "lone_surrogate":
        cells[i]["source"] = "x = '\ud800'\n" + "".join(cells[i].get("source", ""))
    elif kind == "not_utf8":
        return b"\xff\xfe" + json.dumps(nb).encode()
    elif kind == "truncated":
        text = json.dumps(nb).encode()
        return text[: len(text) * (size % 9 + 1) // 10]
    elif kind == "huge_cell":
        cells[i]["source"] = "# " + "x" * (1 << 21) + "\n"
    elif kind == "shell_escapes":
        cells[i]["source"] = "!true\n" * 600
    return json.dumps(nb, ensure_ascii=True).encode()


KINDS = ["cell_is_a_string", "cell_is_a_number", "source_of_numbers", "source_is_a_dict", "deep_metadata",
         "nbgrader_is_a_list", "grade_id_is_a_number", "nbformat_is_text", "old_nbformat", "cells_is_a_dict",
         "top_level_list", "lone_surrogate", "not_utf8", "truncated", "huge_cell", "shell_escapes"]


@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 200), st.integers(0, 50)), min_size=6, max_size=6))
def test_malformed_notebooks_each_get_a_record_and_cost_nothing_else(tmp_path_factory, broken):
    folder = tmp_path_factory.mktemp("malformed")
    shutil.copy(SOLUTION, folder / "a_correct.ipynb")
    shutil.copy(STUB, folder / "b_stub.ipynb")
    for n, (kind, where, size) in enumerate(broken):
        (folder / f"c{n}_{kind}.ipynb").write_bytes(mutate(kind, where, size))
    out = folder / "records.json"
    proc = relu_course("grade", str(folder), "--assignment", A, "--json", str(out), "--call-timeout", "3")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    records = {Path(r["notebook"]).name: r for r in json.loads(out.read_text())}
    assert len(records) == 2 + len(broken)
    assert records["a_correct.ipynb"]["score"] == FULL
    assert records["b_stub.ipynb"]["score"] == 0
    for name, record in records.items():
        assert record["finished"] and record["graded"] and record["max_score"] == FULL, name
        assert 0 <= record["score"] <= FULL


# -- text from the child ----------------------------------------------------------------------

def test_text_from_the_child_cannot_fool_the_terminal_or_the_json(course, tmp_path):
    fake = "\x1b[2J\x1b[H" + "relu  4/4  passed\ntotal: 38/38\u202e"
    path = tmp_path / "liar.ipynb"
    nbformat.write(with_relu(course, f"Fake = type({fake!r} + 'x' * 3_500_000, (Exception,), {{}})\n"
                                     "raise Fake('\\ud800 a lone surrogate \\x1b[31m')"), path)
    out = tmp_path / "records.json"
    proc = relu_course("grade", str(path), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and not CONTROL.search(proc.stdout.replace("\n", ""))
    totals = [line for line in proc.stdout.splitlines() if line.startswith("total:")]
    assert totals == ["total: 34/38"], "the class name's fake lines stay inside its reason"
    assert out.stat().st_size < 200_000, "a 3.5 MB class name lands in the record capped"
    [record] = json.loads(out.read_text())
    assert record["score"] == 34
    text = json.dumps(record, ensure_ascii=False)
    assert not CONTROL.search(text.replace("\\n", ""))


# -- replies that try to steer the grader -------------------------------------------------------

def test_large_honest_replies_are_bounded_for_the_whole_submission(course, tmp_path):
    """100 MB of booleans per call: the submission's allowance stops it, and the grader's memory stays small."""
    path = tmp_path / "big.ipynb"
    nbformat.write(with_relu(course, "return np.zeros(100_000_000, dtype=bool)"), path)
    out = tmp_path / "records.json"
    script = ("import resource, subprocess, sys\n"
              f"p = subprocess.run([sys.executable, '-m', 'relu_course', 'grade', {str(path)!r}, '--json', {str(out)!r}])\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\nsys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    peak_kib = int(proc.stdout.split()[-1])
    assert peak_kib < 2_000_000, f"the grader peaked at {peak_kib // 1024} MiB"
    [record] = json.loads(out.read_text())
    relu = next(e for e in record["exercises"] if e["name"] == "relu")
    assert relu["points"] == 0 and record["score"] == FULL - 4


def test_numbers_out_of_range_and_forged_replies_are_the_submissions_fault(course, grade, tmp_path):
    huge = tmp_path / "huge_int.ipynb"
    nbformat.write(with_relu(course, "return 10 ** 30"), huge)
    forged = tmp_path / "forged.ipynb"
    nbformat.write(with_relu(course, (
        "import os, stat, socket, time\nfrom relu_course.engine import protocol\n"
        "fd = [f for f in range(3, 64) if _is_socket(f)][0]\n"
        "protocol.send(socket.socket(fileno=os.dup(fd)), {'ok': True, 'results': 'not a list'}, protocol.Limits())\n"
        "time.sleep(100)")) , forged)
    nb = nbformat.read(forged, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(
        "import os, stat\ndef _is_socket(fd):\n    try:\n        return stat.S_ISSOCK(os.fstat(fd).st_mode)\n"
        "    except OSError:\n        return False"))
    nbformat.write(nb, forged)
    huge_result, forged_result = grade([huge, forged])
    for result, words in ((huge_result, "64-bit"), (forged_result, "not one record per call")):
        relu = next(e for e in result.exercises if e.name == "relu")
        assert relu.points == 0 and words in relu.reason, relu.reason
        assert "the grader failed" not in " ".join(e.reason for e in result.exercises)
        assert result.score == FULL - 4


def test_a_cell_that_makes_the_translator_crawl_costs_only_itself(course, grade, tmp_path):
    path = tmp_path / "escapes.ipynb"
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("!true\n" * 2000))
    nbformat.write(nb, path)
    started = time.monotonic()
    [result] = grade([path])
    assert time.monotonic() - started < 60
    assert result.score == FULL
    assert any("IPython syntax" in note or "did not finish" in note for note in result.notes), result.notes


# -- cleanup ------------------------------------------------------------------------------------

def test_cleanup_removes_any_tree_without_recursion_or_many_descriptors(tmp_path):
    import resource

    top = tmp_path / "scratch"
    top.mkdir()
    base = os.open(top, os.O_RDONLY)
    try:
        for i in range(3000):
            os.mkdir("d", dir_fd=base)
            nxt = os.open("d", os.O_RDONLY, dir_fd=base)
            os.close(base)
            base = nxt
            if i % 700 == 0:
                os.symlink("/etc", "link", dir_fd=base)
                os.close(os.open("file", os.O_CREAT | os.O_WRONLY, 0o000, dir_fd=base))
    finally:
        os.close(base)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    try:
        assert remove_tree(top) is True
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert not top.exists() and Path("/etc").is_dir()
    assert remove_tree(tmp_path / "never-there") is True


# -- interruption -----------------------------------------------------------------------------

SLEEPER = "relu-sleeper"


def sleeper(course, path: Path) -> Path:
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import ctypes, time\nctypes.CDLL(None).prctl(15, b'{SLEEPER}', 0, 0, 0)\ntime.sleep(1000)"))
    nbformat.write(nb, path)
    return path


def sleeping() -> bool:
    """Whether the sleeper's child is alive (a zombie, killed and not yet reaped, is not)."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            state = (comm.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if comm.read_text().strip() == SLEEPER and state not in "ZX":
                return True
        except (OSError, IndexError):
            pass
    return False


def test_an_interrupt_before_the_tests_are_collected_finishes_no_submission(course, tmp_path):
    from relu_course.engine.runner import Interrupted, Submission, grade_submissions, hidden_suite

    tests = tmp_path / "test_stopped_at_import.py"  # as a SIGINT that comes while pytest imports the hidden tests
    tests.write_text("raise KeyboardInterrupt\n")
    suite = dataclasses.replace(hidden_suite(course), tests=lambda assignment: tests)
    with pytest.raises(Interrupted) as stopped:
        grade_submissions([Submission(SOLUTION, A)], course, suite=suite)
    [record] = stopped.value.results
    assert not record.finished and record.exercises == [] and "not graded" in record.error


@pytest.mark.parametrize("jobs, stop", [(1, signal.SIGINT), (1, signal.SIGTERM), (2, signal.SIGTERM)])
def test_an_interrupted_run_records_no_score_it_did_not_finish(course, tmp_path, jobs, stop):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("a", "b"):
        shutil.copy(SOLUTION, folder / f"{name}.ipynb")
    sleeper(course, folder / "c.ipynb")
    shutil.copy(SOLUTION, folder / "d.ipynb")
    out = tmp_path / "records.json"
    proc = subprocess.Popen([sys.executable, "-m", "relu_course", "grade", str(folder), "--json", str(out),
                             "--call-timeout", "300", "--jobs", str(jobs)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not sleeping():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
            time.sleep(0.1)
        proc.send_signal(stop)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    records = {Path(r["notebook"]).name: r for r in json.loads(out.read_text())}
    assert len(records) == 4
    assert not records["c.ipynb"]["finished"] and not records["c.ipynb"]["exercises"]
    for record in records.values():
        if record["finished"]:
            assert record["score"] == FULL, record  # never a score counted from tests that did not run
        else:
            assert record["exercises"] == [] and "not graded" in record["error"]
    if jobs == 1:
        assert records["a.ipynb"]["finished"] and records["b.ipynb"]["finished"]
        assert not records["d.ipynb"]["finished"]
    assert "total: 0/38" not in stdout
    gone = time.monotonic() + 10
    while sleeping() and time.monotonic() < gone:
        time.sleep(0.1)
    assert not sleeping(), "the interrupted child outlived the grader"


# -- the command line -------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--call-timeout", "-1"], "above 0"),
    (["--call-timeout", "0"], "above 0"),
    (["--submission-timeout", "nan"], "above 0"),
    (["--jobs", "0"], "at least 1"),
    (["--json", "/nonexistent-folder/out.json"], "does not exist"),
    (["--json", "/tmp"], "is a directory"),
])
def test_options_are_checked_before_grading(args, words):
    proc = relu_course("grade", str(SOLUTION), *args, timeout=60)
    assert proc.returncode == 2
    assert words in proc.stderr and "Traceback" not in proc.stderr
    assert "total:" not in proc.stdout


def test_a_broken_solution_costs_its_assignment_only(tmp_path):
    copy_ = tmp_path / "course"
    for folder in ("solutions", "autograder", "assignments"):
        shutil.copytree(REPO / folder, copy_ / folder)
    (copy_ / "solutions" / "02_relu_sums.ipynb").write_text("{ this is not a notebook")
    proc = relu_course("grade", str(SOLUTION), str(REPO / "solutions" / "02_relu_sums.ipynb"), "--course", str(copy_))
    assert proc.returncode == 2
    assert "total: 38/38" in proc.stdout
    [line] = proc.stderr.strip().splitlines()
    assert "solution notebook is broken" in line and "Traceback" not in proc.stderr


def test_reasons_wrap_to_the_terminal_and_are_never_cut(course, tmp_path):
    path = tmp_path / "long.ipynb"
    nbformat.write(with_relu(course, "raise ValueError('a reason ' * 30 + 'THE END')"), path)
    proc = relu_course("grade", str(path), env={"COLUMNS": "72"})
    assert proc.returncode == 0, proc.stderr
    assert "THE END" in proc.stdout.replace("\n", " ")
    assert "…" not in proc.stdout
    table = proc.stdout.splitlines()[1:]  # below the notebook's path
    assert max(len(line) for line in table) <= 72

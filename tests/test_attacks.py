"""The attack suite: each case is a submission notebook and an expected outcome.

A correct submission plus an attack keeps the marks its honest code earns; a stub plus an
attack that tries to fake success gets 0. Either way grading finishes, says what happened,
changes nothing outside the child's scratch directory, and grades the next notebook.
Fences that the kernel lacks are detected, not assumed: where a case depends on one, the
expectation follows what the record says was active.
"""
from __future__ import annotations

import copy
import socket
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from relu_course.engine.runner import Submission, grade_submissions, protected_paths
from relu_course.engine.client import Worker
from relu_course.engine.limits import SandboxLimits

A = "01_activations"
FULL, WITHOUT_RELU = 38, 34
SOLUTION = REPO / "solutions" / f"{A}.ipynb"
AUTOGRADER = REPO / "autograder" / f"test_{A}.py"
HONEST_RELU = "    return np.maximum(np.asarray(x, dtype=float), 0.0)\n"
MARKER = Path("/tmp/relu-course-attack-marker")


def in_relu(attack: str) -> str:
    body = "".join(f"    {line}\n" for line in attack.splitlines())
    return f"def relu(x):\n{body}{HONEST_RELU}"


# name -> (base, where, code, expected score, words expected in the notes or reasons)
CASES = {
    # 1. hangs
    "loop_top": ("solution", "top", "while True:\n    pass", FULL, "did not finish within"),
    "loop_in_function": ("solution", "relu", "while True:\n    pass", WITHOUT_RELU, "relu did not return within"),
    "sleep_top": ("solution", "top", "import time\ntime.sleep(10**6)", FULL, "did not finish within"),
    # 2. exits
    "os_exit_top": ("solution", "top", "import os\nos._exit(0)", FULL, "exited with status 0"),
    "os_exit_in_function": ("solution", "relu", "import os\nos._exit(0)", WITHOUT_RELU, "exited with status 0 while running relu"),
    "sys_exit_top": ("solution", "top", "import sys\nsys.exit()", FULL, "raised SystemExit"),
    "sys_exit_in_function": ("solution", "relu", "import sys\nsys.exit()", WITHOUT_RELU, "relu raised SystemExit"),
    "system_exit_top": ("solution", "top", "raise SystemExit", FULL, "raised SystemExit"),
    "keyboard_interrupt_top": ("solution", "top", "raise KeyboardInterrupt", FULL, "raised KeyboardInterrupt"),
    "keyboard_interrupt_in_function": ("solution", "relu", "raise KeyboardInterrupt", WITHOUT_RELU,
                                       "relu raised KeyboardInterrupt"),
    # 3. resources
    "allocate_8_gib_top": ("solution", "top", "hog = bytearray(8 * 2**30)", FULL, "raised MemoryError"),
    "allocate_8_gib_in_function": ("solution", "relu", "hog = np.ones(2**30)", WITHOUT_RELU, "relu raised MemoryError"),
    "fork_bomb": ("solution", "top", "import os\nwhile True:\n    os.fork()", FULL, "cell"),
    "print_1_gb": ("solution", "top", "import sys\nfor _ in range(1000):\n    sys.stdout.write('x' * 10**6)", FULL, None),
    "write_10_gb": ("solution", "top", "with open('big.bin', 'wb') as f:\n    for _ in range(10240):\n        f.write(b'x' * 2**20)",
                    FULL, "raised OSError"),
    # 4. reading secrets, the network
    "exec_solution_into_stub": ("stub", "top", (
        "import json\nnb = json.load(open({solution!r}))\nfor c in nb['cells']:\n"
        "    if 'BEGIN SOLUTION' in ''.join(c['source']):\n        exec(''.join(c['source']))"), 0, "PermissionError"),
    "read_hidden_tests": ("solution", "top", "leak = open({autograder!r}).read()", FULL, "PermissionError"),
    "tcp_to_localhost": ("solution", "top", "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
                         FULL, "cell"),
    # 5. patching the grader's helpers, IPython tricks
    "patch_numpy_testing": ("stub", "top", (
        "import numpy, numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
        "numpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), bool)"), 0, None),
    "patch_builtins": ("stub", "top", (
        "import builtins\nbuiltins.NotImplementedError = type('NotImplementedError', (Exception,), {{}})\n"
        "builtins.AssertionError = type('AssertionError', (BaseException,), {{}})"), 0, None),
    "patch_pytest": ("stub", "top", "import pytest\npytest.approx = lambda *a, **k: True\npytest.fail = lambda *a, **k: None",
                     0, None),
    "patch_proxy": ("stub", "top", (
        "import relu_course.engine.proxy as proxy\nproxy.RemoteFunction.__call__ = lambda self, *a, **k: 0.0\n"
        "proxy.RemoteFunction.many = lambda self, calls, **k: []"), 0, None),
    "patch_numpy_testing_correct": ("solution", "top", "import numpy.testing\nnumpy.testing.assert_allclose = None", FULL, None),
    "ipython_empty_later_cells": ("stub", "first", "get_ipython().input_transformers_cleanup.append(lambda lines: [])", 0, None),
    "ipython_empty_later_cells_correct": ("solution", "first",
                                          "get_ipython().input_transformers_cleanup.append(lambda lines: [])", FULL, None),
    # 6. lying results
    "lying_eq": ("solution", "relu", "class Liar:\n    def __eq__(self, other):\n        return True\nreturn Liar()",
                 WITHOUT_RELU, "returned a"),
    "lying_array": ("solution", "relu", (
        "class Liar:\n    def __array__(self, dtype=None, copy=None):\n        return np.maximum(np.asarray(x, float), 0.0)\n"
        "return Liar()"), WITHOUT_RELU, "returned a"),
    "huge_array": ("solution", "relu", "return np.zeros(10**9, dtype=bool)", WITHOUT_RELU, "MiB limit"),
    "nan_and_inf": ("solution", "relu", "return np.where(np.asarray(x, float) > 0, np.inf, np.nan)", FULL - 3, "relu("),
    "object_array": ("solution", "relu", "return np.asarray(x, dtype=object)", WITHOUT_RELU, "dtype object"),
    "lying_subclass": ("solution", "relu", (
        "class Sub(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
        "return np.zeros(np.shape(x)).view(Sub)"), FULL - 3, "relu("),
    # 7. processes, threads, files
    "kill_worker": ("solution", "top", "import os\nos.kill(os.getppid(), 9)", FULL, "cell"),
    "setsid_grandchild": ("solution", "top", "import os, time\nos.setsid()\nif os.fork() == 0:\n    time.sleep(10**6)",
                          FULL, "cell"),
    "threads_left_running": ("solution", "top", (
        "import threading, time\ndef spin():\n    while True:\n        time.sleep(0.001)\n"
        "for _ in range(4):\n    threading.Thread(target=spin, daemon=True).start()"), FULL, None),
    "forged_results": ("stub", "top", (
        "import json\nfor name in ('results.json', 'result.json', {marker!r}):\n"
        "    try:\n        open(name, 'w').write(json.dumps({{'score': 38, 'max_score': 38}}))\n"
        "    except OSError:\n        pass"), 0, None),
    "rewrite_own_submission": ("stub", "top", (
        "import json\nsolved = json.load(open({solution!r}))\njson.dump(solved, open({own!r}, 'w'))"),
        0, "PermissionError"),
    # 8. magics and shell escapes
    "magics_and_shell": ("solution", "top", f"%timeit -n1 -r1 relu(1.0)\n!touch {MARKER}\nfiles = !ls /", FULL, None),
}


#: cases that are safe, or whose expectation holds, only behind a fence: (case, any of these fences)
NEEDS = {
    "fork_bomb": {"seccomp"},                                   # root ignores RLIMIT_NPROC
    "setsid_grandchild": {"seccomp"},                           # would escape the process-group kill
    "exec_solution_into_stub": {"landlock files"},
    "read_hidden_tests": {"landlock files"},
    "rewrite_own_submission": {"landlock files"},
    "tcp_to_localhost": {"landlock no TCP", "seccomp", "network namespace"},
    "kill_worker": {"seccomp", "landlock signal scope"},
}


def active_fences(course) -> set[str]:
    """The optional fences this kernel gives a child, as the grader reports them."""
    with Worker(SandboxLimits(), protected_paths(course)) as worker:
        [result] = grade_submissions([Submission(SOLUTION)], course, worker=worker)
    return {f.split(" (")[0] for f in result.fences}


def attack_notebook(base: str, where: str, code: str) -> nbformat.NotebookNode:
    source = SOLUTION if base == "solution" else REPO / "assignments" / f"{A}.ipynb"
    nb = copy.deepcopy(nbformat.read(source, as_version=4))
    if where == "relu":
        cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "relu_code")
        cell.source = in_relu(code)
    else:
        cell = nbformat.v4.new_code_cell(code)
        cell.id = "attack"
        nb.cells.insert(1 if where == "first" else len(nb.cells), cell)
    return nb


@pytest.fixture(scope="module")
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def fences(course) -> set[str]:
    return active_fences(course)


@pytest.fixture(scope="module")
def outcomes(course, tmp_path_factory, listener, fences):
    folder = tmp_path_factory.mktemp("attacks")
    MARKER.unlink(missing_ok=True)
    subs = []
    for name, (base, where, code, _, _) in CASES.items():
        if name in NEEDS and not NEEDS[name] & fences:
            continue  # not run at all: without its fence it could harm this machine or cannot hold
        path = folder / f"{name}.ipynb"
        code = code.format(solution=str(SOLUTION), autograder=str(AUTOGRADER), port=listener.getsockname()[1],
                           marker=str(MARKER), own=str(path))
        nbformat.write(attack_notebook(base, where, code), path)
        subs.append(Submission(path, key=name))
    subs.append(Submission(SOLUTION, key="clean_solution_after_all"))
    limits = SandboxLimits(call_seconds=3, cell_seconds=3, submission_seconds=60)
    with Worker(limits, protected_paths(course)) as worker:
        results = grade_submissions(subs, course, worker=worker)
        restarts = worker.restarts
    return dict(zip([s.key for s in subs], results)), restarts


@pytest.mark.parametrize("name", CASES)
def test_attack(outcomes, name):
    results, _ = outcomes
    base, where, code, expected, words = CASES[name]
    if name not in results:
        pytest.skip(f"this kernel gives the child none of {sorted(NEEDS[name])}")
    result = results[name]
    assert result.assignment == A and result.error is None
    assert len(result.exercises) == 9, "every exercise has a record"
    assert result.score == expected, [(e.name, e.points, e.reason) for e in result.exercises]
    if words:
        said = " | ".join(result.notes + [e.reason for e in result.exercises])
        assert words in said, said


def test_grading_goes_on_after_every_attack(outcomes):
    results, restarts = outcomes
    assert results["clean_solution_after_all"].score == FULL
    if "kill_worker" in results:
        assert restarts == 0, "no child could kill the worker"


def test_nothing_changed_outside_the_scratch_directory(outcomes, listener):
    results, _ = outcomes
    assert not MARKER.exists(), "a shell escape or a write reached /tmp"
    assert not (REPO / "results.json").exists() and not (REPO / "big.bin").exists()
    if "tcp_to_localhost" in results:
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_submission_file_is_unchanged(outcomes):
    results, _ = outcomes
    if "rewrite_own_submission" not in results:
        pytest.skip("Landlock is not available here")
    path = Path(results["rewrite_own_submission"].notebook)
    assert "BEGIN SOLUTION" not in path.read_text()


def test_hidden_tests_stay_unread(outcomes):
    results, _ = outcomes
    if "read_hidden_tests" not in results:
        pytest.skip("Landlock is not available here")
    assert any("PermissionError" in note for note in results["read_hidden_tests"].notes)


def test_fences_are_reported(outcomes, fences):
    results, _ = outcomes
    reported = {f.split(" (")[0] for f in results["clean_solution_after_all"].fences}
    assert {"process group", "scratch directory", "resource limits"} <= reported == fences


def test_grading_works_without_the_optional_fences(course, tmp_path):
    """As on a kernel without namespaces, Landlock or seccomp: grading still works, and a
    child that kills the worker costs only its own submission (the worker is restarted)."""
    path = tmp_path / "kill_worker.ipynb"
    nbformat.write(attack_notebook("solution", "top", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), path)
    limits = SandboxLimits(call_seconds=3, cell_seconds=3, submission_seconds=60,
                           disabled=("namespaces", "landlock", "seccomp"))
    with Worker(limits, protected_paths(course)) as worker:
        killer, clean = grade_submissions([Submission(path, key="k"), Submission(SOLUTION, key="c")], course,
                                          worker=worker)
        assert worker.restarts == 1
    assert clean.score == FULL
    assert killer.score == FULL
    assert set(clean.fences) == {"process group", "scratch directory", "resource limits"}

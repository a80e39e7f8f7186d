"""Grading processes share the cores: each trusted one uses its share, each sandboxed child one."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO
from relu_course.engine.sandbox import Sandbox
from relu_course.engine.threads import THREAD_VARIABLES, available_cores, share_of_cores
from relu_course.notebook import Cell


def test_each_process_gets_its_share_of_the_cores():
    cores = available_cores()
    assert share_of_cores(1) == cores
    assert share_of_cores(cores) == 1
    assert share_of_cores(4 * cores) == 1  # never none


def test_limit_threads_reaches_the_libraries_loaded_before_it():
    # as in a grading process forked from a grader that had loaded numpy (OpenBLAS) and torch (OpenMP)
    script = """
import json, os, numpy, torch, threadpoolctl
from relu_course.engine.threads import THREAD_VARIABLES, limit_threads
before = {i["internal_api"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}
limit_threads(1)
after = {i["internal_api"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}
print(json.dumps({"before": before, "after": after, "torch": torch.get_num_threads(),
                  "environment": [os.environ[name] for name in THREAD_VARIABLES]}))
"""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # no thread variable: the libraries' own default
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert {"openblas", "openmp"} <= set(seen["after"])  # numpy's BLAS and torch's OpenMP were both found
    assert set(seen["after"].values()) == {1} and seen["torch"] == 1
    assert seen["environment"] == ["1"] * len(THREAD_VARIABLES)  # and a library loaded later reads 1


def test_a_child_computes_on_one_thread(worker):
    box = Sandbox(worker, [Cell(0, "import os, torch\n"
                                   "def threads():\n"
                                   f"    return [os.environ.get(name) for name in {THREAD_VARIABLES!r}], "
                                   "torch.get_num_threads()\n")])
    try:
        [call] = box.call_many("threads", [((), {})])
    finally:
        box.close()
    assert call.error is None, call.error
    environment, torch_threads = call.value
    assert list(environment) == ["1"] * len(THREAD_VARIABLES) and torch_threads == 1

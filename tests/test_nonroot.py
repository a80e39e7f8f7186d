"""Grading as a user who is not root: a user namespace stands in for the separate uid.

The grader runs as ``nobody`` (a test that needs root to set up: it makes the Python
installation reachable for nobody in a mount namespace of its own, then drops to it), grades
the solution and attacks on other processes, and the records say which fences held.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from test_attacks import CASES, attack_notebook

NOBODY = 65534
ATTACKS = ("signal_every_process", "prlimit_every_process", "reschedule_every_process",
           "read_other_processes_memory", "kill_worker", "fork_bomb", "sysv_shm_writer", "sysv_shm_reader")


def become_nobody() -> None:
    """In the grader's process, before exec: a mount namespace where nobody can reach Python, then nobody."""
    from relu_course.engine import fences, namespaces

    if not namespaces._unshare(namespaces.CLONE_NEWNS):
        raise OSError("no mount namespace")
    namespaces.make_private()
    namespaces.reveal(fences.readable_roots([]))
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


@pytest.fixture(scope="module")
def graded():
    if os.geteuid() != 0:
        pytest.skip("setting up a grader that is not root needs root")
    folder = Path(tempfile.mkdtemp(prefix="relu-course-nonroot-"))
    try:
        folder.chmod(0o777)
        paths = {"solution": folder / "solution.ipynb"}
        paths["solution"].write_bytes((REPO / "solutions" / "01_activations.ipynb").read_bytes())
        for name in ATTACKS:
            base, where, code, _, _ = CASES[name]
            paths[name] = folder / f"{name}.ipynb"
            nbformat.write(attack_notebook(base, where, code.format()), paths[name])
        for path in paths.values():
            path.chmod(0o644)
        out = folder / "out.json"
        env = {**os.environ, "HOME": str(folder), "MPLCONFIGDIR": str(folder)}
        proc = subprocess.run([sys.executable, "-m", "relu_course", "grade", *map(str, paths.values()),
                               "--json", str(out), "--call-timeout", "3"],
                              preexec_fn=become_nobody, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 and "no mount namespace" in proc.stderr:
            pytest.skip("this kernel gives no mount namespace")
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = json.loads(out.read_text())
        return {name: record for name, record in zip(paths, records)}
    finally:
        subprocess.run(["rm", "-rf", str(folder)], timeout=60)


def test_the_user_namespace_stands_in(graded):
    fences = {f.split(" (")[0] for f in graded["solution"]["fences"]}
    assert "separate uid" not in fences
    if "user namespace" not in fences:
        pytest.skip("this kernel gives an unprivileged process no user namespace")
    assert {"pid namespace", "mount namespace", "private /proc", "bounded /tmp"} <= fences
    assert graded["solution"]["score"] == 38


@pytest.mark.parametrize("name", ATTACKS)
def test_attacks_hold_without_root(graded, name):
    record = graded[name]
    said = " | ".join(record["notes"] + [e["reason"] for e in record["exercises"]])
    assert "REACHED" not in said, said
    assert record["score"] == CASES[name][3], said

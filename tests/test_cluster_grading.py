"""relu-course grade COURSE_DIR --cluster: the class graded on a real Dask cluster (worker processes,
a real SIGKILL, real hostile submissions) leaves the gradebook that grading on one machine leaves."""
from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import dask.config
import distributed  # the cluster extra, which the test extra installs
import pytest
from dask.utils import parse_timedelta

from class_helpers import (example_class, grade_class, graded_now, make_class, relu_course,  # noqa: F401
                           slow_class as make_slow_class, start_grader, state, stored_count, write_class)
from conftest import REPO
from relu_course.classroom import gradebook_url
from relu_course.cluster_grading import PLUGIN_PREFIX, QUIET_WORKERS, TASK_PREFIX, cluster_grader

A1 = "01_activations"


def records(root) -> dict[tuple[str, str], dict]:
    """(student, assignment) -> the record stored in the class at ``root``, its notebook's path made
    relative to the class, without what differs from run to run: the time it took, and the fences
    (they name the child's uid; on a Dask worker they cover nothing beyond its private /tmp, as the
    worker's copy of the course lies under /tmp)."""
    with sqlite3.connect(root / "gradebook.db") as db:
        rows = db.execute("select student_id, assignment, record from relu_course_grade").fetchall()
    prefix = json.dumps(str(root))[1:-1]
    return {(s, a): {k: v for k, v in json.loads(r.replace(prefix, "COURSE_DIR")).items() if k not in ("seconds", "fences")}
            for s, a, r in rows}


def fences(root) -> dict[tuple[str, str], set[str]]:
    """(student, assignment) -> the kinds of fence its child ran under ("separate uid (N)" -> "separate uid")."""
    with sqlite3.connect(root / "gradebook.db") as db:
        rows = db.execute("select student_id, assignment, record from relu_course_grade").fetchall()
    return {(s, a): {f.split(" (")[0] for f in json.loads(r)["fences"]} for s, a, r in rows}


def copy_class(root, target):
    """The class's submissions, without its gradebook."""
    shutil.copytree(root / "submitted", target / "submitted")
    return target


@pytest.fixture(scope="module")
def cluster():
    """A client of a LocalCluster of two worker processes, started here and stopped after; the
    tests below grade on it through its scheduler's address, as on a remote cluster."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as local, distributed.Client(local) as client:
        client.wait_for_workers(2)
        yield client


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)


def grading_plugins(client) -> list[str]:
    return sorted(name for names in client.run(lambda dask_worker: list(dask_worker.plugins)).values()
                  for name in names if name.startswith(PLUGIN_PREFIX))


# -- the example class, graded on a LocalCluster --------------------------------------------------
def test_a_local_cluster_grades_the_example_class_as_one_machine_does(example_class, tmp_path):
    root, kinds, local = example_class  # graded with -j 2 on this machine
    copy = copy_class(root, tmp_path / "demo_class")
    on_cluster = grade_class(copy, "--cluster", "local:2")
    assert graded_now(on_cluster.stdout) == len(kinds)
    assert state(gradebook_url(copy)) == state(gradebook_url(root))  # every grade of nbgrader's, once each
    assert records(copy) == records(root)  # the same points, reasons, notes
    # each child on a Dask worker was fenced in as on this machine
    here, there = fences(root), fences(copy)
    assert all(there[key] >= here[key] - {"protected paths covered"} for key in here)
    # the same summary, but for the line naming the class and its gradebook
    assert on_cluster.stdout.splitlines()[1:] == local.stdout.splitlines()[1:]


def test_grading_on_one_machine_never_imports_dask(course, tmp_path):
    root = write_class(tmp_path / "tiny", {("ada", A1): make_class.correct(course, A1, {})})
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "relu_course", "grade", str(root), "--course",
                           str(REPO), "-j", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "relu_course.class_grading" in imported and "nbgrader" in imported  # the list is complete
    assert not {name for name in imported if name.split(".")[0] in ("dask", "distributed")}


# -- a Dask worker killed mid-class --------------------------------------------------------------
#: students whose notebook takes a while, so that a worker can be killed in the middle of one
SLOW_STUDENTS = [f"s{i:02d}" for i in range(12)]


@pytest.fixture(scope="module")
def slow_class(course, tmp_path_factory):
    return make_slow_class(course, tmp_path_factory.mktemp("slow") / "course", SLOW_STUDENTS, 1.0)


@pytest.fixture(scope="module")
def uninterrupted(cluster, slow_class, tmp_path_factory):
    root = copy_class(slow_class, tmp_path_factory.mktemp("uninterrupted"))
    grade_class(root, "--cluster", cluster.scheduler.address)
    return state(gradebook_url(root))


def executing(client) -> dict[str, list]:
    """Dask worker -> the grading tasks it is running now."""
    return client.run(lambda dask_worker: [key for key, task in dask_worker.state.tasks.items()
                                           if task.state == "executing" and str(key).startswith(TASK_PREFIX)])


def grading_worker_pid(client, address: str) -> int:
    """The pid of the warm grading worker that a Dask worker hosts."""
    [pid] = client.run(lambda dask_worker: [plugin.grading.worker.process.pid for name, plugin in dask_worker.plugins.items()
                                            if name.startswith(PLUGIN_PREFIX)], workers=[address])[address]
    return pid


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def test_a_dask_worker_killed_mid_class_costs_no_grade(cluster, slow_class, uninterrupted, tmp_path):
    root = copy_class(slow_class, tmp_path / "course")
    before = worker_pids(cluster)
    grader = start_grader(root, "--cluster", cluster.scheduler.address)
    try:
        deadline = time.monotonic() + 300
        busy = {}
        while time.monotonic() < deadline and grader.poll() is None:
            busy = {w: keys for w, keys in executing(cluster).items() if keys} if stored_count(root) else {}
            if busy:
                break
            time.sleep(0.1)
        assert busy, "no Dask worker was grading once the first grades were stored"
        victim = next(iter(busy))
        helper = grading_worker_pid(cluster, victim)
        kept = stored_count(root)
        os.kill(before[victim], signal.SIGKILL)
        out, err = grader.communicate(timeout=600)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 0, err
    assert 0 < kept < len(SLOW_STUDENTS), "the kill came before or after the class, not in it"
    assert graded_now(out) == len(SLOW_STUDENTS)  # every submission graded in this run, once
    assert state(gradebook_url(root)) == uninterrupted  # each grade once (revision 1), no claim left
    cluster.wait_for_workers(2)
    assert victim not in worker_pids(cluster) or worker_pids(cluster)[victim] != before[victim]  # it was restarted
    deadline = time.monotonic() + 30
    while not gone(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(helper), "the grading worker of the killed Dask worker outlived it"


# -- hostile submissions on a cluster worker -----------------------------------------------------
ATTACKS = {
    "bomb": "import os\nwhile True:\n    os.fork()\n",
    "killer": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "hog": "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n",
    "quitter": "import os\nos._exit(0)\n",  # the fences stop the others; this one's child does die
}


def with_attack(course, source: str) -> dict:
    """The solution, with an attack in a cell of its own before the student's code."""
    return make_class.with_cell(make_class.correct(course, A1, {}), source)


def test_a_hostile_submission_costs_itself_only(cluster, course, tmp_path):
    notebooks = {("ada", A1): make_class.correct(course, A1, {}), ("zoe", A1): make_class.correct(course, A1, {})}
    notebooks.update({(student, A1): with_attack(course, source) for student, source in ATTACKS.items()})
    here = write_class(tmp_path / "here", notebooks)
    there = write_class(tmp_path / "there", notebooks)
    before = worker_pids(cluster)
    # filling the 3 GiB a child may have takes seconds on a busy machine: time enough to end the same way here and there
    timeout = ("--call-timeout", "60")
    proc = grade_class(there, "--cluster", cluster.scheduler.address, *timeout)
    assert worker_pids(cluster) == before  # no Dask worker died or was restarted
    assert grading_plugins(cluster) == []  # and the run closed its grading workers
    assert graded_now(proc.stdout) == len(notebooks)
    held = {(r[0], r[4]) for r in state(gradebook_url(there))["records"]}
    assert {("ada", 38.0), ("zoe", 38.0)} <= held  # the rest of the class is graded in full
    assert any("exited" in note for note in records(there)["quitter", A1]["notes"])  # its child died, was replaced
    grade_class(here, "-j", "1", *timeout)
    assert records(there) == records(here)  # each attack: what it costs on one machine


# -- options and a cluster that cannot be reached -------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["--cluster", "local:0"], "local:N needs a number of workers"),
    (["--cluster", "nowhere"], "is not a Dask scheduler address"),
    (["--cluster", "local:2", "-j", "2"], "-j is for grading on this machine"),
])
def test_cluster_options_that_make_no_sense_are_one_line(course, tmp_path, args, words):
    root = write_class(tmp_path / "course", {("ada", A1): make_class.correct(course, A1, {})})
    proc = relu_course("grade", root, "--course", REPO, *args)
    assert proc.returncode == 2 and words in proc.stderr and proc.stdout == ""


def test_an_unreachable_scheduler_is_one_line_before_anything_is_graded(course, tmp_path):
    root = write_class(tmp_path / "course", {("ada", A1): make_class.correct(course, A1, {})})
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    proc = relu_course("grade", root, "--course", REPO, "--cluster", "tcp://127.0.0.1:9", env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in proc.stderr
    assert state(gradebook_url(root))["records"] == []


# -- a Dask worker grades as fast as a process of its own ----------------------------------------
FAULTS = """
import json, resource, sys
import numpy as np
from relu_course.cluster_grading import undo_malloc_trimming
undone = undo_malloc_trimming() if sys.argv[1] == "undo" else None
x = np.ones(1 << 17)  # 1 MiB, above the 128 KiB mmap threshold Dask's nanny setting fixes
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    y = x * 2.0
    del y
print(json.dumps([undone, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before]))
"""


def test_a_grading_worker_undoes_the_nannys_malloc_trimming():
    def page_faults(how: str, **env: str) -> tuple[bool | None, int]:
        proc = subprocess.run([sys.executable, "-c", FAULTS, how], capture_output=True, text=True, timeout=120,
                              cwd=REPO, env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **env})
        assert proc.returncode == 0, proc.stderr
        return tuple(json.loads(proc.stdout))

    trimmed = {"MALLOC_TRIM_THRESHOLD_": str(dask.config.get("distributed.nanny.pre-spawn-environ")
                                                 ["MALLOC_TRIM_THRESHOLD_"])}
    kept, faults_trimmed = page_faults("keep", **trimmed)
    undone, faults_undone = page_faults("undo", **trimmed)
    not_set, _ = page_faults("undo")
    assert undone is True and not_set is False
    # under the nanny's setting every 1 MiB temporary is a fresh mapping (256 pages faulted in each)
    assert faults_trimmed > 100 * 200 and faults_undone < 100 * 20


def test_a_local_cluster_runs_without_the_background_work_a_grading_worker_has_no_use_for(course):
    def callbacks(dask_worker=None, dask_scheduler=None) -> dict[str, float]:
        """Each periodic callback of this Dask server, and how often it runs (ms)."""
        server = dask_worker or dask_scheduler
        return {name: callback.callback_time for name, callback in server.periodic_callbacks.items()}

    tick, memory, system = (parse_timedelta(QUIET_WORKERS[f"distributed.{key}"]) * 1000 for key in
                            ("admin.tick.interval", "worker.memory.monitor-interval", "admin.system-monitor.interval"))
    before = copy.deepcopy(dask.config.get("distributed"))  # the live dict, which dask.config.set changes in place
    with cluster_grader(2, course) as grader:
        workers = list(grader.client.run(callbacks).values())
        nannies = list(grader.client.run(callbacks, nanny=True).values())
        scheduler = grader.client.run_on_scheduler(callbacks)
    assert len(workers) == len(nannies) == 2
    for server in workers + nannies + [scheduler]:
        assert server["tick"] == tick and server["monitor"] == system
    for server in workers + nannies:
        assert server["memory_monitor"] == memory
    for server in workers:
        assert "profile" not in server and "profile-cycle" not in server
    assert dask.config.get("distributed") == before  # this process's own settings, back after


def test_the_readme_gives_hand_started_workers_the_settings_a_local_cluster_gets():
    readme = (REPO / "README.md").read_text()
    [export] = re.findall(r"^ *export (DASK_(?:.*\\\n)*.*)$", readme, re.MULTILINE)
    settings = dask.config.collect_env(dict(re.findall(r"(DASK_\w+)=(\S+)", export)))  # as Dask reads them

    def flat(tree: dict, prefix: str = "") -> dict:
        """{"a": {"b_c": 1}} -> {"a.b-c": 1} (Dask takes either spelling)."""
        return {key: value for name, child in tree.items()
                for key, value in (flat(child, f"{prefix}{name}.").items() if isinstance(child, dict)
                                   else [(f"{prefix}{name}".replace("_", "-"), child)])}

    assert flat(settings) == QUIET_WORKERS

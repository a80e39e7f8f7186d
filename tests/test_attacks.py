"""The attack suite: each case is a submission notebook and an expected outcome.

A correct submission plus an attack keeps the marks its honest code earns; a stub plus an
attack that tries to fake success gets 0. Either way grading finishes, says what happened,
changes nothing outside the child, reaches no other process and no other submission, and
grades the next notebook.

An attack that tries to reach something raises ``RuntimeError("REACHED ...")`` when it
gets there, so a record that mentions REACHED is a fence that did not hold. Probes are
harmless even where they get through (signal 0, reading a limit, setting a priority to
what it is), so that a run on a kernel without some fence harms nothing.

The suite runs once with every fence and once with each optional fence switched off in
turn (``fences.OPTIONAL``). A case that no active fence can hold is not run at all, and
is reported as skipped with the fences it needs.
"""
from __future__ import annotations

import copy
import ctypes
import dataclasses
import functools
import os
import shutil
import resource
import socket
import subprocess
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from relu_course.engine import fences as engine_fences
from relu_course.engine.client import Worker
from relu_course.engine.limits import SandboxLimits
from relu_course.engine.runner import Submission, grade_submissions, protected_paths
from relu_course.engine.sandbox import Sandbox

A = "01_activations"
FULL, WITHOUT_RELU = 38, 34
SOLUTION = REPO / "solutions" / f"{A}.ipynb"
AUTOGRADER = REPO / "autograder" / f"test_{A}.py"
HONEST_RELU = "    return np.maximum(np.asarray(x, dtype=float), 0.0)\n"
MARKER = Path("/tmp/relu-course-attack-marker")
CHANNEL = "relu-course-channel"  # the name submissions try to talk to each other under
SHM_KEY = 0x5EC12E7
ESCAPEE = "relu-escapee"  # the process name of a child's child that tries to outlive grading
LIMITS = SandboxLimits(call_seconds=1.5, cell_seconds=1.5, submission_seconds=60)
SECRET = Path("/root/.relu-course-test-secret")  # planted in a directory closed to other users

#: defined before every attack: the processes it can see, and how it says it got through
PROBE = """
import os as _os
def _others():
    return [int(p) for p in _os.listdir('/proc') if p.isdigit() and int(p) != _os.getpid()]
def _reached(what, items):
    if items:
        raise RuntimeError(f"REACHED {what}: {sorted(items)[:5]}")
"""


def in_relu(attack: str) -> str:
    body = "".join(f"    {line}\n" for line in attack.splitlines())
    return f"def relu(x):\n{body}{HONEST_RELU}"


# name -> (base, where, code, expected score, words expected in the notes or reasons: one, or any of a tuple)
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
    "many_files_past_the_file_limit": ("solution", "top", (
        "written = 0\ntry:\n    for i in range(32):\n        with open(f'part{{i}}.bin', 'wb') as f:\n"
        "            for _ in range(32):\n                f.write(b'x' * 2**20)\n                written += 2**20\n"
        "except OSError:\n    pass\n_reached('disk', [written] if written > 256 * 2**20 else [])"), FULL, None),
    "memfd_past_the_memory_limit": ("solution", "top", (
        "import os\nheld = 0\ntry:\n    fd = os.memfd_create('hog')\n    for _ in range(4 * 1024):\n"
        "        os.write(fd, b'x' * 2**20)\n        held += 2**20\nexcept OSError:\n    pass\n"
        "_reached('memfd', [held] if held > 3 * 2**30 else [])"), FULL, None),
    "sysv_shm_past_the_memory_limit": ("solution", "top", (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmat.restype = ctypes.c_void_p\n"
        "seg = libc.shmget(0, ctypes.c_size_t(4 * 2**30), 0o1600)\n"
        "_reached('shared memory', [seg] if seg >= 0 else [])"), FULL, None),
    "thousands_of_threads": ("solution", "top", (
        "import threading, time\nthreading.stack_size(64 * 1024)\nstarted = 0\ntry:\n    for _ in range(3000):\n"
        "        threading.Thread(target=time.sleep, args=(10**6,), daemon=True).start()\n        started += 1\n"
        "except RuntimeError:\n    pass\n_reached('threads', [started] if started > 200 else [])"), FULL, None),
    "deep_directory_chain": ("solution", "top", (
        "import os\nbase = os.open('.', os.O_RDONLY)\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        "os.fchdir(base)"), FULL, None),
    # 4. reading secrets, the network
    "exec_solution_into_stub": ("stub", "top", (
        "import json\nnb = json.load(open({solution!r}))\nfor c in nb['cells']:\n"
        "    if 'BEGIN SOLUTION' in ''.join(c['source']):\n        exec(''.join(c['source']))"), 0,
        ("PermissionError", "FileNotFoundError")),
    "read_hidden_tests": ("solution", "top", "leak = open({autograder!r}).read()", FULL,
                          ("PermissionError", "FileNotFoundError")),
    "tcp_to_localhost": ("solution", "top", "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
                         FULL, "cell"),
    "read_root_home": ("solution", "top", "_reached('a file in /root', [open({secret!r}).read()])", FULL,
                       ("PermissionError", "FileNotFoundError")),
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
    "fault_named_like_the_engine": ("solution", "relu", (
        "class CallTimeout(Exception):\n    pass\nraise CallTimeout('pretend')"), WITHOUT_RELU, "relu raised CallTimeout"),
    # 6. lying results
    "lying_eq": ("solution", "relu", "class Liar:\n    def __eq__(self, other):\n        return True\nreturn Liar()",
                 WITHOUT_RELU, "returned a"),
    "lying_array": ("solution", "relu", (
        "class Liar:\n    def __array__(self, dtype=None, copy=None):\n        return np.maximum(np.asarray(x, float), 0.0)\n"
        "return Liar()"), WITHOUT_RELU, "returned a"),
    "huge_array": ("solution", "relu", "return np.zeros(10**9, dtype=bool)", WITHOUT_RELU, "MiB limit"),
    "nan_and_inf": ("solution", "relu", "return np.where(np.asarray(x, float) > 0, np.inf, np.nan)", WITHOUT_RELU, "relu("),
    "object_array": ("solution", "relu", "return np.asarray(x, dtype=object)", WITHOUT_RELU, "dtype object"),
    "lying_subclass": ("solution", "relu", (
        "class Sub(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
        "return np.zeros(np.shape(x)).view(Sub)"), WITHOUT_RELU, "relu("),
    # 7. other processes: the grader, the worker, the spare child waiting for the next submission
    "kill_worker": ("solution", "top", "import os\nos.kill(os.getppid(), 9)", FULL, None),
    "signal_every_process": ("solution", "top", (
        "import os\nreached = []\nfor pid in _others() + [-1]:\n    try:\n        os.kill(pid, 0)\n"
        "        reached.append(pid)\n    except OSError:\n        pass\n_reached('signal', reached)"), FULL, None),
    "sigqueue_every_process": ("solution", "top", (
        "import ctypes, platform\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "nr = {{'x86_64': 129, 'aarch64': 138}}[platform.machine()]\ninfo = ctypes.create_string_buffer(128)\n"
        "_reached('rt_sigqueueinfo', [p for p in _others() if libc.syscall(nr, p, 0, info) == 0])"), FULL, None),
    "tgkill_every_process": ("solution", "top", (
        "import ctypes, platform\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "nr = {{'x86_64': 234, 'aarch64': 131}}[platform.machine()]\n"
        "_reached('tgkill', [p for p in _others() if libc.syscall(nr, p, p, 0) == 0])"), FULL, None),
    "fsetown_every_process": ("solution", "top", (
        "import fcntl, os\nr, w = os.pipe()\nreached = []\nfor pid in _others():\n    try:\n"
        "        fcntl.fcntl(r, fcntl.F_SETOWN, pid)\n        reached.append(pid)\n    except OSError:\n        pass\n"
        "_reached('F_SETOWN', reached)"), FULL, None),
    "prlimit_every_process": ("solution", "top", (
        "import resource\nreached = []\nfor pid in _others():\n    try:\n"
        "        resource.prlimit(pid, resource.RLIMIT_CORE)\n        reached.append(pid)\n    except OSError:\n"
        "        pass\n_reached('prlimit', reached)"), FULL, None),
    "reschedule_every_process": ("solution", "top", (
        "import os\nreached = []\nfor pid in _others():\n    for poke in (lambda: os.setpriority(os.PRIO_PROCESS, pid, "
        "os.getpriority(os.PRIO_PROCESS, pid)),\n                 lambda: os.sched_setaffinity(pid, os.sched_getaffinity(pid)),\n"
        "                 lambda: os.sched_setscheduler(pid, os.sched_getscheduler(pid), os.sched_param(0))):\n"
        "        try:\n            poke()\n            reached.append(pid)\n        except OSError:\n            pass\n"
        "_reached('scheduling', reached)"), FULL, None),
    "join_another_process_group": ("solution", "top", (
        "import os\nreached = []\nfor pid in _others():\n    try:\n        os.setpgid(0, os.getpgid(pid))\n"
        "        reached.append(pid)\n    except OSError:\n        pass\n_reached('setpgid', reached)"), FULL, None),
    "read_other_processes_memory": ("solution", "top", (
        "reached = []\nfor pid in _others():\n    for name in ('mem', 'environ'):\n        try:\n"
        "            with open(f'/proc/{{pid}}/{{name}}', 'rb') as f:\n                f.read(1)\n"
        "            reached.append(pid)\n        except OSError:\n            pass\n_reached('/proc', reached)"), FULL, None),
    "setsid_grandchild": ("solution", "top", (
        "import os, time, ctypes\nif os.fork() == 0:\n    os.setsid()\n"
        "    ctypes.CDLL(None).prctl(15, b'" + ESCAPEE + "', 0, 0, 0)\n    time.sleep(10**6)"), FULL, None),
    "threads_left_running": ("solution", "top", (
        "import threading, time\ndef spin():\n    while True:\n        time.sleep(0.001)\n"
        "for _ in range(4):\n    threading.Thread(target=spin, daemon=True).start()"), FULL, None),
    "forged_results": ("stub", "top", (
        "import json\nfor name in ('results.json', 'result.json', {marker!r}):\n"
        "    try:\n        open(name, 'w').write(json.dumps({{'score': 38, 'max_score': 38}}))\n"
        "    except OSError:\n        pass"), 0, None),
    "rewrite_own_submission": ("stub", "top", (
        "import json\nsolved = json.load(open({solution!r}))\njson.dump(solved, open({own!r}, 'w'))"),
        0, ("PermissionError", "FileNotFoundError")),
    # 8. magics and shell escapes
    "magics_and_shell": ("solution", "top", f"%timeit -n1 -r1 relu(1.0)\n!touch {MARKER}\nfiles = !ls /", FULL, None),
    # 9. talking to the next submission: a writer leaves something, a later stub looks for it
    "sysv_shm_writer": ("solution", "top", (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmat.restype = ctypes.c_void_p\n"
        f"seg = libc.shmget({SHM_KEY}, 4096, 0o1666)\n"
        "if seg >= 0:\n    ctypes.memmove(libc.shmat(seg, None, 0), b'def relu(x): ...', 16)"), FULL, None),
    "sysv_shm_reader": ("stub", "top", (
        f"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nseg = libc.shmget({SHM_KEY}, 0, 0)\n"
        "_reached('shared memory left by another submission', [seg] if seg >= 0 else [])"), 0, None),
    "tmp_file_writer": ("solution", "top", (
        "for folder in ('/tmp', '/dev/shm', '/var/tmp'):\n    try:\n"
        "        open(f'{{folder}}/" + CHANNEL + "', 'w').write('x')\n    except OSError:\n        pass"), FULL, None),
    "tmp_file_reader": ("stub", "top", (
        "import os\n_reached('a file left by another submission', [f for f in ('/tmp', '/dev/shm', '/var/tmp') "
        "if os.path.exists(f'{{f}}/" + CHANNEL + "')])"), 0, None),
    "posix_queue_writer": ("solution", "top", (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.mq_open(b'/" + CHANNEL + "', 0o100 | 0o1, 0o666, None)"), FULL, None),
    "posix_queue_reader": ("stub", "top", (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nq = libc.mq_open(b'/" + CHANNEL + "', 0)\n"
        "_reached('a queue left by another submission', [q] if q >= 0 else [])"), 0, None),
    # 10. stretching the grader's waits: a reply that trickles in one byte at a time
    "trickling_reply": ("solution", "top", (
        "import os, stat, socket, struct, time\n"
        "def _is_socket(fd):\n    try:\n        return stat.S_ISSOCK(os.fstat(fd).st_mode)\n    except OSError:\n"
        "        return False\n"
        "channel = socket.socket(fileno=os.dup([fd for fd in range(3, 64) if _is_socket(fd)][0]))\n"
        "channel.send(struct.pack('<II', 1000, 0))  # a frame header announcing 1000 bytes, then one a second\n"
        "while True:\n    try:\n        channel.send(b' ')\n        time.sleep(0.5)\n    except BaseException:\n"
        "        pass"), FULL, "did not finish within"),
}

#: cases that are safe, or whose expectation holds, only behind a fence: (case, any of these fences)
NEEDS = {
    "fork_bomb": {"seccomp", "separate uid"},                   # root ignores RLIMIT_NPROC
    "setsid_grandchild": {"seccomp", "pid namespace"},          # would escape the process-group kill
    "many_files_past_the_file_limit": {"bounded /tmp"},
    "memfd_past_the_memory_limit": {"seccomp"},                 # RLIMIT_AS does not count memfd pages
    "sysv_shm_past_the_memory_limit": {"seccomp", "System V IPC closed"},
    "thousands_of_threads": {"separate uid", "user namespace"},
    "exec_solution_into_stub": {"landlock files", "protected paths covered"},
    "read_hidden_tests": {"landlock files", "protected paths covered"},
    "read_root_home": {"landlock files", "closed directories covered"},
    "rewrite_own_submission": {"landlock files", "bounded /tmp", "separate uid"},
    "forged_results": {"landlock files", "bounded /tmp"},
    "tcp_to_localhost": {"landlock no TCP", "seccomp", "network namespace"},
    "kill_worker": {"seccomp", "landlock signal scope", "pid namespace", "separate uid"},
    "signal_every_process": {"seccomp", "landlock signal scope", "pid namespace", "separate uid"},
    "sigqueue_every_process": {"seccomp", "landlock signal scope", "pid namespace", "separate uid"},
    "tgkill_every_process": {"seccomp", "landlock signal scope", "pid namespace", "separate uid"},
    "fsetown_every_process": {"seccomp", "pid namespace"},
    "prlimit_every_process": {"seccomp", "pid namespace", "separate uid"},
    "reschedule_every_process": {"seccomp", "pid namespace", "separate uid"},
    "read_other_processes_memory": {"private /proc", "separate uid"},
    "sysv_shm_writer": {"seccomp", "ipc namespace"},
    "sysv_shm_reader": {"seccomp", "ipc namespace"},
    "tmp_file_writer": {"landlock files", "bounded /tmp"},
    "tmp_file_reader": {"landlock files", "bounded /tmp"},
}
#: runs of the suite: every fence, then each optional fence left off in turn
CONFIGS = {"all fences": ()} | {f"without {name}": (name,) for name in engine_fences.OPTIONAL}


def attack_notebook(base: str, where: str, code: str) -> nbformat.NotebookNode:
    source = SOLUTION if base == "solution" else REPO / "assignments" / f"{A}.ipynb"
    nb = copy.deepcopy(nbformat.read(source, as_version=4))
    if where == "relu":
        cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "relu_code")
        cell.source = in_relu(code)
    else:
        cell = nbformat.v4.new_code_cell(PROBE + code)
        cell.id = "attack"
        nb.cells.insert(1 if where == "first" else len(nb.cells), cell)
    return nb


def kinds(fences: list[str]) -> set[str]:
    """Fence names without their details: "landlock files (ABI 7)" -> "landlock files"."""
    return {f.split(" (")[0] for f in fences}


@functools.lru_cache(maxsize=None)
def active_fences(disabled: tuple[str, ...]) -> set[str]:
    """The fences this kernel gives a child with ``disabled`` left off, as the record names them."""
    protected = (REPO / "solutions", REPO / "autograder")
    with Worker(SandboxLimits(disabled=disabled), protected, preload_torch=False) as worker:
        box = Sandbox(worker, [])
        box.ensure_started()
        found = kinds(box.fences)
        box.close()
    return found


def grader_state(worker_pid: int) -> dict:
    """What an attack on other processes would change: this process's and the worker's limits,
    this process's priority, affinity and scheduling policy."""
    names = ("RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_CORE")
    return {"limits": [resource.getrlimit(getattr(resource, n)) for n in names],
            "worker limits": [resource.prlimit(worker_pid, getattr(resource, n)) for n in names],
            "priority": os.getpriority(os.PRIO_PROCESS, 0), "affinity": os.sched_getaffinity(0),
            "policy": os.sched_getscheduler(0), "group": os.getpgrp()}


def escapees() -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == ESCAPEE:
                found.append(int(comm.parent.name))
        except OSError:
            pass
    return found


def sysv_segment_left() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.shmget(SHM_KEY, 0, 0) >= 0


def channels_left() -> list[str]:
    return [f for f in (f"/tmp/{CHANNEL}", f"/dev/shm/{CHANNEL}", f"/var/tmp/{CHANNEL}", f"/dev/mqueue/{CHANNEL}")
            if os.path.exists(f)]


@pytest.fixture(scope="module", autouse=True)
def secret():
    """A file in /root that no child may read."""
    if not SECRET.parent.is_dir():
        yield None
        return
    SECRET.write_text("the grader's secret")
    yield SECRET
    SECRET.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture(scope="module", params=list(CONFIGS), ids=list(CONFIGS))
def run(request, course, tmp_path_factory, listener, secret):
    """Every case that some active fence holds, graded in one batch with a clean solution last."""
    disabled = CONFIGS[request.param]
    fences = active_fences(disabled)
    if disabled and fences == active_fences(()):
        pytest.skip(f"{disabled[0]} is not used on this machine (the other fences stand in for it)")
    folder = tmp_path_factory.mktemp("attacks")
    MARKER.unlink(missing_ok=True)
    before_channels = channels_left()
    assert not before_channels and not sysv_segment_left(), "a channel from an earlier run was left behind"
    subs, skipped = [], {}
    for name, (base, where, code, _, _) in CASES.items():
        if name == "read_root_home" and secret is None:
            skipped[name] = f"this machine has no {SECRET.parent}"
            continue
        if name in NEEDS and not NEEDS[name] & fences:
            skipped[name] = f"with {', '.join(disabled) or 'nothing'} off, this kernel gives the child none of " \
                            f"{sorted(NEEDS[name])}"
            continue  # not run at all: without its fence it could harm this machine or cannot hold
        path = folder / f"{name}.ipynb"
        code = code.format(solution=str(SOLUTION), autograder=str(AUTOGRADER), port=listener.getsockname()[1],
                           marker=str(MARKER), own=str(path), secret=str(SECRET))
        nbformat.write(attack_notebook(base, where, code), path)
        subs.append(Submission(path, key=name))
    subs.append(Submission(SOLUTION, key="clean_solution_after_all"))
    with Worker(dataclasses.replace(LIMITS, disabled=disabled), protected_paths(course)) as worker:
        state = grader_state(worker.process.pid)
        results = grade_submissions(subs, course, worker=worker)
        after = grader_state(worker.process.pid)
        restarts = worker.restarts
    return {"fences": fences, "results": dict(zip([s.key for s in subs], results)), "skipped": skipped,
            "restarts": restarts, "state": (state, after), "escapees": escapees(),
            "sysv": sysv_segment_left(), "channels": channels_left(), "disabled": disabled}


@pytest.mark.parametrize("name", CASES)
def test_attack(run, name):
    if name in run["skipped"]:
        pytest.skip(run["skipped"][name])
    base, where, code, expected, words = CASES[name]
    result = run["results"][name]
    said = " | ".join(result.notes + [e.reason for e in result.exercises])
    assert result.assignment == A and result.error is None
    assert len(result.exercises) == 9, "every exercise has a record"
    assert "REACHED" not in said, said
    assert result.score == expected, [(e.name, e.points, e.reason) for e in result.exercises]
    if words:
        alternatives = (words,) if isinstance(words, str) else words
        assert any(w in said for w in alternatives), said


def test_grading_goes_on_after_every_attack(run):
    assert run["results"]["clean_solution_after_all"].score == FULL
    if run["fences"] & NEEDS["kill_worker"]:
        assert run["restarts"] == 0, "no child could kill the worker"


def test_no_other_process_was_touched(run):
    before, after = run["state"]
    assert before == after
    assert run["escapees"] == [], "a child's child outlived grading"


def test_nothing_is_left_for_the_next_submission(run):
    assert not run["sysv"], "a System V segment outlived its submission"
    assert run["channels"] == [], "a file or queue outlived its submission"


def test_nothing_changed_outside_the_child(run, listener):
    assert not MARKER.exists(), "a shell escape or a write reached /tmp"
    assert not (REPO / "results.json").exists() and not (REPO / "big.bin").exists()
    if "tcp_to_localhost" in run["results"]:
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_submission_file_and_hidden_tests_stay_unread(run):
    results = run["results"]
    if "rewrite_own_submission" in results:
        assert "BEGIN SOLUTION" not in Path(results["rewrite_own_submission"].notebook).read_text()
    if "read_hidden_tests" in results:
        notes = " | ".join(results["read_hidden_tests"].notes)
        assert "PermissionError" in notes or "FileNotFoundError" in notes, notes


def test_fences_are_reported(run):
    reported = kinds(run["results"]["clean_solution_after_all"].fences)
    assert {"process group", "scratch directory", "resource limits"} <= reported == run["fences"]
    assert not set(run["disabled"]) & {f.split(" (")[0] for f in reported}


def test_grading_works_without_any_optional_fence(course, tmp_path):
    """As on a kernel with none of the optional fences: grading still works, and a child that
    kills the worker costs only its own submission (the worker is restarted)."""
    path = tmp_path / "kill_worker.ipynb"
    nbformat.write(attack_notebook("solution", "top", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), path)
    limits = SandboxLimits(call_seconds=3, cell_seconds=3, submission_seconds=60, disabled=engine_fences.OPTIONAL)
    with Worker(limits, protected_paths(course)) as worker:
        killer, clean = grade_submissions([Submission(path, key="k"), Submission(SOLUTION, key="c")], course,
                                          worker=worker)
        assert worker.restarts == 1
    assert clean.score == FULL
    assert killer.score == FULL
    assert set(clean.fences) == {"process group", "scratch directory", "resource limits"}


def test_ipcs_shows_no_segment_of_ours(run):
    """Belt and braces for the System V case: the system's own tool agrees."""
    if shutil.which("ipcs") is None:
        pytest.skip("this machine has no ipcs")
    listing = subprocess.run(["ipcs", "-m"], capture_output=True, text=True, timeout=30).stdout
    assert f"{SHM_KEY:#010x}" not in listing

"""The sandbox on its own: calls, their records, and the worker's children."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from relu_course.engine.runner import protected_paths
from relu_course.engine.cleanup import remove_tree
from relu_course.engine.client import Worker
from relu_course.engine.limits import SandboxLimits
from relu_course.engine.sandbox import Sandbox
from relu_course.notebook import Cell

CELLS = [
    Cell(0, "import warnings\nimport numpy as np\nwarnings.simplefilter('ignore')\nnp.seterr(all='ignore')\n"),
    Cell(1, "def scaled(x, by=1.0):\n"
            "    if by == 0:\n"
            "        warnings.warn('by is zero')\n"
            "    return np.exp(np.asarray(x, dtype=float)) * by\n"
            "def doubled_in_place(x):\n"
            "    x *= 2\n"
            "    return x\n"),
]


def test_each_call_gets_its_own_warnings(worker):
    box = Sandbox(worker, CELLS)
    try:
        first, overflow, zero, last = box.call_many(
            "scaled", [((np.ones(2),), {}), ((np.array([1e4]),), {}), ((1.0,), {"by": 0}), ((0.0,), {})])
    finally:
        box.close()
    # the notebook silenced warnings and numpy's errors; each call is still heard, on its own
    assert first.warnings == [] and last.warnings == []
    assert overflow.warnings == ["RuntimeWarning: overflow encountered in exp"]
    assert zero.warnings == ["UserWarning: by is zero"]
    np.testing.assert_array_equal(first.value, np.exp(np.ones(2)))


def test_each_call_reports_the_arguments_it_modified(worker):
    x = np.arange(3.0)
    box = Sandbox(worker, CELLS)
    try:
        kept, changed = box.call_many("scaled", [((x,), {})]) + box.call_many("doubled_in_place", [((x,), {})])
    finally:
        box.close()
    assert kept.mutated == [] and changed.mutated == [0]
    np.testing.assert_array_equal(changed.value, 2 * x)
    np.testing.assert_array_equal(x, np.arange(3.0))  # the grader's copy is untouched


def processes_of(parent: int) -> set[int]:
    """Live (not zombie) children of ``parent``, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(ppid) == parent and state not in "ZX":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kinds(fences: list[str]) -> list[str]:
    """The fences' names without their details ("separate uid (1900000000)" -> "separate uid")."""
    return [f.split(" (")[0] for f in fences]


def uid_of(fences: list[str]) -> str:
    return next(f for f in fences if f.startswith("separate uid"))


def test_worker_keeps_one_fenced_spare_and_leaves_no_process_behind(course):
    with Worker(SandboxLimits(), protected_paths(course), preload_torch=False) as worker:
        parent = worker.process.pid

        def spare_besides(*taken: int) -> int:
            """The one child of the worker besides ``taken``, once it has settled (a spare is made
            by a first process that forks it and exits, and the spare comes back to the worker)."""
            def settled() -> bool:
                first = processes_of(parent) - set(taken)
                time.sleep(0.2)
                return len(first) == 1 and processes_of(parent) - set(taken) == first
            assert wait_for(settled), processes_of(parent)
            [spare] = processes_of(parent) - set(taken)
            return spare

        spawned = [worker.spawn()]
        spare = spare_besides(spawned[0][0])
        spawned.append(worker.spawn())
        assert spawned[1][0] == spare and spawned[1][2] != spawned[0][2]  # the spare, in its own scratch directory
        assert kinds(spawned[1][3]) == kinds(spawned[0][3])  # fenced alike
        if "separate uid" in kinds(spawned[0][3]):  # the child and the spare beside it never share a uid
            assert uid_of(spawned[0][3]) != uid_of(spawned[1][3])

        dead = spare_besides(spawned[0][0], spawned[1][0])
        os.kill(dead, signal.SIGKILL)  # a spare that dies waiting is never handed out
        assert wait_for(lambda: not alive(dead))
        spawned.append(worker.spawn())
        assert spawned[2][0] != dead and kinds(spawned[2][3]) == kinds(spawned[0][3])

        for pid, channel, _scratch, _fences in spawned:
            channel.close()
            worker.discard(pid)
        seen = {spare_besides(), dead} | {pid for pid, *_ in spawned}
    assert wait_for(lambda: not any(alive(pid) for pid in seen)), [pid for pid in seen if alive(pid)]


def test_readable_directories_under_tmp_stay_in_sight_of_the_child():
    """A course checked out under /tmp: the child's private /tmp still shows what it may read."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="relu-course-readable-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        (folder / "shared.txt").write_text("readable")
        (folder / "shared.txt").chmod(0o644)
        with Worker(SandboxLimits(), preload_torch=False) as worker:
            worker.readable.append(str(folder))
            box = Sandbox(worker, [Cell(0, f"def look():\n    return open({str(folder / 'shared.txt')!r}).read()\n")])
            try:
                assert box.call("look").value == "readable"
                if not any(f.startswith("bounded /tmp") for f in box.fences):
                    pytest.skip("this kernel gives the child no private /tmp, so nothing covers the folder")
            finally:
                box.close()
    finally:
        remove_tree(folder)

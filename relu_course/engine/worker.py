"""The warm worker: imports the heavy libraries once, then forks one child per submission.

Started by the grader as ``python -m relu_course.engine.worker FD [no-torch] [no-userns]`` with a clean
environment, in a directory of its own; FD is a Unix socket to the grader. It holds no
secrets: it never reads the solutions, the hidden tests or the gradebook. Control
messages are lines of JSON.

Requests and replies:
    {"op": "spawn", "limits": {...}} -> {"pid": PID, "scratch": DIR} + fd of the grader's end of the child's channel
    {"op": "wait", "pid": PID}       -> {"pid": PID, "exit": EXIT}
    {"op": "discard", "pid": PID}    -> (no reply; reaped later)
    {"op": "stop"}                   -> (worker exits)
EXIT is {"code": N} or {"signal": N}.

Forking and fencing a child takes milliseconds, so the worker keeps one spare: after
handing a child over it forks and fences the next one while the grader is busy with
the first. A spare has run nothing but the fences; it waits for its first request. Each
child is pid 1 of a pid namespace the worker makes for it just before the fork; the worker
is a subreaper (what a child's children leave comes back to it to reap), and when it stops
it kills every child it still has.
"""
from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass

from .cleanup import remove_tree
from .lines import LineReader, send_line

#: how long the worker waits for a killed child to be gone before it answers without its status
WAIT_SECONDS = 5.0
PR_SET_CHILD_SUBREAPER = 36


def warm_up(with_torch: bool) -> object:
    """Import and initialise what submissions use, so that forked children start warm.

    torch (seconds to import) only ``with_torch``: the grader asks for it when a notebook uses it.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy  # noqa: F401

    if with_torch:
        import torch

        # Must precede any torch op: a parent that used OpenMP threads hangs forked children.
        torch.set_num_threads(1)
        net = torch.nn.Linear(1, 2)
        torch.optim.Adam(net.parameters()).step()  # pays torch's lazy imports
        torch.optim.LBFGS(net.parameters())
    plt.figure()
    plt.close("all")

    from . import child, fences, landlock, protocol, seccomp  # noqa: F401 - children inherit them loaded
    from .. import checks  # noqa: F401 - notebooks import check(); public, no secrets

    landlock.abi_version()
    return child.make_shell()


def exit_status(status: int) -> dict:
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}


@dataclass
class Spawned:
    """A fenced child waiting for its first request, and the grader's end of its channel."""

    pid: int
    channel: socket.socket
    scratch: str
    limits: str  # the limits it was fenced with, as JSON


def fork_child(control: socket.socket, limits: dict, shell: object, key: str) -> Spawned:
    """Fork a fenced child, pid 1 of a pid namespace of its own, with its own scratch directory.

    ``key`` names the request's limits, to tell whether a spare fits the next request.
    """
    from . import fences

    scratch = tempfile.mkdtemp(prefix="child-", dir=os.getcwd())
    if limits.get("uid") is not None:
        os.chown(scratch, limits["uid"], limits["uid"])
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    made = fences.before_fork(limits)
    try:
        pid = os.fork()
    except OSError:
        fences.after_fork(made)
        raise
    if pid == 0:  # never returns to the worker's loop
        try:
            control.close()
            ours.close()
            active = fences.apply(scratch, limits, made, keep_fds=(theirs.fileno(),))
            send_line(theirs, {"fences": active})
            from . import child, protocol

            child.main(theirs, shell, protocol.Limits(**limits["protocol"]), limits["output_chars"])
        except BaseException:  # noqa: BLE001 - a child that cannot be fenced never runs
            pass
        os._exit(70)
    fences.after_fork(made)
    theirs.close()
    return Spawned(pid, ours, scratch, key)


def with_uid(limits: dict, count: int) -> dict:
    """The limits of the ``count``-th child: where the grader gave a uid, children take turns
    between it and the next one, so that a child and the spare waiting beside it never share one."""
    if limits.get("uid") is None:
        return limits
    return {**limits, "uid": limits["uid"] + count % 2}


class Reaper:
    """Reaps every child of the worker (a subreaper: escaped descendants come to it too) and
    keeps the exit status of those the grader may still ask about."""

    def __init__(self) -> None:
        self.wanted: set[int] = set()
        self.ended: dict[int, dict] = {}

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.wanted:
                self.ended[pid] = exit_status(status)

    def alive(self, pid: int) -> bool:
        """Whether a child we keep is still running (a spare that died waiting is never handed out).

        A child that is exiting counts as dead at once: one with threads is a zombie that cannot
        be reaped until its last thread is gone.
        """
        self.reap()
        return pid not in self.ended and not exiting(pid)

    def wait(self, pid: int, seconds: float) -> dict | None:
        """How a killed child ended; None if it is not gone within ``seconds`` (reaped later)."""
        deadline = time.monotonic() + seconds
        while True:
            self.reap()
            if pid in self.ended:
                status = self.ended[pid]
                self.forget(pid)
                return status
            if time.monotonic() > deadline:
                self.forget(pid)
                return None
            time.sleep(0.002)

    def forget(self, pid: int) -> None:
        self.wanted.discard(pid)
        self.ended.pop(pid, None)


def exiting(pid: int) -> bool:
    """Whether the process has exited or is exiting (a zombie, or gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def kill(pid: int) -> None:
    """SIGKILL a child and its process group (the whole pid namespace, where it is pid 1)."""
    for send in (os.kill, os.killpg):
        try:
            send(pid, signal.SIGKILL)
        except OSError:
            pass


def drop(spare: Spawned, reaper: Reaper) -> None:
    """Kill a spare nobody will use (one that already died is only reaped)."""
    if reaper.alive(spare.pid):
        kill(spare.pid)
    reaper.forget(spare.pid)
    spare.channel.close()
    remove_tree(spare.scratch)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    import ctypes

    from . import fences

    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # descendants that escape come back to us
    fences.prepare_worker(user_namespace="no-userns" not in sys.argv[2:])  # before any thread starts
    started = time.perf_counter()
    shell = warm_up(with_torch="no-torch" not in sys.argv[2:])
    gc.freeze()  # children's collections then skip what they inherit, and leave its pages shared
    send_line(control, {"ready": True, "seconds": round(time.perf_counter() - started, 3)})
    requests = LineReader(control)
    reaper = Reaper()
    spare: Spawned | None = None
    forked = 0

    def fork(limits: dict, key: str) -> Spawned:
        nonlocal forked
        made = fork_child(control, with_uid(limits, forked), shell, key)
        forked += 1
        reaper.wanted.add(made.pid)
        return made

    try:
        while True:
            reaper.reap()
            try:
                request = requests.read()
            except EOFError:
                return
            op = request.get("op")
            if op == "spawn":
                limits = request["limits"]
                key = json.dumps(limits, sort_keys=True)
                if spare is not None and (spare.limits != key or not reaper.alive(spare.pid)):
                    drop(spare, reaper)
                    spare = None
                try:
                    given, spare = spare or fork(limits, key), None
                except OSError as exc:
                    send_line(control, {"error": f"no child could be made: {exc}"})
                    continue
                send_line(control, {"pid": given.pid, "scratch": given.scratch}, fds=(given.channel.fileno(),))
                given.channel.close()
                try:
                    spare = fork(limits, key)
                except OSError:
                    spare = None
            elif op == "wait":
                status = reaper.wait(request["pid"], WAIT_SECONDS)
                send_line(control, {"pid": request["pid"], "exit": status or {}})
            elif op == "discard":
                reaper.forget(request["pid"])
            elif op == "stop":
                return
    finally:
        if spare is not None:
            drop(spare, reaper)
        for pid in reaper.wanted:  # children the grader did not stop (it was interrupted, or died)
            kill(pid)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when the worker stops
    main()

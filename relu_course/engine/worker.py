"""The warm worker: imports the heavy libraries once, then forks one child per submission.

Started by the grader as ``python -m relu_course.engine.worker FD [torch|no-torch]`` with a clean
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
the first. A spare has run nothing but the fences; it waits for its first request.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass

from .lines import LineReader, send_line


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


def fork_child(control: socket.socket, limits: dict, shell: object) -> Spawned:
    """Fork a child into its own process group and scratch directory, and fence it in."""
    from . import fences

    scratch = tempfile.mkdtemp(prefix="child-", dir=os.getcwd())
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the child: never returns to the worker's loop
        try:
            os.setpgid(0, 0)
            control.close()
            ours.close()
            active = fences.apply(scratch, limits, keep_fds=(theirs.fileno(),))
            send_line(theirs, {"fences": active})
            from . import child, protocol

            child.main(theirs, shell, protocol.Limits(**limits["protocol"]), limits["output_chars"])
        except BaseException:  # noqa: BLE001
            pass
        os._exit(70)
    try:
        os.setpgid(pid, pid)  # also here, so that no kill of its group can come before the child's own call
    except OSError:
        pass
    theirs.close()
    return Spawned(pid, ours, scratch, json.dumps(limits, sort_keys=True))


def alive(pid: int) -> bool:
    """Whether a child of ours is still running (a spare that died waiting is never handed out)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return False


def drop(spare: Spawned, discarded: set[int]) -> None:
    """Kill a spare nobody will use (one that already died is only reaped)."""
    if alive(spare.pid):
        try:
            os.killpg(spare.pid, signal.SIGKILL)
        except OSError:
            pass
        discarded.add(spare.pid)
    spare.channel.close()
    shutil.rmtree(spare.scratch, ignore_errors=True)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    started = time.perf_counter()
    shell = warm_up(with_torch=sys.argv[2:3] != ["no-torch"])
    gc.freeze()  # children's collections then skip what they inherit, and leave its pages shared
    send_line(control, {"ready": True, "seconds": round(time.perf_counter() - started, 3)})
    requests = LineReader(control)
    discarded: set[int] = set()
    spare: Spawned | None = None
    try:
        while True:
            discarded = {pid for pid in discarded if alive(pid)}  # reaps, without blocking, the children nobody waits for
            try:
                request = requests.read()
            except EOFError:
                return
            op = request.get("op")
            if op == "spawn":
                limits = request["limits"]
                if spare is not None and (spare.limits != json.dumps(limits, sort_keys=True) or not alive(spare.pid)):
                    drop(spare, discarded)
                    spare = None
                given = spare or fork_child(control, limits, shell)
                send_line(control, {"pid": given.pid, "scratch": given.scratch}, fds=(given.channel.fileno(),))
                given.channel.close()
                spare = fork_child(control, limits, shell)
            elif op == "wait":
                _pid, status = os.waitpid(request["pid"], 0)
                send_line(control, {"pid": request["pid"], "exit": exit_status(status)})
            elif op == "discard":
                discarded.add(request["pid"])
            elif op == "stop":
                return
    finally:
        if spare is not None:
            drop(spare, discarded)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when the worker stops
    main()

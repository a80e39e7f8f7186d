"""The warm worker: imports the heavy libraries once, then forks one child per submission.

Started by the grader as ``python -m relu_course.engine.worker FD [torch|no-torch]`` with a clean
environment; FD is a Unix socket to the grader. It holds no secrets: it never reads
the solutions, the hidden tests or the gradebook. Control messages are small JSON
objects; a "spawn" request carries the child's end of a socketpair as a passed fd.

Requests and replies:
    {"op": "spawn", "scratch": DIR, "limits": {...}} + fd -> {"pid": PID, "fences": [...]}
    {"op": "wait", "pid": PID}                            -> {"pid": PID, "exit": EXIT}
    {"op": "discard", "pid": PID}                         -> (no reply; reaped later)
    {"op": "stop"}                                        -> (worker exits)
EXIT is {"code": N} or {"signal": N}.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time

CONTROL_BYTES = 1 << 16


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


def send_json(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def exit_status(status: int) -> dict:
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}


def spawn(control: socket.socket, channel_fd: int, request: dict, shell: object) -> dict:
    from . import fences

    pid = os.fork()
    if pid == 0:  # the child: never returns to this loop
        try:
            control.close()
            os.setpgid(0, 0)
            channel = socket.socket(fileno=channel_fd)
            active = fences.apply(request["scratch"], request["limits"], keep_fds=(channel_fd,))
            send_json(channel, {"fences": active})
            from . import child, protocol

            child.main(channel, shell, protocol.Limits(**request["limits"]["protocol"]),
                       request["limits"]["output_chars"])
        except BaseException:  # noqa: BLE001
            pass
        os._exit(70)
    os.close(channel_fd)
    return {"pid": pid}


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    started = time.perf_counter()
    shell = warm_up(with_torch=sys.argv[2:3] != ["no-torch"])
    send_json(control, {"ready": True, "seconds": round(time.perf_counter() - started, 3)})
    pending = b""
    discarded: set[int] = set()
    while True:
        for pid in list(discarded):  # reap the children nobody waits for, without blocking
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    discarded.discard(pid)
            except ChildProcessError:
                discarded.discard(pid)
        data, fds, _flags, _addr = socket.recv_fds(control, CONTROL_BYTES, 1)
        if not data:
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            op = request.get("op")
            if op == "spawn":
                send_json(control, spawn(control, fds.pop(), request, shell))
            elif op == "wait":
                _pid, status = os.waitpid(request["pid"], 0)
                send_json(control, {"pid": request["pid"], "exit": exit_status(status)})
            elif op == "discard":
                discarded.add(request["pid"])
            elif op == "stop":
                return


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader decides when the worker stops
    main()

"""The grader's side of the warm worker: start it, ask it for fenced children, reap them.

If the worker dies (a child that got past the fences could kill it), the next spawn
starts a new one: the submission that did it has its record, the others go on.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import uids
from .cleanup import remove_tree
from .faults import WorkerError
from .limits import SandboxLimits
from .lines import LineReader, send_line
from .threads import THREAD_VARIABLES

#: how long the grader waits for the worker to answer a control request
CONTROL_SECONDS = 30.0


def clean_environment() -> dict[str, str]:
    """The environment the worker starts with: nothing secret, nothing from the grader."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           **dict.fromkeys(THREAD_VARIABLES, "1")}  # a child computes on one core, as the others do
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = package_root
    return env


def kill(pid: int) -> None:
    """SIGKILL a child, its process group, and (where it is pid 1 of one) its pid namespace."""
    for send in (os.kill, os.killpg):
        try:
            send(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Worker:
    """A warm worker process that forks fenced children on request."""

    def __init__(self, limits: SandboxLimits | None = None, protected: tuple[Path, ...] = (),
                 startup_seconds: float = 120.0, preload_torch: bool = True):
        """Start a worker. ``protected`` paths (solutions, hidden tests, gradebook) are kept
        out of what children may read, even where a readable directory holds them."""
        from . import fences

        self.limits = limits or SandboxLimits()
        self.readable = fences.readable_roots(list(protected))
        self.hidden = fences.hidden_paths(list(protected), self.readable)
        try:
            self.uids = uids.acquire() if "separate uid" not in self.limits.disabled else None
        except OSError:
            self.uids = None
        self.startup_limit = startup_seconds
        self.preload_torch = preload_torch
        self.root = tempfile.mkdtemp(prefix="relu-course-")
        self.log_path = os.path.join(self.root, "worker.log")
        self.restarts = 0
        self.process: subprocess.Popen | None = None
        self._launch()

    def _launch(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control = ours
        self.reader = LineReader(ours)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "relu_course.engine.worker", str(theirs.fileno()),
                 *(["no-torch"] if not self.preload_torch else []),
                 *(["no-userns"] if "user namespace" in self.limits.disabled else [])],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=clean_environment(), cwd=self.root)
        theirs.close()
        try:
            ready = self.reader.read(time.monotonic() + self.startup_limit)
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise WorkerError(f"the grading worker did not start: {exc}; see {self.log_path}") from None
        self.startup_seconds = ready.get("seconds")

    def _relaunch(self) -> None:
        self.control.close()
        self._close_fds()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.restarts += 1
        self._launch()

    def _ask(self, request: dict) -> dict:
        send_line(self.control, request)
        return self.reader.read(time.monotonic() + CONTROL_SECONDS)

    def _close_fds(self) -> None:
        for fd in self.reader.fds:
            os.close(fd)
        self.reader.fds = []

    def spawn(self) -> tuple[int, socket.socket, str, list[str]]:
        """A fenced child. Returns its pid, our end of its channel, its scratch dir, its fences."""
        request = {"op": "spawn", "limits": {**self.limits.for_child(), "readable": self.readable,
                                             "hidden": self.hidden, "uid": self.uids and self.uids.uid}}
        for attempt in (1, 2):
            try:
                reply = self._ask(request)
                if len(self.reader.fds) != 1:
                    raise ValueError("the worker sent no channel with the child")
                break
            except (OSError, EOFError, ValueError) as exc:
                if attempt == 2:
                    raise WorkerError(f"the grading worker stopped: {exc}; see {self.log_path}") from None
                self._relaunch()
        ours = socket.socket(fileno=self.reader.fds.pop())
        try:
            hello = LineReader(ours).read(time.monotonic() + self.limits.cell_seconds)
        except (OSError, EOFError, ValueError):
            hello = {"fences": []}
        fences = hello.get("fences", [])
        return reply["pid"], ours, reply["scratch"], [str(f) for f in fences] if isinstance(fences, list) else []

    def reap(self, pid: int) -> dict:
        """Kill a child and return how it ended: {"code": N} or {"signal": N}.

        ``{}`` if the worker itself died meanwhile (it is restarted on the next spawn).
        """
        kill(pid)
        try:
            return self._ask({"op": "wait", "pid": pid})["exit"]
        except (OSError, EOFError, ValueError, KeyError):
            return {}

    def discard(self, pid: int) -> None:
        """Kill a child whose exit status nobody needs; the worker reaps it in passing."""
        kill(pid)
        try:
            send_line(self.control, {"op": "discard", "pid": pid})
        except OSError:
            pass  # a dead worker: restarted on the next spawn

    def close(self) -> None:
        try:
            send_line(self.control, {"op": "stop"})
        except OSError:
            pass
        self.control.close()
        self._close_fds()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        remove_tree(self.root)
        if self.uids is not None:
            self.uids.release()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The trusted side of the grading boundary: runs a submission in a fenced child.

:class:`Worker` owns the warm worker process. :class:`Sandbox` runs one submission:
it spawns a child, sends it the notebook's code cells one at a time, and forwards
calls from the tests. A cell or call that hangs or kills the child is recorded, the
child is replaced, and grading goes on without it.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Any

from . import protocol
from .protocol import Handle, Limits
from .proxy import RemoteObject

MiB = protocol.MiB
SIGNAL_HINTS = {
    signal.SIGKILL: "killed (memory limit, or stopped from outside)",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGXCPU: "CPU time limit",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGSYS: "a forbidden system call",
}


@dataclass(frozen=True)
class SandboxLimits:
    """Fences and time limits for one submission."""

    call_seconds: float = 10.0
    cell_seconds: float = 10.0
    submission_seconds: float = 120.0
    memory_bytes: int = 3 * 1024 * MiB
    cpu_seconds: int = 120
    file_bytes: int = 64 * MiB
    open_files: int = 256
    processes: int = 64
    output_chars: int = 20_000
    protocol: Limits = field(default_factory=Limits)
    disabled: tuple[str, ...] = ()  # optional fences to leave off (see fences.OPTIONAL)

    def for_child(self) -> dict:
        data = asdict(self)
        for key in ("call_seconds", "cell_seconds", "submission_seconds"):
            data.pop(key)
        return data


@dataclass(frozen=True)
class Cell:
    """One code cell to run: its position in the notebook, its grade_id if any, its source."""

    index: int
    source: str
    grade_id: str | None = None

    @property
    def label(self) -> str:
        return f"cell {self.index + 1}" + (f" ({self.grade_id})" if self.grade_id else "")


@dataclass
class CallRecord:
    """What one call returned (or the fault it ended in), and what it did on the way.

    ``mutated`` lists the positions of array arguments the call modified.
    """

    result: Any = None
    warnings: list[str] = field(default_factory=list)
    mutated: list[int] = field(default_factory=list)
    error: "SubmissionFault | None" = None

    @property
    def value(self) -> Any:
        """The returned value; raises the fault if the call did not return one."""
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class CellFailure:
    """A cell that raised, hung or killed the child. ``fatal`` cells are skipped on restart."""

    cell: Cell
    message: str
    fatal: bool = False


class SubmissionFault(Exception):
    """A call into the submission did not return a value; ``summary`` is one line for the report."""

    status = "error"

    def __init__(self, summary: str):
        super().__init__(summary)
        self.summary = summary


class StudentError(SubmissionFault):
    """The student's code raised. ``type_name`` and ``mro`` are class names only."""

    status = "failed"

    def __init__(self, name: str, error: dict):
        self.type_name = str(error.get("type", "Exception"))
        self.mro = [str(n) for n in error.get("mro", [])]
        self.message = str(error.get("message", ""))
        self.where = str(error.get("where", ""))
        if self.is_a("NotImplementedError"):
            summary = f"{name} is not implemented yet"
        elif self.type_name == "NotDefined":
            summary = self.message
        else:
            where = f" ({self.where})" if self.where else ""
            summary = f"{name} raised {self.type_name}: {self.message}{where}"
        super().__init__(summary.splitlines()[0] if summary else summary)

    def is_a(self, type_name: str) -> bool:
        """Whether the exception's class is, or derives from, a class of that name."""
        return type_name in self.mro or self.type_name == type_name


class NotDefined(StudentError):
    """The notebook does not define the requested name."""


class StudentTimeout(SubmissionFault):
    status = "timeout"


class StudentCrash(SubmissionFault):
    status = "crashed"


class BadResult(SubmissionFault):
    status = "failed"


class WorkerError(RuntimeError):
    """The worker itself failed: grading cannot go on in this process."""


def clean_environment() -> dict[str, str]:
    """The environment the worker starts with: nothing secret, nothing from the grader."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = package_root
    return env


class Worker:
    """A warm worker process that forks fenced children on request.

    If the worker dies (a child that got past the fences could kill it), the next spawn
    starts a new one: the submission that did it has its record, the others go on.
    """

    def __init__(self, limits: SandboxLimits | None = None, protected: tuple[Path, ...] = (),
                 startup_seconds: float = 120.0, preload_torch: bool = True):
        """Start a worker. ``protected`` paths (solutions, hidden tests, gradebook) are kept
        out of what children may read, even where a readable directory holds them."""
        from . import fences

        self.limits = limits or SandboxLimits()
        self.readable = fences.readable_roots(list(protected))
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
        self._buffer = b""
        self._fds: list[int] = []
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "relu_course.engine.worker", str(theirs.fileno()),
                 "torch" if self.preload_torch else "no-torch"],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=clean_environment(), cwd=self.root)
        theirs.close()
        self.control.settimeout(self.startup_limit)
        try:
            ready = self._read()
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise WorkerError(f"the grading worker did not start: {exc}; see {self.log_path}") from None
        self.startup_seconds = ready.get("seconds")
        self.control.settimeout(None)

    def _relaunch(self) -> None:
        self.control.close()
        self._close_fds()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.restarts += 1
        self._launch()

    def _read(self) -> dict:
        """The worker's next reply; file descriptors passed with it are kept in ``_fds``."""
        while b"\n" not in self._buffer:
            chunk, fds, _flags, _addr = socket.recv_fds(self.control, 65536, 4)
            self._fds += fds
            if not chunk:
                raise EOFError("the worker exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _ask(self, request: dict) -> dict:
        self.control.sendall(json.dumps(request).encode() + b"\n")
        return self._read()

    def _close_fds(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def spawn(self) -> tuple[int, socket.socket, str, list[str]]:
        """A fenced child. Returns its pid, our end of its channel, its scratch dir, its fences."""
        request = {"op": "spawn", "limits": {**self.limits.for_child(), "readable": self.readable}}
        for attempt in (1, 2):
            try:
                reply = self._ask(request)
                if len(self._fds) != 1:
                    raise ValueError("the worker sent no channel with the child")
                break
            except (OSError, EOFError, ValueError) as exc:
                if attempt == 2:
                    raise WorkerError(f"the grading worker stopped: {exc}; see {self.log_path}") from None
                self._relaunch()
        ours = socket.socket(fileno=self._fds.pop())
        ours.settimeout(self.limits.cell_seconds)
        try:
            hello = json.loads(_read_line(ours))
        except (OSError, EOFError, ValueError):
            hello = {"fences": []}
        return reply["pid"], ours, reply["scratch"], hello.get("fences", [])

    def reap(self, pid: int) -> dict:
        """Kill a child's process group and return how it ended: {"code": N} or {"signal": N}.

        ``{}`` if the worker itself died meanwhile (it is restarted on the next spawn).
        """
        _kill_group(pid)
        try:
            return self._ask({"op": "wait", "pid": pid})["exit"]
        except (OSError, EOFError, ValueError):
            return {}

    def discard(self, pid: int) -> None:
        """Kill a child whose exit status nobody needs; the worker reaps it in passing."""
        _kill_group(pid)
        try:
            self.control.sendall(json.dumps({"op": "discard", "pid": pid}).encode() + b"\n")
        except OSError:
            pass  # a dead worker: restarted on the next spawn

    def close(self) -> None:
        try:
            self.control.sendall(b'{"op": "stop"}\n')
        except OSError:
            pass
        self.control.close()
        self._close_fds()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_line(sock: socket.socket) -> bytes:
    """The child's one-line greeting (it sends nothing else until asked)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError
        data += chunk
    return data


@functools.lru_cache(maxsize=1024)
def as_python(source: str) -> str:
    """A cell's source as IPython turns it into Python (magics become get_ipython() calls).

    Done here, in the trusted process, so that input transformers a notebook installs in
    its own process change nothing; cached, since most cells are the same in every copy.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave it to the child's compile() to report
        return source


def _handle_of(value: Any) -> Handle:
    if isinstance(value, RemoteObject):
        return value._target()
    raise protocol.ProtocolError(f"a {type(value).__name__} cannot be sent to the submission")


def describe_exit(status: dict) -> str:
    if not status:
        return "ended, and took the grading worker with it (the worker was restarted)"
    if "signal" in status:
        number = status["signal"]
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = SIGNAL_HINTS.get(number)
        return f"was killed by {name}" + (f" ({hint})" if hint else "")
    return f"exited with status {status.get('code')}"


class Sandbox:
    """One submission running in a fenced child, restarted as needed.

    ``cells`` run in order when the child starts. Calls go through :meth:`call`.
    """

    def __init__(self, worker: Worker, cells: list[Cell]):
        self.worker = worker
        self.limits = worker.limits
        self.cells = cells
        self.deadline = time.monotonic() + self.limits.submission_seconds
        self.failures: dict[int, CellFailure] = {}
        self.poisoned: dict[str, SubmissionFault] = {}
        self.fences: list[str] = []
        self.output: list[str] = []
        self.pid: int | None = None
        self.sock: socket.socket | None = None
        self.scratch: str | None = None
        self.generation = 0

    # -- child lifecycle -----------------------------------------------------------------
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _start(self) -> None:
        if self.remaining() <= 0:
            raise StudentTimeout(
                f"grading this submission took over {self.limits.submission_seconds:g} s; the remaining checks were not run")
        self.pid, self.sock, self.scratch, self.fences = self.worker.spawn()
        self.generation += 1
        for cell in self.cells:
            if cell.index in self.failures and self.failures[cell.index].fatal:
                continue
            try:
                reply = self._exchange({"op": "cell", "index": cell.index + 1, "source": as_python(cell.source)},
                                       self.limits.cell_seconds, cell.label)
            except (StudentTimeout, StudentCrash) as fault:
                self.failures[cell.index] = CellFailure(cell, fault.summary, fatal=True)
                return self._start()
            self._keep_output(reply.get("output"))
            if not reply.get("ok"):
                error = reply.get("error", {})
                detail = str(error.get("message") or "").strip()
                message = f"{cell.label} raised {error.get('type')}" + (f": {detail.splitlines()[0]}" if detail else "")
                if error.get("where") and not error["where"].startswith("cell"):
                    message += f" ({error['where']})"
                self.failures.setdefault(cell.index, CellFailure(cell, message))

    def _stop(self) -> dict | None:
        if self.pid is None:
            return None
        pid, self.pid = self.pid, None
        try:
            self.sock.close()
        finally:
            self.sock = None
            status = self.worker.reap(pid)
            shutil.rmtree(self.scratch, ignore_errors=True)
        return status

    def _exchange(self, request: dict, seconds: float, label: str) -> dict:
        """Send a request and wait for the reply, turning hangs and deaths into faults."""
        budget = min(seconds, self.remaining())
        self.sock.settimeout(max(budget, 0.001))
        try:
            protocol.send(self.sock, request, self.limits.protocol, _handle_of)
            return protocol.recv(self.sock, self.limits.protocol, self._remote)
        except (socket.timeout, TimeoutError):
            self._stop()
            if budget < seconds:
                raise StudentTimeout(f"grading this submission took over {self.limits.submission_seconds:g} s; "
                                     f"stopped while running {label}") from None
            if request["op"] == "cell":
                raise StudentTimeout(f"{label} did not finish within {seconds:g} s: "
                                     "an infinite loop or a long computation at top level?") from None
            raise StudentTimeout(f"{label} did not return within {self.limits.call_seconds:g} s: "
                                 "an infinite loop, or too slow for the input?") from None
        except (EOFError, ConnectionError, BrokenPipeError):
            status = self._stop()
            raise StudentCrash(f"the notebook's process {describe_exit(status or {})} while running {label}") from None
        except protocol.ProtocolError as exc:
            self._stop()
            raise BadResult(f"{label} sent something that cannot be checked: {exc}") from None

    def ensure_started(self) -> None:
        if self.pid is None:
            self._start()

    def close(self) -> None:
        """Stop the child without waiting for it (the worker reaps it later)."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        self.sock.close()
        self.sock = None
        self.worker.discard(pid)
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- calls ---------------------------------------------------------------------------
    def call(self, target: str | Handle, args: tuple = (), kwargs: dict | None = None,
             attr: str | None = None) -> CallRecord:
        """Call a function defined by the notebook (or a method of a remote object) once."""
        return self.call_many(target, [(tuple(args), dict(kwargs or {}))], attr)[0]

    def call_many(self, target: str | Handle, calls: list[tuple[tuple, dict]],
                  attr: str | None = None, stop_on_error: bool = False) -> list[CallRecord]:
        """Make several calls in one round trip; each gets its own record and time limit.

        A call that raises gives a record whose ``value`` re-raises; with ``stop_on_error``
        the calls after it are not made and their records carry the same fault. A call that
        times out or kills the child marks the function: later calls to it fail at once.
        """
        name = target if isinstance(target, str) else f"{target.type_name} object"
        label = f"{name}.{attr}" if attr else name
        if isinstance(target, str) and target in self.poisoned:
            raise self.poisoned[target]
        self.ensure_started()
        seconds = self.limits.call_seconds
        request = {"op": "call", "target": target, "calls": [[list(a), dict(k)] if k else [list(a)] for a, k in calls],
                   "seconds": seconds, "stop_on_error": stop_on_error}
        if attr:
            request["attr"] = attr
        try:
            reply = self._exchange(request, seconds * len(calls) + 1.0, label)
        except (StudentTimeout, StudentCrash) as fault:
            if isinstance(target, str):
                self.poisoned[target] = fault
            raise
        self._keep_output(reply.get("output"))
        if not reply.get("ok"):
            error = reply.get("error", {})
            if error.get("type") == "NotDefined":
                raise NotDefined(label, self._explain_missing(error))
            if error.get("type") == "ResultTooLarge":
                raise BadResult(f"{label} returned {error.get('message')}")
            raise StudentError(label, error)
        records = []
        for result in reply.get("results", []):
            if result.get("ok"):
                records.append(CallRecord(result.get("value"), list(result.get("warnings", [])),
                                          list(result.get("mutated", []))))
                continue
            error = result.get("error", {})
            if error.get("type") == "CallTimeout":
                fault: SubmissionFault = StudentTimeout(
                    f"{label} did not return within {seconds:g} s: an infinite loop, or too slow for the input?")
                if isinstance(target, str):
                    self.poisoned[target] = fault
            elif error.get("type") == "ResultTooLarge":
                fault = BadResult(f"{label} returned {error.get('message')}")
            else:
                fault = StudentError(label, error)
            records.append(CallRecord(error=fault))
        while len(records) < len(calls):  # the child stopped after a fault
            records.append(CallRecord(error=records[-1].error if records else StudentCrash(f"{label} gave no result")))
        return records

    def get_attribute(self, target: Handle, name: str) -> Any:
        """An attribute of a remote object, as data."""
        self.ensure_started()
        reply = self._exchange({"op": "getattr", "target": target, "name": name}, self.limits.call_seconds,
                               f"{target.type_name}.{name}")
        if not reply.get("ok"):
            raise StudentError(f"{target.type_name}.{name}", reply.get("error", {}))
        return reply.get("value")

    def numpy(self, name: str) -> Any:
        """``numpy.<name>`` in the child: a function stays there, reached as a RemoteObject."""
        self.ensure_started()
        reply = self._exchange({"op": "numpy", "name": name}, self.limits.call_seconds, f"numpy.{name}")
        if not reply.get("ok"):
            raise StudentError(f"numpy.{name}", reply.get("error", {}))
        return reply.get("value")

    def _remote(self, handle: Handle) -> RemoteObject:
        return RemoteObject(self, handle, self.generation)

    def defines(self, name: str) -> bool:
        self.ensure_started()
        return bool(self._exchange({"op": "defines", "name": name}, self.limits.call_seconds, name).get("value"))

    def _keep_output(self, text: str | None) -> None:
        """Keep what the notebook printed, up to the output cap for the whole submission."""
        room = self.limits.output_chars - sum(len(t) for t in self.output)
        if text and room > 0:
            self.output.append(text[:room])

    def _explain_missing(self, error: dict) -> dict:
        if self.failures:
            first = self.failures[min(self.failures)]
            error = dict(error, message=f"{error.get('message')} ({first.message})")
        return error

    def notes(self) -> list[str]:
        return [self.failures[i].message for i in sorted(self.failures)]

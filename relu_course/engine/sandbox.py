"""One submission in a fenced child: its cells run once, then the tests' calls are answered.

:class:`Sandbox` asks the worker (:mod:`.client`) for a child, sends it the notebook's
code cells one at a time, and forwards calls from the tests. A cell or call that hangs or
kills the child is recorded, the child is replaced, and grading goes on without it.
"""
from __future__ import annotations

import signal
import socket
import time
from typing import Any

from ..notebook import Cell
from . import protocol
from .cleanup import remove_tree
from .client import Worker
from .faults import (CALL_TIMEOUT, NOT_DEFINED, RESULT_TOO_LARGE, BadResult, NotDefined, StudentCrash, StudentError,
                     StudentTimeout, SubmissionFault, fault_name)
from .protocol import Handle
from .proxy import RemoteObject
from .records import CallRecord, CellFailure
from .text import clean

#: the longest cell the grader sends to the child
MAX_CELL_CHARS = 1 << 20
SIGNAL_HINTS = {
    signal.SIGKILL: "killed (memory limit, or stopped from outside)",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGXCPU: "CPU time limit",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGSYS: "a forbidden system call",
}


def _handle_of(value: Any) -> Handle:
    if isinstance(value, RemoteObject):
        return value._target()
    raise protocol.ProtocolError(f"a {type(value).__name__} cannot be sent to the submission")


def _error_of(reply: dict) -> dict:
    """The error description in a reply; an empty one where the field is not a record."""
    error = reply.get("error", {})
    return error if isinstance(error, dict) else {}


def _warnings_of(result: dict) -> list[str]:
    warnings = result.get("warnings", [])
    return [clean(w) for w in warnings[:20] if isinstance(w, str)] if isinstance(warnings, list) else []


def _positions_of(result: dict, count: int) -> list[int]:
    """The argument positions a call reports it modified: only positions that exist."""
    mutated = result.get("mutated", [])
    return [i for i in mutated if type(i) is int and 0 <= i < count] if isinstance(mutated, list) else []


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
        self.budget = protocol.Budget(self.limits.submission_bytes)

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
            if len(cell.source) > MAX_CELL_CHARS:
                self.failures[cell.index] = CellFailure(
                    cell, f"{cell.label} was not run: over {MAX_CELL_CHARS // 1024} KiB of source", fatal=True)
                continue
            try:
                reply = self._exchange({"op": "cell", "index": cell.index + 1, "source": cell.source,
                                        "seconds": self.limits.cell_seconds}, self.limits.cell_seconds, cell.label)
            except (StudentTimeout, StudentCrash) as fault:
                self.failures[cell.index] = CellFailure(cell, fault.summary, fatal=True)
                return self._start()
            self._keep_output(reply.get("output"))
            if reply.get("ok") is not True:
                error = StudentError(cell.label, _error_of(reply))
                message = f"{cell.label} raised {error.type_name}" + (f": {error.message}" if error.message else "")
                if error.where and not error.where.startswith("cell"):
                    message += f" ({error.where})"
                self.failures.setdefault(cell.index, CellFailure(cell, clean(message, 500)))

    def _stop(self) -> dict | None:
        if self.pid is None:
            return None
        pid, self.pid = self.pid, None
        try:
            self.sock.close()
        finally:
            self.sock = None
            status = self.worker.reap(pid)
            remove_tree(self.scratch)
        return status

    def _exchange(self, request: dict, seconds: float, label: str) -> dict:
        """Send a request and wait for the reply, turning hangs and deaths into faults."""
        budget = min(seconds, self.remaining())
        deadline = time.monotonic() + max(budget, 0.001)
        self.sock.settimeout(max(budget, 0.001))  # sendall: one limit for the whole message
        try:
            protocol.send(self.sock, request, self.limits.protocol, _handle_of)
            reply = protocol.recv(self.sock, self.limits.protocol, self._remote, deadline, self.budget)
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
        if not isinstance(reply, dict):
            self._stop()
            raise BadResult(f"{label} sent something that cannot be checked: a reply that is not a record")
        return reply

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
        remove_tree(self.scratch)

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
        if reply.get("ok") is not True:
            error = _error_of(reply)
            if fault_name(error) == NOT_DEFINED:
                raise NotDefined(label, self._explain_missing(error))
            if fault_name(error) == RESULT_TOO_LARGE:
                raise BadResult(f"{label} returned {clean(error.get('message'), 200)}")
            raise StudentError(label, error)
        results = reply.get("results", [])
        if not isinstance(results, list) or len(results) > len(calls) or not all(isinstance(r, dict) for r in results):
            self._stop()
            raise BadResult(f"{label} sent something that cannot be checked: results that are not one record per call")
        records = []
        for result, (args, kwargs) in zip(results, calls):
            if result.get("ok") is True:
                records.append(CallRecord(result.get("value"), _warnings_of(result),
                                          _positions_of(result, len(args) + len(kwargs))))
                continue
            error = _error_of(result)
            if fault_name(error) == CALL_TIMEOUT:
                fault: SubmissionFault = StudentTimeout(
                    f"{label} did not return within {seconds:g} s: an infinite loop, or too slow for the input?")
                if isinstance(target, str):
                    self.poisoned[target] = fault
            elif fault_name(error) == RESULT_TOO_LARGE:
                fault = BadResult(f"{label} returned {clean(error.get('message'), 200)}")
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
        if reply.get("ok") is not True:
            raise StudentError(f"{target.type_name}.{name}", _error_of(reply))
        return reply.get("value")

    def numpy(self, name: str) -> Any:
        """``numpy.<name>`` in the child: a function stays there, reached as a RemoteObject."""
        self.ensure_started()
        reply = self._exchange({"op": "numpy", "name": name}, self.limits.call_seconds, f"numpy.{name}")
        if reply.get("ok") is not True:
            raise StudentError(f"numpy.{name}", _error_of(reply))
        return reply.get("value")

    def _remote(self, handle: Handle) -> RemoteObject:
        """A handle the child sent, as an object the tests can call; its names are only text."""
        safe = Handle(handle.ident, clean(handle.type_name, 100), clean(handle.summary, 120))
        return RemoteObject(self, safe, self.generation)

    def defines(self, name: str) -> bool:
        self.ensure_started()
        return bool(self._exchange({"op": "defines", "name": name}, self.limits.call_seconds, name).get("value"))

    def _keep_output(self, text: Any) -> None:
        """Keep what the notebook printed, up to the output cap for the whole submission."""
        room = self.limits.output_chars - sum(len(t) for t in self.output)
        if isinstance(text, str) and text and room > 0:
            self.output.append(text[:room])

    def _explain_missing(self, error: dict) -> dict:
        if self.failures:
            first = self.failures[min(self.failures)]
            error = dict(error, message=f"{error.get('message')} ({first.message})")
        return error

    def notes(self) -> list[str]:
        return [self.failures[i].message for i in sorted(self.failures)]

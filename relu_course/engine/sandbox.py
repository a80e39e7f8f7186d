"""One submission in a fenced child: its cells run once, then the tests' calls are answered.

:class:`Sandbox` asks the worker (:mod:`.client`) for a child, sends it the notebook's
code cells one at a time, and forwards calls from the tests. A cell or call that hangs or
kills the child is recorded, the child is replaced, and grading goes on without it.
"""
from __future__ import annotations

import functools
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

SIGNAL_HINTS = {
    signal.SIGKILL: "killed (memory limit, or stopped from outside)",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGXCPU: "CPU time limit",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGSYS: "a forbidden system call",
}


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
            remove_tree(self.scratch)
        return status

    def _exchange(self, request: dict, seconds: float, label: str) -> dict:
        """Send a request and wait for the reply, turning hangs and deaths into faults."""
        budget = min(seconds, self.remaining())
        deadline = time.monotonic() + max(budget, 0.001)
        self.sock.settimeout(max(budget, 0.001))  # sendall: one limit for the whole message
        try:
            protocol.send(self.sock, request, self.limits.protocol, _handle_of)
            return protocol.recv(self.sock, self.limits.protocol, self._remote, deadline)
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
        if not reply.get("ok"):
            error = reply.get("error", {})
            if fault_name(error) == NOT_DEFINED:
                raise NotDefined(label, self._explain_missing(error))
            if fault_name(error) == RESULT_TOO_LARGE:
                raise BadResult(f"{label} returned {error.get('message')}")
            raise StudentError(label, error)
        records = []
        for result in reply.get("results", []):
            if result.get("ok"):
                records.append(CallRecord(result.get("value"), list(result.get("warnings", [])),
                                          list(result.get("mutated", []))))
                continue
            error = result.get("error", {})
            if fault_name(error) == CALL_TIMEOUT:
                fault: SubmissionFault = StudentTimeout(
                    f"{label} did not return within {seconds:g} s: an infinite loop, or too slow for the input?")
                if isinstance(target, str):
                    self.poisoned[target] = fault
            elif fault_name(error) == RESULT_TOO_LARGE:
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

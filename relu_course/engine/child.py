"""The sandboxed child: runs a submission's cells, then answers calls with plain data.

This module runs only in the forked child. It trusts nothing it executes and holds
nothing worth stealing: verdicts live in the grader, which sees only what
:mod:`relu_course.engine.protocol` lets cross.
"""
from __future__ import annotations

import io
import os
import reprlib
import signal
import socket
import sys
import warnings
from typing import Any

import numpy as np

from . import protocol
from .faults import CALL_TIMEOUT, NOT_DEFINED, PROTOCOL_ERROR, RESULT_TOO_LARGE, fault
from .observe import NUMPY_ERRORS, array_states, describe_error, mutated

#: magics that would reach outside the child; they print a notice instead.
DISABLED_MAGICS = ("bash", "sh", "script", "perl", "ruby", "python", "python2", "python3",
                   "pypy", "system", "sx", "sc", "writefile", "run", "load", "cd", "pip", "conda")


class CallTimeout(BaseException):
    """Raised inside a student's function when its call runs out of time."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CallTimeout()


class CappedWriter(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int):
        self.cap = cap
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self) -> str:
        """Return what was kept since the last take, noting what was dropped."""
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[{self.dropped} more characters of output dropped]"
        self.parts, self.kept, self.dropped = [], 0, 0
        return text


class Child:
    """State of one submission inside the sandbox: its namespace and its handles."""

    def __init__(self, sock: socket.socket, shell: Any, limits: protocol.Limits, output_cap: int):
        self.sock = sock
        self.shell = shell
        self.limits = limits
        self.out = CappedWriter(output_cap)
        self.handles: dict[int, Any] = {}
        self.pid = os.getpid()
        from IPython.core.inputtransformer2 import TransformerManager

        self.transformer = TransformerManager()

    def only_the_child(self) -> None:
        """A copy of this process that student code forked ends here, when the student's code
        returns: only the child itself answers the grader."""
        if os.getpid() != self.pid:
            os._exit(0)

    # -- handles -----------------------------------------------------------------
    def to_handle(self, obj: Any) -> protocol.Handle:
        ident = len(self.handles) + 1
        self.handles[ident] = obj
        try:
            summary = reprlib.Repr(maxstring=80, maxother=80).repr(obj)[:120]
        except BaseException:  # noqa: BLE001
            summary = ""
        cls = type(obj)
        name = cls.__name__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"
        if isinstance(obj, np.ndarray):
            name = f"numpy.ndarray of dtype {obj.dtype}"
        return protocol.Handle(ident, name, summary)

    def from_handle(self, handle: protocol.Handle) -> Any:
        if handle.ident not in self.handles:
            raise LookupError(f"unknown handle {handle.ident}")
        return self.handles[handle.ident]

    # -- operations ----------------------------------------------------------------
    def run_cell(self, index: int, source: str, seconds: float) -> dict:
        """Run one cell in the notebook's namespace; IPython syntax is translated here first."""
        import matplotlib.pyplot as plt

        try:
            code = self.compile_cell(index, source, seconds)
        except CallTimeout:
            error = {"type": "TimeoutError", "mro": ["TimeoutError"], "where": f"cell {index}",
                     "message": "translating its IPython syntax (magics, ! lines) took too long"}
            return {"ok": False, "output": self.out.take(), "error": error}
        except BaseException as exc:  # noqa: BLE001 - SyntaxError, ValueError for null bytes
            return {"ok": False, "output": self.out.take(), "error": describe_error(exc, f"cell {index}")}
        try:
            exec(code, self.shell.user_ns)  # noqa: S102 - running the submission is the point
            error = None
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
            error = describe_error(exc)
        self.only_the_child()
        plt.close("all")
        reply: dict = {"ok": error is None, "output": self.out.take()}
        if error is not None:
            reply["error"] = error
        return reply

    def compile_cell(self, index: int, source: str, seconds: float) -> Any:
        """A cell's code object. Plain Python compiles as it is; a cell that does not is translated
        by IPython (magics become get_ipython() calls) within ``seconds``, by a translator made
        before any of the notebook ran, so that nothing the notebook installs changes it."""
        name = f"<cell {index}>"
        try:
            return compile(source, name, "exec")
        except SyntaxError:
            pass
        signal.setitimer(signal.ITIMER_REAL, 0.8 * seconds)  # before the grader's own deadline
        try:
            python = self.transformer.transform_cell(source)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return compile(python, name, "exec")

    def resolve(self, target: Any) -> Any:
        if isinstance(target, str):
            if target not in self.shell.user_ns:
                raise NameError(f"{target} is not defined in the notebook")
            return self.shell.user_ns[target]
        return target  # already resolved from a handle by the decoder

    def call(self, request: dict) -> dict:
        """Run a batch of calls to one target: {"target", "attr"?, "calls": [[args, kwargs?], ...]}.

        The batch runs under numpy's default error handling and with every warning recorded,
        whatever the notebook set; each call gets the warnings it emitted.
        """
        try:
            target = self.resolve(request["target"])
        except NameError as exc:
            return {"ok": False, "error": fault(NOT_DEFINED, str(exc))}
        attr = request.get("attr")
        seconds = request.get("seconds", 10.0)
        results = []
        room = self.limits.buffer_bytes
        with warnings.catch_warnings(record=True) as caught, np.errstate(**NUMPY_ERRORS):
            warnings.simplefilter("always")
            for call in request["calls"]:
                result = self.call_one(target, attr, call[0], call[1] if len(call) > 1 else {}, seconds)
                if caught:
                    result["warnings"] = [f"{w.category.__name__}: {w.message}"[:300] for w in caught[:20]]
                    caught.clear()
                if result["ok"]:
                    room -= self.size_check(result)
                    if room < 0:
                        result = {"ok": False, "error": too_large("the results of this batch of calls are over "
                                                                  f"the {self.limits.buffer_bytes // protocol.MiB} MiB limit")}
                results.append(result)
                if not result["ok"] and (request.get("stop_on_error") or result["error"].get("fault") == CALL_TIMEOUT):
                    break  # the rest of the batch is not run
        return {"ok": True, "results": results, "output": self.out.take()}

    def call_one(self, target: Any, attr: str | None, args: list, kwargs: dict, seconds: float) -> dict:
        """One call under a time limit: {"ok", "value", "mutated"?} or {"ok": False, "error"}."""
        arguments = [*args, *kwargs.values()]
        before = array_states(arguments)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            fn = getattr(target, attr) if attr else target
            value = fn(*args, **kwargs)
        except CallTimeout:
            return {"ok": False, "error": fault(CALL_TIMEOUT)}
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
            return {"ok": False, "error": describe_error(exc)}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.only_the_child()
        result = {"ok": True, "value": value}
        changed = mutated(arguments, before)
        if changed:
            result["mutated"] = changed
        return result

    def size_check(self, result: dict) -> int:
        """Bytes of array data the result will need; an unsendable value becomes an error."""
        value = result["value"]
        if type(value) is np.ndarray and protocol.numeric_array(value) or value is None or type(value) in (int, float):
            return value.nbytes if isinstance(value, np.ndarray) else 0
        encoder = protocol.Encoder(self.limits, self.to_handle)
        try:
            encoder.encode(result["value"])
        except protocol.ProtocolError as exc:
            result.clear()
            result.update(ok=False, error=too_large(f"a value that cannot be sent: {exc}"))
            return 0
        return encoder.total

    def numpy_attribute(self, name: str) -> dict:
        """numpy.<name> from this process's numpy (not the notebook's ``np``), e.g. a ufunc to pass on."""
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or not hasattr(np, name):
            return {"ok": False, "error": {"type": "AttributeError", "mro": [], "message": f"numpy has no {name!r}",
                                           "where": ""}}
        return {"ok": True, "value": getattr(np, name)}

    def getattr(self, request: dict) -> dict:
        try:
            return {"ok": True, "value": getattr(self.resolve(request["target"]), request["name"])}
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, "error": describe_error(exc)}

    def serve(self) -> None:
        """Answer requests until the grader says exit or closes the channel."""
        while True:
            try:
                request = protocol.recv(self.sock, self.limits, self.from_handle, to_tensor=as_tensor)
            except (EOFError, OSError):
                return
            op = request.get("op")
            if op == "exit":
                return
            if op == "cell":
                reply = self.run_cell(request["index"], request["source"], request.get("seconds", 10.0))
            elif op == "call":
                reply = self.call(request)
            elif op == "getattr":
                reply = self.getattr(request)
            elif op == "defines":
                reply = {"ok": True, "value": request["name"] in self.shell.user_ns}
            elif op == "numpy":
                reply = self.numpy_attribute(request["name"])
            else:
                reply = {"ok": False, "error": fault(PROTOCOL_ERROR, f"unknown op {op!r}")}
            self.reply(reply)

    def reply(self, reply: dict) -> None:
        try:
            parts = protocol.pack(reply, self.limits, self.to_handle)
        except protocol.ProtocolError as exc:
            parts = protocol.pack({"ok": False, "output": reply.get("output", ""),
                                   "error": too_large(f"a reply that cannot be sent: {exc}")}, self.limits)
        protocol.send_parts(self.sock, parts)


def as_tensor(array: np.ndarray) -> Any:
    """The torch tensor of a :class:`protocol.Tensor` argument (a copy: aligned, and the child's own)."""
    import torch  # preloaded by the worker for notebooks that use torch

    return torch.from_numpy(np.array(array))


def too_large(message: str) -> dict:
    return fault(RESULT_TOO_LARGE, message)


def make_shell() -> Any:
    """An IPython shell for running cells (built once in the warm worker, before forking)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=config)

    def disabled(line: str = "", cell: str | None = None) -> None:
        print("Shell commands and file magics are disabled while grading; this line did nothing.")

    shell.system = shell.system_raw = shell.system_piped = disabled
    shell.getoutput = lambda *a, **k: []
    for name in DISABLED_MAGICS:
        shell.register_magic_function(disabled, "line_cell", name)
    return shell


def exit_when_the_grader_goes(sock: socket.socket) -> None:
    """A thread that ends the child when the grader's end of its channel closes, whatever the
    student's code is doing (a sleeping cell would otherwise outlive a grader that died)."""
    import select
    import threading

    def watch() -> None:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLRDHUP)
        while True:
            for _fd, events in poller.poll():
                if events & (select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    os._exit(0)

    threading.Thread(target=watch, name="grader-watch", daemon=True).start()


def main(sock: socket.socket, shell: Any, limits: protocol.Limits, output_cap: int) -> None:
    """Entry point in the forked child, after the fences are up. Never returns."""
    exit_when_the_grader_goes(sock)
    child = Child(sock, shell, limits, output_cap)
    sys.stdout = sys.stderr = child.out
    signal.signal(signal.SIGALRM, _on_alarm)
    shell.user_ns["__name__"] = "__main__"
    try:
        child.serve()
    finally:
        os._exit(0)

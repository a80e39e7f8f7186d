"""The sandboxed child: runs a submission's cells, then answers calls with plain data.

This module runs only in the forked child. It trusts nothing it executes and holds
nothing worth stealing: verdicts live in the grader, which sees only what
:mod:`relu_course.engine.protocol` lets cross.
"""
from __future__ import annotations

import io
import os
import re
import reprlib
import socket
import sys
import traceback
import warnings
from typing import Any

import numpy as np

from . import protocol

#: numpy's own defaults; a call runs under these whatever the notebook set with np.seterr.
NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
#: magics that would reach outside the child; they print a notice instead.
DISABLED_MAGICS = ("bash", "sh", "script", "perl", "ruby", "python", "python2", "python3",
                   "pypy", "system", "sx", "sc", "writefile", "run", "load", "cd", "pip", "conda")


#: IPython names a cell's code "<ipython-input-N-hash>" after its execution count N,
#: which the child sets to the cell's position in the notebook.
CELL_FILE = re.compile(r"ipython-input-(\d+)-")


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


def describe_error(exc: BaseException, where: str = "") -> dict:
    """Plain-data description of an exception raised by student code."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "<the exception's message could not be read>"
    mro = [c.__name__ for c in type(exc).__mro__]
    frames = traceback.extract_tb(exc.__traceback__)
    cells = [(CELL_FILE.search(f.filename), f.lineno) for f in frames]
    cells = [(match, line) for match, line in cells if match]
    if not where and cells:
        match, line = cells[-1]
        where = f"cell {match.group(1)}, line {line}"
    if isinstance(exc, SyntaxError) and exc.lineno:
        where = where or f"line {exc.lineno}"
        message = exc.msg or message
    return {"type": type(exc).__name__, "mro": mro, "message": message[:500], "where": where}


class Child:
    """State of one submission inside the sandbox: its namespace and its handles."""

    def __init__(self, sock: socket.socket, shell: Any, limits: protocol.Limits, output_cap: int):
        self.sock = sock
        self.shell = shell
        self.limits = limits
        self.out = CappedWriter(output_cap)
        self.handles: dict[int, Any] = {}

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
    def run_cell(self, index: int, source: str) -> dict:
        import matplotlib.pyplot as plt

        self.shell.execution_count = index
        result = self.shell.run_cell(source, store_history=False, silent=True)
        plt.close("all")
        error = result.error_before_exec or result.error_in_exec
        reply: dict = {"ok": error is None, "output": self.out.take()}
        if error is not None:
            reply["error"] = describe_error(error, f"cell {index}" if result.error_before_exec else "")
        return reply

    def resolve(self, target: Any) -> Any:
        if isinstance(target, str):
            if target not in self.shell.user_ns:
                raise NameError(f"{target} is not defined in the notebook")
            return self.shell.user_ns[target]
        return target  # already resolved from a handle by the decoder

    def call(self, request: dict) -> dict:
        try:
            target = self.resolve(request["target"])
        except NameError as exc:
            return {"ok": False, "error": {"type": "NotDefined", "mro": ["NotDefined"], "message": str(exc), "where": ""}}
        attr = request.get("attr")
        args, kwargs = request.get("args", ()), request.get("kwargs", {})
        before = [(i, a.copy()) for i, a in enumerate(list(args) + list(kwargs.values()))
                  if isinstance(a, np.ndarray)]
        with warnings.catch_warnings(record=True) as caught, np.errstate(**NUMPY_ERRORS):
            warnings.simplefilter("always")
            try:
                fn = getattr(target, attr) if attr else target
                value = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
                return {"ok": False, "error": describe_error(exc), "output": self.out.take()}
        arguments = list(args) + list(kwargs.values())
        mutated = [i for i, copy in before if not _same(arguments[i], copy)]
        return {"ok": True, "value": value, "mutated": mutated, "output": self.out.take(),
                "warnings": [f"{w.category.__name__}: {w.message}"[:300] for w in caught[:20]]}

    def getattr(self, request: dict) -> dict:
        try:
            return {"ok": True, "value": getattr(self.resolve(request["target"]), request["name"])}
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, "error": describe_error(exc)}

    def serve(self) -> None:
        """Answer requests until the grader says exit or closes the channel."""
        while True:
            try:
                request = protocol.recv(self.sock, self.limits, self.from_handle)
            except (EOFError, OSError):
                return
            op = request.get("op")
            if op == "exit":
                return
            if op == "cell":
                reply = self.run_cell(request["index"], request["source"])
            elif op == "call":
                reply = self.call(request)
            elif op == "getattr":
                reply = self.getattr(request)
            elif op == "defines":
                reply = {"ok": True, "value": request["name"] in self.shell.user_ns}
            else:
                reply = {"ok": False, "error": {"type": "ProtocolError", "mro": [], "message": f"unknown op {op!r}", "where": ""}}
            self.reply(reply)

    def reply(self, reply: dict) -> None:
        try:
            parts = protocol.pack(reply, self.limits, self.to_handle)
        except protocol.ProtocolError as exc:
            what = "the result" if "value" in reply else "the reply"
            parts = protocol.pack({"ok": False, "output": reply.get("output", ""), "error": {
                "type": "ResultTooLarge", "mro": [], "message": f"{what} cannot be sent: {exc}", "where": ""}},
                self.limits)
        for part in parts:
            self.sock.sendall(part)


def _same(now: Any, before: np.ndarray) -> bool:
    return (isinstance(now, np.ndarray) and now.shape == before.shape and now.dtype == before.dtype
            and np.array_equal(now, before, equal_nan=before.dtype.kind in "fc"))


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


def main(sock: socket.socket, shell: Any, limits: protocol.Limits, output_cap: int) -> None:
    """Entry point in the forked child, after the fences are up. Never returns."""
    child = Child(sock, shell, limits, output_cap)
    sys.stdout = sys.stderr = child.out
    shell.user_ns["__name__"] = "__main__"
    try:
        child.serve()
    finally:
        os._exit(0)

"""Public checks: properties and known values a student can check without the solution.

A check is a function of ``fns``, the notebook's functions: ``Calls(fns)("relu", x)`` calls
the student's relu and returns its value, having already turned the usual mistakes (None, a
list, a modified input, NotImplementedError, a name not yet defined) into a
:class:`CheckFailure` with a plain message. ``fns`` is either the notebook's own namespace
(:class:`LocalFunctions`, for ``check("relu")`` in Jupyter) or the sandbox proxy (for
``relu-course check`` in a terminal): the same checks run both ways, and the messages
speak to where the student is. Checks never use the reference solution.

Checks are registered per (assignment, exercise) with :func:`public_check`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..testing import (CallRecord, NotDefined, StudentError, SubmissionFault, View, call_locally, describe, is_number,
                       kind_of, local)


class CheckFailure(AssertionError):
    """A public check failed. ``details`` holds input/returned/expected lines for the student."""

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details


class NotImplementedYet(CheckFailure):
    """The function still raises NotImplementedError."""


@dataclass(frozen=True)
class PublicCheck:
    """One public check of one exercise of one assignment. ``plot(fns, ax)`` draws a picture
    of the student's function beside the expected one when the check fails."""

    assignment: str
    exercise: str
    name: str
    run: Callable[[Any], None]
    plot: Callable[[Any, Any], None] | None = None


class Registry:
    """Every public check, by (assignment, exercise), in the order they were registered."""

    def __init__(self) -> None:
        self.checks: dict[tuple[str, str], list[PublicCheck]] = {}

    def add(self, check: PublicCheck) -> None:
        self.checks.setdefault((check.assignment, check.exercise), []).append(check)

    def assignments(self) -> dict[str, list[str]]:
        """{assignment: [exercise, ...]}, exercises in the order their first check was registered."""
        found: dict[str, list[str]] = {}
        for assignment, exercise in self.checks:
            found.setdefault(assignment, []).append(exercise)
        return found


REGISTRY = Registry()


def public_check(assignment: str, exercise: str, name: str, plot: Callable | None = None) -> Callable:
    """Register the decorated function as a public check of ``exercise`` in ``assignment``."""

    def register(run: Callable[[Any], None]) -> Callable[[Any], None]:
        REGISTRY.add(PublicCheck(assignment, exercise, name, run, plot))
        return run

    return register


# -- calling the student's functions ---------------------------------------------------
class Calls:
    """``fns``-side helpers: call a function and turn the usual mistakes into failures."""

    def __init__(self, fns: Any):
        self.fns = fns
        self.in_notebook = isinstance(fns, LocalFunctions)
        self.warnings: list[str] = []  # those of the last call
        self.seconds = 0.0             # how long the last call took, measured here

    def record(self, name: str, *args: Any, **kwargs: Any) -> CallRecord:
        """The raw record of ``name(*args, **kwargs)``; a name not defined is a failure."""
        try:
            function = getattr(self.fns, name)
            started = time.perf_counter()
            record = function.record(*args, **kwargs)
            self.seconds = time.perf_counter() - started
        except NotDefined as exc:
            raise self.not_defined(name, exc) from None
        except SubmissionFault as exc:
            raise CheckFailure(exc.summary, input=call_text(name, args, kwargs)) from None
        return record

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The value of ``name(*args, **kwargs)``, checked for errors, None, lists and mutation."""
        text = call_text(name, args, kwargs)
        record = self.record(name, *args, **kwargs)
        try:
            value = record.value
        except StudentError as exc:
            raise self.explain_error(name, text, exc) from None
        except SubmissionFault as exc:
            raise CheckFailure(exc.summary, input=text) from None
        if value is None:
            raise CheckFailure("returned None: did you forget to `return` the result?", input=text)
        if isinstance(value, list):
            raise CheckFailure("returned a list; return a NumPy array instead (e.g. np.asarray(...))",
                               input=text, returned=short(value))
        if record.mutated:
            raise CheckFailure(f"modified its input (argument {record.mutated[0] + 1}); compute a new array "
                               "instead (no x[...] = ..., no x *= ..., no out=x)", input=text)
        self.warnings = record.warnings
        return value

    def raises(self, name: str, type_name: str, *args: Any, because: str = "", **kwargs: Any) -> None:
        """``name(*args, **kwargs)`` must raise ``type_name``; ``because`` says which rule."""
        text = call_text(name, args, kwargs)
        why = f" ({because})" if because else ""
        try:
            self.record(name, *args, **kwargs).value
        except StudentError as exc:
            if exc.is_a(type_name):
                return
            if exc.is_a("NotImplementedError"):
                raise self.explain_error(name, text, exc) from None
            raise CheckFailure(f"raised {exc.type_name}: {exc.message}; expected {type_name}{why}", input=text) from None
        except SubmissionFault as exc:
            raise CheckFailure(exc.summary, input=text) from None
        raise CheckFailure(f"returned a value; expected it to raise {type_name}{why}", input=text)

    def not_defined(self, name: str, exc: NotDefined | None = None) -> CheckFailure:
        if self.in_notebook:
            return CheckFailure(f"{name} is not defined yet: run the cell that defines it (and the cells above it)")
        return CheckFailure(exc.summary if exc else f"the notebook does not define {name}")

    def explain_error(self, name: str, text: str, exc: StudentError) -> CheckFailure:
        if exc.is_a("NotImplementedError"):
            return NotImplementedYet(f"{name} is not implemented yet: replace `raise NotImplementedError()` "
                                     "with your code")
        where = f" ({exc.where})" if exc.where else ""
        if exc.type_name == "NameError":
            hint = ("Was a cell above not run? Run the notebook's cells from the top." if self.in_notebook else
                    "Does the notebook import or define that name before it uses it?")
            return CheckFailure(f"raised NameError: {exc.message}{where}. {hint}", input=text)
        return CheckFailure(f"raised {exc.type_name}: {exc.message}{where}", input=text)


def call_text(name: str, args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def short(value: Any, limit: int = 80) -> str:
    """A returned value as the student reads it: small arrays in full, others by shape and dtype."""
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _because(rule: str) -> str:
    return f" ({rule})" if rule else ""


def expect_array(value: Any, shape: tuple, text: str, rule: str = "", finite: bool = True) -> np.ndarray:
    """A floating NumPy array (or NumPy scalar) of ``shape``, all finite unless ``finite`` is False.

    ``rule`` names the requirement in the message, e.g. "rule 2: floating output of x's shape".
    """
    shape = tuple(shape)
    if isinstance(value, list):
        raise CheckFailure(f"returned a list; expected a NumPy array of shape {shape}{_because(rule)}",
                           input=text, returned=short(value), expected=f"a floating NumPy array of shape {shape}")
    if not isinstance(value, (np.ndarray, np.generic)):
        raise CheckFailure(f"returned {kind_of(value)}; expected a NumPy array of shape {shape}{_because(rule)}",
                           input=text, returned=short(value), expected=f"a floating NumPy array of shape {shape}")
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise CheckFailure(f"returned dtype {array.dtype}; expected a floating dtype{_because(rule)}",
                           input=text, returned=short(value), expected=f"a floating NumPy array of shape {shape}")
    if array.shape != shape:
        raise CheckFailure(f"returned shape {array.shape}; expected shape {shape}{_because(rule)}",
                           input=text, returned=short(value), expected=f"a floating NumPy array of shape {shape}")
    if finite and not np.isfinite(array).all():
        raise CheckFailure("returned NaN or inf; expected finite numbers", input=text, returned=short(value))
    return array


def expect_number(value: Any, text: str, rule: str = "") -> float:
    """A single real number: Python int or float, a NumPy integer or floating scalar, or a 0-d array."""
    if not is_number(value):
        raise CheckFailure(f"returned {kind_of(value)}; expected a single number{_because(rule)}",
                           input=text, returned=short(value))
    return float(value)


def expect_tuple(value: Any, length: int, text: str, names: str) -> tuple:
    """A tuple of ``length`` items, such as (W3, b3)."""
    if not isinstance(value, tuple) or len(value) != length:
        size = f" of length {len(value)}" if isinstance(value, (list, tuple)) else ""
        raise CheckFailure(f"returned {kind_of(value)}{size}; expected a tuple {names}", input=text,
                           returned=short(value))
    return value


def expect_close(value: Any, expected: Any, text: str, rtol: float = 1e-6, atol: float = 1e-12,
                 rule: str = "") -> None:
    """``value`` has ``expected``'s shape and agrees with it element-wise (the first difference is shown)."""
    want = np.asarray(expected, dtype=float)
    try:
        got = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailure(f"returned {kind_of(value)}, which is not numbers", input=text, returned=short(value)) from None
    if got.shape != want.shape:
        raise CheckFailure(f"returned shape {got.shape}; expected shape {want.shape}{_because(rule)}", input=text,
                           returned=short(value), expected=short(want))
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if not close.all():
        where = np.unravel_index(np.argmin(close), close.shape) if close.ndim else ()
        at = f" at index {tuple(int(i) for i in where)}" if where else ""
        tolerance = f"{rule + ': ' if rule else ''}to a relative error of {rtol:g} or an absolute {atol:g}"
        raise CheckFailure(f"gave {float(got[where])!r}{at}; expected {float(want[where])!r} ({tolerance})",
                           input=text, returned=short(value), expected=short(want))


# -- the notebook's own functions --------------------------------------------------------
class LocalFunction:
    """A function of the notebook, called in the notebook's own process."""

    def __init__(self, name: str, fn: Callable):
        self.name = name
        self.fn = fn

    def record(self, *args: Any, **kwargs: Any) -> CallRecord:
        """The call observed like a call into the sandbox; a :class:`View` argument becomes the view."""
        return call_locally(self.name, self.fn, tuple(local(a) for a in args),
                            {k: local(v) for k, v in kwargs.items()})


class LocalFunctions:
    """The notebook's namespace, as ``fns`` for the checks."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def numpy(self, name: str) -> Any:
        """``numpy.<name>``, as the sandbox proxy's ``numpy`` gives it."""
        return getattr(np, name)

    def tensor(self, array: Any) -> Any:
        """``array`` as a torch tensor (a copy), as the sandbox proxy's ``tensor`` hands it over."""
        import torch

        return torch.from_numpy(np.array(array))

    def __getattr__(self, name: str) -> LocalFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        if not callable(self.namespace.get(name)):
            raise NotDefined(name, {"type": "NotDefined", "message": f"{name} is not defined"})
        return LocalFunction(name, self.namespace[name])


__all__ = ["REGISTRY", "Calls", "CheckFailure", "LocalFunction", "LocalFunctions", "NotImplementedYet", "PublicCheck",
           "Registry", "View", "call_text", "expect_array", "expect_close", "expect_number", "expect_tuple",
           "public_check", "short"]

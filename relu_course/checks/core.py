"""Public checks: properties and known values a student can check without the solution.

A check is a function of ``fns``, the notebook's functions: ``fns.relu(x)`` calls the
student's relu and returns its value, having already turned the usual mistakes (None, a
list, a NaN, a modified input, NotImplementedError, a name not yet defined) into a
:class:`CheckFailure` with a plain message. ``fns`` is either the notebook's own namespace
(:class:`LocalFunctions`, for ``check("relu")`` in Jupyter) or the sandbox proxy
(:class:`relu_course.engine.proxy.Student`, for ``relu-course check``): the same checks run
both ways. Checks never use the reference solution.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..testing import CallRecord, NotDefined, StudentError, SubmissionFault, call_locally, describe


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
    """One public check of one exercise. ``plot(fns, ax)`` draws a picture when it fails."""

    exercise: str
    name: str
    run: Callable[[Any], None]
    plot: Callable[[Any, Any], None] | None = None


@dataclass
class Registry:
    checks: dict[str, list[PublicCheck]] = field(default_factory=dict)  # exercise -> checks
    assignments: dict[str, list[str]] = field(default_factory=dict)    # assignment -> exercises


REGISTRY = Registry()


def public_check(assignment: str, exercise: str, name: str, plot: Callable | None = None) -> Callable:
    """Register the decorated function as a public check of ``exercise``."""

    def register(run: Callable[[Any], None]) -> Callable[[Any], None]:
        REGISTRY.checks.setdefault(exercise, []).append(PublicCheck(exercise, name, run, plot))
        exercises = REGISTRY.assignments.setdefault(assignment, [])
        if exercise not in exercises:
            exercises.append(exercise)
        return run

    return register


# -- calling the student's functions ---------------------------------------------------
class Calls:
    """``fns``-side helpers: call a function and turn the usual mistakes into failures."""

    def __init__(self, fns: Any):
        self.fns = fns
        self.warnings: list[str] = []  # those of the last call

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The value of ``name(*args, **kwargs)``, checked for None, lists, mutation."""
        text = call_text(name, args, kwargs)
        try:
            record = getattr(self.fns, name).record(*args, **kwargs)
            value = record.value
        except NotDefined:
            raise CheckFailure(f"{name} is not defined yet: run the cell that defines it "
                               "(and the cells above it)") from None
        except StudentError as exc:
            raise explain_error(name, text, exc) from None
        except SubmissionFault as exc:
            raise CheckFailure(exc.summary) from None
        if value is None:
            raise CheckFailure("returned None: did you forget to `return` the result?", input=text)
        if isinstance(value, list):
            raise CheckFailure("returned a list; return a NumPy array instead (e.g. np.asarray(...))",
                               input=text, returned=short(value))
        if record.mutated:
            raise CheckFailure("modified its input; compute a new array instead "
                               "(no x[...] = ..., no x *= ..., no out=x)", input=text)
        self.warnings = record.warnings
        return value

    def raises(self, name: str, type_name: str, *args: Any, **kwargs: Any) -> None:
        """``name(*args, **kwargs)`` must raise ``type_name``."""
        text = call_text(name, args, kwargs)
        try:
            getattr(self.fns, name).record(*args, **kwargs).value
        except StudentError as exc:
            if exc.is_a(type_name):
                return
            raise explain_error(name, text, exc) from None
        raise CheckFailure(f"returned a value; it should raise {type_name}", input=text)


def explain_error(name: str, text: str, exc: StudentError) -> CheckFailure:
    if exc.is_a("NotImplementedError"):
        return NotImplementedYet(f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code")
    if exc.type_name == "NameError":
        return CheckFailure(f"raised NameError: {exc.message}. Was a cell above not run? "
                            "Run the notebook's cells from the top.", input=text)
    return CheckFailure(f"raised {exc.type_name}: {exc.message}", input=text)


def call_text(name: str, args: tuple, kwargs: dict) -> str:
    parts = [describe(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def short(value: Any, limit: int = 80) -> str:
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expect_array(value: Any, shape: tuple, text: str) -> np.ndarray:
    """A floating NumPy array (or NumPy scalar) of ``shape``, all finite."""
    if not isinstance(value, (np.ndarray, np.generic)):
        raise CheckFailure(f"returned a {type(value).__name__}; expected a NumPy array of shape {shape}",
                           input=text, returned=short(value), expected=f"a floating NumPy array of shape {shape}")
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise CheckFailure(f"returned dtype {array.dtype}; expected a floating dtype (e.g. float64)",
                           input=text, returned=short(value))
    if array.shape != tuple(shape):
        raise CheckFailure(f"returned shape {array.shape}; expected the shape {tuple(shape)}",
                           input=text, returned=short(value), expected=f"shape {tuple(shape)}")
    if not np.isfinite(array).all():
        raise CheckFailure("returned NaN or inf; expected finite numbers", input=text, returned=short(value))
    return array


def expect_close(value: Any, expected: Any, text: str, rtol: float = 1e-6, atol: float = 1e-12) -> None:
    got = np.asarray(value, dtype=float)
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        raise CheckFailure("gave the wrong value", input=text, returned=short(value), expected=short(want))


# -- the notebook's own functions --------------------------------------------------------
class LocalFunction:
    """A function of the notebook, called in the notebook's own process."""

    def __init__(self, name: str, fn: Callable):
        self.name = name
        self.fn = fn

    def record(self, *args: Any, **kwargs: Any) -> CallRecord:
        return call_locally(self.name, self.fn, args, kwargs)


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
            raise CheckFailure(f"{name} is not defined yet: run the cell that defines it (and the cells above it)")
        return LocalFunction(name, self.namespace[name])

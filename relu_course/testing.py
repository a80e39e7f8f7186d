"""What a hidden-test (or public-check) author needs, in one place.

Exercise marks, assertions with one-line messages, the call arguments (:class:`Call`,
:class:`View`, :class:`Tensor`), the faults a call into a submission can end in, and the
limits it runs under. Each assertion raises ``AssertionError`` whose first line is the reason shown to
the student, naming the input (``describe``), what came back and what was expected.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Union

import numpy as np

from .engine.faults import (BadResult, NotDefined, StudentCrash, StudentError, StudentTimeout,  # noqa: F401
                            SubmissionFault)
from .engine.limits import SandboxLimits  # noqa: F401
from .engine.observe import call_locally, describe_error  # noqa: F401
from .engine.protocol import Tensor, View
from .engine.proxy import Call  # noqa: F401
from .engine.records import CallRecord  # noqa: F401

__all__ = ["MARK", "BadResult", "Call", "CallRecord", "CheckFailed", "NotDefined", "SandboxLimits", "StudentCrash",
           "StudentError", "StudentTimeout", "SubmissionFault", "Tensor", "View", "assert_close",
           "assert_floating_array", "assert_no_warnings", "assert_not_mutated", "assert_raises", "call_locally",
           "describe", "describe_error", "exercise", "expected", "graded", "is_number", "kind_of", "local", "records", "tolerances"]

#: the pytest mark that ties a test to an exercise and its points
MARK = "exercise"
#: how a call is named in a message: a string, or a function making it (only on failure)
CallText = Union[str, Callable[[], str]]


def _text(call: CallText) -> str:
    return call if isinstance(call, str) else call()


class CheckFailed(AssertionError):
    """A failed assertion: the one-line reason, and its parts as short text for feedback.

    ``details`` holds ``input`` (the failing call; for a function of x, the failing element
    with the smallest |x|), ``returned`` and ``expected``. ``curve``, for a function of x, asks
    the grader to draw it: {"function", "args", "kwargs", "range"}; the grader calls the
    function on a grid over ``range``, through the proxy, once the submission's tests are done.
    """

    def __init__(self, message: str, input: str = "", returned: str = "", expected: str = "",
                 curve: dict | None = None):
        super().__init__(message)
        self.details = {k: _clip(v) for k, v in (("input", input), ("returned", returned), ("expected", expected)) if v}
        self.curve = curve


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exercise(name: str, points: float, unit: str | None = None) -> "pytest.MarkDecorator":  # noqa: F821
    """Mark a test as part of exercise ``name`` (a grade_id) worth ``points``.

    The points go to the test function as a whole unless ``unit`` names a smaller unit.
    """
    import pytest  # here, not at the top: notebooks import this module's helpers, not pytest

    return getattr(pytest.mark, MARK)(name, points=points, unit=unit)


def graded(points: dict[str, dict[str, float]], kind: str, names: list[str]) -> list:
    """One pytest param per exercise in ``names`` that has a test of ``kind``, carrying its points.

    ``points`` is a hidden-test module's POINTS table: {exercise: {kind of test: points}}.
    """
    import pytest

    return [pytest.param(name, marks=exercise(name, points[name][kind]), id=name)
            for name in names if kind in points[name]]


def describe(x: Any, limit: int = 60) -> str:
    """A short description of a test input, for messages."""
    if isinstance(x, np.ndarray):
        layout = "" if x.flags.c_contiguous or x.ndim == 0 else ", non-contiguous"
        if x.size <= 4:
            return f"np.array({np.array2string(x, separator=', ')}, dtype={x.dtype}{layout})"
        return f"an array of shape {x.shape} and dtype {x.dtype}{layout}"
    if isinstance(x, View):
        return describe(x.resolve())
    if isinstance(x, Tensor):
        return f"a {x.array.dtype} tensor of shape {tuple(x.array.shape)}"
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind_of(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy {type(value).__name__}"
    if value is None:
        return "None (did you forget to return?)"
    type_name = getattr(value, "type_name", None) or type(value).__name__
    return f"a {type_name}"


def is_number(value: Any) -> bool:
    """A single real number: Python int or float, a NumPy integer or floating scalar, or a 0-d array of one."""
    return (type(value) in (int, float) or isinstance(value, (np.integer, np.floating))
            or isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf")


def assert_floating_array(value: Any, shape: tuple, call: CallText) -> None:
    """``value`` is a numpy array or numpy scalar with a floating dtype and the given shape."""
    expected = f"a floating numpy array of shape {tuple(shape)}"
    if not isinstance(value, (np.ndarray, np.generic)):
        raise _failed(value, f"{_text(call)} returned {kind_of(value)}; expected a numpy array of shape {shape}",
                      call, kind_of(value), expected)
    if np.asarray(value).dtype.kind != "f":
        raise _failed(value, f"{_text(call)} returned dtype {np.asarray(value).dtype}; expected a floating dtype",
                      call, f"dtype {np.asarray(value).dtype}", expected)
    if np.shape(value) != tuple(shape):
        raise _failed(value, f"{_text(call)} returned shape {np.shape(value)}; expected shape {tuple(shape)}",
                      call, f"shape {np.shape(value)}", expected)


def assert_close(value: Any, expected: Any, call: CallText, rtol: float = 1e-6, atol: float = 1e-12) -> None:
    """``value`` has ``expected``'s shape and agrees with it elementwise (NaN matches NaN)."""
    if not isinstance(value, (np.ndarray, np.generic, int, float, list, tuple)):
        raise _failed(value, f"{_text(call)} returned {kind_of(value)}; expected numbers", call, kind_of(value),
                      "numbers")
    want = np.asarray(expected, dtype=float)
    if isinstance(value, (np.ndarray, np.generic)) and np.shape(value) != want.shape:
        # before any conversion: a child-sized value is never copied or widened here
        raise _failed(value, f"{_text(call)} returned shape {np.shape(value)}; expected shape {want.shape}", call,
                      f"shape {np.shape(value)}", f"shape {want.shape}")
    try:
        got = np.asarray(value, dtype=float)
    except OverflowError:
        raise AssertionError(f"{_text(call)} returned a number too large for a float") from None
    except (TypeError, ValueError):
        raise _failed(value, f"{_text(call)} returned {kind_of(value)}, which is not numbers", call, kind_of(value),
                      "numbers") from None
    if got.shape != want.shape:
        raise _failed(value, f"{_text(call)} returned shape {got.shape}; expected shape {want.shape}", call,
                      f"shape {got.shape}", f"shape {want.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        if (np.abs(got - want) <= atol + rtol * np.abs(want)).all():  # the common case, cheaply
            return
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        where = np.unravel_index(np.argmin(close), close.shape) if close.ndim else ()
        at = f" at index {tuple(int(i) for i in where)}" if where else ""
        message = f"{_text(call)} gave {got[where]!r}{at}; expected {want[where]!r}"
        element = _smallest_failing(value, ~close)
        if element is None:
            raise _failed(value, message, call, f"{got[where].item()!r}{at}", f"{want[where].item()!r}")
        index, text = element
        raise _failed(value, message, lambda: text, repr(got[index].item()), repr(want[index].item()))


def assert_no_warnings(warnings: list[str], call: CallText) -> None:
    if warnings:
        raise _failed(warnings, f"{_text(call)} emitted a warning: {warnings[0]}", call,
                      f"a warning: {warnings[0]}", "no warning")


def assert_not_mutated(mutated: list[int], call: CallText) -> None:
    if mutated:
        raise _failed(mutated, f"{_text(call)} modified its input (argument {mutated[0] + 1}); it must not", call,
                      f"argument {mutated[0] + 1} modified", "the input left unchanged")


# -- what a failure says about the call it came from -----------------------------------------
#: per submission's proxy: id of a record's part -> (the part, function name, call, its batch, the record)
_origins: "weakref.WeakKeyDictionary[Any, dict[int, tuple]]" = weakref.WeakKeyDictionary()


def _remember(student: Any, name: str, calls: list, made: list) -> None:
    """Note which call each record's value, warnings and mutations came from (see :func:`_origin`)."""
    known = _origins.setdefault(student, {})
    for call, record in zip(calls, made):
        parts = [record.warnings, record.mutated]
        if isinstance(record.result, (np.ndarray, np.generic, float)):  # fresh objects: ids are theirs alone
            parts.append(record.result)
        for part in parts:
            known[id(part)] = (part, name, call, calls, record)


def _origin(part: Any) -> tuple | None:
    """(function name, call, batch of calls, record) of a part of a record :func:`records` made, else None.

    Known by identity: the records (and so their parts) live as long as the submission's proxy.
    """
    for known in list(_origins.values()):
        entry = known.get(id(part))
        if entry is not None and entry[0] is part:
            return entry[1:]
    return None


def _real_array(value: Any) -> np.ndarray | None:
    value = local(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.ndarray, np.generic)):
        return None
    array = np.asarray(value)
    return array if array.dtype.kind in "iuf" else None


def _function_of_x(part: Any) -> tuple | None:
    """(name, call, batch, x) when ``part`` came from a call whose first argument x is real numbers
    and whose result has x's shape: a function of x."""
    origin = _origin(part)
    if origin is None:
        return None
    name, call, batch, record = origin
    x = _real_array(call.args[0]) if call.args else None
    if x is None or np.shape(record.result) != x.shape:
        return None
    return name, call, batch, x


def _smallest_failing(value: Any, failing: np.ndarray) -> tuple[tuple, str] | None:
    """(index, text) of the failing element with the smallest |x|, when ``value`` is a function of x's."""
    found = _function_of_x(value)
    if found is None or found[3].shape != failing.shape:
        return None
    name, call, _, x = found
    size = np.where(failing, np.abs(x.astype(float)), np.inf)
    index = np.unravel_index(np.argmin(size), size.shape) if size.ndim else ()
    parts = [describe(a) for a in call.args] + [f"{k}={v!r}" for k, v in call.kwargs.items()]
    text = f"{name}({', '.join(parts)})"
    return index, text if x.ndim == 0 else f"{text} at x = {x[index].item()!r}"


def _curve(part: Any) -> dict | None:
    """What to draw for a failed function of x: the function, the other arguments of the failing
    call, and the range of x that its batch of calls tested."""
    found = _function_of_x(part)
    if found is None:
        return None
    name, call, batch, _ = found
    tested = [a.astype(float).ravel() for c in batch if c.args and (a := _real_array(c.args[0])) is not None]
    xs = np.concatenate(tested)
    xs = xs[np.isfinite(xs)]
    if xs.size == 0 or not xs.min() < xs.max():
        return None
    return {"function": name, "args": [local(a) for a in call.args[1:]],
            "kwargs": {k: local(v) for k, v in call.kwargs.items()}, "range": [float(xs.min()), float(xs.max())]}


def _failed(value: Any, message: str, call: CallText, returned: str, expected: str) -> CheckFailed:
    return CheckFailed(message, input=_text(call), returned=returned, expected=expected, curve=_curve(value))


def local(value: Any) -> Any:
    """An argument as the trusted side uses it (a :class:`View` becomes the real view, a
    :class:`Tensor` a torch tensor)."""
    return value.resolve() if isinstance(value, (View, Tensor)) else value


def tolerances(x: Any) -> dict[str, float]:
    """rtol/atol of the course's accuracy rule for an input: looser for float32."""
    if np.asarray(local(x)).dtype == np.float32:
        return {"rtol": 1e-4, "atol": 1e-7}
    return {"rtol": 1e-6, "atol": 1e-12}


def assert_raises(call: Any, type_name: str, what: str) -> None:
    """``call()`` (a student call) must raise ``type_name`` or a subclass of it.

    A NotImplementedError passes through, so the reason reads "not implemented yet".
    """
    try:
        call()
    except StudentError as exc:
        if exc.is_a(type_name):
            return
        if exc.is_a("NotImplementedError"):
            raise
        raise CheckFailed(f"{what} raised {exc.type_name}: {exc.message}; expected {type_name}", input=what,
                          returned=f"{exc.type_name}: {exc.message}", expected=f"{type_name} raised") from None
    raise CheckFailed(f"{what} returned a value; expected it to raise {type_name}", input=what,
                      returned="a value", expected=f"{type_name} raised")


_records: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def records(student: Any, name: str, key: str, calls: list) -> list:
    """``student.<name>.many(calls)``, made once per submission and reused under ``key``.

    Several tests that look at the same calls (values, shapes, mutation) share one round
    trip to the sandbox. The cache lives as long as the submission's proxy.
    """
    cache = _records.setdefault(student, {})
    if (name, key) not in cache:
        cache[name, key] = getattr(student, name).many(calls)
        _remember(student, name, calls, cache[name, key])
    return cache[name, key]


_expected: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def expected(reference: Any, name: str, key: str, calls: list) -> list:
    """``reference.<name>`` applied to each call (a :class:`View` as its real view), made once.

    The hidden tests' inputs are fixed, so the reference's answers are the same for every
    submission: they are kept under ``key`` as long as the reference lives.
    """
    cache = _expected.setdefault(reference, {})
    if (name, key) not in cache:
        function = getattr(reference, name)
        cache[name, key] = [function(*map(local, call.args), **call.kwargs) for call in calls]
    return cache[name, key]


"""How a call into student code is observed: its warnings, its numpy errors, its mutations.

The sandboxed child observes the calls the grader makes; ``check()`` in a notebook observes
local calls the same way (:func:`call_locally`), so both report alike.
"""
from __future__ import annotations

import re
import traceback
import warnings
from typing import Callable

import numpy as np

from .faults import StudentError
from .records import CallRecord

#: numpy's own defaults; a call runs under these whatever the notebook set with np.seterr.
NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
#: the file name a cell's code is compiled under; N is the cell's position in the notebook
CELL_FILE = re.compile(r"^<cell (\d+)>$")
#: how much of an exception's message is kept
MESSAGE_CHARS = 500
#: how much of a class name is kept (a student's class may have a name of megabytes)
NAME_CHARS = 100


def describe_error(exc: BaseException, where: str = "") -> dict:
    """Plain-data description of an exception raised by student code."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "<the exception's message could not be read>"
    mro = [str(c.__name__)[:NAME_CHARS] for c in type(exc).__mro__[:32]]
    frames = traceback.extract_tb(exc.__traceback__)
    cells = [(CELL_FILE.search(f.filename), f.lineno) for f in frames]
    cells = [(match, line) for match, line in cells if match]
    if not where and cells:
        match, line = cells[-1]
        where = f"cell {match.group(1)}, line {line}"
    if isinstance(exc, SyntaxError) and exc.lineno:
        where = where or f"line {exc.lineno}"
        message = str(exc.msg or message)
    return {"type": mro[0], "mro": mro, "message": str(message)[:MESSAGE_CHARS], "where": where}


def snapshot(value: np.ndarray) -> tuple:
    """Everything about an array argument that a call must leave unchanged, bit for bit."""
    return value.shape, value.dtype.str, value.tobytes()


def array_states(arguments: list) -> list[tuple[int, tuple]]:
    """(position, snapshot) of every array among ``arguments``, to compare after the call."""
    return [(i, snapshot(a)) for i, a in enumerate(arguments) if isinstance(a, np.ndarray)]


def mutated(arguments: list, before: list[tuple[int, tuple]]) -> list[int]:
    """Positions of the arrays among ``arguments`` that changed since ``before``."""
    return [i for i, state in before if snapshot(arguments[i]) != state]


def call_locally(name: str, fn: Callable, args: tuple, kwargs: dict) -> CallRecord:
    """Call ``fn`` in this process, observed as the child observes a call; it never raises."""
    arguments = [*args, *kwargs.values()]
    before = array_states(arguments)
    with warnings.catch_warnings(record=True) as caught, np.errstate(**NUMPY_ERRORS):
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return CallRecord(error=StudentError(name, describe_error(exc)))
    return CallRecord(value, [f"{w.category.__name__}: {w.message}" for w in caught], mutated(arguments, before))

"""The curve of a failed function of x: the student's values beside the reference's.

A failed assertion asks for one (``testing.CheckFailed.curve``); the grader draws it after the
submission's tests have run, so that calling the function once more cannot change a verdict.
The student's values come through the proxy, on a fixed grid, and only numbers are kept.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .faults import SubmissionFault

#: points on the grid over the tested range: what a plot needs, and the cap on what is kept
GRID_POINTS = 201


def numbers(value: Any, shape: tuple) -> list[float | None] | None:
    """``value`` as a list of floats (None where not finite) if it is real numbers of ``shape``."""
    if not isinstance(value, (np.ndarray, np.generic, list, tuple)):
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.shape != shape:
        return None
    return [float(f"{v:.6g}") if np.isfinite(v) else None for v in array.ravel()]


def draw(request: dict, student: Any, reference: Any) -> dict | None:
    """{"function", "x", "student", "reference"} for ``request`` (see testing.CheckFailed); the
    student's values are None when the call failed or gave something other than numbers of x's shape."""
    name, args, kwargs = request["function"], request.get("args", []), request.get("kwargs", {})
    low, high = request["range"]
    x = np.linspace(low, high, GRID_POINTS)
    want = numbers(getattr(reference, name)(x, *args, **kwargs), x.shape)
    if want is None:
        return None
    try:
        got = numbers(getattr(student, name)(x, *args, **kwargs), x.shape)
    except SubmissionFault:
        got = None
    return {"function": name, "x": numbers(x, x.shape), "student": got, "reference": want}

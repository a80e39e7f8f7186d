"""Feedback pages: one HTML page per graded submission, made from its stored record alone.

Each page gives the score per exercise and the reason in one line; for a failed exercise the
smallest failing input found, what the student's code gave and what was expected, and, for a
function of x, a plot of the student's function against the expected one over the tested
range (an SVG inside the page). The record holds no test source and no reference code, so
neither can reach a page. Everything from the record is escaped (Jinja2's autoescape), and
the page allows no script at all (its Content-Security-Policy).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
from pathlib import Path

from .engine.results import ExerciseResult, SubmissionResult
from .exports import path_component
from .gradebook import Graded

TEMPLATE = Path(__file__).with_name("templates") / "feedback.html"


@functools.cache
def _template():
    """The page template, compiled once per process."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(TEMPLATE.name)


_plots: dict[str, str] = {}


def plot(curve: dict) -> str | None:
    """The curve as a base64 SVG: the expected function and the student's, over the tested range.

    Many students make the same mistake: plots are kept by the hash of their data.
    """
    x, want, got = curve.get("x"), curve.get("reference"), curve.get("student")
    if not x or not want:
        return None
    key = hashlib.sha256(json.dumps(curve, sort_keys=True).encode()).hexdigest()
    if key not in _plots:
        _plots[key] = _draw(curve["function"], x, want, got)
    return _plots[key]


def _draw(name: str, x: list, want: list, got: list | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    as_array = lambda values: np.array([np.nan if v is None else v for v in values], dtype=float)  # noqa: E731
    x, want = as_array(x), as_array(want)
    figure = Figure(figsize=(6, 3.2))
    axes = figure.add_subplot()
    axes.plot(x, want, color="#1a7f37", linewidth=2.5, label=f"expected {name}(x)")
    finite = want[np.isfinite(want)]
    low, high = (finite.min(), finite.max()) if finite.size else (-1.0, 1.0)
    span = max(high - low, 1e-9)
    if got is not None:
        got = as_array(got)
        axes.plot(x, np.clip(got, low - 3 * span, high + 3 * span), color="#b42318", linewidth=1.5,
                  linestyle="--", label=f"your {name}(x)")
        shown = got[np.isfinite(got)]
        if shown.size:
            low, high = min(low, max(shown.min(), low - 3 * span)), max(high, min(shown.max(), high + 3 * span))
    else:
        axes.text(0.5, 0.9, "your function gave no numbers on this range", transform=axes.transAxes, ha="center")
    pad = 0.08 * max(high - low, 1e-9)
    axes.set_ylim(low - pad, high + pad)
    axes.set_xlabel("x")
    axes.set_ylabel(f"{name}(x)")
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return base64.b64encode(out.getvalue()).decode("ascii")


def _number(x: float) -> str:
    return f"{x:g}"


def _exercise(ex: ExerciseResult) -> dict:
    failed = [t for t in ex.tests if t.status != "passed"]
    first = failed[0] if failed else None
    curve = next((t.curve for t in failed if t.curve), None)
    return {"name": ex.name, "anchor": f"exercise-{ex.name}", "points": _number(ex.points),
            "max_points": _number(ex.max_points), "status": ex.status, "status_class": ex.status.replace(" ", "-"),
            "reason": ex.reason, "details": first.details if first else {},
            "plot": plot(curve) if curve else None, "function": curve["function"] if curve else ""}


def page(student: str, result: SubmissionResult) -> str:
    """The feedback page of one record."""
    notes = list(result.notes)
    error = result.error.replace(result.notebook, Path(result.notebook).name) if result.error else None
    return _template().render(
        student=student, assignment=result.assignment or "", score=_number(result.score),
        max_score=_number(result.max_score), error=error, notes=notes,
        exercises=[_exercise(e) for e in result.exercises])


def page_path(folder: Path, student: str, assignment: str) -> Path:
    """nbgrader's place for it: ``feedback/<student>/<assignment>/<assignment>.html``."""
    return folder / path_component(student) / path_component(assignment) / f"{assignment}.html"


def write_pages(graded: list[Graded], folder: Path) -> list[Path]:
    """A page for every stored grade under ``folder``; returns the paths written."""
    written = []
    for item in graded:
        target = page_path(folder, item.student, item.assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page(item.student, item.result), encoding="utf-8")
        written.append(target)
    return written

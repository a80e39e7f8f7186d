"""Stored grades in the formats grades go to: a CSV for spreadsheets, Gradescope's results.json.

Student ids are folder names a student may have chosen: in the CSV a cell that a spreadsheet
would run as a formula is written as text; in file paths an id is one plain path component.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, TextIO

from .engine.results import SubmissionResult
from .gradebook import Graded

#: what a spreadsheet reads as the start of a formula (OWASP's list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_text(value: Any) -> Any:
    """``value`` as a spreadsheet cell: text that would start a formula is prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def path_component(name: str) -> str:
    """``name`` when it is safe as one component of a path; ValueError otherwise."""
    if not name or name in (".", "..") or "/" in name or "\0" in name or "\\" in name:
        raise ValueError(f"{name!r} cannot be used as a folder name")
    return name


def exercise_columns(graded: list[Graded]) -> list[str]:
    """The exercises of the stored grades, in assignment order, each once."""
    columns: list[str] = []
    for item in sorted(graded, key=lambda g: g.assignment):
        columns += [e.name for e in item.result.exercises if e.name not in columns]
    return columns


def write_csv(graded: list[Graded], out: TextIO) -> int:
    """One row per student and assignment: totals, then a column per exercise (empty where the
    assignment has no such exercise). Returns the number of rows."""
    columns = exercise_columns(graded)
    writer = csv.writer(out)
    writer.writerow(["student_id", "assignment", "score", "max_score", *columns])
    for item in graded:
        points = {e.name: e.points for e in item.result.exercises}
        writer.writerow([spreadsheet_text(item.student), item.assignment, f"{item.result.score:g}",
                         f"{item.result.max_score:g}", *(f"{points[c]:g}" if c in points else "" for c in columns)])
    return len(graded)


def gradescope_results(result: SubmissionResult) -> dict:
    """Gradescope's results.json for one record: a test per hidden test function, its output
    hidden until the instructor publishes the grades."""
    tests = []
    for number, exercise in enumerate(result.exercises, start=1):
        for part, test in enumerate(exercise.tests, start=1):
            tests.append({
                "name": f"{exercise.name}: {test.name}",
                "number": f"{number}.{part}",
                "score": test.points,
                "max_score": test.max_points,
                "status": "passed" if test.status == "passed" else "failed",
                "output": test.message,
                "output_format": "text",
                "tags": [exercise.name],
                "visibility": "after_published",
            })
    output = f"could not run the notebook: {result.error}" if result.error else \
        f"{result.score:g} of {result.max_score:g} points"
    return {
        "score": result.score,
        "execution_time": result.seconds,
        "output": "\n".join([output, *(f"note: {n}" for n in result.notes)]),
        "output_format": "text",
        "visibility": "after_published",
        "stdout_visibility": "hidden",
        "extra_data": {"assignment": result.assignment, "fences": result.fences},
        "tests": tests,
    }


def write_gradescope(graded: list[Graded], folder: Path) -> list[Path]:
    """``folder/<student>/<assignment>/results.json`` for every stored grade."""
    written = []
    for item in graded:
        target = folder / path_component(item.student) / path_component(item.assignment) / "results.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(gradescope_results(item.result), indent=1) + "\n", encoding="utf-8")
        written.append(target)
    return written

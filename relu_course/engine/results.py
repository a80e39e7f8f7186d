"""The graded record of a submission: per test, per exercise, and the whole notebook."""
from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from .text import clean


@dataclass
class TestResult:
    """One hidden test function: all its cases pass, or it earns nothing."""

    name: str
    exercise: str
    max_points: float
    points: float = 0.0
    status: str = "not run"
    message: str = ""
    #: a failure's parts as short text: "input", "returned", "expected" (see testing.CheckFailed)
    details: dict[str, str] = field(default_factory=dict)
    #: for a failed function of x: {"function", "x", "student", "reference"}, numbers or None
    curve: dict | None = None


@dataclass
class ExerciseResult:
    name: str
    points: float
    max_points: float
    status: str
    reason: str
    tests: list[TestResult] = field(default_factory=list)

    @classmethod
    def from_tests(cls, name: str, tests: list[TestResult]) -> "ExerciseResult":
        points = sum(t.points for t in tests)
        maximum = sum(t.max_points for t in tests)
        failed = [t for t in tests if t.status != "passed"]
        if not failed:
            status, reason = "passed", ""
        else:
            status = "partial" if points > 0 else failed[0].status
            reason = failed[0].message
        return cls(name, points, maximum, status, reason, tests)


@dataclass
class SubmissionResult:
    """The record of one notebook. ``error`` is set when nothing of it could be run.

    ``graded``: the hidden tests gave it its score (a broken notebook's zero included); False
    when it could not be graded at all (no known assignment, a broken solution). ``finished``:
    False when grading was interrupted before this notebook was done (it has no score then).
    """

    notebook: str
    assignment: str | None
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    fences: list[str] = field(default_factory=list)
    seconds: float = 0.0
    graded: bool = True
    finished: bool = True

    @property
    def score(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SubmissionResult":
        """The record :meth:`to_dict` made (derived totals are recomputed, not read)."""
        exercises = [ExerciseResult(**{**{k: v for k, v in e.items() if k != "tests"},
                                       "tests": [TestResult(**t) for t in e.get("tests", [])]})
                     for e in data.get("exercises", [])]
        fields = {k: v for k, v in data.items() if k not in ("exercises", "score", "max_score")}
        return cls(**{**fields, "exercises": exercises})


def _num(x: float) -> str:
    return f"{x:g}"


def format_table(result: SubmissionResult, width: int = 100) -> str:
    """A plain-text report: one row per exercise, then the total and the notes.

    Reasons and notes wrap to ``width`` (the terminal's) instead of being cut; every piece of
    text is cleaned again, so that nothing in a record can move the cursor or fake a line.
    """
    lines = [f"{clean(result.notebook, 500)}  (assignment {clean(result.assignment or 'unknown', 100)})"]
    if result.error:
        lines += _wrapped("could not run: ", clean(result.error, 2000), width)
    rows = [("exercise", "points", "status", "reason")]
    for ex in result.exercises:
        rows.append((clean(ex.name, 60), f"{_num(ex.points)}/{_num(ex.max_points)}", clean(ex.status, 20),
                     clean(ex.reason, 2000)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        head = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  "
        lines += _wrapped(head, row[3], width)
    if result.finished:
        lines.append(f"total: {_num(result.score)}/{_num(result.max_score)}")
    for note in result.notes:
        lines += _wrapped("note: ", clean(note, 2000), width)
    return "\n".join(lines)


def _wrapped(head: str, text: str, width: int) -> list[str]:
    """``head`` then ``text``, wrapped to ``width``; later lines start under the text."""
    room = max(width - len(head), 30)
    pieces = textwrap.wrap(text, room, break_long_words=True, break_on_hyphens=False) or [""]
    return [(head + pieces[0]).rstrip()] + [" " * len(head) + piece for piece in pieces[1:]]

"""The closing summary of grading a class: per assignment, what was graded and how it went.

Plain text for a terminal: one row per assignment (submissions, graded now, up to date, mean,
median, out of), a line of totals, then one line per submission that could not be graded and why.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from .class_grading import RunReport
from .classroom import ClassSubmission, Problem
from .gradebook import Graded


def _num(x: float) -> str:
    return f"{x:.4g}"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def _printable(text: str, limit: int = 160) -> str:
    """A student's folder name or a reason on one line, with control characters shown escaped."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(found: list[ClassSubmission], problems: list[Problem], report: RunReport,
            stored: list[Graded], assignments: list[str]) -> str:
    """The summary of a run over ``found`` (see the module's doc). ``stored``: the gradebook's grades."""
    present = {(s.student, s.assignment) for s in found}
    grades = {(g.student, g.assignment): g for g in stored if (g.student, g.assignment) in present}
    graded_now = {(s.student, s.assignment) for s, _ in report.graded}
    taken = {(s.student, s.assignment) for s in report.taken}
    rows = [("assignment", "submissions", "graded now", "up to date", "mean", "median", "out of")]
    for assignment in assignments:
        mine = [s for s in found if s.assignment == assignment]
        scores = [grades[s.student, assignment].result.score for s in mine if (s.student, assignment) in grades]
        maxima = {grades[s.student, assignment].result.max_score for s in mine if (s.student, assignment) in grades}
        now = sum((s.student, assignment) in graded_now for s in mine)
        current = sum((s.student, assignment) in grades for s in mine) - now
        rows.append((assignment, str(len(mine)), str(now), str(current),
                     _num(statistics.mean(scores)) if scores else "-",
                     _num(statistics.median(scores)) if scores else "-",
                     "/".join(_num(m) for m in sorted(maxima)) or "-"))
    lines = _table(rows)
    students = len({s.student for s in found} | {p.student for p in problems if p.student})
    unable = [p.line() for p in problems]
    unable += [f"{g.student}/{g.assignment}: recorded as {_num(g.result.score)}/{_num(g.result.max_score)}: "
               f"{g.result.error.replace(g.result.notebook, Path(g.result.notebook).name)}"
               for key, g in sorted(grades.items()) if g.result.error]
    unable += [f"{s.student}/{s.assignment}: {r.error or 'could not be graded'}" for s, r in report.ungraded]
    elsewhere = taken - grades.keys()
    unable += [f"{s.student}/{s.assignment}: being graded by another grader; not graded here"
               for s in found if (s.student, s.assignment) in elsewhere]
    if not graded_now and not elsewhere:
        lines.append(f"{students} students; nothing to grade: all {len(grades)} graded submissions are up to date "
                     "(--force grades them again)")
    else:
        lines.append(f"{students} students; {len(graded_now)} submissions graded now, "
                     f"{len(grades) - len(graded_now)} up to date, {len(unable)} with a problem")
    if unable:
        lines.append("could not be graded:")
        lines += [f"  {_printable(line)}" for line in unable]
    return "\n".join(lines)

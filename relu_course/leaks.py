"""What must never reach a student: lines of solution code and of the hidden tests.

A line of solution code is a line inside a ``### BEGIN SOLUTION`` region of a solution
notebook (or a hidden-test region) that the student's copy does not show anyway. A hidden
test is recognised by two consecutive statements of an ``autograder/`` module: single
statements such as ``except ValueError as exc:`` are ordinary Python that any code may share.
Blank lines, comments, imports and lines of fewer than :data:`MIN_CHARS` characters are not
compared; nor is a line of solution code that computes nothing of its own (no number, no
string, no operator: ``with torch.no_grad():``, ``loss.backward()``), the plumbing any
PyTorch or NumPy code shares. :func:`find_leaks` looks for them in files and in text.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import notebook
from .course import Course

MIN_CHARS = 12
BEGIN = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
END = ("### END SOLUTION", "### END HIDDEN TESTS")


@dataclass(frozen=True)
class Leak:
    """A secret found: where (file and line), what, and where it comes from."""

    where: str
    text: str
    origin: str

    def line(self) -> str:
        return f"{self.where}: {self.text!r} is {self.origin}"


def significant(line: str) -> str | None:
    """The line as compared (stripped), or None for a line that says nothing on its own."""
    text = line.strip()
    if len(text) < MIN_CHARS or text.startswith("#"):
        return None
    if text.startswith("import ") or text.startswith("from ") and " import " in text:
        return None
    return text


#: what makes a line compute something: a number, a string, an arithmetic or comparison operator
_COMPUTES = re.compile(r"\d|[-+*/%@<>^|&~]|==|!=|[\"']")


def distinctive(text: str) -> bool:
    """Whether a single line of solution code says something of its own (see the module's text)."""
    return bool(_COMPUTES.search(text))


def _regions(source: str) -> list[tuple[bool, str]]:
    """(inside a solution or hidden-test region, line) for each line of a cell."""
    inside, lines = False, []
    for line in source.splitlines():
        marker = line.strip()
        if marker.startswith(BEGIN):
            inside = True
        elif marker.startswith(END):
            inside = False
        else:
            lines.append((inside, line))
    return lines


@dataclass
class Secrets:
    """The course's secrets: single lines of solution code, pairs of hidden-test lines."""

    lines: dict[str, str]
    pairs: dict[tuple[str, str], str]


def secrets(course: Course) -> Secrets:
    lines: dict[str, str] = {}
    public: set[str] = set()
    for assignment in course.assignment_ids():
        path = course.solution(assignment)
        for index, cell in enumerate(notebook.read(path).get("cells", [])):
            label = notebook.grade_id(cell) or f"cell {index + 1}"
            for inside, line in _regions(notebook.source_of(cell)):
                text = significant(line)
                if text is None:
                    continue
                if inside and distinctive(text):
                    lines.setdefault(text, f"solution code ({path.relative_to(course.root)}, {label})")
                else:
                    public.add(text)
    pairs: dict[tuple[str, str], str] = {}
    for path in sorted(course.autograder.glob("*.py")):
        numbered = [(n, t) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                    if (t := significant(line)) is not None]
        for (n, first), (_, second) in zip(numbered, numbered[1:]):
            pairs.setdefault((first, second), f"from a hidden test ({path.relative_to(course.root)}:{n})")
    return Secrets({t: o for t, o in lines.items() if t not in public}, pairs)


def find_in_lines(lines: list[str], where: str, found: Secrets) -> list[Leak]:
    """The secrets among ``lines`` (of one file or page, named ``where``)."""
    leaks = []
    numbered = [(n, t) for n, line in enumerate(lines, 1) if (t := significant(line)) is not None]
    for n, text in numbered:
        if text in found.lines:
            leaks.append(Leak(f"{where}:{n}", text, found.lines[text]))
    for (n, first), (_, second) in zip(numbered, numbered[1:]):
        if (first, second) in found.pairs:
            leaks.append(Leak(f"{where}:{n}", f"{first} / {second}", found.pairs[first, second]))
    return leaks


def text_lines(path: Path) -> list[str] | None:
    """A file's lines as a reader sees them: a notebook's cell sources and outputs; None if binary."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(text)
        except ValueError:
            return text.splitlines()
        lines = []
        for cell in nb.get("cells", []):
            lines += notebook.source_of(cell).splitlines()
            for output in cell.get("outputs", []) or []:
                for value in [output.get("text", "")] + list((output.get("data") or {}).values()):
                    lines += ("".join(value) if isinstance(value, list) else str(value)).splitlines()
        return lines
    return text.splitlines()


def find_leaks(root: Path, found: Secrets) -> list[Leak]:
    """The secrets in every text file under ``root`` (paths shown relative to it)."""
    leaks = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()):
        lines = text_lines(path)
        if lines is not None:
            leaks += find_in_lines(lines, str(path.relative_to(root)), found)
    return leaks

"""Reading notebooks the way the grader sees them: leniently, with one-line errors.

A student's notebook may be anything: not JSON, JSON that is not a notebook, cells
reordered or deleted, metadata edited. Everything here either returns what can be used
or raises :class:`NotebookError` with a message fit for the student.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METADATA_KEY = "relu_course"
FIGURE_TAG = "figure"


@dataclass(frozen=True)
class Cell:
    """One code cell to run: its position in the notebook, its grade_id if any, its source."""

    index: int
    source: str
    grade_id: str | None = None

    @property
    def label(self) -> str:
        return f"cell {self.index + 1}" + (f" ({self.grade_id})" if self.grade_id else "")


class NotebookError(Exception):
    """The file cannot be used as a notebook; the message is one line."""


#: the largest notebook file the grader reads, and the deepest nesting of JSON it accepts
MAX_BYTES = 32 << 20
MAX_DEPTH = 64


def read(path: Path | str) -> dict:
    """Read a notebook file as an nbformat-4 dict, without failing on metadata a student edited.

    Plain JSON: importing nbformat costs seconds (its schema validator), and grading needs
    none of it; only notebooks older than format 4 go through nbformat's converter. Anything
    that is not a regular file (a FIFO would hang the reader), larger than MAX_BYTES, nested
    deeper than MAX_DEPTH, or not shaped like a notebook raises NotebookError with one line.
    Cells that are not cells are dropped; fields of the wrong type are left out.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        data = json.loads(text)
    except RecursionError:
        raise NotebookError(f"{path} is not a notebook: its JSON is nested too deeply") from None
    except ValueError as exc:
        raise NotebookError(f"{path} is not a notebook: not valid JSON ({exc})") from None
    if depth(data) > MAX_DEPTH:
        raise NotebookError(f"{path} is not a notebook: its JSON is nested more than {MAX_DEPTH} levels deep")
    if not isinstance(data, dict) or not isinstance(data.get("cells", []), list):
        raise NotebookError(f"{path} is not a notebook: JSON without a list of cells")
    version = data.get("nbformat", 4)
    if type(version) is not int:
        raise NotebookError(f"{path} is not a notebook: its nbformat is {type(version).__name__}, not a number")
    if version < 4:
        import nbformat

        try:
            data = dict(nbformat.reads(text, as_version=4))
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
            raise NotebookError(f"{path} is an old notebook that cannot be converted: {exc}") from None
    data["cells"] = [cell for cell in data.get("cells", []) if isinstance(cell, dict)]
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    return data


def _read_text(path: Path) -> str:
    """The file's text: a regular file, at most MAX_BYTES, UTF-8. Never blocks on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NotebookError(f"{path} is a directory, not a notebook") from None
    except OSError as exc:
        raise NotebookError(f"{path} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise NotebookError(f"{path} is a directory, not a notebook")
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path} is not a notebook: not a regular file")
        if info.st_size > MAX_BYTES:
            raise NotebookError(f"{path} is not a notebook: {info.st_size >> 20} MiB is over the "
                                f"{MAX_BYTES >> 20} MiB a notebook may have")
        try:
            raw = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise NotebookError(f"{path} cannot be read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise NotebookError(f"{path} is not a notebook: over the {MAX_BYTES >> 20} MiB a notebook may have")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(f"{path} is not a notebook: it is not UTF-8 text") from None


def depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a JSON tree), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def source_of(cell: dict) -> str:
    """A cell's source: a string, or a list of strings joined; anything else counts as empty."""
    source = cell.get("source", "")
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return ""


def nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    value = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return value if isinstance(value, dict) else {}


def grade_id(cell: dict) -> str | None:
    gid = nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_test_cell(cell: dict) -> bool:
    """An autograded test cell: graded, not a solution."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def assignment_of(nb: dict) -> str | None:
    """The assignment id recorded in the notebook's metadata, if any."""
    meta = nb["metadata"].get(METADATA_KEY, {}) if isinstance(nb.get("metadata"), dict) else {}
    value = meta.get("assignment") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def grade_ids(nb: dict) -> list[str]:
    return [gid for cell in nb.get("cells", []) if (gid := grade_id(cell))]


def test_cell_ids(nb: dict) -> set[str]:
    return {gid for cell in nb.get("cells", []) if is_test_cell(cell) and (gid := grade_id(cell))}


def is_figure_cell(cell: dict) -> bool:
    """A cell tagged ``figure``: it only draws, so grading does not run it."""
    meta = cell.get("metadata", {})
    tags = meta.get("tags", []) if isinstance(meta, dict) else []
    return isinstance(tags, list) and FIGURE_TAG in tags


def code_cells(nb: dict, skip: set[str] = frozenset()) -> list[Cell]:
    """The code cells to execute, in notebook order.

    Left out: test cells, figure cells, and cells whose grade_id is in ``skip``.
    """
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        gid = grade_id(cell)
        if is_test_cell(cell) or is_figure_cell(cell) or gid in skip:
            continue
        cells.append(Cell(index, source_of(cell), gid))
    return cells


def order_notes(submission: dict, expected: list[str]) -> list[str]:
    """Differences from the ``expected`` order of grade_ids, and missing cells, for the result notes."""
    present = [gid for gid in grade_ids(submission) if gid in expected]
    notes = []
    missing = [gid for gid in expected if gid not in present]
    if missing:
        notes.append(f"cells missing from the notebook: {', '.join(missing)}")
    kept = [gid for gid in expected if gid in present]
    if present != kept:
        for earlier, later in zip(present, kept):
            if earlier != later:
                notes.append(f"cells are not in the assignment's order: {earlier} comes before {later}; "
                             "they run in the order of the notebook")
                break
    return notes


def identify(nb: dict, candidates: dict[str, set[str]]) -> str | None:
    """Which assignment a notebook is: its metadata, else the one sharing most grade_ids."""
    recorded = assignment_of(nb)
    if recorded in candidates:
        return recorded
    ids = set(grade_ids(nb))
    best = max((a for a in candidates if candidates[a]), key=lambda a: len(ids & candidates[a]), default=None)
    if best is not None and len(ids & candidates[best]) * 2 >= len(candidates[best]):
        return best
    return None


def is_stripped(value: Any) -> bool:
    """Whether a notebook dict has no outputs and no execution counts."""
    return not any(c.get("outputs") or c.get("execution_count") for c in value.get("cells", [])
                   if c.get("cell_type") == "code")

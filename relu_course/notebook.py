"""Reading notebooks the way the grader sees them: leniently, with one-line errors.

A student's notebook may be anything: not JSON, JSON that is not a notebook, cells
reordered or deleted, metadata edited. Everything here either returns what can be used
or raises :class:`NotebookError` with a message fit for the student.
"""
from __future__ import annotations

import json
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


def read(path: Path | str) -> dict:
    """Read a notebook file as an nbformat-4 dict, without failing on metadata a student edited.

    Plain JSON: importing nbformat costs seconds (its schema validator), and grading needs
    none of it; only notebooks older than format 4 go through nbformat's converter.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NotebookError(f"{path} is a directory, not a notebook") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path} is not a notebook: it is not UTF-8 text") from None
    except OSError as exc:
        raise NotebookError(f"{path} cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NotebookError(f"{path} is not a notebook: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", []), list):
        raise NotebookError(f"{path} is not a notebook: JSON without a list of cells")
    if not isinstance(data.get("nbformat", 4), int) or data.get("nbformat", 4) < 4:
        import nbformat

        try:
            return dict(nbformat.reads(text, as_version=4))
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
            raise NotebookError(f"{path} is an old notebook that cannot be converted: {exc}") from None
    data.setdefault("cells", [])
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    return data


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


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
    meta = nb.get("metadata", {}).get(METADATA_KEY, {}) if isinstance(nb.get("metadata"), dict) else {}
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
    best = max(candidates, key=lambda a: len(ids & candidates[a]), default=None)
    if best is not None and len(ids & candidates[best]) * 2 >= len(candidates[best]):
        return best
    return None


def is_stripped(value: Any) -> bool:
    """Whether a notebook dict has no outputs and no execution counts."""
    return not any(c.get("outputs") or c.get("execution_count") for c in value.get("cells", [])
                   if c.get("cell_type") == "code")

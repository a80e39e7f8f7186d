"""nbgrader's course layout: which student submitted which notebook, as found on disk.

A class directory (nbgrader's "course directory") holds ``submitted/<student>/<assignment>/``
with one notebook in each assignment folder; the student id is the folder's name. Every
folder that cannot be graded (no notebook, two notebooks, an unknown assignment, a file
that cannot be read) becomes a :class:`Problem` with one line saying why; the rest are
:class:`ClassSubmission`, each with the hash of the bytes that will be graded.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

SUBMITTED = "submitted"
FEEDBACK = "feedback"
GRADEBOOK = "gradebook.db"
#: nbgrader records when a notebook was submitted in this file beside it
TIMESTAMP = "timestamp.txt"
#: nbgrader's gradebook keeps student ids in a column of this width
MAX_STUDENT_ID = 128
#: a notebook larger than this is not read (the course's notebooks are well under 1 MiB)
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ClassSubmission:
    """One student's notebook for one assignment. ``sha256`` is of the bytes found."""

    student: str
    assignment: str
    path: Path
    sha256: str
    timestamp: str | None = None

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass(frozen=True)
class Problem:
    """A submission folder that cannot be graded, and why, in one line."""

    student: str
    assignment: str
    message: str

    def line(self) -> str:
        return f"{self.student}/{self.assignment}: {self.message}"


def is_class_dir(path: Path) -> bool:
    """Whether ``path`` is laid out as nbgrader's course directory (it has ``submitted/``)."""
    return (Path(path) / SUBMITTED).is_dir()


def gradebook_url(course_dir: Path) -> str:
    """The default gradebook: ``gradebook.db`` in the class directory, as nbgrader has it."""
    return f"sqlite:///{(Path(course_dir) / GRADEBOOK).resolve()}"


def _entries(folder: Path) -> list[os.DirEntry]:
    """What a folder holds, sorted by name, without hidden entries (``.ipynb_checkpoints``, ...)."""
    with os.scandir(folder) as entries:
        return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _is_real_dir(entry: os.DirEntry) -> bool:
    return entry.is_dir(follow_symlinks=False)


def _read_notebook(path: Path) -> bytes:
    """The bytes of a regular file (not a link, a pipe or a device), refused when too large."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise ValueError("is a symbolic link; submit the notebook itself")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("is not a regular file")
    if info.st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
    with open(path, "rb") as handle:
        return handle.read(MAX_NOTEBOOK_BYTES + 1)


def _timestamp(folder: Path) -> str | None:
    path = folder / TIMESTAMP
    try:
        if not path.is_file() or path.is_symlink():
            return None
        text = path.read_text(encoding="utf-8", errors="replace")[:64].strip()
    except OSError:
        return None
    return text or None


def find_submission(student: str, assignment: str, folder: Path) -> ClassSubmission | Problem:
    """The one notebook in a submission folder, or the problem with it."""
    try:
        notebooks = [e for e in _entries(folder) if e.name.endswith(".ipynb")]
    except OSError as exc:
        return Problem(student, assignment, f"the folder cannot be read: {exc.strerror}")
    if not notebooks:
        return Problem(student, assignment, "no notebook (.ipynb) in the folder")
    if len(notebooks) > 1:
        names = ", ".join(e.name for e in notebooks[:3]) + (", ..." if len(notebooks) > 3 else "")
        return Problem(student, assignment, f"{len(notebooks)} notebooks ({names}); keep one")
    path = Path(notebooks[0].path)
    try:
        data = _read_notebook(path)
    except ValueError as exc:
        return Problem(student, assignment, f"{path.name} {exc}")
    except OSError as exc:
        return Problem(student, assignment, f"{path.name} cannot be read: {exc.strerror or exc}")
    return ClassSubmission(student, assignment, path, hashlib.sha256(data).hexdigest(), _timestamp(folder))


def find_submissions(course_dir: Path, assignments: list[str],
                     only: str | None = None) -> tuple[list[ClassSubmission], list[Problem]]:
    """Every submission of ``assignments`` (or of ``only``) under ``course_dir/submitted``.

    Sorted by student, then assignment. Folders of assignments the course does not have are
    problems, unless ``only`` names the one assignment to look at.
    """
    found: list[ClassSubmission] = []
    problems: list[Problem] = []
    known = ", ".join(assignments) or "none"
    for student in _entries(Path(course_dir) / SUBMITTED):
        if not _is_real_dir(student):
            problems.append(Problem(student.name, "-", "not a student folder (a file or a link); skipped"))
            continue
        if len(student.name) > MAX_STUDENT_ID:
            problems.append(Problem(student.name[:40] + "…", "-",
                                    f"a student id longer than {MAX_STUDENT_ID} characters; skipped"))
            continue
        if not student.name.isprintable():  # a newline or an escape breaks every report it reaches
            problems.append(Problem(ascii(student.name), "-", "a student id with control characters; skipped"))
            continue
        try:
            folders = _entries(Path(student.path))
        except OSError as exc:
            problems.append(Problem(student.name, "-", f"the folder cannot be read: {exc.strerror}"))
            continue
        for folder in folders:
            if only is not None and folder.name != only:
                continue
            if folder.name not in assignments:
                problems.append(Problem(student.name, folder.name, f"unknown assignment; this course has {known}"))
            elif not _is_real_dir(folder):
                problems.append(Problem(student.name, folder.name, "not a folder (a file or a link); skipped"))
            else:
                item = find_submission(student.name, folder.name, Path(folder.path))
                (found if isinstance(item, ClassSubmission) else problems).append(item)
    return found, problems

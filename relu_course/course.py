"""Where a course's files live: solutions, generated assignments and hidden tests.

An assignment is named after its solution notebook: ``solutions/01_activations.ipynb``
is assignment ``01_activations``, its student copy is ``assignments/01_activations.ipynb``
and its hidden tests are ``autograder/test_01_activations.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CourseNotFound(Exception):
    """No course directory (with solutions/ and autograder/) was found."""


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def assignments(self) -> Path:
        return self.root / "assignments"

    @property
    def autograder(self) -> Path:
        return self.root / "autograder"

    def assignment_ids(self) -> list[str]:
        """Every assignment, in order, from the solution notebooks present."""
        return sorted(p.stem for p in self.solutions.glob("*.ipynb"))

    def solution(self, assignment: str) -> Path:
        return self.solutions / f"{assignment}.ipynb"

    def student_notebook(self, assignment: str) -> Path:
        return self.assignments / f"{assignment}.ipynb"

    def tests(self, assignment: str) -> Path:
        return self.autograder / f"test_{assignment}.py"


def _is_course(path: Path) -> bool:
    return (path / "solutions").is_dir() and (path / "autograder").is_dir()


def find_course(start: Path | str | None = None) -> Course:
    """The course at ``start`` or above it; else the checkout this package came from."""
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_course(candidate):
            return Course(candidate)
    package_parent = Path(__file__).resolve().parent.parent
    if start is None and _is_course(package_parent):
        return Course(package_parent)
    raise CourseNotFound(
        f"no course found at {here} or above it (a course has solutions/ and autograder/); pass --course DIR")

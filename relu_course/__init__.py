"""relu-course: a course on why ReLU networks are non-linear, and its grading engine."""
from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("relu-course")  # one source: pyproject.toml
except metadata.PackageNotFoundError:  # a checkout used without installing it
    __version__ = "unknown"


def check(exercise: str, assignment: str | None = None, *, namespace: dict | None = None, plot: bool = True) -> None:
    """Run the public checks of ``exercise`` on the notebook's current definitions and print
    the verdict (see relu_course.checks.check)."""
    from .checks import _caller_namespace, check as run

    run(exercise, assignment, namespace=namespace if namespace is not None else _caller_namespace(), plot=plot)

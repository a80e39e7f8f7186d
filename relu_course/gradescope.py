"""Gradescope: the autograder bundle an instructor uploads, and what runs inside it.

:func:`write_bundle` writes the zip: ``setup.sh`` (installs the pinned environment once),
``run_autograder`` (grades ``/autograder/submission/*.ipynb`` into
``/autograder/results/results.json``) and ``source/`` (this package, the assignment's solution
and hidden tests, the install files). Inside Gradescope, ``python -m relu_course.gradescope ROOT
ASSIGNMENT`` does the grading; ``ROOT`` is ``/autograder``, or a stand-in for it in tests.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from .course import Course

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder's image.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet -c /autograder/source/constraints.txt /autograder/source
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: /autograder/submission/*.ipynb -> /autograder/results/results.json
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
cd "$ROOT/source"
exec "$PYTHON" -m relu_course.gradescope "$ROOT" {assignment}
"""

README = "# relu-course autograder\n\nThe grading engine of the ReLU course, as Gradescope runs it.\n"


def _add(archive: zipfile.ZipFile, content: Path | bytes, name: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same bytes on every build
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, content.read_bytes() if isinstance(content, Path) else content)


def write_bundle(course: Course, assignment: str, out: Path) -> list[str]:
    """Write the autograder zip for ``assignment`` to ``out``; returns the names in it."""
    from .release import package_dir

    if assignment not in course.assignment_ids():
        raise ValueError(f"unknown assignment {assignment!r}; this course has {', '.join(course.assignment_ids())}")
    files: list[tuple[Path | bytes, str, bool]] = [
        (SETUP.encode(), "setup.sh", True), (RUN.format(assignment=assignment).encode(), "run_autograder", True),
        (course.solution(assignment), f"source/solutions/{assignment}.ipynb", False),
        (course.tests(assignment), f"source/autograder/test_{assignment}.py", False),
        (README.encode(), "source/README.md", False),
    ]
    for name in ("pyproject.toml", "constraints.txt"):
        if (course.root / name).is_file():
            files.append((course.root / name, f"source/{name}", False))
    package = package_dir(course)
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append((path, f"source/relu_course/{path.relative_to(package).as_posix()}", False))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        for content, name, executable in files:
            _add(archive, content, name, executable)
    return [name for _, name, _ in files]


def grade(root: Path, assignment: str) -> dict:
    """Grade the one notebook in ``root/submission`` and return Gradescope's results for it."""
    from .engine.runner import Submission, grade_submissions
    from .exports import gradescope_results

    notebooks = sorted((root / "submission").glob("*.ipynb"))
    if len(notebooks) != 1:
        found = ", ".join(p.name for p in notebooks) or "none"
        return {"score": 0, "output": f"submit exactly one notebook (.ipynb); found {found}",
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    result = grade_submissions([Submission(notebooks[0], assignment)], Course(root / "source"))[0]
    return gradescope_results(result)


def main(argv: list[str]) -> int:
    root, assignment = Path(argv[0]), argv[1]
    results = grade(root, assignment)
    (root / "results").mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=root / "results", delete=False, suffix=".json") as out:
        json.dump(results, out, indent=1)
    shutil.move(out.name, root / "results" / "results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

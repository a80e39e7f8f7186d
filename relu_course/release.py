"""The student bundle: what a student receives, proven to hold no solution and no hidden test.

It holds the student notebooks (``assignments/``), the ``relu_course`` package (helpers, public
checks, the sandbox that runs them), the files to install it, and a README for students. It is
assembled in a scratch folder beside its destination, checked with :mod:`.leaks`, and moved into
place only if nothing leaked.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import leaks
from .course import Course

#: files of the course root that go into the bundle as they are, when present
INSTALL_FILES = ("pyproject.toml", "constraints.txt")
STUDENT_README = """# ReLU course: your assignments

Install once (Python 3.10 or later):

```bash
python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e .
```

Then open the notebooks and work through them:

```bash
.venv/bin/jupyter lab assignments/
```

Check your work as you go: in a notebook, `check("relu")` runs the public checks of an exercise on
your current code; from a terminal, `.venv/bin/relu-course check assignments/01_activations.ipynb`
checks a whole notebook. The public checks test every rule the exercise text states, on their own
inputs; the grader tests the same rules on other inputs.

{assignments}
"""


class ReleaseError(Exception):
    """The bundle cannot be written; the message is one line."""


def package_dir(course: Course) -> Path:
    """The package that goes to students: the course's own copy, else the one installed."""
    own = course.root / "relu_course"
    return own if (own / "__init__.py").is_file() else Path(__file__).resolve().parent


def assemble(course: Course, into: Path) -> None:
    """Write the bundle's files into the folder ``into`` (which exists)."""
    notebooks = sorted(course.assignments.glob("*.ipynb"))
    if not notebooks:
        raise ReleaseError(f"{course.assignments} has no notebooks: run relu-course build first")
    (into / "assignments").mkdir()
    for path in notebooks:
        shutil.copy2(path, into / "assignments" / path.name)
    shutil.copytree(package_dir(course), into / "relu_course",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for name in INSTALL_FILES:
        if (course.root / name).is_file():
            shutil.copy2(course.root / name, into / name)
    listing = "\n".join(f"- `assignments/{p.name}`" for p in notebooks)
    (into / "README.md").write_text(STUDENT_README.format(assignments=listing), encoding="utf-8")


def release(course: Course, out: Path) -> list[leaks.Leak]:
    """Write the student bundle to ``out`` (which must not exist). Returns the leaks found; when
    there are any, nothing is written."""
    out = Path(out)
    if out.exists():
        raise ReleaseError(f"{out} exists; give a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        assemble(course, scratch)
        found = leaks.find_leaks(scratch, leaks.secrets(course))
        if not found:
            scratch.rename(out)
        return found
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

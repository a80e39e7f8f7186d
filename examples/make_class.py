"""Generate the example class: a dozen synthetic students for every assignment the course has.

    python examples/make_class.py [OUT] [--students N]

writes ``OUT/submitted/<student>/<assignment>/<assignment>.ipynb`` (nbgrader's course layout;
default OUT: ``examples/demo_class``), made from what the course holds, nothing typed in: the
solution notebooks, the student notebooks, and each assignment's wrong submissions (the
``WRONG`` table beside its hidden tests: ``{name: ({grade_id: source}, {exercise: points},
words)}``). An assignment added to ``solutions/`` gets its students on the next run.

The students, for every assignment:

- correct: the solution; the solution with the student's own scratch cells added;
- partial: one wrong submission each, spread over the assignment's WRONG table;
- broken: the untouched student notebook; a syntax error in the first solution cell;
  a notebook cut short (not JSON);
- hostile: an exception whose message is HTML and JavaScript, floods of output and a
  cell that kills its parent, under student ids a spreadsheet or a browser would run
  (``=HYPERLINK(...)``, ``<img ... onerror=...>``).

``--students N`` makes N students by cycling through these (the benchmark's large class).
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from relu_course import notebook  # noqa: E402
from relu_course.course import Course  # noqa: E402

#: (exercise grade_id of its test cell) -> replacement sources, points where not full, words in the reason
Wrong = dict[str, tuple[dict[str, str], dict[str, float], str]]
#: a student's notebook of an assignment: made from the course, or None when the table has too few entries
Maker = Callable[[Course, str, Wrong], "dict | bytes"]

HOSTILE_MESSAGE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
HOSTILE_IDS = ('=HYPERLINK("evil.invalid";"grades")', "<img src=x onerror=alert(1)>")


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wrong_table(course: Course, assignment: str) -> Wrong:
    """The assignment's wrong submissions: the ``WRONG`` table of its hidden tests.

    Until the tables move there (issue 13), the project's own test module of the assignment
    (``tests/test_grade_*.py`` whose ``A`` names it) holds it; either has the same format.
    """
    hidden = _load(course.tests(assignment), f"hidden_{assignment}")
    if isinstance(getattr(hidden, "WRONG", None), dict):
        return hidden.WRONG
    tests = course.root / "tests"
    if str(tests) not in sys.path:
        sys.path.insert(0, str(tests))
    for path in sorted(tests.glob("test_grade_*.py")):
        module = _load(path, f"wrong_{path.stem}")
        if getattr(module, "A", None) == assignment and isinstance(getattr(module, "WRONG", None), dict):
            return module.WRONG
    return {}


def solution(course: Course, assignment: str) -> dict:
    return notebook.read(course.solution(assignment))


def with_sources(nb: dict, replacements: dict[str, str]) -> dict:
    """A copy of ``nb`` with the sources of some cells (by grade_id) replaced."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if notebook.grade_id(cell) in replacements:
            cell["source"] = replacements[notebook.grade_id(cell)]
    return nb


def with_cell(nb: dict, source: str, index: int = 2) -> dict:
    """``nb`` with a plain code cell of ``source`` inserted at ``index`` (changed in place, returned)."""
    nb["cells"].insert(index, {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                               "source": source})
    return nb


def solution_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c.get("cell_type") == "code" and notebook.nbgrader(c).get("solution")]


def correct(course: Course, assignment: str, wrong: Wrong) -> dict:
    return solution(course, assignment)


def correct_with_scratch(course: Course, assignment: str, wrong: Wrong) -> dict:
    return with_cell(solution(course, assignment),
                     "# trying things out\nprint('hello from my scratch cell')\nscratch = list(range(5))\n")


def partial(index: int, of: int) -> Maker:
    """The student with the ``index``-th of ``of`` wrong submissions spread over the table."""
    def make(course: Course, assignment: str, wrong: Wrong) -> dict | None:
        if not wrong:
            return None
        name = list(wrong)[index * len(wrong) // of]
        return with_sources(solution(course, assignment), wrong[name][0])
    return make


def stub(course: Course, assignment: str, wrong: Wrong) -> dict:
    return notebook.read(course.student_notebook(assignment))


def syntax_error(course: Course, assignment: str, wrong: Wrong) -> dict:
    nb = solution(course, assignment)
    first = solution_cells(nb)[0]
    first["source"] = notebook.source_of(first).replace(":", "", 1)
    return nb


def not_json(course: Course, assignment: str, wrong: Wrong) -> bytes:
    text = course.student_notebook(assignment).read_text(encoding="utf-8")
    return text[: len(text) // 2].encode()


def hostile_messages(course: Course, assignment: str, wrong: Wrong) -> dict:
    """The first exercise raises an exception whose message is markup; a cell prints a flood."""
    nb = solution(course, assignment)
    first = solution_cells(nb)[0]
    head = notebook.source_of(first).split("\n", 1)[0]  # its def line
    first["source"] = f"{head}\n    raise ValueError({HOSTILE_MESSAGE!r})\n"
    return with_cell(nb, "print('=1+1,' * 100000)\nimport sys\nsys.stderr.write('\\x1b[2J' * 1000)\n")


def hostile_process(course: Course, assignment: str, wrong: Wrong) -> dict:
    """A cell that kills the process that forked it, then the solution's code."""
    return with_cell(solution(course, assignment),
                     "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass\n")


#: (student id, kind, maker): the dozen students of the example class
STUDENTS: list[tuple[str, str, Maker]] = [
    ("ada", "correct", correct),
    ("alan", "correct", correct_with_scratch),
    ("bea", "partial", partial(0, 5)),
    ("carl", "partial", partial(1, 5)),
    ("dina", "partial", partial(2, 5)),
    ("emil", "partial", partial(3, 5)),
    ("fay", "partial", partial(4, 5)),
    ("gus", "broken", stub),
    ("hana", "broken", syntax_error),
    ("ivan", "broken", not_json),
    (HOSTILE_IDS[0], "hostile", hostile_messages),
    (HOSTILE_IDS[1], "hostile", hostile_process),
]


def roster(count: int | None = None) -> list[tuple[str, str, Maker]]:
    """The dozen students, or ``count`` of them cycling through the dozen (ids numbered)."""
    if count is None:
        return STUDENTS
    return [(f"{STUDENTS[i % len(STUDENTS)][0]}-{i:04d}", *STUDENTS[i % len(STUDENTS)][1:]) for i in range(count)]


def generate(course: Course, out: Path, count: int | None = None) -> dict[tuple[str, str], str]:
    """Write the class under ``out/submitted`` (replacing what was there); return
    {(student, assignment): kind} of every notebook written."""
    submitted = out / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    kinds: dict[tuple[str, str], str] = {}
    tables = {a: wrong_table(course, a) for a in course.assignment_ids()}
    made: dict[tuple[Maker, str], dict | bytes | None] = {}
    for student, kind, maker in roster(count):
        for assignment, wrong in tables.items():
            key = (maker, assignment)
            if key not in made:
                made[key] = maker(course, assignment, wrong)
            content = made[key]
            if content is None:
                continue
            folder = submitted / student / assignment
            folder.mkdir(parents=True)
            data = content if isinstance(content, bytes) else (json.dumps(content, indent=1) + "\n").encode()
            (folder / f"{assignment}.ipynb").write_bytes(data)
            kinds[student, assignment] = kind
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=HERE / "demo_class")
    parser.add_argument("--students", type=int, metavar="N", help="N students cycling through the dozen")
    args = parser.parse_args(argv)
    kinds = generate(Course(REPO), args.out, args.students)
    students = len({s for s, _ in kinds})
    print(f"wrote {len(kinds)} notebooks of {students} students to {args.out / 'submitted'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

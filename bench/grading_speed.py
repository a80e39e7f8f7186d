"""Grading speed: ours sequentially and with 2 workers, against nbgrader's autograde.

Generates N submissions of assignment 01 (a mix of the solution, the stub and the wrong
submissions in autograder/test_01_activations.py), grades them with relu-course
sequentially and with --jobs 2, and grades a sample of the same notebooks with
`nbgrader autograde` from the same environment, side by side. Prints the figures.

    python bench/grading_speed.py [--count 200] [--nbgrader-count 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "autograder"))

from conftest import solution_with  # noqa: E402
from test_01_activations import WRONG  # noqa: E402 - the wrong submissions live beside the hidden tests

from relu_course.course import Course  # noqa: E402
from relu_course.engine.runner import Submission, grade_submissions, protected_paths  # noqa: E402
from relu_course.engine.client import Worker  # noqa: E402

A = "01_activations"


def make_submissions(course: Course, folder: Path, count: int) -> list[Path]:
    """count notebooks cycling through: solution, stub, each wrong submission."""
    kinds = [("solution", None), ("stub", None)] + [(name, repl) for name, (repl, _, _) in WRONG.items()]
    paths = []
    for i in range(count):
        name, replacements = kinds[i % len(kinds)]
        path = folder / f"s{i:03d}_{name}.ipynb"
        if name == "solution":
            shutil.copy(course.solution(A), path)
        elif name == "stub":
            shutil.copy(course.student_notebook(A), path)
        else:
            nbformat.write(solution_with(course, A, replacements), path)
        paths.append(path)
    return paths


def ours(course: Course, paths: list[Path], jobs: int) -> tuple[float, list[float], list[float]]:
    """(wall seconds, per-submission seconds, scores); worker start-up excluded for jobs=1."""
    subs = [Submission(p, key=str(p)) for p in paths]
    if jobs == 1:
        with Worker(protected=protected_paths(course)) as worker:
            grade_submissions(subs[:1], course, worker=worker)  # warm: reference loaded, modules imported
            started = time.perf_counter()
            results = grade_submissions(subs, course, worker=worker)
            wall = time.perf_counter() - started
    else:
        started = time.perf_counter()
        results = grade_submissions(subs, course, jobs=jobs)
        wall = time.perf_counter() - started
    return wall, [r.seconds for r in results], [r.score for r in results]


def nbgrader_autograde(course: Course, paths: list[Path], root: Path) -> float:
    """Wall seconds for `nbgrader autograde` of these notebooks (one course, one student each)."""
    (root / "source" / A).mkdir(parents=True)
    shutil.copy(course.solution(A), root / "source" / A / f"{A}.ipynb")
    (root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def nbgrader(*args: str) -> None:
        subprocess.run(["nbgrader", *args], cwd=root, env=env, check=True, capture_output=True)

    nbgrader("generate_assignment", A, "--force")
    for i, path in enumerate(paths):
        folder = root / "submitted" / f"student{i:03d}" / A
        folder.mkdir(parents=True)
        shutil.copy(path, folder / f"{A}.ipynb")
        nbgrader("db", "student", "add", f"student{i:03d}")
    started = time.perf_counter()
    nbgrader("autograde", A)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--nbgrader-count", type=int, default=20, help="notebooks nbgrader grades (it takes seconds each)")
    args = parser.parse_args()
    course = Course(REPO)
    with tempfile.TemporaryDirectory(prefix="relu-course-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "subs").mkdir()
        paths = make_submissions(course, tmp / "subs", args.count)
        wall1, per1, scores1 = ours(course, paths, jobs=1)
        wall2, _, scores2 = ours(course, paths, jobs=2)
        assert scores1 == scores2, "the same submissions must get the same scores"
        sample = paths[: args.nbgrader_count]
        nb_wall = nbgrader_autograde(course, sample, tmp / "nbgrader")
    median = statistics.median(per1)
    ours_per = wall1 / len(paths)
    nb_per = nb_wall / len(sample)
    print(f"submissions: {len(paths)} of assignment {A} ({sum(s == 38 for s in scores1)} full marks, "
          f"{sum(s == 0 for s in scores1)} zero, the rest partial)")
    print(f"relu-course, 1 worker : median {median * 1e3:.0f} ms per submission (sandbox up to torn down), "
          f"p90 {statistics.quantiles(per1, n=10)[-1] * 1e3:.0f} ms; wall {wall1:.1f} s = {ours_per * 1e3:.0f} ms "
          f"per notebook, {len(paths) / wall1:.1f} notebooks/s")
    print(f"relu-course, 2 workers: wall {wall2:.1f} s (incl. starting 2 workers) = {len(paths) / wall2:.1f} notebooks/s")
    print(f"nbgrader autograde    : {len(sample)} notebooks in {nb_wall:.1f} s = {nb_per * 1e3:.0f} ms per notebook")
    print(f"ratio (nbgrader / relu-course 1 worker, per notebook): {nb_per / ours_per:.0f}x")


if __name__ == "__main__":
    main()

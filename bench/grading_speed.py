"""Grading speed: ours sequentially and with 2 workers, against nbgrader's autograde.

Generates N submissions of assignment 01 (a mix of the solution, the stub and the wrong
submissions in autograder/test_01_activations.py), grades them with relu-course
sequentially and with --jobs 2, and grades a sample of the same notebooks with
`nbgrader autograde` from the same environment, side by side. Prints the figures.

    python bench/grading_speed.py [--count 200] [--nbgrader-count 20] [--compare-fences]
"""
from __future__ import annotations

import argparse
import os
import resource
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
from relu_course.engine.limits import SandboxLimits  # noqa: E402

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


def cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds of this process (pid None) or of another and the children it reaped."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def ours(course: Course, paths: list[Path], jobs: int, disabled: tuple[str, ...] = ()) -> dict:
    """Wall seconds, per-submission seconds, scores and CPU per submission; worker start-up
    excluded for jobs=1. ``disabled`` fences are left off."""
    subs = [Submission(p, key=str(p)) for p in paths]
    if jobs == 1:
        with Worker(SandboxLimits(disabled=disabled), protected_paths(course)) as worker:
            grade_submissions(subs[:1], course, worker=worker)  # warm: reference loaded, modules imported
            cpu = cpu_seconds(), cpu_seconds(worker.process.pid)
            started = time.perf_counter()
            results = grade_submissions(subs, course, worker=worker)
            wall = time.perf_counter() - started
            time.sleep(0.2)  # the last children reaped
            grader_cpu, worker_cpu = cpu_seconds() - cpu[0], cpu_seconds(worker.process.pid) - cpu[1]
    else:
        started = time.perf_counter()
        results = grade_submissions(subs, course, jobs=jobs)
        wall = time.perf_counter() - started
        grader_cpu = worker_cpu = float("nan")
    return {"wall": wall, "per": [r.seconds for r in results], "scores": [r.score for r in results],
            "grader cpu": grader_cpu / len(paths), "worker cpu": worker_cpu / len(paths)}


def summary(label: str, run: dict, count: int) -> str:
    per = run["per"]
    return (f"{label}: median {statistics.median(per) * 1e3:.0f} ms per submission (sandbox up to torn down), "
            f"p90 {statistics.quantiles(per, n=10)[-1] * 1e3:.0f} ms; wall {run['wall']:.1f} s = "
            f"{run['wall'] / count * 1e3:.0f} ms per notebook, {count / run['wall']:.1f} notebooks/s; CPU per "
            f"submission: grader {run['grader cpu'] * 1e3:.0f} ms, worker and children {run['worker cpu'] * 1e3:.0f} ms")


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


#: the fences the isolation issue added: left off in the comparison run
ISOLATION = ("pid namespace", "ipc namespace", "separate uid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--nbgrader-count", type=int, default=20, help="notebooks nbgrader grades (it takes seconds each)")
    parser.add_argument("--compare-fences", action="store_true",
                        help=f"also grade with 1 worker and {', '.join(ISOLATION)} left off, in the same run")
    args = parser.parse_args()
    course = Course(REPO)
    with tempfile.TemporaryDirectory(prefix="relu-course-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "subs").mkdir()
        paths = make_submissions(course, tmp / "subs", args.count)
        one = ours(course, paths, jobs=1)
        fewer = ours(course, paths, jobs=1, disabled=ISOLATION) if args.compare_fences else None
        two = ours(course, paths, jobs=2)
        assert one["scores"] == two["scores"], "the same submissions must get the same scores"
        sample = paths[: args.nbgrader_count]
        nb_wall = nbgrader_autograde(course, sample, tmp / "nbgrader") if sample else float("nan")
    scores = one["scores"]
    print(f"submissions: {len(paths)} of assignment {A} ({sum(s == 38 for s in scores)} full marks, "
          f"{sum(s == 0 for s in scores)} zero, the rest partial)")
    print(summary("relu-course, 1 worker", one, len(paths)))
    if fewer is not None:
        print(summary(f"  the same without {', '.join(ISOLATION)}", fewer, len(paths)))
    print(f"relu-course, 2 workers: wall {two['wall']:.1f} s (incl. starting 2 workers) = "
          f"{len(paths) / two['wall']:.1f} notebooks/s")
    if sample:
        nb_per = nb_wall / len(sample)
        print(f"nbgrader autograde    : {len(sample)} notebooks in {nb_wall:.1f} s = {nb_per * 1e3:.0f} ms per notebook")
        print(f"ratio (nbgrader / relu-course 1 worker, per notebook): {nb_per / (one['wall'] / len(paths)):.0f}x")


if __name__ == "__main__":
    main()

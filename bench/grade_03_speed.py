"""How fast assignment 03 is graded, and how long its solution takes in a real Jupyter kernel.

1. Grading the solution notebook with a warm worker (torch imported, one child forked ahead):
   one warm-up grading (it loads the reference and pays torch's lazy imports), then ten timed
   gradings, each a fresh sandboxed child that runs the notebook's code cells and answers every
   hidden test (training included). Target: median at most 2 s.
2. The solution notebook top to bottom in a real kernel (nbclient), figures and animations
   included, in an empty working directory. Target: at most 60 s.

Prints the figures.

    python bench/grade_03_speed.py [--kernel-runs N]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
A = "03_two_neuron_x2"


def grading_seconds(runs: int) -> list[float]:
    from relu_course.course import Course
    from relu_course.engine.client import Worker
    from relu_course.engine.runner import Submission, grade_submissions, protected_paths

    course = Course(REPO)
    solution = Submission(course.solution(A))
    with Worker(protected=protected_paths(course)) as worker:
        warm = grade_submissions([solution], course, worker=worker)[0]
        assert warm.score == warm.max_score, [(e.name, e.reason) for e in warm.exercises if e.reason]
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            result = grade_submissions([solution], course, worker=worker)[0]
            seconds.append(time.perf_counter() - started)
            assert result.score == result.max_score
    return seconds


def kernel_seconds() -> float:
    import nbclient
    import nbformat

    nb = nbformat.read(REPO / "solutions" / f"{A}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": folder}})
        started = time.perf_counter()
        client.execute()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel-runs", type=int, default=1, help="kernel runs of the solution (default 1)")
    args = parser.parse_args()
    seconds = grading_seconds(10)
    print(f"{A}: grading the solution with a warm worker, 10 runs: median {statistics.median(seconds):.2f} s, "
          f"min {min(seconds):.2f} s, max {max(seconds):.2f} s (target: median <= 2 s)")
    kernel = [kernel_seconds() for _ in range(args.kernel_runs)]
    print(f"{A}: the solution top to bottom in a real kernel: {', '.join(f'{s:.1f} s' for s in kernel)} "
          "(target: <= 60 s)")


if __name__ == "__main__":
    main()

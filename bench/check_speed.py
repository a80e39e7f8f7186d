"""How long check("name") takes in a notebook: each exercise's public checks on the solution.

Runs the solution notebooks' code in this process (as a kernel would) and times
relu_course.check for every exercise, after one warm-up call. Prints the figures.

    python bench/check_speed.py
"""
from __future__ import annotations

import contextlib
import io
import statistics
import time
from pathlib import Path

from relu_course import check, notebook
from relu_course.checks import exercises

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    for assignment, names in exercises().items():
        path = REPO / "solutions" / f"{assignment}.ipynb"
        if not path.exists():
            continue
        namespace: dict = {}
        for cell in notebook.code_cells(notebook.read(path)):
            exec(compile(cell.source, str(path), "exec"), namespace)  # noqa: S102 - the course's own solution
        times = {}
        for name in names:
            with contextlib.redirect_stdout(io.StringIO()):
                check(name, assignment, namespace=namespace, plot=False)
                started = time.perf_counter()
                for _ in range(5):
                    check(name, assignment, namespace=namespace, plot=False)
            times[name] = (time.perf_counter() - started) / 5
        slowest = max(times, key=times.get)
        print(f"{assignment}: check() median {statistics.median(times.values()) * 1e3:.1f} ms, "
              f"slowest {slowest} {times[slowest] * 1e3:.1f} ms ({len(names)} exercises)")


if __name__ == "__main__":
    main()

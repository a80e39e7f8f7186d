"""Class grading on a Dask cluster against grading on this machine, and its scaling with workers.

Generates the example class scaled to about N submissions (default 1,000: the example class's
dozen kinds of student, cycled, × every assignment) with examples/make_class.py, then, in one run,
each as ``relu-course grade`` into a clean SQLite gradebook (start-up, gradebook and summary included):

1. ``-j J`` (default: the cores) on this machine, against ``--cluster local:J`` (a LocalCluster of
   J worker processes): the cluster's overhead per submission (target below 10%), with and
   without the fixed start-up (measured by grading a one-submission class the same ways). Dask's
   nanny starts its workers with one OpenMP/BLAS thread each (``distributed.nanny.pre-spawn-environ``),
   and grading on this machine does not (its grading processes run torch and numpy with a
   thread per core, which two processes on two cores fight over): ``-j J`` is also run with the
   nanny's settings, the comparison that measures what the cluster itself costs;
2. ``--cluster local:K`` for K = 1, 2, 4, ... up to the cores, on ``--scaling-count`` of the
   submissions: throughput against one worker's.

Wall-clock and CPU seconds (of every process involved, children included) are printed side by
side: on a machine shared with others, wall-clock times measured minutes apart are not comparable,
the CPU seconds are.

    python bench/cluster_speed.py [--submissions 1000] [--jobs J] [--scaling-count 300]
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from class_speed import ENV, REPO, Clock, make_class  # noqa: E402

from relu_course.class_grading import default_jobs  # noqa: E402
from relu_course.course import Course  # noqa: E402


def subset(root: Path, target: Path, count: int) -> Path:
    """A class of the first ``count`` submissions of ``root`` (by student, then assignment)."""
    for notebook in sorted(root.glob("submitted/*/*/*.ipynb"))[:count]:
        folder = target / notebook.parent.relative_to(root)
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder)
    return target


def dask_worker_environment() -> dict[str, str]:
    """What Dask's nanny sets in the environment of the workers it starts."""
    import dask.config
    import distributed  # noqa: F401 - loads the distributed.* settings

    return {k: str(v) for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()}


def grade(root: Path, *how: str, env: dict[str, str] | None = None) -> Clock:
    """``relu-course grade`` of a fresh copy of ``root`` (no gradebook yet), ``env`` added to the environment."""
    copy = Path(tempfile.mkdtemp(prefix="copy-", dir=root.parent)) / "class"
    shutil.copytree(root / "submitted", copy / "submitted")
    try:
        with Clock() as clock:
            subprocess.run([sys.executable, "-m", "relu_course", "grade", str(copy), "--course", str(REPO), *how],
                           cwd=REPO, env={**ENV, **(env or {})}, check=True, capture_output=True)
        return clock
    finally:
        shutil.rmtree(copy.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--scaling-count", type=int, default=300)
    args = parser.parse_args()
    course = Course(REPO)
    cores = default_jobs()
    with tempfile.TemporaryDirectory(prefix="relu-course-cluster-bench-") as tmp:
        full = Path(tmp) / "class"
        students = math.ceil(args.submissions / len(course.assignment_ids()))
        count = len(make_class.generate(course, full, students))
        one = subset(full, Path(tmp) / "one", 1)
        local, cluster = f"-j {args.jobs}", f"--cluster local:{args.jobs}"
        threads = dask_worker_environment()
        fair = f"{local}, {' '.join(f'{k}={v}' for k, v in threads.items() if k.endswith('THREADS'))}"
        how = {local: (local.split(), None), fair: (local.split(), threads), cluster: (cluster.split(), None)}
        runs = {(name, what): grade(one if what == "start" else full, *args_, env=env)
                for what in ("start", "class") for name, (args_, env) in how.items()}
        scaling = min(args.scaling_count, count)
        part = subset(full, Path(tmp) / "part", scaling)
        workers = [k for k in (2 ** i for i in range(8)) if k <= cores]
        scaled = {k: runs[cluster, "class"] if scaling == count and k == args.jobs else grade(part, "--cluster", f"local:{k}")
                  for k in workers}

    print(f"class: {students} students x {len(course.assignment_ids())} assignments = {count} submissions; "
          f"{cores} cores here; load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'relu-course grade CLASS ...':80} {'wall s':>8} {'CPU s':>8} {'wall ms/sub':>12} {'CPU ms/sub':>11}")
    for (name, what), clock in runs.items():
        n = 1 if what == "start" else count
        label = f"{name} ({'one submission: start-up' if what == 'start' else f'{count} submissions'})"
        print(f"{label:80} {clock.wall:8.1f} {clock.cpu:8.1f} {clock.wall / n * 1e3:12.0f} {clock.cpu / n * 1e3:11.0f}")
    for against in (fair, local):
        for name, share in (("wall", lambda c: c.wall), ("CPU", lambda c: c.cpu)):
            whole = share(runs[cluster, "class"]) / share(runs[against, "class"]) - 1
            net = lambda how: share(runs[how, "class"]) - share(runs[how, "start"])  # noqa: E731
            print(f"cluster overhead per submission against {against}, {name}: {whole:+.1%} in all, "
                  f"{net(cluster) / net(against) - 1:+.1%} without the start-up (target below 10%)")
    print(f"scaling on {scaling} submissions (--cluster local:K):")
    base = scaled[1].wall
    for k, clock in scaled.items():
        print(f"  {k:3} workers: {clock.wall:8.1f} s wall, {clock.cpu:8.1f} s CPU, {scaling / clock.wall:6.2f} submissions/s, "
              f"{base / clock.wall:5.2f}x one worker's throughput")
    if cores < 16:
        print(f"this machine has {cores} cores: the 16-worker target (at least 12x one worker's throughput) "
              "needs a 16-core machine, which was not available here")


if __name__ == "__main__":
    main()

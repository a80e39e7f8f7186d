"""Class grading on a Dask cluster against grading on this machine, and its scaling with workers.

Generates the example class scaled to about N submissions (default 1,000: the example class's
dozen kinds of student, cycled, × every assignment) with examples/make_class.py, then, in one run,
each as ``relu-course grade`` into a clean SQLite gradebook (start-up, gradebook and summary included):

1. ``-j J`` (default: the cores) on this machine, against ``--cluster local:J`` (a LocalCluster of
   J worker processes): the cluster's overhead per submission (target below 10%), with and
   without the fixed start-up (measured by grading a one-submission class the same two ways);
2. ``--cluster local:K`` for K = 1, 2, 4, ... up to the cores, on ``--scaling-count`` of the
   submissions: throughput against one worker's, in all and without the start-up of K workers
   (a one-submission class graded the same way);
3. the client alone: ``grade_class`` storing the class's records (read back from the cluster run's
   gradebook, replayed batch by batch) into a clean gradebook: how many workers' worth of graded
   submissions one client can store, the ceiling on scaling whatever the cores.

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
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from class_speed import REPO, Clock, relu_course, make_class  # noqa: E402

from relu_course.class_grading import add_assignments, default_jobs, grade_class, hidden_tests_hash  # noqa: E402
from relu_course.classroom import find_submissions  # noqa: E402
from relu_course.course import Course  # noqa: E402
from relu_course.gradebook import ClassGradebook, read_graded  # noqa: E402


def subset(root: Path, target: Path, count: int) -> Path:
    """A class of the first ``count`` submissions of ``root`` (by student, then assignment)."""
    for notebook in sorted(root.glob("submitted/*/*/*.ipynb"))[:count]:
        folder = target / notebook.parent.relative_to(root)
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder)
    return target


def grade(root: Path, *how: str, keep: Path | None = None) -> Clock:
    """``relu-course grade`` of a fresh copy of ``root`` (no gradebook yet); its gradebook copied to ``keep``."""
    copy = Path(tempfile.mkdtemp(prefix="copy-", dir=root.parent)) / "class"
    shutil.copytree(root / "submitted", copy / "submitted")
    try:
        clock = relu_course("grade", copy, "--course", REPO, *how)
        if keep is not None:
            shutil.copy(copy / "gradebook.db", keep)
        return clock
    finally:
        shutil.rmtree(copy.parent)


def storing(course: Course, root: Path, graded: Path, jobs: int) -> tuple[Clock, int]:
    """``grade_class`` of the class at ``root`` into a clean gradebook, its grader replaying the records of
    the gradebook ``graded``: what the client does per batch (claims, storing, the progress) and nothing else."""
    found, _ = find_submissions(root, course.assignment_ids())
    records = {(g.student, g.assignment): g.result for g in read_graded(f"sqlite:///{graded}")}
    by_key = {s.key: s for s in found}
    tests = {a: hidden_tests_hash(course, a) for a in course.assignment_ids()}

    def replay(batches):
        for batch in batches:
            yield batch, [records[by_key[sub.key].student, sub.assignment] for sub in batch]

    with ClassGradebook(f"sqlite:///{root / 'replayed.db'}") as book:
        add_assignments(book, course, course.assignment_ids())
        with Clock() as clock:
            report = grade_class(found, replay, book, tests, jobs=jobs, progress=False)
    return clock, len(report.graded)


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
        runs = {
            (local, "start"): grade(one, *local.split()),
            (cluster, "start"): grade(one, *cluster.split()),
            (local, "class"): grade(full, *local.split()),
            (cluster, "class"): grade(full, *cluster.split(), keep=Path(tmp) / "graded.db"),
        }
        stored, stored_count = storing(course, full, Path(tmp) / "graded.db", args.jobs)
        scaling = min(args.scaling_count, count)
        part = subset(full, Path(tmp) / "part", scaling)
        workers = [k for k in (2 ** i for i in range(8)) if k <= cores]
        scaled = {k: runs[cluster, "class"] if scaling == count and k == args.jobs else grade(part, "--cluster", f"local:{k}")
                  for k in workers}
        started = {k: runs[cluster, "start"] if k == args.jobs else grade(one, "--cluster", f"local:{k}") for k in workers}

    print(f"class: {students} students x {len(course.assignment_ids())} assignments = {count} submissions; "
          f"{cores} cores here; load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'relu-course grade CLASS ...':46} {'wall s':>8} {'CPU s':>8} {'wall ms/sub':>12} {'CPU ms/sub':>11}")
    for (how, what), clock in runs.items():
        n = 1 if what == "start" else count
        label = f"{how} ({'one submission: start-up' if what == 'start' else f'{count} submissions'})"
        print(f"{label:46} {clock.wall:8.1f} {clock.cpu:8.1f} {clock.wall / n * 1e3:12.0f} {clock.cpu / n * 1e3:11.0f}")
    for name, share in (("wall", lambda c: c.wall), ("CPU", lambda c: c.cpu)):
        whole = share(runs[cluster, "class"]) / share(runs[local, "class"]) - 1
        net = lambda how: share(runs[how, "class"]) - share(runs[how, "start"])  # noqa: E731
        print(f"cluster overhead per submission, {name}: {whole:+.1%} in all, {net(cluster) / net(local) - 1:+.1%} "
              "without the start-up (target below 10%)")
    print(f"scaling on {scaling} submissions (--cluster local:K; throughput in all, and without K workers' start-up):")
    pace = {k: (scaling / clock.wall, scaling / max(clock.wall - started[k].wall, 1e-9)) for k, clock in scaled.items()}
    for k, clock in scaled.items():
        print(f"  {k:3} workers: {clock.wall:8.1f} s wall, {clock.cpu:8.1f} s CPU, start-up {started[k].wall:5.1f} s; "
              f"{pace[k][0]:6.2f} submissions/s, {pace[k][0] / pace[1][0]:5.2f}x one worker's; "
              f"without start-up {pace[k][1]:6.2f}/s, {pace[k][1] / pace[1][1]:5.2f}x")
    single = pace[1][1]  # one worker's pace
    print(f"the client alone: {stored_count} records stored by grade_class in {stored.wall:.1f} s wall, {stored.cpu:.1f} s CPU "
          f"({stored_count / stored.wall:.0f} submissions/s, {stored.wall / stored_count * 1e3:.1f} ms each): "
          f"{stored_count / stored.wall / single:.0f} times one worker's pace without start-up, {single:.2f}/s "
          "(the most workers one client keeps up with)")
    if cores < 16:
        print(f"this machine has {cores} cores: the 16-worker target (at least 12x one worker's throughput) "
              "needs a 16-core machine, which was not available here")


if __name__ == "__main__":
    main()

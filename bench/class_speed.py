"""Class grading speed: a whole class from a clean gradebook to exports and feedback, against nbgrader.

Generates a class of N students (default 300) × every assignment with examples/make_class.py (the
example class's dozen kinds of student, cycled), then, in one run:

1. grading alone: the engine over every submission with the same workers, no gradebook;
2. end to end: ``relu-course grade`` into a clean SQLite gradebook, ``relu-course export`` (CSV and
   Gradescope) and ``relu-course feedback``, each as its own command, start-up included;
3. nbgrader: ``nbgrader autograde`` then ``nbgrader generate_feedback`` on 20 of the same submissions.

Prints the time per submission end to end, the share spent outside grading ((end to end - grading
alone) / grading alone; target at most 30%), and nbgrader's time per submission over ours (target
at least 20x). Each figure is given in wall-clock seconds and in CPU seconds (of every process
involved, children included): on a machine shared with others, wall-clock times measured minutes
apart are not comparable, and the CPU seconds are.

    python bench/class_speed.py [--students 300] [--jobs N] [--nbgrader-count 20]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "examples"))

import make_class  # noqa: E402

from relu_course.class_grading import LocalGrader, batches_of, default_jobs, uses_torch  # noqa: E402
from relu_course.classroom import find_submissions  # noqa: E402
from relu_course.course import Course  # noqa: E402
from relu_course.engine.runner import Submission  # noqa: E402

ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def cpu_seconds() -> float:
    """CPU seconds of this process and of every child it has waited for (and theirs)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    """Wall-clock and CPU seconds of what runs inside ``with``."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def timed(*command: str, cwd: Path = REPO) -> Clock:
    with Clock() as clock:
        subprocess.run(list(map(str, command)), cwd=cwd, env=ENV, check=True, capture_output=True)
    return clock


def relu_course(*args) -> Clock:
    return timed(sys.executable, "-m", "relu_course", *args)


def grading_alone(course: Course, root: Path, jobs: int) -> tuple[Clock, int]:
    """The engine grading every submission with ``jobs`` workers, nothing stored."""
    found, _ = find_submissions(root, course.assignment_ids())
    batches = [[Submission(s.path, s.assignment, key=s.key) for s in batch] for batch in batches_of(found, jobs)]
    grader = LocalGrader(course, None, jobs, uses_torch(course, course.assignment_ids()), protect=(root.resolve(),))
    with Clock() as clock:
        graded = sum(len(results) for _, results in grader(iter(batches)))
    return clock, graded


def nbgrader_sample(course: Course, root: Path, target: Path, count: int) -> tuple[list[Clock], int]:
    """(clocks of each autograde and generate_feedback, submissions) for ``count`` submissions of the class
    that are notebooks (nbgrader stops at one that is not JSON), spread over the assignments."""
    assignments = course.assignment_ids()
    for assignment in assignments:
        (target / "source" / assignment).mkdir(parents=True)
        shutil.copy(course.solution(assignment), target / "source" / assignment / f"{assignment}.ipynb")
    (target / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(target)!r}\n")
    students = sorted({p.parent.parent.name for p in root.glob("submitted/*/*/*.ipynb")
                       if p.parent.parent.name.isidentifier() or p.parent.parent.name.replace("-", "_").isidentifier()})
    chosen, taken = [], 0
    for student in students:
        if taken >= count:
            break
        notebooks = [root / "submitted" / student / a / f"{a}.ipynb" for a in assignments]
        if all(p.exists() and p.read_bytes().rstrip().endswith(b"}") for p in notebooks):
            chosen.append(student)
            taken += len(assignments)
    for student in chosen:
        for assignment in assignments:
            folder = target / "submitted" / student / assignment
            folder.mkdir(parents=True)
            shutil.copy(root / "submitted" / student / assignment / f"{assignment}.ipynb", folder)
    for assignment in assignments:
        timed("nbgrader", "generate_assignment", assignment, "--force", cwd=target)
    clocks = [timed("nbgrader", "autograde", a, "--create", cwd=target) for a in assignments]
    clocks += [timed("nbgrader", "generate_feedback", a, cwd=target) for a in assignments]
    return clocks, len(chosen) * len(assignments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--nbgrader-count", type=int, default=20)
    args = parser.parse_args()
    course = Course(REPO)
    with tempfile.TemporaryDirectory(prefix="relu-course-class-bench-") as tmp:
        root = Path(tmp) / "class"
        kinds = make_class.generate(course, root, args.students)
        count = len(kinds)
        alone, graded = grading_alone(course, root, args.jobs)
        assert graded == count, (graded, count)
        steps = {
            "grade (into a clean gradebook)": relu_course("grade", root, "--course", REPO, "-j", args.jobs),
            "export --format csv": relu_course("export", root, "--format", "csv"),
            "export --format gradescope": relu_course("export", root, "--format", "gradescope"),
            "feedback": relu_course("feedback", root),
        }
        pages = len(list((root / "feedback").glob("*/*/*.html")))
        assert pages == count, (pages, count)
        wall = sum(c.wall for c in steps.values())
        cpu = sum(c.cpu for c in steps.values())
        clocks, sampled = nbgrader_sample(course, root, Path(tmp) / "nbgrader", args.nbgrader_count)
    nb_wall, nb_cpu = sum(c.wall for c in clocks) / sampled, sum(c.cpu for c in clocks) / sampled
    print(f"class: {args.students} students x {len(course.assignment_ids())} assignments = {count} submissions, "
          f"{args.jobs} workers, {os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'':44} {'wall s':>8} {'CPU s':>8} {'wall ms/sub':>12} {'CPU ms/sub':>11}")
    row = lambda name, w, c, n=count: print(f"{name:44} {w:8.1f} {c:8.1f} {w / n * 1e3:12.0f} {c / n * 1e3:11.0f}")  # noqa: E731
    row("grading alone (engine, no gradebook)", alone.wall, alone.cpu)
    for name, clock in steps.items():
        row(f"  relu-course {name}", clock.wall, clock.cpu)
    row("end to end (grade, exports, feedback)", wall, cpu)
    row("nbgrader autograde + generate_feedback", nb_wall * sampled, nb_cpu * sampled, sampled)
    print(f"outside grading: {(cpu - alone.cpu) / alone.cpu:.0%} of grading's CPU time, "
          f"{(wall - alone.wall) / alone.wall:.0%} of its wall time (target at most 30%)")
    print(f"nbgrader / relu-course per submission, end to end: {nb_cpu / (cpu / count):.1f}x in CPU time, "
          f"{nb_wall / (wall / count):.1f}x in wall time (target at least 20x)")


if __name__ == "__main__":
    main()

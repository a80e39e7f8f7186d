"""Class grading speed: a whole class from a clean gradebook to exports and feedback, against nbgrader.

Generates a class of N students (default 300) × every assignment with examples/make_class.py (the
example class's dozen kinds of student, cycled), then, in one run:

1. grading alone: the engine over every submission with the same workers, no gradebook;
2. end to end: ``relu-course grade`` into a clean SQLite gradebook, ``relu-course export`` (CSV and
   Gradescope) and ``relu-course feedback``, each as its own command, start-up included;
3. nbgrader: ``nbgrader autograde`` then ``nbgrader generate_feedback`` on 20 of the same submissions.

Prints the time per submission end to end, the share spent outside grading ((end to end - grading
alone) / grading alone; target at most 30%), and nbgrader's time per submission over ours (target
at least 20x).

    python bench/class_speed.py [--students 300] [--jobs N] [--nbgrader-count 20]
"""
from __future__ import annotations

import argparse
import os
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


def timed(*command: str, cwd: Path = REPO) -> float:
    started = time.perf_counter()
    subprocess.run(list(map(str, command)), cwd=cwd, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def relu_course(*args) -> float:
    return timed(sys.executable, "-m", "relu_course", *args)


def grading_alone(course: Course, root: Path, jobs: int) -> tuple[float, int]:
    """Wall seconds for the engine to grade every submission with ``jobs`` workers, nothing stored."""
    found, _ = find_submissions(root, course.assignment_ids())
    batches = [[Submission(s.path, s.assignment, key=s.key) for s in batch] for batch in batches_of(found, jobs)]
    grader = LocalGrader(course, None, jobs, uses_torch(course, course.assignment_ids()), protect=(root.resolve(),))
    started = time.perf_counter()
    graded = sum(len(results) for _, results in grader(iter(batches)))
    return time.perf_counter() - started, graded


def nbgrader_sample(course: Course, root: Path, target: Path, count: int) -> tuple[float, float, int]:
    """(autograde seconds, generate_feedback seconds, submissions) for ``count`` submissions of the class
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
    autograde = sum(timed("nbgrader", "autograde", a, "--create", cwd=target) for a in assignments)
    feedback = sum(timed("nbgrader", "generate_feedback", a, cwd=target) for a in assignments)
    return autograde, feedback, len(chosen) * len(assignments)


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
        end_to_end = sum(steps.values())
        autograde, generate_feedback, sampled = nbgrader_sample(course, root, Path(tmp) / "nbgrader",
                                                                args.nbgrader_count)
    ours = end_to_end / count
    theirs = (autograde + generate_feedback) / sampled
    print(f"class: {args.students} students x {len(course.assignment_ids())} assignments = {count} submissions, "
          f"{args.jobs} workers, {os.cpu_count()} cores")
    print(f"grading alone (engine, no gradebook)  : {alone:7.1f} s = {alone / count * 1e3:6.0f} ms per submission")
    for name, seconds in steps.items():
        print(f"  relu-course {name:<29}: {seconds:7.1f} s")
    print(f"end to end (grade, exports, feedback) : {end_to_end:7.1f} s = {ours * 1e3:6.0f} ms per submission")
    print(f"outside grading: {(end_to_end - alone) / alone:.0%} of grading time (target at most 30%)")
    print(f"nbgrader autograde + generate_feedback: {sampled} submissions in {autograde:.1f} s + "
          f"{generate_feedback:.1f} s = {theirs * 1e3:.0f} ms per submission")
    print(f"ratio (nbgrader / relu-course, per submission, end to end): {theirs / ours:.1f}x (target at least 20x)")


if __name__ == "__main__":
    main()

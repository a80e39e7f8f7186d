"""``relu-course grade COURSE_DIR``: grade a class laid out as nbgrader's course directory.

Every ``submitted/<student>/<assignment>/*.ipynb`` (or those of ``--assignment``) is graded in
parallel into nbgrader's gradebook (``gradebook.db`` in COURSE_DIR, or ``--db URL``). A grade
is stored with the hashes of the notebook and of the tests: a second run grades only what is
missing or changed (``--force`` grades everything again). The closing summary goes to stdout.
``--cluster ADDRESS`` grades on a Dask cluster instead (``cluster_grading``; only then is Dask
imported); ``--cluster local:N`` starts one of N worker processes here.
"""
from __future__ import annotations

import argparse
import contextlib
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..class_grading import (LocalGrader, add_assignments, default_jobs, grade_class, hidden_tests_hash, to_grade,
                             uses_torch)
from ..class_summary import summary
from ..classroom import find_submissions, gradebook_url
from ..course import Course, CourseNotFound, find_course
from ..engine.faults import WorkerError
from ..engine.limits import SandboxLimits
from ..engine.reference import ReferenceError_
from ..engine.runner import GradingError
from ..gradebook import ClassGradebook, GradebookError, safe_url
from . import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that only grading a class takes (the others are grade's own)."""
    group = parser.add_argument_group("grading a class (one COURSE_DIR with submitted/)")
    group.add_argument("--db", metavar="URL", help="the gradebook, any SQLAlchemy URL "
                                                    "(default: sqlite:///COURSE_DIR/gradebook.db)")
    group.add_argument("--force", action="store_true", help="grade every submission again, changed or not")
    group.add_argument("--cluster", metavar="ADDRESS", type=cluster_address,
                       help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786), or on "
                            "local:N, N Dask worker processes started here (needs the cluster extra)")


def cluster_address(text: str) -> str | int:
    """``--cluster``'s value: a scheduler's address, or the N of ``local:N`` (Dask is not imported)."""
    if text.startswith("local:"):
        count = text[len("local:"):]
        if not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: local:N needs a number of workers N of at least 1")
        return int(count)
    if ":" not in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Dask scheduler address (tcp://host:8786) nor local:N")
    return text


def course_for(class_dir: Path, given: Path | None) -> Course:
    """The course (solutions and hidden tests): ``--course``, else above the class directory,
    else the checkout this package came from."""
    if given is not None:
        return find_course(given)
    try:
        return find_course(class_dir)
    except CourseNotFound:
        return find_course(None)


def run(args: argparse.Namespace, class_dir: Path) -> int:
    if args.json:
        return fail("grade", "--json is for grading notebooks; a class's grades are in its gradebook "
                    "(relu-course export turns them into CSV or Gradescope's format)")
    try:
        course = course_for(class_dir, args.course)
    except CourseNotFound as exc:
        return fail("grade", str(exc))
    assignments = course.assignment_ids()
    if args.assignment is not None and args.assignment not in assignments:
        return fail("grade", f"unknown assignment {args.assignment!r}; this course has {', '.join(assignments) or 'none'}")
    chosen = [args.assignment] if args.assignment else assignments
    if args.cluster is not None and args.jobs is not None:
        return fail("grade", "-j is for grading on this machine; on a cluster its workers grade (local:N starts N of them)")
    jobs = args.jobs if args.jobs is not None else default_jobs()
    limits = SandboxLimits(call_seconds=args.call_timeout, cell_seconds=args.call_timeout,
                           submission_seconds=args.submission_timeout)
    try:
        with ClassGradebook(args.db or gradebook_url(class_dir)) as book:
            found, problems = find_submissions(class_dir, assignments, args.assignment)
            tests = {a: hidden_tests_hash(course, a) for a in chosen}
            add_assignments(book, course, chosen)
            todo = to_grade(found, book.stored_hashes(), tests, args.force)
            with contextlib.ExitStack() as stack:
                if args.cluster is not None and todo:
                    try:
                        from ..cluster_grading import cluster_grader
                    except ImportError as exc:
                        return fail("grade", f"--cluster needs Dask ({exc}): pip install 'relu-course[cluster]'")
                    grader = stack.enter_context(cluster_grader(args.cluster, course, limits, uses_torch(course, chosen),
                                                                protect=(class_dir.resolve(),)))
                else:
                    grader = LocalGrader(course, limits, min(jobs, max(1, len(todo))), uses_torch(course, chosen),
                                         protect=(class_dir.resolve(),))
                report = grade_class(todo, grader, book, tests, jobs=grader.jobs, force=args.force)
            stored = book.graded()
    except (GradebookError, GradingError, WorkerError, ReferenceError_) as exc:
        return fail("grade", str(exc))
    except BrokenProcessPool:
        return fail("grade", "a grading process died (out of memory?); what was graded is kept: run again to go on")
    print(f"class {class_dir}: {len(found)} submissions found; gradebook {safe_url(book.url)}")
    print(summary(found, problems, report, stored, chosen))
    return 0

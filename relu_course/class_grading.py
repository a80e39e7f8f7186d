"""Grading a whole class: what needs grading, grading it in batches, storing grades as they come.

:func:`grade_class` is the one path: it takes the submissions to grade and a :data:`Grader` (a way
to grade batches of them), claims each batch in the gradebook just before the grader gets it,
and stores each batch's grades as soon as they come back, so a run killed at any point loses
only the batches in flight. :class:`LocalGrader` grades on this machine in forked processes,
each with its own warm worker; another grader (a cluster's) can take its place.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import multiprocessing.util
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .classroom import ClassSubmission
from .course import Course
from .engine.client import Worker
from .engine.limits import SandboxLimits
from .engine.results import SubmissionResult
from .engine.runner import (Interrupted, Submission, Suite, exercise_points, grade_submissions, hidden_suite,
                             protected_paths)
from .engine.threads import available_cores, limit_threads, share_of_cores
from .gradebook import ClassGradebook

#: a way to grade: takes batches (pulling the next only when it has room for it) and yields each
#: batch with its records, in the batch's order, as batches finish (in any order)
Grader = Callable[[Iterator[list[Submission]]], Iterator[tuple[list[Submission], list[SubmissionResult]]]]
#: submissions per batch at most: one pytest session each; small enough to lose little when killed
BATCH = 8


def hidden_tests_hash(course: Course, assignment: str) -> str:
    """The hash of what a grade of ``assignment`` depends on besides the notebook: its hidden
    tests and the solution they compare with."""
    digest = hashlib.sha256()
    for path in (course.tests(assignment), course.solution(assignment)):
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def add_assignments(book: ClassGradebook, course: Course, assignments: Iterable[str]) -> None:
    """Each assignment in ``book``: one notebook, a grade cell per exercise with the exercise's points."""
    for assignment in assignments:
        points = {exercise: sum(tests.values()) for exercise, tests in exercise_points(course, assignment).items()}
        book.ensure_assignment(assignment, assignment, points)


def to_grade(found: list[ClassSubmission], stored: dict[tuple[str, str], tuple[str, str]],
             tests: dict[str, str], force: bool = False) -> list[ClassSubmission]:
    """The submissions whose grade is missing, or was made from another notebook or other tests."""
    return [s for s in found if force or stored.get((s.student, s.assignment)) != (s.sha256, tests[s.assignment])]


def batches_of(todo: list[ClassSubmission], jobs: int) -> list[list[ClassSubmission]]:
    """Batches of one assignment each, small enough that every job gets several."""
    size = max(1, min(BATCH, math.ceil(len(todo) / max(1, 2 * jobs))))
    by_assignment: dict[str, list[ClassSubmission]] = {}
    for item in todo:
        by_assignment.setdefault(item.assignment, []).append(item)
    return [group[i:i + size] for group in by_assignment.values() for i in range(0, len(group), size)]


@dataclass
class RunReport:
    """What one run did. ``seconds_waiting``: time spent waiting for the grader; ``seconds_storing``:
    time spent writing the gradebook."""

    graded: list[tuple[ClassSubmission, SubmissionResult]] = field(default_factory=list)
    taken: list[ClassSubmission] = field(default_factory=list)  # being graded by another grader
    ungraded: list[tuple[ClassSubmission, SubmissionResult]] = field(default_factory=list)  # could not be graded
    seconds_waiting: float = 0.0
    seconds_storing: float = 0.0


def _progress(total: int, enabled: bool | None):
    from tqdm import tqdm

    # disable=None: tqdm turns itself off when stderr is not a terminal
    return tqdm(total=total, unit="notebook", file=sys.stderr, disable=None if enabled is None else not enabled,
                dynamic_ncols=True, leave=False)


def grade_class(todo: list[ClassSubmission], grader: Grader, book: ClassGradebook, tests: dict[str, str],
                jobs: int = 1, progress: bool | None = None, force: bool = False) -> RunReport:
    """Grade ``todo`` with ``grader`` into ``book``; ``tests``: assignment -> tests hash.

    Each batch is claimed just before the grader takes it and stored, claims released, as
    soon as its records come back. What another grader holds is skipped, and so is what
    another grader finished meanwhile (unless ``force``).
    """
    report = RunReport()
    if not todo:  # nothing to start a worker for
        return report
    items = {s.key: s for s in todo}

    def claimed_batches() -> Iterator[list[Submission]]:
        for batch in batches_of(todo, jobs):
            got = book.claim(batch)
            mine = got if force else book.unfinished(got, tests)
            report.taken += [s for s in batch if s not in got]
            bar.update(len(batch) - len(mine))
            if mine:
                yield [Submission(s.path, s.assignment, key=s.key) for s in mine]

    with _progress(len(todo), progress) as bar:
        try:
            started = time.perf_counter()
            for batch, results in grader(claimed_batches()):
                stored = time.perf_counter()
                report.seconds_waiting += stored - started
                pairs = [(items[sub.key], result) for sub, result in zip(batch, results)]
                graded = [(item, r) for item, r in pairs if r.graded and r.finished]  # the rest: kept for next time
                book.save(graded, tests)
                report.graded += graded
                report.ungraded += [(item, r) for item, r in pairs if r.graded is False]
                bar.update(len(batch))
                started = time.perf_counter()
                report.seconds_storing += started - stored
        finally:
            book.release_claims()
    return report


# -- grading on this machine -------------------------------------------------------------------
_process: tuple[Worker, Suite, Course] | None = None


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the grader that forked it dies (else it would wait forever)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_process(course: Course, limits: SandboxLimits | None, torch: bool, protect: tuple[Path, ...],
                   threads: int) -> None:
    global _process
    _die_with_parent()
    limit_threads(threads)
    worker = Worker(limits, protected_paths(course) + protect, preload_torch=torch)
    multiprocessing.util.Finalize(worker, worker.close, exitpriority=10)
    _process = (worker, hidden_suite(course), course)


def _grade_in_process(batch: list[Submission]) -> list[SubmissionResult]:
    worker, suite, course = _process
    return grade_submissions(batch, course, worker=worker, suite=suite)


def uses_torch(course: Course, assignments: Iterable[str]) -> bool:
    """Whether any of these assignments' solutions uses torch (then the workers preload it)."""
    return any(b"torch" in course.solution(a).read_bytes() for a in assignments)


@dataclass
class LocalGrader:
    """Grades batches on this machine: in ``jobs`` forked processes, each with a warm worker
    (in this process when ``jobs`` is 1). ``protect``: more paths no submission may read (the
    class directory: the other students' notebooks and the gradebook)."""

    course: Course
    limits: SandboxLimits | None = None
    jobs: int = 1
    torch: bool = False
    protect: tuple[Path, ...] = ()

    def __call__(self, batches: Iterator[list[Submission]]) -> Iterator[tuple[list[Submission], list[SubmissionResult]]]:
        if self.jobs <= 1:
            with Worker(self.limits, protected_paths(self.course) + self.protect, preload_torch=self.torch) as worker:
                suite = hidden_suite(self.course)
                for batch in batches:
                    try:
                        results = grade_submissions(batch, self.course, worker=worker, suite=suite)
                    except Interrupted as stopped:  # keep what was graded to the end, then stop
                        yield batch, stopped.results
                        raise KeyboardInterrupt from None
                    yield batch, results
            return
        with ProcessPoolExecutor(self.jobs, mp_context=get_context("fork"), initializer=_start_process,
                                 initargs=(self.course, self.limits, self.torch, self.protect,
                                           share_of_cores(self.jobs))) as pool:
            pending = {}
            for batch in batches:  # keep every process busy, and one batch waiting for each
                pending[pool.submit(_grade_in_process, batch)] = batch
                if len(pending) >= 2 * self.jobs:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = pending.pop(future)
                    try:
                        results = future.result()
                    except Interrupted:
                        raise KeyboardInterrupt from None
                    yield batch, results
                    following = next(batches, None)
                    if following is not None:
                        pending[pool.submit(_grade_in_process, following)] = following


def default_jobs() -> int:
    """One grading process per core this process may use."""
    return available_cores()

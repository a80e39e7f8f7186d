"""Grading a batch of notebooks: read each, run a suite of tests on it, build the records.

A :class:`Suite` says what a session runs: an assignment's hidden tests, with its reference
solution. Every submission gets a record, whatever it contains: an unreadable notebook gets
zero for each exercise with the reason; the rest of the batch is graded as usual.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import pytest

from .. import notebook
from ..notebook import Cell
from ..course import Course
from .plugin import GradingPlugin, fixtures
from .reference import load_reference
from .client import Worker
from .limits import SandboxLimits
from .results import ExerciseResult, SubmissionResult, TestResult
from .text import clean
from .threads import limit_threads, share_of_cores

#: pytest plugins grading has no use for; each costs time on every test of every submission
NO_PLUGINS = [arg for name in ("cacheprovider", "logging", "warnings", "unraisableexception",
                               "threadexception", "faulthandler", "stepwise", "lsp", "doctest", "terminal",
                               "debugging", "unittest", "legacypath", "tmpdir", "monkeypatch", "recwarn",
                               "pastebin", "junitxml", "setuponly", "setupplan", "subtests", "capture")
              for arg in ("-p", f"no:{name}")]


class GradingError(Exception):
    """Grading itself cannot work (unknown assignment, broken hidden tests, no worker)."""


class Interrupted(Exception):
    """Grading was stopped (SIGINT, SIGTERM) before it finished. ``results`` holds a record for
    every submission: those graded to the end, and the rest marked as not graded."""

    def __init__(self, results: list[SubmissionResult]):
        super().__init__("grading was interrupted")
        self.results = results


#: the reason given to a submission whose grading did not finish
NOT_FINISHED = "not graded: grading was interrupted before this notebook was finished"


@dataclass
class Suite:
    """What a grading session runs.

    ``known``: assignment -> its grade_ids in order, to tell which assignment a notebook is;
    ``skipped``: assignment -> grade_ids of the instructor notebook's test cells, not run;
    ``expected``: assignment -> the order of its other cells, compared with a submission's;
    ``tests``: assignment -> pytest module;
    ``reference``: assignment -> the reference namespace, or None; ``protected``: paths
    no child may read; ``broken``: assignment -> why it cannot be graded (its solution cannot be read).
    """

    known: dict[str, list[str]]
    tests: Callable[[str], Path]
    skipped: dict[str, set[str]] = field(default_factory=dict)
    expected: dict[str, list[str]] = field(default_factory=dict)
    reference: Callable[[str], Any] | None = None
    protected: tuple[Path, ...] = ()
    broken: dict[str, str] = field(default_factory=dict)


def hidden_suite(course: Course) -> Suite:
    """The hidden tests of ``course``, against its solutions. An assignment whose solution
    notebook cannot be read is ``broken``: its submissions are not graded, the others are."""
    sources, broken = {}, {}
    for a in course.assignment_ids():
        try:
            sources[a] = notebook.read(course.solution(a))
        except notebook.NotebookError as exc:
            broken[a] = f"cannot be graded: the solution notebook is broken ({clean(exc, 300)})"
    skipped = {a: notebook.test_cell_ids(nb) for a, nb in sources.items()}
    return Suite(known={a: notebook.grade_ids(sources[a]) if a in sources else [] for a in course.assignment_ids()},
                 tests=course.tests, skipped=skipped,
                 expected={a: [g for g in notebook.grade_ids(nb) if g not in skipped[a]] for a, nb in sources.items()},
                 reference=lambda a: load_reference(course.solution(a)), protected=protected_paths(course),
                 broken=broken)


def protected_paths(course: Course) -> tuple[Path, ...]:
    """What a submission must never read: the solutions, the hidden tests, the gradebook."""
    return course.solutions, course.autograder, course.root / "gradebook.db"


@dataclass
class Submission:
    """A notebook to grade. ``assignment`` overrides what the notebook says it is."""

    path: Path
    assignment: str | None = None
    key: str = ""

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.key = self.key or str(self.path)


@dataclass
class _Prepared:
    submission: Submission
    assignment: str | None
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def _prepare(sub: Submission, suite: Suite) -> _Prepared:
    """Read and identify one submission; whatever goes wrong becomes its error, never an exception."""
    try:
        return _read_submission(sub, suite)
    except Exception as exc:  # noqa: BLE001 - the barrier: one notebook never costs the batch
        return _Prepared(sub, sub.assignment, error=f"{sub.path} could not be read: {type(exc).__name__}: "
                                                    f"{clean(exc, 200)}")


def _read_submission(sub: Submission, suite: Suite) -> _Prepared:
    known = suite.known
    if sub.assignment is not None and sub.assignment not in known:
        return _Prepared(sub, None, error=f"unknown assignment {clean(sub.assignment, 100)!r}; "
                                         f"this course has {', '.join(known) or 'none'}")
    try:
        nb = notebook.read(sub.path)
    except notebook.NotebookError as exc:
        if sub.assignment is None:
            return _Prepared(sub, None, error=f"{clean(exc, 500)}; pass --assignment to record a zero grade for it")
        return _Prepared(sub, sub.assignment, error=clean(exc, 500))
    assignment = sub.assignment or notebook.identify(nb, {a: set(ids) for a, ids in known.items()})
    if assignment is None:
        recorded = notebook.assignment_of(nb)
        why = f"it says it is {clean(recorded, 100)!r}, which this course does not have" if recorded else \
            "it has no assignment id in its metadata and its cells match no assignment"
        return _Prepared(sub, None, error=f"cannot tell which assignment {sub.path} is: {why}")
    if assignment in suite.broken:
        return _Prepared(sub, assignment, error=suite.broken[assignment])
    cells = notebook.code_cells(nb, skip=suite.skipped.get(assignment, set()))
    notes = notebook.order_notes(nb, suite.expected[assignment]) if assignment in suite.expected else []
    if not cells:
        notes.append("the notebook has no code cells")
    return _Prepared(sub, assignment, cells, [clean(n, 500) for n in notes])


def _session(suite: Suite, assignment: str, batch: dict[str, list[Cell]], worker: Worker | None,
             collect_only: bool = False) -> GradingPlugin:
    """Run one pytest session of the assignment's tests over ``batch``."""
    tests = suite.tests(assignment)
    if not tests.is_file():
        raise GradingError(f"no tests for {assignment}: {tests} is missing")
    reference = (lambda: suite.reference(assignment)) if suite.reference else None
    plugin = GradingPlugin(worker, batch, reference)
    with tempfile.TemporaryDirectory(prefix="relu-course-pytest-") as tmp:
        ini = Path(tmp, "pytest.ini")
        ini.write_text("[pytest]\n")
        args = [str(tests), "-c", str(ini), "--rootdir", str(tests.parent), "--import-mode=importlib",
                "--disable-plugin-autoload", *NO_PLUGINS]
        if collect_only or not batch:
            args.append("--collect-only")
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = pytest.main(args, plugins=[plugin, fixtures(plugin)])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:  # else every submission would be "graded" 0 of 0
        plugin.collect_errors.append("it has no tests")
    if plugin.collect_errors or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        detail = ("; ".join(plugin.collect_errors) or "".join(out.getvalue().strip().splitlines()[-1:])
                  or f"pytest stopped with {code.name}")
        raise GradingError(f"the tests {tests.name} could not run: {detail}")
    if code == pytest.ExitCode.INTERRUPTED:  # collection errors aside, only SIGINT stops a session
        raise _SessionInterrupted(plugin)
    return plugin


class _SessionInterrupted(Exception):
    def __init__(self, plugin: GradingPlugin):
        super().__init__("interrupted")
        self.plugin = plugin


def exercise_points(course: Course, assignment: str) -> dict[str, dict[str, float]]:
    """{exercise: {test function: points}}, in the order the hidden tests declare them."""
    plugin = _session(hidden_suite(course), assignment, {}, None, collect_only=True)
    points: dict[str, dict[str, float]] = {}
    for (exercise, test), value in plugin.tests.items():
        points.setdefault(exercise, {})[test] = value
    return points


def _records(plugin: GradingPlugin, key: str, fallback: str, order: list[str]) -> list[ExerciseResult]:
    """Exercise records of one submission, in the notebook's order of grade cells."""
    graded = {e for e, _ in plugin.tests}
    by_exercise: dict[str, list[TestResult]] = {name: [] for name in order if name in graded}
    for (exercise, test), points in plugin.tests.items():
        outcome = plugin.outcomes.get(key, {}).get((exercise, test)) or \
            TestResult(test, exercise, points, 0.0, "not run", fallback)
        by_exercise.setdefault(exercise, []).append(outcome)
    return [ExerciseResult.from_tests(name, tests) for name, tests in by_exercise.items()]


def grade_submissions(submissions: list[Submission], course: Course | None, limits: SandboxLimits | None = None,
                      jobs: int = 1, worker: Worker | None = None, suite: Suite | None = None) -> list[SubmissionResult]:
    """Grade every submission with ``suite`` (default: the course's hidden tests).

    The records come back in the order given, one per submission whatever it holds. ``jobs``
    > 1 grades in that many forked processes, each with its own worker; otherwise ``worker``
    (a warm one to reuse, whose limits then apply) or a new one is used. Raises Interrupted
    (with every record) when SIGINT stops grading.
    """
    global _forked
    suite = suite or hidden_suite(course)
    if jobs > 1 and len(submissions) > 1:
        # the forked processes inherit the batch (a suite holds functions, which do not pickle);
        # only their records come back
        _forked = ([submissions[i::jobs] for i in range(jobs)], suite, limits)
        interrupted = False
        try:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork"), initializer=_start_forked,
                                     initargs=(share_of_cores(jobs),)) as pool:
                futures = [pool.submit(_grade_forked_chunk, i) for i in range(jobs)]
                try:
                    parts = [f.result() for f in futures]
                except KeyboardInterrupt:
                    parts, interrupted = _gather_after_interrupt(pool, futures), True
        finally:
            _forked = None
        by_key = {r.key: r.result for part in parts for r in part}
        results = [by_key.get(s.key) or _not_finished(s) for s in submissions]
        if interrupted or any(not r.finished for r in results):  # stopped, even where all had finished meanwhile
            raise Interrupted(results)
        return results
    keyed = _grade_chunk(submissions, suite, limits, worker)
    results = [r.result for r in keyed]
    if any(not r.finished for r in results):
        raise Interrupted(results)
    return results


def _gather_after_interrupt(pool: ProcessPoolExecutor, futures: list) -> list[list["_Keyed"]]:
    """After SIGINT in the parent: interrupt each grading process (a SIGTERM sent to the parent
    alone reached none of them) and keep what each finished."""
    import os
    import signal

    for process in list(getattr(pool, "_processes", {}).values()):
        try:
            os.kill(process.pid, signal.SIGINT)
        except OSError:
            pass
    parts = []
    for future in futures:
        try:
            parts.append(future.result(timeout=60))
        except Exception:  # noqa: BLE001 - a process that did not answer: its records are not finished
            continue
    return parts


def _not_finished(sub: Submission) -> SubmissionResult:
    return SubmissionResult(str(sub.path), sub.assignment, error=NOT_FINISHED, graded=False, finished=False)


_forked: tuple | None = None


def _start_forked(threads: int) -> None:
    """A grading process uses its share of the cores, and heeds SIGINT only while it grades (an
    idle one would print a traceback)."""
    import signal

    limit_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _grade_forked_chunk(index: int) -> list["_Keyed"]:
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        chunks, suite, limits = _forked
        return _grade_chunk(chunks[index], suite, limits)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class _Keyed:
    key: str
    result: SubmissionResult


def _grade_chunk(submissions: list[Submission], suite: Suite, limits: SandboxLimits | None,
                 worker: Worker | None = None) -> list[_Keyed]:
    """Grade one batch in this process. Never raises for a submission's sake; on SIGINT every
    submission not graded to the end gets a record that says so (``finished`` False)."""
    prepared = [_prepare(s, suite) for s in submissions]
    results: dict[str, SubmissionResult] = {}
    by_assignment: dict[str, list[_Prepared]] = {}
    for p in prepared:
        if p.assignment is None or p.assignment in suite.broken:
            results[p.submission.key] = SubmissionResult(str(p.submission.path), p.assignment, error=p.error,
                                                         graded=False)
        else:
            by_assignment.setdefault(p.assignment, []).append(p)
    try:
        if by_assignment:
            with contextlib.ExitStack() as stack:
                if worker is None:
                    # the worker pays torch's import once for all, but only when a notebook uses it
                    torch = any("torch" in c.source for p in prepared for c in p.cells)
                    worker = stack.enter_context(Worker(limits, suite.protected, preload_torch=torch))
                for assignment, group in by_assignment.items():
                    graded, stopped = _grade_group(suite, assignment, group, worker)
                    results.update(graded)
                    if stopped:
                        break
    except KeyboardInterrupt:
        pass  # what was graded to the end stays; the rest is marked below
    return [_Keyed(s.key, results.get(s.key) or _not_finished(s)) for s in submissions]


def _grade_group(suite: Suite, assignment: str, group: list[_Prepared],
                 worker: Worker) -> tuple[dict[str, SubmissionResult], bool]:
    """The records of one assignment's submissions, graded in one pytest session, and whether
    the session was interrupted (then only the submissions it finished have records)."""
    if suite.reference is not None:
        try:
            suite.reference(assignment)  # loaded (and cached) before any test needs it
        except Exception as exc:  # noqa: BLE001 - a broken solution costs its assignment only
            reason = f"cannot be graded: {clean(exc, 300)}"
            return {p.submission.key: SubmissionResult(str(p.submission.path), assignment, error=reason, graded=False)
                    for p in group}, False
    runnable = {p.submission.key: p.cells for p in group if p.error is None}
    try:
        plugin, stopped = _session(suite, assignment, runnable, worker), False
        done = {p.submission.key for p in group}
    except _SessionInterrupted as interrupted:
        plugin, stopped = interrupted.plugin, True
        done = {key for key in runnable if plugin.finished(key)} | {p.submission.key for p in group if p.error}
    order = suite.known[assignment]
    results = {}
    for p in group:
        key = p.submission.key
        if key not in done:
            continue
        sandbox = plugin.sandboxes.get(key)
        results[key] = SubmissionResult(
            str(p.submission.path), assignment, _records(plugin, key, p.error or "not run", order),
            p.notes + (sandbox.notes() if sandbox else []), p.error,
            sandbox.fences if sandbox else [], round(plugin.seconds.get(key, 0.0), 4))
    return results, stopped

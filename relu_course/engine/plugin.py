"""The pytest plugin that runs an assignment's hidden tests against a batch of submissions.

One pytest session grades many notebooks: the ``student`` fixture is parametrized over
the batch at session scope, so pytest runs every test for one submission, tears its
sandbox down, then moves to the next. Outcomes are recorded per (submission, test
function); a test function earns its points only if all its cases pass.
"""
from __future__ import annotations

import time
import types

import pytest

from ..notebook import Cell
from ..testing import MARK, CheckFailed
from . import curves
from .client import Worker
from .faults import SubmissionFault
from .proxy import Student
from .results import TestResult
from .sandbox import Sandbox
from .text import clean

#: how long a test's reason may be in a record
REASON_CHARS = 500


#: an item's (exercise, unit), worked out once at collection
TEST_KEY = pytest.StashKey[tuple[str, str]]()


class GradingPlugin:
    """Holds the batch, hands fixtures to the tests and records their outcomes."""

    def __init__(self, worker: Worker | None, batch: dict[str, list[Cell]], reference_loader=None):
        self.worker = worker
        self.batch = batch
        self.reference_loader = reference_loader
        self.sandboxes: dict[str, Sandbox] = {}
        self.tests: dict[tuple[str, str], float] = {}  # (exercise, test function) -> points
        self.outcomes: dict[str, dict[tuple[str, str], TestResult]] = {key: {} for key in batch}
        self.collect_errors: list[str] = []
        self.seconds: dict[str, float] = {}  # wall time from sandbox set-up to tear-down
        self.curve_requests: dict[str, dict[tuple[str, str], dict]] = {}  # key -> test -> what to draw
        self.items: dict[str, int] = {key: 0 for key in batch}  # test items per submission...
        self.done: dict[str, int] = {key: 0 for key in batch}   # ...and those run to the end
        self.collected = False  # whether collection ran to the end (else ``items`` counts nothing yet)

    def finished(self, key: str) -> bool:
        """Whether every test of the submission ran to the end (False after an interruption, also
        one that came before its tests were all collected)."""
        return self.collected and self.done.get(key, 0) == self.items.get(key, -1)

    # -- session set-up ----------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", f"{MARK}(name, points): the exercise a hidden test grades")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "submission_key" in metafunc.fixturenames:
            keys = list(self.batch)
            metafunc.parametrize("submission_key", keys, ids=[f"s{i}" for i in range(len(keys))], scope="session")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            key = getattr(item, "callspec", None) and item.callspec.params.get("submission_key")
            if key in self.items:
                self.items[key] += 1
            mark = item.get_closest_marker(MARK)
            if mark is None:
                self.collect_errors.append(f"{item.nodeid} has no @exercise mark")
                continue
            key = item.stash[TEST_KEY] = test_key(item)
            self.tests.setdefault(key, float(mark.kwargs["points"]))
        self.collected = True

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr).strip().splitlines()[-1])

    # -- outcomes ------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Record the outcome; for a verdict on the submission, make the report cheaply.

        pytest's own report renders a full traceback (tens of milliseconds) that grading
        never shows; failures of the grader itself still get it (returning None).
        """
        key = getattr(item, "callspec", None) and item.callspec.params.get("submission_key")
        if call.when == "teardown" and key in self.done:
            self.done[key] += 1
        test = item.stash.get(TEST_KEY, None)
        if key is None or test not in self.tests:
            return None
        excinfo = call.excinfo
        if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
            return None
        points = self.tests[test]
        record = self.outcomes[key].setdefault(test, TestResult(test[1], test[0], points, points, "passed"))
        if excinfo is None:
            return pytest.TestReport(item.nodeid, item.location, {}, "passed", None, call.when, [], call.duration,
                              call.start, call.stop)
        status, message = explain(excinfo)
        if record.status == "passed":
            record.points, record.status, record.message = 0.0, status, message
            if isinstance(excinfo.value, CheckFailed):
                record.details = dict(excinfo.value.details)
                wanted = self.curve_requests.setdefault(key, {})
                if excinfo.value.curve and self.reference_loader and not any(t[0] == test[0] for t in wanted):
                    wanted[test] = excinfo.value.curve  # one curve per exercise: its first failure
        if status == "error" and not isinstance(excinfo.value, SubmissionFault):
            return None
        return pytest.TestReport(item.nodeid, item.location, {}, "failed", message, call.when, [], call.duration,
                          call.start, call.stop)


def fixtures(batch: GradingPlugin) -> types.ModuleType:
    """The fixtures of one grading session, as a plugin module to register beside ``batch``.

    They reach the batch through their closure rather than through ``request``: pytest
    resolves a fixture's arguments again for every test, and ``request`` is the costly one.
    """
    module = types.ModuleType("relu_course_grading_fixtures")

    @pytest.fixture(scope="session")
    def reference():
        """The solution notebook's namespace, run in this (trusted) process."""
        if batch.reference_loader is None:
            raise RuntimeError("this session has no reference solution")
        return batch.reference_loader()

    @pytest.fixture(scope="session")
    def sandbox(submission_key: str):
        """The submission's fenced child process, for every test of that submission."""
        started = time.perf_counter()
        box = Sandbox(batch.worker, batch.batch[submission_key])
        batch.sandboxes[submission_key] = box
        yield box
        draw_curves(batch, submission_key, box)
        box.close()
        batch.seconds[submission_key] = time.perf_counter() - started

    @pytest.fixture(scope="session")
    def student(sandbox: Sandbox) -> Student:
        """The submission, reached through the data-only proxy."""
        return Student(sandbox)

    module.reference, module.sandbox, module.student = reference, sandbox, student
    return module


def draw_curves(batch: GradingPlugin, key: str, box: Sandbox) -> None:
    """Fulfil the submission's curve requests, after all its tests: a verdict never depends on them.

    Whatever goes wrong here costs a curve, never a grade.
    """
    requests = batch.curve_requests.pop(key, {})
    if not requests:
        return
    student = Student(box)
    for test, request in requests.items():
        try:
            batch.outcomes[key][test].curve = curves.draw(request, student, batch.reference_loader())
        except Exception:  # noqa: BLE001 - see the docstring
            continue


def test_key(item: pytest.Item) -> tuple[str, str]:
    """(exercise, unit): what carries points; all its cases must pass.

    The unit is the test function, unless the mark names a smaller one.
    """
    mark = item.get_closest_marker(MARK)
    if mark is None:
        return "", item.name
    return mark.args[0], mark.kwargs.get("unit") or getattr(item, "originalname", item.name)


def explain(excinfo: pytest.ExceptionInfo | None) -> tuple[str, str]:
    """(status, one-line reason) for a failed test; the reason is safe to show anywhere."""
    if excinfo is None:
        return "error", "the test failed for an unknown reason"
    exc = excinfo.value
    if isinstance(exc, SubmissionFault):
        return exc.status, clean(exc.summary, REASON_CHARS)
    if isinstance(exc, AssertionError):
        text = str(exc).strip()
        return "failed", clean(text.splitlines()[0], REASON_CHARS) if text else "a check failed"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return "error", clean(f"the grader failed: {type(exc).__name__}: {first}", REASON_CHARS)

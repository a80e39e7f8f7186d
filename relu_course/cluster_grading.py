"""Grading a class on a Dask cluster: a :data:`~relu_course.class_grading.Grader` in place of the local one.

Each Dask worker hosts one warm grading worker of ours, started by :class:`GradingPlugin` (a
``distributed.WorkerPlugin``: setup starts it, teardown closes it), so every submission still
costs one fork. The plugin carries the course's solutions and hidden tests (their bytes) and
writes them into the Dask worker's own scratch directory, so a worker on another host needs only
this package installed, not the course. A task carries a batch of notebooks as bytes and returns
their records as plain dicts (:meth:`SubmissionResult.to_dict`); student code runs only in the
sandboxed children of the grading worker, behind the same data-only protocol as on one machine.

The client alone writes the gradebook (``class_grading.grade_class`` does, as records come
back). A task lost with its worker is run again by Dask on another; its records come back once.

Importing this module imports ``distributed`` (the ``cluster`` extra): grading on one machine
never imports it.
"""
from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
import uuid
from concurrent.futures import CancelledError
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import dask.config
from dask.utils import parse_timedelta
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker

from . import notebook
from .course import Course
from .engine.client import Worker
from .engine.faults import WorkerError
from .engine.limits import SandboxLimits
from .engine.results import SubmissionResult
from .engine.runner import Submission, Suite, grade_submissions, hidden_suite, protected_paths
from .engine.threads import limit_threads

#: the names of this package's worker plugins and of its tasks begin so (then a unique id)
PLUGIN_PREFIX = "relu-course-grader-"
TASK_PREFIX = "relu-course-grade-"
#: the name every notebook has on a Dask worker (the record names it by the client's path)
NOTEBOOK_NAME = "notebook.ipynb"

#: a notebook as a task carries it: (key, assignment, the client's path, its first bytes or None
#: when it could not be read, its size)
Item = tuple[str, "str | None", str, "bytes | None", int]


class ClusterError(WorkerError):
    """The cluster cannot grade (no scheduler, no workers, a batch that keeps killing workers)."""


# -- the course, carried to the workers -------------------------------------------------------
@dataclass(frozen=True)
class CourseFiles:
    """What grading reads of a course (the solution notebooks, the hidden tests), as bytes by path."""

    files: dict[str, bytes]

    @classmethod
    def of(cls, course: Course) -> "CourseFiles":
        found = {}
        for folder in (course.solutions, course.autograder):
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    found[str(path.relative_to(course.root))] = path.read_bytes()
        return cls(found)

    def write(self, root: Path) -> Course:
        for name, data in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return Course(root)


# -- on a Dask worker ---------------------------------------------------------------------------
class GradingPlugin(WorkerPlugin):
    """Starts a warm grading worker on each Dask worker (setup) and closes it (teardown).

    Grading runs one batch at a time per Dask worker (a pytest session owns its process's
    stdout), whatever the worker's number of threads.
    """

    def __init__(self, course: CourseFiles, limits: SandboxLimits | None, torch: bool,
                 protect: tuple[str, ...] = ()):
        self.course_files = course
        self.limits = limits
        self.torch = torch
        self.protect = protect  # the client's paths no submission may read, where this host has them

    async def setup(self, worker) -> None:
        self.lock = threading.Lock()
        self.failed: str | None = None
        self.grading: _Grading | None = None
        # starting a grading worker takes seconds: not on the worker's event loop
        await asyncio.get_running_loop().run_in_executor(None, self._start, Path(worker.local_directory),
                                                         worker.state.nthreads)

    def _start(self, scratch: Path, threads: int) -> None:
        limit_threads(threads)  # Dask's own measure of the cores a worker may use (its nanny sets 1)
        undo_malloc_trimming()
        root = Path(tempfile.mkdtemp(prefix="relu-course-", dir=scratch))  # Dask purges it if the worker dies
        try:
            course = self.course_files.write(root)
            protected = protected_paths(course) + (scratch, *map(Path, self.protect))
            worker = Worker(self.limits, protected, preload_torch=self.torch)
        except Exception as exc:  # noqa: BLE001 - said by every task this worker is given
            shutil.rmtree(root, ignore_errors=True)
            self.failed = f"{type(exc).__name__}: {exc}"
            raise
        self.grading = _Grading(worker, hidden_suite(course), course, root)

    async def teardown(self, worker) -> None:
        # after the batch in hand, if any (a thread cannot be stopped), and not on the event loop
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def _close(self) -> None:
        with self.lock:
            if self.grading is not None:
                grading, self.grading = self.grading, None
                grading.worker.close()
                shutil.rmtree(grading.root, ignore_errors=True)

    def grade(self, items: list[Item]) -> list[dict]:
        """The records of a batch, as plain dicts, each naming its notebook by the client's path."""
        with self.lock:
            grading = self.grading
            if grading is None:
                raise ClusterError(f"the grading worker of this Dask worker did not start: {self.failed or 'closed'}")
            with tempfile.TemporaryDirectory(prefix="batch-", dir=grading.root) as folder:
                batch = []
                for index, (key, assignment, _, data, size) in enumerate(items):
                    path = Path(folder, str(index), NOTEBOOK_NAME)
                    path.parent.mkdir()
                    if data is not None:
                        with open(path, "wb") as handle:
                            handle.write(data)
                            handle.truncate(size)  # a notebook cut at the limit keeps its size (sparse)
                    batch.append(Submission(path, assignment, key=key))
                results = grade_submissions(batch, grading.course, worker=grading.worker, suite=grading.suite)
            return [_as_client_names(r, str(sub.path), item[2]) for r, sub, item in zip(results, batch, items)]


#: glibc's mallopt parameters, and the largest thresholds its own dynamic setting reaches (64-bit)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 << 20


def undo_malloc_trimming() -> bool:
    """Give this process back glibc's thresholds where Dask's nanny lowered them.

    The nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (so that a worker holding
    data returns freed memory to the system), which also fixes glibc's mmap threshold at 128 KiB:
    every array of a grading session above that is then mapped and unmapped, page faults
    and all. Measured on 90 submissions, a Dask worker spent 10.9-12.9 CPU s grading them so,
    8.5-9.7 s without it (as a plain process, 8.2 s). A grading worker holds no data: the
    thresholds glibc itself grows to serve it. True where they were set.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
                    and libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_MAX))
    except (OSError, AttributeError):  # not glibc
        return False


@dataclass
class _Grading:
    """What a Dask worker grades with: its grading worker, the hidden tests, the course's copy (at ``root``)."""

    worker: Worker
    suite: Suite
    course: Course
    root: Path


def _as_client_names(result: SubmissionResult, here: str, there: str) -> dict:
    """The record, with this worker's path of the notebook replaced by the client's wherever it is named."""
    text = json.dumps(result.to_dict())
    return json.loads(text.replace(json.dumps(here)[1:-1], json.dumps(there)[1:-1]))


def grade_on_worker(plugin: str, items: list[Item]) -> list[dict]:
    """The task: grade ``items`` with this Dask worker's grading worker (plugin ``plugin``)."""
    return get_worker().plugins[plugin].grade(items)


# -- on the client ------------------------------------------------------------------------------
def _item(sub: Submission) -> Item:
    """The notebook as a task carries it: never more than a notebook may be (``notebook.MAX_BYTES``)
    and its size, so that the worker's reader refuses an oversized one as the local reader does;
    None when it cannot be read without blocking (then it is missing there, and graded so)."""
    try:
        fd = os.open(sub.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return sub.key, sub.assignment, str(sub.path), None, 0
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return sub.key, sub.assignment, str(sub.path), None, 0
        data = handle.read(notebook.MAX_BYTES + 1)
    return sub.key, sub.assignment, str(sub.path), data, max(info.st_size, len(data))


@dataclass
class ClusterGrader:
    """Grades batches on the cluster ``client`` is connected to, each on a Dask worker's grading
    worker (plugin ``plugin``); keeps two batches per worker submitted. ``jobs``: the workers."""

    client: Client
    plugin: str
    jobs: int

    def __call__(self, batches: Iterator[list[Submission]]) -> Iterator[tuple[list[Submission], list[SubmissionResult]]]:
        pending: dict = {}
        finished = as_completed()

        def submit(batch: list[Submission]) -> None:
            future = self.client.submit(grade_on_worker, self.plugin, [_item(s) for s in batch],
                                        key=f"{TASK_PREFIX}{uuid.uuid4().hex}")
            pending[future] = batch
            finished.add(future)

        try:
            for batch in batches:
                submit(batch)
                if len(pending) >= 2 * self.jobs:
                    break
            for future in finished:
                batch = pending.pop(future)
                try:
                    records = future.result()
                except KilledWorker as exc:  # Dask ran it again after each lost worker, up to its limit
                    raise ClusterError(f"every one of the {exc.allowed_failures + 1} Dask workers that took a batch died "
                                       "grading it; what was graded is kept: run again to go on") from None
                except CancelledError:
                    raise ClusterError("the cluster dropped a batch (did the scheduler stop?); what was graded is "
                                       "kept: run again to go on") from None
                yield batch, [SubmissionResult.from_dict(r) for r in records]
                following = next(batches, None)
                if following is not None:
                    submit(following)
        finally:
            if pending:
                self.client.cancel(list(pending))


#: Dask's settings for a LocalCluster started here, in place of its defaults (which suit workers
#: that hold data and run many small tasks): a grading worker holds no data and runs one long
#: task at a time in a thread of its own, which Dask's profiler would sample every 10 ms. Idle, a
#: LocalCluster of 2 spent 13.8% of a core with Dask's defaults (5.9% in the client, which holds
#: the scheduler and nannies, and 3.9% per worker), 1.7% with these.
QUIET_WORKERS = {
    "distributed.admin.tick.interval": "1s",  # event-loop health checks of every server (default 20 ms)
    "distributed.worker.memory.monitor-interval": "1s",  # nanny and worker memory polls (100 ms)
    "distributed.admin.system-monitor.interval": "5s",  # CPU, memory and network figures (500 ms)
    "distributed.worker.profile.enabled": False,  # the statistical profiler of the worker's threads
}


@contextmanager
def cluster_grader(cluster: str | int, course: Course, limits: SandboxLimits | None = None, torch: bool = False,
                   protect: tuple[Path, ...] = ()) -> Iterator[ClusterGrader]:
    """A :class:`ClusterGrader` on the scheduler at ``cluster`` (an address), or on a LocalCluster of
    ``cluster`` worker processes started here (and stopped after). Its grading workers are started
    before it is given, and closed after (the plugin is unregistered)."""
    with ExitStack() as stack:
        if isinstance(cluster, int):
            stack.enter_context(dask.config.set(QUIET_WORKERS))  # the nannies hand it to their workers
            local = LocalCluster(n_workers=cluster, threads_per_worker=1, processes=True, dashboard_address=None,
                                 silence_logs=logging.ERROR)
            stack.enter_context(local)
            client = stack.enter_context(Client(local))
            client.wait_for_workers(cluster)
        else:
            # how long to wait: Dask's own setting (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT, default 30s)
            seconds = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
            try:
                client = stack.enter_context(Client(cluster, timeout=seconds))
            except (OSError, ValueError) as exc:
                raise ClusterError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None
            try:
                client.wait_for_workers(1, timeout=seconds)
            except TimeoutError:
                raise ClusterError(f"no Dask worker joined the scheduler at {cluster} within {seconds:g} s "
                                   f"(start some: dask worker {cluster} --nthreads 1)") from None
        name = f"{PLUGIN_PREFIX}{uuid.uuid4().hex}"
        plugin = GradingPlugin(CourseFiles.of(course), limits, torch, tuple(str(p) for p in protect))
        try:
            client.register_plugin(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - whatever stopped a worker's setup, said in one line
            raise ClusterError(f"the Dask workers could not start a grading worker ({type(exc).__name__}: {exc}); "
                               "each needs relu-course installed") from None
        stack.callback(_unregister, client, name)
        yield ClusterGrader(client, name, len(client.scheduler_info()["workers"]))


def _unregister(client: Client, name: str) -> None:
    """Close the grading workers (the plugin's teardown); where the scheduler is gone, the workers'
    own shutdown does."""
    try:
        client.unregister_worker_plugin(name)
    except OSError:
        pass

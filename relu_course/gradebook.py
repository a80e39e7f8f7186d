"""The class's grades in nbgrader's own gradebook, with what each grade was made from.

Grades go through nbgrader's :class:`nbgrader.api.Gradebook` (any SQLAlchemy URL): one
assignment per course assignment, one notebook, one grade cell per graded exercise, so
``nbgrader export`` and the formgrader show them. Beside nbgrader's tables, two of ours:

- ``relu_course_grade``: per student and assignment, the hashes of the notebook and of the
  tests the grade was made from, the full record (JSON) for exports and feedback, and how many
  times it was graded (``revision``). It is written in the same transaction as the grades, so
  a grade and its record are never out of step.
- ``relu_course_claim``: a submission being graded, and by whom. A grader claims what it is
  about to grade; another grader skips it. A claim whose grader died is taken over.
"""
from __future__ import annotations

import json
import logging
import os
import random
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import DateTime, Float, Integer, String, Text, create_engine, delete, select, tuple_, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .classroom import ClassSubmission
from .engine.results import SubmissionResult

if TYPE_CHECKING:  # importing nbgrader takes seconds: only where a gradebook is opened
    from nbgrader.api import SubmittedAssignment

#: a claim older than this is taken over even when its grader's liveness cannot be checked
CLAIM_HOURS = 6
#: seconds SQLite waits for another grader's write to finish
SQLITE_TIMEOUT = 60


class GradebookError(Exception):
    """The gradebook cannot be used; the message is one line."""


class Base(DeclarativeBase):
    pass


class StoredGrade(Base):
    """What one grade was made from, and its full record."""

    __tablename__ = "relu_course_grade"
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assignment: Mapped[str] = mapped_column(String(128), primary_key=True)
    notebook_sha256: Mapped[str] = mapped_column(String(64))
    tests_sha256: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    record: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    graded_at: Mapped[datetime] = mapped_column(DateTime)


class Claim(Base):
    """A submission some grader is grading now."""

    __tablename__ = "relu_course_claim"
    student_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    assignment: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class Graded:
    """A stored grade: who, which assignment, and the record."""

    student: str
    assignment: str
    result: SubmissionResult
    revision: int


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc), or None if it is not running."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def this_grader() -> str:
    """An id for this process that stays unique after it dies: host, pid and start time."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def _is_stale(claim: Claim) -> bool:
    """Whether the claim's grader is gone: dead on this host, or silent for CLAIM_HOURS."""
    host, _, rest = claim.owner.partition(":")
    pid, _, started = rest.partition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _process_start(int(pid)) != started
    return _now() - claim.claimed_at > timedelta(hours=CLAIM_HOURS)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


def _connect_url(url: str) -> str:
    """The URL as this grader connects: SQLite waits for the other grader's writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"timeout": str(SQLITE_TIMEOUT)})
    return parsed.render_as_string(hide_password=False)


def check_reachable(url: str) -> None:
    """Raise :class:`GradebookError` (one line) unless the database at ``url`` answers."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise GradebookError(f"{url!r} is not a database URL (e.g. sqlite:///gradebook.db, "
                             "postgresql://user@host/db)") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).parent.is_dir():
            raise GradebookError(f"cannot open the gradebook {safe_url(url)}: "
                                 f"the folder {Path(database).parent} does not exist")
    try:
        engine = create_engine(_connect_url(url))
    except (ArgumentError, ModuleNotFoundError, ImportError) as exc:
        raise GradebookError(f"cannot open the gradebook {safe_url(url)}: {_first_line(exc)}") from None
    try:
        with engine.connect():
            pass
    except (SQLAlchemyError, OSError) as exc:
        raise GradebookError(f"cannot reach the gradebook {safe_url(url)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _prepare_nbgrader() -> None:
    """nbgrader logs a traceback for every rolled-back write (a race between graders is expected),
    and runs the ``alembic`` command to stamp a new gradebook: it must be found beside this Python."""
    log = logging.getLogger("tornado.application")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    log.propagate = False
    here = os.path.dirname(sys.executable)
    if shutil.which("alembic") is None and os.path.exists(os.path.join(here, "alembic")):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def open_nbgrader(url: str):
    """nbgrader's Gradebook at ``url``, created if new. Two graders creating it at once race to make
    its tables; the loser tries again."""
    from nbgrader.api import Gradebook, InvalidEntry

    check_reachable(url)
    _prepare_nbgrader()
    for attempt in range(8):
        try:
            return Gradebook(_connect_url(url))
        except (OperationalError, IntegrityError, InvalidEntry, DBAPIError) as exc:
            if attempt == 7:
                raise GradebookError(f"cannot open the gradebook {safe_url(url)}: {_first_line(exc)}") from None
            time.sleep(random.uniform(0.05, 0.3))


def _graded(db, assignment: str | None) -> list[Graded]:
    query = select(StoredGrade).order_by(StoredGrade.student_id, StoredGrade.assignment)
    if assignment is not None:
        query = query.where(StoredGrade.assignment == assignment)
    return [Graded(r.student_id, r.assignment, SubmissionResult.from_dict(json.loads(r.record)), r.revision)
            for r in db.execute(query).scalars().all()]


def read_graded(url: str, assignment: str | None = None) -> list[Graded]:
    """The stored grades (of one assignment), read without nbgrader (whose import takes seconds)."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    check_reachable(url)
    engine = create_engine(_connect_url(url))
    try:
        if not inspect(engine).has_table(StoredGrade.__tablename__):
            return []
        with Session(engine) as db:
            return _graded(db, assignment)
    except SQLAlchemyError as exc:
        raise GradebookError(f"cannot read the gradebook {safe_url(url)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _of(table, items: list[ClassSubmission]):
    """The condition that a row of ``table`` (ours: grades or claims) is one of ``items``' (student, assignment)."""
    return tuple_(table.student_id, table.assignment).in_([(i.student, i.assignment) for i in items])


class ClassGradebook:
    """nbgrader's gradebook plus the records and claims of this package (see the module's doc)."""

    def __init__(self, url: str):
        self.url = url
        self.nbgrader = open_nbgrader(url)
        self.db = self.nbgrader.db
        self.owner = this_grader()
        for attempt in range(8):
            try:
                Base.metadata.create_all(self.nbgrader.engine)
                break
            except (OperationalError, IntegrityError, DBAPIError) as exc:
                if attempt == 7:
                    raise GradebookError(f"cannot create tables in {safe_url(url)}: {_first_line(exc)}") from None
                time.sleep(random.uniform(0.05, 0.3))

    def close(self) -> None:
        try:
            self.release_claims()
        finally:
            self.nbgrader.close()

    def __enter__(self) -> "ClassGradebook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the course's structure ----------------------------------------------------------
    def ensure_assignment(self, assignment: str, notebook: str, exercises: dict[str, float]) -> None:
        """The assignment, its one notebook and a grade cell per exercise, with its points."""
        from nbgrader.api import InvalidEntry

        for attempt in range(3):  # another grader may be adding the same rows
            try:
                self.nbgrader.update_or_create_assignment(assignment)
                self.nbgrader.update_or_create_notebook(notebook, assignment)
                for name, points in exercises.items():
                    cell = self.nbgrader.update_or_create_grade_cell(name, notebook, assignment, cell_type="code",
                                                                     max_score=float(points))
                    if cell.max_score != float(points):
                        cell.max_score = float(points)
                self.db.commit()
                return
            except InvalidEntry:
                self.db.rollback()
                if attempt == 2:
                    raise

    # -- what is graded already ------------------------------------------------------------
    def stored_hashes(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(student, assignment) -> (notebook hash, tests hash) of every stored grade."""
        rows = self.db.execute(select(StoredGrade.student_id, StoredGrade.assignment, StoredGrade.notebook_sha256,
                                      StoredGrade.tests_sha256)).all()
        self.db.commit()
        return {(s, a): (n, t) for s, a, n, t in rows}

    def graded(self, assignment: str | None = None) -> list[Graded]:
        """Every stored grade (of one assignment), by student, then assignment."""
        found = _graded(self.db, assignment)
        self.db.commit()
        return found

    # -- claims ----------------------------------------------------------------------------
    def claim(self, items: list[ClassSubmission]) -> list[ClassSubmission]:
        """Claim ``items`` for this grader; return those it got (not those another live grader holds)."""
        if not items:
            return []
        now = _now()
        try:
            self.db.add_all([Claim(student_id=i.student, assignment=i.assignment, owner=self.owner, claimed_at=now)
                             for i in items])
            self.db.commit()
            return list(items)
        except IntegrityError:
            self.db.rollback()
            return [i for i in items if self._claim_one(i)]

    def unfinished(self, items: list[ClassSubmission], tests: dict[str, str]) -> list[ClassSubmission]:
        """Those of this grader's claimed ``items`` that no other grader finished meanwhile (the
        others' claims are released). ``tests``: assignment -> tests hash."""
        if not items:
            return []
        rows = self.db.execute(select(StoredGrade.student_id, StoredGrade.assignment, StoredGrade.notebook_sha256,
                                      StoredGrade.tests_sha256).where(_of(StoredGrade, items))).all()
        self.db.commit()
        stored = {(s, a): (n, t) for s, a, n, t in rows}
        done = [i for i in items if stored.get((i.student, i.assignment)) == (i.sha256, tests[i.assignment])]
        self.release_claims(done)
        return [i for i in items if i not in done]

    def _claim_one(self, item: ClassSubmission) -> bool:
        key = {"student_id": item.student, "assignment": item.assignment}
        try:
            self.db.add(Claim(**key, owner=self.owner, claimed_at=_now()))
            self.db.commit()
            return True
        except IntegrityError:
            self.db.rollback()
        held = self.db.get(Claim, (item.student, item.assignment))
        if held is None or held.owner == self.owner:
            self.db.commit()
            return held is not None
        if not _is_stale(held):
            self.db.commit()
            return False
        taken = self.db.execute(update(Claim).where(Claim.student_id == item.student, Claim.assignment == item.assignment,
                                                    Claim.owner == held.owner).values(owner=self.owner, claimed_at=_now()))
        self.db.commit()
        return taken.rowcount == 1

    def release_claims(self, items: Iterable[ClassSubmission] | None = None) -> None:
        """Give up this grader's claims on ``items`` (default: all of them)."""
        query = delete(Claim).where(Claim.owner == self.owner)
        if items is not None:
            items = list(items)
            if not items:
                return
            query = query.where(_of(Claim, items))
        self.db.execute(query)
        self.db.commit()

    # -- saving grades ---------------------------------------------------------------------
    def _submissions(self, items: list[ClassSubmission]) -> dict[str, SubmittedAssignment]:
        """key -> nbgrader's submission of each item, with its notebooks' grades loaded; a missing one
        is made as nbgrader's ``add_submission`` makes it (each notebook of the assignment, a Grade per
        grade cell, a Comment per solution cell, both per task cell), a missing student as
        ``add_student`` makes one. Nothing is committed: ``add_submission`` commits each submission,
        which then reloads every row it touched (15 ms a submission, the most of a class's storing)."""
        from nbgrader.api import Assignment, Comment, Grade, Notebook, Student, SubmittedAssignment, SubmittedNotebook
        from sqlalchemy.orm import selectinload

        names = {item.student for item in items}
        students = {s.id: s for s in self.db.scalars(select(Student).where(Student.id.in_(names)))}
        for name in sorted(names - students.keys()):
            students[name] = Student(id=name)
            self.db.add(students[name])
        assignments = {a.name: a for a in self.db.scalars(
            select(Assignment).where(Assignment.name.in_({item.assignment for item in items}))
            .options(selectinload(Assignment.notebooks).selectinload(Notebook._base_cells)))}
        found = {(s.student_id, s.assignment.name): s for s in self.db.scalars(
            select(SubmittedAssignment).join(Assignment)
            .where(Assignment.name.in_(assignments), SubmittedAssignment.student_id.in_(names))
            .options(selectinload(SubmittedAssignment.assignment),
                     selectinload(SubmittedAssignment.notebooks).selectinload(SubmittedNotebook.grades)
                     .selectinload(Grade.cell)))}
        made = {}
        for item in items:
            submission = found.get((item.student, item.assignment))
            if submission is None:
                submission = SubmittedAssignment(assignment=assignments[item.assignment], student=students[item.student])
                for notebook in submission.assignment.notebooks:
                    submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
                    for cell in notebook.grade_cells:
                        Grade(cell=cell, notebook=submitted)
                    for cell in notebook.solution_cells:
                        Comment(cell=cell, notebook=submitted)
                    for cell in notebook.task_cells:
                        Comment(cell=cell, notebook=submitted)
                        Grade(cell=cell, notebook=submitted)
                self.db.add(submission)
                found[item.student, item.assignment] = submission
            made[item.key] = submission
        return made

    def save(self, graded: list[tuple[ClassSubmission, SubmissionResult]], tests: dict[str, str]) -> None:
        """Store grades, one per graded cell, with their records, in one transaction; release their claims.
        Where another grader added one of their students meanwhile, the transaction is tried again."""
        if not graded:
            return
        for attempt in range(3):
            try:
                self._store(graded, tests)
                self.db.commit()
                return
            except IntegrityError as exc:
                self.db.rollback()
                if attempt == 2:
                    raise GradebookError(f"cannot store grades in {safe_url(self.url)}: {_first_line(exc)}") from None

    def _store(self, graded: list[tuple[ClassSubmission, SubmissionResult]], tests: dict[str, str]) -> None:
        from nbgrader.utils import parse_utc

        items = [item for item, _ in graded]
        submissions = self._submissions(items)
        stored = {(g.student_id, g.assignment): g
                  for g in self.db.scalars(select(StoredGrade).where(_of(StoredGrade, items)))}
        for item, result in graded:
            submission = submissions[item.key]
            points = {e.name: e.points for e in result.exercises}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = float(points.get(grade.cell.name, 0.0))
                    grade.needs_manual_grade = grade.manual_score is not None
            try:
                submission.timestamp = parse_utc(item.timestamp) if item.timestamp else None
            except (ValueError, OverflowError, TypeError):
                submission.timestamp = None
            record = json.dumps(result.to_dict())
            row = stored.get((item.student, item.assignment))
            if row is None:
                self.db.add(StoredGrade(student_id=item.student, assignment=item.assignment, notebook_sha256=item.sha256,
                                        tests_sha256=tests[item.assignment], score=result.score,
                                        max_score=result.max_score, record=record, revision=1, graded_at=_now()))
            else:
                row.notebook_sha256, row.tests_sha256 = item.sha256, tests[item.assignment]
                row.score, row.max_score, row.record = result.score, result.max_score, record
                row.revision += 1
                row.graded_at = _now()
        self.db.execute(delete(Claim).where(Claim.owner == self.owner, _of(Claim, items)))

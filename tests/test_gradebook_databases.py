"""The same gradebook test on SQLite and on a real PostgreSQL server: the grades nbgrader reads
back are the engine's, a rerun changes nothing, and ``nbgrader export`` agrees."""
from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from class_helpers import fresh_database, grade_class, make_class, nbgrader_export, postgres, state, write_class  # noqa: F401
from relu_course.class_grading import add_assignments
from relu_course.classroom import ClassSubmission, find_submissions
from relu_course.engine.results import SubmissionResult
from relu_course.engine.runner import Submission, grade_submissions
from relu_course.gradebook import ClassGradebook

A1 = "01_activations"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grades.db'}"
    return fresh_database(request.getfixturevalue("postgres"), f"gradebook_{uuid.uuid4().hex[:12]}")


def test_a_class_in_the_gradebook(database, course, worker, tmp_path):
    wrong = make_class.wrong_table(course, A1)
    notebooks = {("ada", A1): make_class.correct(course, A1, wrong), ("bea", A1): make_class.partial(0, 1)(course, A1, wrong),
                 ("gus", A1): make_class.stub(course, A1, wrong)}
    root = write_class(tmp_path / "course", notebooks)
    paths = {key: root / "submitted" / key[0] / A1 / f"{A1}.ipynb" for key in notebooks}
    direct = dict(zip(paths, grade_submissions([Submission(p, A1) for p in paths.values()], course, worker=worker)))

    grade_class(root, "--db", database, "-j", "2")
    held = state(database)
    assert held["grades"] == sorted((s, a, e.name, e.points, e.max_points) for (s, a), r in direct.items()
                                    for e in r.exercises)
    assert held["students"] == ["ada", "bea", "gus"] and held["claims"] == 0

    again = grade_class(root, "--db", database)
    assert "nothing to grade" in again.stdout and state(database) == held
    exported = nbgrader_export(root, database)
    assert {key: exported[key] for key in direct} == {key: r.score for key, r in direct.items()}
    assert all(score == 0 for key, score in exported.items() if key not in direct)  # nbgrader: no submission, 0


def rows(url: str) -> dict[str, list[tuple]]:
    """What nbgrader's tables hold about students and their submissions, by name (not by generated id)."""
    from sqlalchemy import create_engine, text

    of_notebook = ("join submitted_notebook sn on sn.id = x.notebook_id join base_cell c on c.id = x.cell_id "
                   "join submitted_assignment sa on sa.id = sn.assignment_id join assignment a on a.id = sa.assignment_id")
    queries = {
        "student": "select id, first_name, last_name, email, lms_user_id from student",
        "submitted_assignment": "select a.name, s.student_id, s.timestamp, s.extension from submitted_assignment s "
                                "join assignment a on a.id = s.assignment_id",
        "submitted_notebook": "select a.name, sa.student_id, n.name, sn.flagged, sn.late_submission_penalty "
                              "from submitted_notebook sn join notebook n on n.id = sn.notebook_id "
                              "join submitted_assignment sa on sa.id = sn.assignment_id join assignment a on a.id = sa.assignment_id",
        "grade": f"select a.name, sa.student_id, c.name, c.type, x.auto_score, x.manual_score, x.extra_credit, "
                 f"x.needs_manual_grade from grade x {of_notebook}",
        "comment": f"select a.name, sa.student_id, c.name, c.type, x.auto_comment, x.manual_comment from comment x {of_notebook}",
    }
    engine = create_engine(url)
    with engine.connect() as db:
        found = {table: sorted(tuple(row) for row in db.execute(text(query))) for table, query in queries.items()}
    engine.dispose()
    return found


@pytest.fixture
def graded(course, worker, tmp_path) -> list[tuple[ClassSubmission, SubmissionResult]]:
    """Two graded submissions of 01, as a class run stores them."""
    wrong = make_class.wrong_table(course, A1)
    notebooks = {"ada": make_class.correct(course, A1, wrong), "bea": make_class.partial(0, 1)(course, A1, wrong)}
    root = write_class(tmp_path / "course", {(student, A1): nb for student, nb in notebooks.items()})
    found, _ = find_submissions(root, course.assignment_ids(), A1)
    results = grade_submissions([Submission(s.path, A1) for s in found], course, worker=worker)
    return list(zip(found, results))


def book_for(url: str, course) -> ClassGradebook:
    book = ClassGradebook(url)
    add_assignments(book, course, [A1])
    return book


@pytest.mark.filterwarnings("ignore:Object of type:sqlalchemy.exc.SAWarning")  # nbgrader's own autoflush notices
def test_a_stored_grade_has_the_rows_nbgraders_own_api_makes(database, course, graded, tmp_path):
    with book_for(database, course) as book:
        book.save(graded, {A1: "tests"})
    theirs = f"sqlite:///{tmp_path / 'theirs.db'}"
    with book_for(theirs, course) as book:  # the same grades through nbgrader's add_student and add_submission
        for item, result in graded:
            book.nbgrader.add_student(item.student)
            submission = book.nbgrader.add_submission(A1, item.student, timestamp=item.timestamp)
            for grade in submission.notebooks[0].grades:
                grade.auto_score = next(e.points for e in result.exercises if e.name == grade.name)
                grade.needs_manual_grade = False
        book.db.commit()
    assert rows(database) == rows(theirs) and len(rows(theirs)["grade"]) > 2


def test_a_grader_that_adds_a_student_another_just_added_tries_again(database, course, graded):
    (ada, ada_result), (bea, bea_result) = graded
    ada_later = replace(ada, assignment="another")  # one student, two assignments: two graders at once
    with book_for(database, course) as first, book_for(database, course) as second:
        first.ensure_assignment("another", "another", {})
        looked, attempts = [], []
        store, scalars = second._store, second.db.scalars

        def students_then_the_other_grader(*args, **kwargs):
            found = scalars(*args, **kwargs).all()
            if not looked:  # between this grader's look for its students and its write, the other one writes
                looked.append(True)
                first.save([(ada_later, bea_result)], {A1: "tests", "another": "tests"})
            return found

        def counted(*args):
            attempts.append(1)
            return store(*args)

        second._store, second.db.scalars = counted, students_then_the_other_grader
        second.save([(ada, ada_result)], {A1: "tests"})
        assert len(attempts) == 2  # its first transaction failed on the student the other added
    held = rows(database)
    assert [s[0] for s in held["student"]] == ["ada"]
    assert {(a, s) for a, s, *_ in held["submitted_assignment"]} == {(A1, "ada"), ("another", "ada")}

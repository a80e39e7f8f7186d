"""The same gradebook test on SQLite and on a real PostgreSQL server: the grades nbgrader reads
back are the engine's, a rerun changes nothing, and ``nbgrader export`` agrees."""
from __future__ import annotations

import uuid

import pytest

from class_helpers import fresh_database, grade_class, make_class, nbgrader_export, postgres, state, write_class  # noqa: F401
from relu_course.engine.runner import Submission, grade_submissions

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

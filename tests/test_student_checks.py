"""Checking work as you go: check() in a real kernel, relu-course check, and the messages."""
from __future__ import annotations

import subprocess
import sys

import nbclient
import nbformat
import numpy as np
import pytest

from conftest import REPO
from relu_course.checks import LocalFunctions, run_check
from relu_course.checks.core import Calls, CheckFailure
from relu_course.engine.runner import Submission, grade_submissions, public_suite
from test_grade_activations import WRONG

A = "01_activations"

# which exercises' public checks each wrong submission of test_grade_activations.py fails
FAILS_PUBLIC = {
    "relu_is_abs": {"relu"}, "unstable_sigmoid": {"sigmoid", "sigmoid_grad"}, "leaky_alpha_on_positives": {"leaky_relu"},
    "relu_mutates_input": {"relu"}, "relu_returns_list": {"relu"}, "relu_grad_one_at_zero": {"relu_grad"},
    "leaky_relu_no_alpha_check": {"leaky_relu"}, "collapse_forgets_b2": {"collapse_linear"},
    "relu_grad_integer_dtype": {"relu_grad"}, "tanh_grad_forgets_square": {"tanh_grad"},
}


def relu_course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_course", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


# -- the messages for the usual mistakes (the in-notebook path, on plain functions) ----------
def failure(fn, *args, name="relu") -> str:
    with pytest.raises(CheckFailure) as caught:
        Calls(LocalFunctions({name: fn}))(name, *args)
    return caught.value.message


@pytest.mark.parametrize("fn, words", [
    (lambda x: None, "returned None: did you forget to `return`"),
    (lambda x: [0.0], "returned a list; return a NumPy array"),
    (lambda x: x.__setitem__(..., 0) or x, "modified its input"),
    (lambda x: (_ for _ in ()).throw(NotImplementedError()), "is not implemented yet"),
    (lambda x: undefined_name * x, "raised NameError: name 'undefined_name' is not defined. Was a cell above not run?"),  # noqa: F821
])
def test_usual_mistakes_get_a_plain_message(fn, words):
    assert words in failure(fn, np.array([1.0, -1.0]))


def test_a_function_not_defined_yet():
    with pytest.raises(CheckFailure, match="relu is not defined yet: run the cell that defines it"):
        Calls(LocalFunctions({}))("relu", 1.0)


def outcomes_for(exercise: str, namespace: dict):
    from relu_course.checks import checks_of

    return [run_check(c, LocalFunctions(namespace)) for c in checks_of(exercise)]


def test_wrong_shape_and_nan_are_reported_with_input_returned_expected():
    shape = [o for o in outcomes_for("relu", {"relu": lambda x: np.maximum(np.ravel(x), 0.0)}) if not o.passed]
    assert any("returned shape (1,); expected the shape ()" in o.message for o in shape)
    nan = [o for o in outcomes_for("sigmoid", {"sigmoid": lambda x: np.full(np.shape(x), np.nan)}) if not o.passed]
    assert any("returned NaN or inf" in o.message and "input" in o.details and "returned" in o.details for o in nan)


# -- relu-course check: the grading path with the public checks ---------------------------
def test_cli_check_solution_passes_everything():
    proc = relu_course("check", "solutions/01_activations.ipynb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "32 of 32 public checks passed" in proc.stdout and "hidden tests" in proc.stdout


def test_cli_check_stub_says_not_implemented():
    proc = relu_course("check", "assignments/01_activations.ipynb")
    assert proc.returncode == 1
    assert proc.stdout.count("not implemented yet") == 9 and "0 of 32 public checks passed" in proc.stdout


@pytest.mark.parametrize("args", [["check", "nowhere.ipynb"], ["check", "README.md"]])
def test_cli_check_cannot_check(args):
    proc = relu_course(*args)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_public_checks_fail_where_they_should(worker, write_variant):
    paths = {name: write_variant(A, name, repl) for name, (repl, _, _) in WRONG.items()}
    results = grade_submissions([Submission(p) for p in paths.values()], None, worker=worker, suite=public_suite())
    for name, result in zip(paths, results):
        failing = {e.name for e in result.exercises if e.status != "passed"}
        assert failing == FAILS_PUBLIC[name], (name, [(e.name, e.reason) for e in result.exercises if e.reason])


def test_public_checks_never_read_the_solutions():
    import relu_course.checks as checks

    for path in __import__("pathlib").Path(checks.__file__).parent.glob("*.py"):
        text = path.read_text()
        for word in ("load_reference", "engine.reference", "solutions/", "autograder", "find_course"):
            assert word not in text, (path, word)


# -- real notebooks in a real Jupyter kernel ---------------------------------------------
def execute(nb: nbformat.NotebookNode, tmp_path) -> nbformat.NotebookNode:
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    return client.execute()


def errors(nb) -> list[tuple[str, str]]:
    return [(c.get("id"), o["ename"]) for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(REPO.glob("solutions/*.ipynb")), ids=lambda p: p.stem)
def test_solution_runs_top_to_bottom_in_a_kernel(path, tmp_path):
    """No error; every check cell passes; every figure cell draws; nothing is written."""
    from relu_course import notebook

    nb = execute(nbformat.read(path, as_version=4), tmp_path)
    assert errors(nb) == []
    checks = [text_of(c) for c in nb.cells if notebook.is_test_cell(c)]
    assert checks and all("public checks passed" in t and "FAIL" not in t for t in checks)
    for cell in nb.cells:
        if notebook.is_figure_cell(cell):
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), f"{cell.id} drew nothing"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(REPO.glob("assignments/*.ipynb")), ids=lambda p: p.stem)
def test_assignment_fails_only_at_its_stubs(path, tmp_path):
    nb = execute(nbformat.read(path, as_version=4), tmp_path)
    found = errors(nb)
    assert found and {ename for _, ename in found} == {"NotImplementedError"}, found
    assert any("not implemented yet" in text_of(c) for c in nb.cells)


@pytest.mark.slow
def test_check_in_a_kernel_shows_the_failure(write_variant, tmp_path):
    nb = nbformat.read(write_variant(A, "kernel_relu_list", WRONG["relu_returns_list"][0]), as_version=4)
    nb = execute(nb, tmp_path)
    cell = next(c for c in nb.cells if c.source == 'check("relu")')
    assert "FAIL" in text_of(cell) and "returned a list" in text_of(cell) and "input:" in text_of(cell)
    assert [o["ename"] for o in cell.outputs if o.output_type == "error"] == ["AssertionError"]
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in cell.outputs), "a small plot"


@pytest.mark.slow
def test_check_in_a_kernel_when_a_cell_above_was_not_run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from relu_course import check\n"
                                          "def relu(x):\n    return np.maximum(x, 0.0)"),  # numpy never imported
                nbformat.v4.new_code_cell('check("relu")')]
    nb = execute(nb, tmp_path)
    assert "Was a cell above not run?" in text_of(nb.cells[1])


@pytest.mark.parametrize("path", sorted(REPO.glob("solutions/*.ipynb")), ids=lambda p: p.stem)
def test_every_exercise_has_public_checks_in_notebook_order(path):
    from relu_course import notebook
    from relu_course.checks import exercises

    nb = notebook.read(path)
    tested = [notebook.grade_id(c) for c in nb["cells"] if notebook.is_test_cell(c)]
    assert exercises()[path.stem] == tested
    assert all(notebook.source_of(c) == f'check("{notebook.grade_id(c)}")'
               for c in nb["cells"] if notebook.is_test_cell(c))

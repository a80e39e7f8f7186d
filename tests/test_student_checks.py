"""Checking work as you go: check() in a real kernel and in-process, relu-course check, the messages,
and where checks are registered. That the public checks catch what the hidden tests take points
for is tested for every assignment in test_assignments.py."""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import matplotlib
import nbclient
import nbformat
import numpy as np
import pytest

from conftest import REPO
from relu_course import checks
from relu_course.checks import LocalFunctions, run_check
from relu_course.checks.core import REGISTRY, Calls, CheckFailure, PublicCheck, Registry
from test_assignments import wrong

matplotlib.use("Agg")
A = "01_activations"


def relu_course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_course", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def solution_namespace(assignment: str) -> dict:
    """The solution notebook's code cells run in a fresh namespace, as a kernel would."""
    from relu_course import notebook

    namespace: dict = {}
    for cell in notebook.code_cells(notebook.read(REPO / "solutions" / f"{assignment}.ipynb")):
        exec(compile(cell.source, f"<{assignment}>", "exec"), namespace)  # noqa: S102 - the course's own solution
    return namespace


# -- the messages for the usual mistakes (the in-notebook path, on plain functions) ----------
def failure(fn, *args, name="relu") -> str:
    with pytest.raises(CheckFailure) as caught:
        Calls(LocalFunctions({name: fn}))(name, *args)
    return caught.value.message


@pytest.mark.parametrize("fn, words", [
    (lambda x: None, "returned None: did you forget to `return`"),
    (lambda x: [0.0], "returned a list; return a NumPy array"),
    (lambda x: x.__setitem__(..., 0) or x, "modified its input (argument 1)"),
    (lambda x: (_ for _ in ()).throw(NotImplementedError()), "is not implemented yet"),
    (lambda x: undefined_name * x, "raised NameError: name 'undefined_name' is not defined. Was a cell above not run?"),  # noqa: F821
])
def test_usual_mistakes_get_a_plain_message(fn, words):
    assert words in failure(fn, np.array([1.0, -1.0]))


def test_a_function_not_defined_yet():
    with pytest.raises(CheckFailure, match="relu is not defined yet: run the cell that defines it"):
        Calls(LocalFunctions({}))("relu", 1.0)


def outcomes_for(exercise: str, namespace: dict, assignment: str = A):
    return [run_check(c, LocalFunctions(namespace)) for c in checks.checks_of(assignment, exercise)]


def test_wrong_shape_and_nan_are_reported_with_input_returned_expected():
    shape = [o for o in outcomes_for("relu", {"relu": lambda x: np.maximum(np.ravel(x), 0.0)}) if not o.passed]
    assert any("returned shape (1,); expected shape () (rule 2" in o.message for o in shape)
    nan = [o for o in outcomes_for("sigmoid", {"sigmoid": lambda x: np.full(np.shape(x), np.nan)}) if not o.passed]
    assert any("returned NaN or inf" in o.message and "input" in o.details and "returned" in o.details for o in nan)


def test_a_wrong_value_names_the_call_the_value_and_the_rule():
    [known] = [o for o in outcomes_for("relu", {"relu": lambda x: np.abs(np.asarray(x, dtype=float))}) if not o.passed][:1]
    assert known.reason == ("relu(an array of shape (25,) and dtype float64): gave 6.0 at index (0,); expected 0.0 "
                            "(rule 4: to a relative error of 1e-06 or an absolute 1e-12)")


def test_views_reach_a_local_function_as_views():
    seen = []
    outcomes_for("relu", {"relu": lambda x: seen.append(x.flags.c_contiguous) or np.maximum(x, 0.0)})
    assert False in seen


# -- check(): prints its verdict, returns nothing, raises a one-line error on failure ----------
def test_check_prints_the_verdict_and_returns_nothing(capsys):
    namespace = solution_namespace(A)
    assert checks.check("relu", namespace=namespace) is None
    out = capsys.readouterr().out
    assert out.startswith("relu: 9 of 9 public checks passed\n  PASS  ") and checks.HIDDEN_TESTS_NOTE in out


def test_a_failed_check_raises_an_error_ipython_shows_without_frames(capsys):
    namespace = {**solution_namespace(A), "relu": lambda x: np.abs(np.asarray(x, dtype=float))}
    with pytest.raises(checks.ChecksFailed) as caught:
        checks.check("relu", namespace=namespace, plot=False)
    assert isinstance(caught.value, AssertionError)
    assert caught.value._render_traceback_() == [f"ChecksFailed: {caught.value}"]
    assert "FAIL  agrees with the formula" in capsys.readouterr().out
    stub = {"relu": lambda x: (_ for _ in ()).throw(NotImplementedError())}
    with pytest.raises(NotImplementedError, match="relu is not implemented yet"):
        checks.check("relu", namespace=stub)


def test_the_failure_plot_shows_the_expected_curve_beside_the_students_on_a_fresh_grid():
    import matplotlib.pyplot as plt

    def relu_writes_into_x(x):
        x[...] = np.abs(x)  # a student's relu that corrupts its input
        return x

    [values] = [c for c in checks.checks_of(A, "relu") if c.plot is not None][:1]
    drawn = []
    for _ in range(2):
        fig, ax = plt.subplots()
        values.plot(LocalFunctions({"relu": relu_writes_into_x}), ax)
        drawn.append({line.get_label(): line.get_ydata().copy() for line in ax.lines if not line.get_label().startswith("_")})
        plt.close(fig)
    for lines in drawn:
        assert set(lines) == {"expected", "your relu"}
        assert lines["expected"][0] == 0.0 and lines["your relu"][0] == 5.0  # at x = -5: max(0, x) against |x|
    assert np.array_equal(drawn[0]["expected"], drawn[1]["expected"])


# -- where checks live: one registry keyed by (assignment, exercise), modules found by pkgutil -------
def test_a_check_of_another_assignments_exercise_does_not_join_this_ones():
    registry = Registry()
    registry.add(PublicCheck(A, "relu", "one", lambda fns: None))
    registry.add(PublicCheck("03_other", "relu", "two", lambda fns: None))
    assert [c.name for c in registry.checks[A, "relu"]] == ["one"]
    assert registry.assignments() == {A: ["relu"], "03_other": ["relu"]}


def test_an_exercise_in_two_assignments_needs_the_assignment_named():
    other = PublicCheck("99_other", "relu", "passes", lambda fns: None)
    REGISTRY.add(other)
    try:
        with pytest.raises(checks.UnknownExercise, match="'relu' has public checks in 01_activations and 99_other"):
            checks.check("relu", namespace={})
        assert checks.assignment_of("relu", "99_other") == "99_other"
    finally:
        del REGISTRY.checks["99_other", "relu"]
    assert checks.assignment_of("relu") == A


def test_every_checks_module_is_found_and_registers_for_its_own_assignment():
    declared = {}
    for module in pkgutil.iter_modules(checks.__path__):
        loaded = importlib.import_module(f"relu_course.checks.{module.name}")
        if hasattr(loaded, "ASSIGNMENT"):
            declared[loaded.__name__] = loaded.ASSIGNMENT
    assert {"relu_course.checks.activations", "relu_course.checks.relu_sums"} <= set(declared)
    for (assignment, _), found in REGISTRY.checks.items():
        for check in found:
            if check.run.__module__ in declared:
                assert declared[check.run.__module__] == assignment, (check.run.__module__, check.name)
    assert set(declared.values()) <= set(checks.exercises())


def test_public_checks_never_read_the_solutions():
    from pathlib import Path

    for path in Path(checks.__file__).parent.glob("*.py"):
        text = path.read_text()
        for word in ("load_reference", "engine.reference", "solutions/", "autograder", "find_course"):
            assert word not in text, (path, word)


# -- relu-course check: the sandbox, with the terminal's wording ---------------------------------
def test_cli_check_solution_passes_everything():
    proc = relu_course("check", "solutions/01_activations.ipynb")
    total = sum(len(checks.checks_of(A, e)) for e in checks.exercises()[A])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{total} of {total} public checks passed" in proc.stdout and "hidden tests" in proc.stdout


def test_cli_check_stub_says_not_implemented():
    proc = relu_course("check", "assignments/01_activations.ipynb")
    assert proc.returncode == 1
    assert proc.stdout.count("not implemented yet") == 9
    assert "\n0 of " in proc.stdout


def test_cli_check_shows_input_returned_and_expected_in_terminal_words(write_variant):
    path = write_variant(A, "cli_relu_grad_integers", wrong(A)["relu_grad_integer_dtype"][0])
    proc = relu_course("check", str(path))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "returned dtype int64; expected a floating dtype" in line)
    assert lines[at + 1].strip().startswith("input:    relu_grad(")
    assert lines[at + 2].strip().startswith("returned: ")
    assert lines[at + 3].strip().startswith("expected: a floating NumPy array")
    assert "run the cell" not in proc.stdout


def test_cli_check_in_terminal_words_when_a_name_is_missing(write_variant):
    path = write_variant(A, "cli_no_numpy", {"imports": "from relu_course import check\n"})
    proc = relu_course("check", str(path))
    assert proc.returncode == 1
    assert "Does the notebook import or define that name before it uses it?" in proc.stdout
    assert "Was a cell above not run?" not in proc.stdout


@pytest.mark.parametrize("args", [["check", "nowhere.ipynb"], ["check", "README.md"],
                                  ["check", "solutions/01_activations.ipynb", "--assignment", "99_nothing"]])
def test_cli_check_cannot_check(args):
    proc = relu_course(*args)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_version():
    from importlib import metadata

    proc = relu_course("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"relu-course {metadata.version('relu-course')}"


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


#: what a figure cell may show: a plot, an animation (HTML with a GIF) or an explorer (a widget)
PICTURES = ("image/png", "text/html", "application/vnd.jupyter.widget-view+json")


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(REPO.glob("solutions/*.ipynb")), ids=lambda p: p.stem)
def test_solution_runs_top_to_bottom_in_a_kernel(path, tmp_path):
    """No error; every check cell passes and returns nothing; every figure cell draws; nothing is written."""
    from relu_course import notebook

    nb = execute(nbformat.read(path, as_version=4), tmp_path)
    assert errors(nb) == []
    for cell in nb.cells:
        if notebook.is_test_cell(cell):
            assert "public checks passed" in text_of(cell) and "FAIL" not in text_of(cell)
            assert not [o for o in cell.outputs if o.output_type == "execute_result"], "check() returned something"
        if notebook.is_figure_cell(cell):
            assert any(kind in o.get("data", {}) for o in cell.outputs for kind in PICTURES), f"{cell.id} drew nothing"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(REPO.glob("assignments/*.ipynb")), ids=lambda p: p.stem)
def test_assignment_fails_only_at_its_stubs(path, tmp_path):
    nb = execute(nbformat.read(path, as_version=4), tmp_path)
    found = errors(nb)
    assert found and {ename for _, ename in found} <= {"NotImplementedError", "NotImplementedYetError"}, found
    assert any("not implemented yet" in text_of(c) for c in nb.cells)


@pytest.mark.slow
def test_check_in_a_kernel_shows_the_failure_without_the_packages_frames(write_variant, tmp_path):
    nb = nbformat.read(write_variant(A, "kernel_relu_list", wrong(A)["relu_returns_list"][0]), as_version=4)
    nb = execute(nb, tmp_path)
    cell = next(c for c in nb.cells if c.source == 'check("relu")')
    assert "FAIL" in text_of(cell) and "returned a list" in text_of(cell) and "input:" in text_of(cell)
    [error] = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "ChecksFailed" and error.traceback == [f"ChecksFailed: {error.evalue}"]
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in cell.outputs), "a small plot"


@pytest.mark.slow
def test_check_in_a_kernel_when_a_cell_above_was_not_run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from relu_course import check\n"
                                          "def relu(x):\n    return np.maximum(x, 0.0)"),  # numpy never imported
                nbformat.v4.new_code_cell('check("relu")')]
    nb = execute(nb, tmp_path)
    assert "Was a cell above not run?" in text_of(nb.cells[1])

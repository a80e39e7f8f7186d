"""The public checks of assignment 03, both ways: in the sandbox (relu-course check) and in the
notebook's own process (check() in Jupyter), on the solution and on every wrong submission."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, solution_with
from relu_course import notebook
from relu_course.checks import checks_of, exercises, run_check
from relu_course.checks.core import LocalFunctions
from relu_course.engine.runner import Submission, grade_submissions, public_suite
from test_grade_two_neuron_x2 import A, WRONG

# which exercises' public checks each wrong submission fails, and words in the first one's message
FAILS_PUBLIC = {
    "no_relu": ({"TwoNeuronNet", "train"}, "the ReLU between the hidden and the output layer is missing"),
    "relu_after_the_output_layer": ({"TwoNeuronNet", "train"}, "the ReLU must go after the hidden layer"),
    "float64_weights_for_float32_input": ({"TwoNeuronNet", "layer_outputs"}, "has dtype float64; expected float32"),
    "hinges_on_one_side": ({"init_outward", "train"}, "neuron 1 faces left"),
    "mse_is_the_sum": ({"mse"}, "that is the sum of the squares"),
    "mse_is_the_mean_absolute_error": ({"mse", "train"}, "expected 5/3"),
    "train_ignores_the_seed": (set(), ""),  # only the hidden tests try two seeds against each other
    "train_never_calls_zero_grad": ({"train"}, "some weights are NaN or infinite"),
    "layer_outputs_with_the_layers_swapped": ({"layer_outputs"}, "pre_activations and activations are swapped"),
    "optimum_not_lowered": ({"set_optimal_weights"}, "hinges -bias/weight are at [0.3333, -0.3333]"),
    "best_line_through_the_origin": ({"best_linear_fit"}, "expected (2.0, -1.0)"),
    "wide_net_ignores_its_width": ({"WideNet"}, "hidden.weight of WideNet(1) has shape (2, 1); expected (1, 1)"),
    "train_one_point_at_a_time": ({"train"}, "did not return within"),
}
#: too slow to run in this process, where nothing stops a call (in a notebook it would run for minutes)
NOT_LOCALLY = {"train_one_point_at_a_time"}


def relu_course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "relu_course", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_cli_check_passes_the_solution():
    proc = relu_course("check", f"solutions/{A}.ipynb")
    total = sum(len(checks_of(e)) for e in exercises()[A])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{total} of {total} public checks passed" in proc.stdout


def test_cli_check_says_the_stub_is_not_implemented():
    proc = relu_course("check", f"assignments/{A}.ipynb")
    assert proc.returncode == 1
    assert proc.stdout.count("not implemented yet") == len(exercises()[A]), proc.stdout


def test_every_wrong_submission_is_listed():
    assert set(FAILS_PUBLIC) == set(WRONG)


@pytest.fixture(scope="module")
def in_the_sandbox(worker, write_variant):
    paths = {name: write_variant(A, f"public_{name}", repl) for name, (repl, _, _) in WRONG.items()}
    results = grade_submissions([Submission(p) for p in paths.values()], None, worker=worker, suite=public_suite())
    return dict(zip(paths, results))


@pytest.mark.parametrize("name", WRONG)
def test_public_checks_fail_where_they_should_and_say_why(in_the_sandbox, name):
    failing, words = FAILS_PUBLIC[name]
    result = in_the_sandbox[name]
    assert {e.name for e in result.exercises if e.status != "passed"} == failing, \
        [(e.name, e.reason) for e in result.exercises if e.reason]
    if failing:
        first = next(e for e in result.exercises if e.status != "passed")
        assert words in first.reason, first.reason


def namespace_of(course, replacements: dict[str, str]) -> dict:
    """The notebook's namespace after its code cells ran here, in this process, as in Jupyter."""
    nb = solution_with(course, A, replacements)
    namespace = {"__name__": "__main__"}
    for cell in notebook.code_cells(nb):
        exec(compile(cell.source, cell.label, "exec"), namespace)  # noqa: S102 - our own solution and variants
    return namespace


@pytest.mark.parametrize("name", [n for n in WRONG if n not in NOT_LOCALLY])
def test_check_in_the_notebook_agrees_with_the_sandbox(course, in_the_sandbox, name):
    """The same checks, on real modules and tensors instead of handles: the same verdicts and reasons."""
    namespace = namespace_of(course, WRONG[name][0])
    here = {e: [o for o in (run_check(c, LocalFunctions(namespace)) for c in checks_of(e)) if not o.passed]
            for e in exercises()[A]}
    assert {e for e, failed in here.items() if failed} == FAILS_PUBLIC[name][0]
    for exercise in in_the_sandbox[name].exercises:
        if here[exercise.name]:
            assert here[exercise.name][0].message in exercise.reason, (here[exercise.name][0].message, exercise.reason)


def test_check_in_the_notebook_passes_the_solution(course):
    namespace = namespace_of(course, {})
    outcomes = [run_check(c, LocalFunctions(namespace)) for e in exercises()[A] for c in checks_of(e)]
    assert outcomes and all(o.passed for o in outcomes), [o.message for o in outcomes if not o.passed]

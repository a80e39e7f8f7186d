"""The public checks of assignment 03, both ways: in the sandbox (relu-course check) and in the
notebook's own process (check() in Jupyter), on the solution and on every wrong submission.

test_assignments.py holds every assignment's public checks to its hidden tests (some check fails
wherever points are lost); here the failures of 03 are exact (no check fails where no point is
lost) and the two ways give the same verdicts and reasons."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, solution_with
from relu_course import notebook
from relu_course.checks import checks_of, exercises, run_check
from relu_course.checks.core import LocalFunctions
from relu_course.commands.check import check_notebook
from test_assignments import wrong

A = "03_two_neuron_x2"
WRONG = wrong(A)

# which exercises' public checks each wrong submission fails, and words in the first one's message
FAILS_PUBLIC = {
    "no_relu": ({"TwoNeuronNet", "train"}, "the ReLU between the hidden and the output layer is missing"),
    "relu_after_the_output_layer": ({"TwoNeuronNet", "train"}, "the ReLU must go after the hidden layer"),
    "float64_weights_for_float32_input": ({"TwoNeuronNet", "layer_outputs"}, "float64; expected float32"),
    "hinges_on_one_side": ({"init_outward", "train"}, "neuron 1 faces left"),
    "mse_is_the_sum": ({"mse"}, "that is the sum of the squares"),
    "mse_is_the_mean_absolute_error": ({"mse", "train"}, "expected 5/3"),
    "train_ignores_the_seed": ({"train"}, "the seed is not used"),
    "train_never_calls_zero_grad": ({"train"}, "some weights are NaN or infinite"),  # with seeds 0 and 1
    "layer_outputs_with_the_layers_swapped": ({"layer_outputs"}, 'layer_outputs(net, x)["pre_activations"] is relu'),
    "optimum_not_lowered": ({"set_optimal_weights"}, "hinges -bias/weight are at [0.3333, -0.3333]"),
    "best_line_through_the_origin": ({"best_linear_fit"}, "the slope of best_linear_fit([0, 1, 2, 3]"),
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
    total = sum(len(checks_of(A, e)) for e in exercises()[A])
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
    """{name: {exercise: the failed outcomes of its public checks}}, checked as relu-course check does."""
    found = {}
    for name, (replacements, _, _) in WRONG.items():
        checked = check_notebook(write_variant(A, f"public_{name}", replacements), worker, A)
        found[name] = {e: [o for o in outcomes if not o.passed] for e, outcomes in checked.outcomes.items()}
    return found


@pytest.mark.parametrize("name", WRONG)
def test_public_checks_fail_exactly_where_they_should_and_say_why(in_the_sandbox, name):
    failing, words = FAILS_PUBLIC[name]
    failed = in_the_sandbox[name]
    assert {e for e, outcomes in failed.items() if outcomes} == failing, \
        {e: [o.reason for o in outcomes] for e, outcomes in failed.items() if outcomes}
    if failing:
        first = next(outcomes for outcomes in failed.values() if outcomes)
        assert words in first[0].reason, first[0].reason


def namespace_of(course, replacements: dict[str, str]) -> dict:
    """The notebook's namespace after its code cells ran here, in this process, as in Jupyter."""
    nb = solution_with(course, A, replacements)
    namespace = {"__name__": "__main__"}
    for cell in notebook.code_cells(nb):  # compiled as the sandbox compiles cells, so errors say where alike
        exec(compile(cell.source, f"<cell {cell.index + 1}>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace


@pytest.mark.parametrize("name", [n for n in WRONG if n not in NOT_LOCALLY])
def test_check_in_the_notebook_agrees_with_the_sandbox(course, in_the_sandbox, name):
    """The same checks, on real modules and tensors instead of handles: the same verdicts and reasons."""
    namespace = namespace_of(course, WRONG[name][0])
    here = {e: [o for o in (run_check(c, LocalFunctions(namespace)) for c in checks_of(A, e)) if not o.passed]
            for e in exercises()[A]}
    there = in_the_sandbox[name]
    assert {e: [o.reason for o in failed] for e, failed in here.items()} == \
        {e: [o.reason for o in failed] for e, failed in there.items()}


def test_check_in_the_notebook_passes_the_solution(course):
    namespace = namespace_of(course, {})
    outcomes = [run_check(c, LocalFunctions(namespace)) for e in exercises()[A] for c in checks_of(A, e)]
    assert outcomes and all(o.passed for o in outcomes), [o.message for o in outcomes if not o.passed]

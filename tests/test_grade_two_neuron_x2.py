"""Assignment 03 graded end to end: solution, stubs, wrong-but-plausible and correct-but-different
submissions, and one submission graded five times.

The wrong submissions and their marks are the hidden tests' own WRONG table; the points are their
POINTS table. The student notebook's form is tested for every assignment in test_build.py, and the
notebooks in a real Jupyter kernel in test_student_checks.py."""
from __future__ import annotations

import importlib.util
import warnings

import pytest

from conftest import REPO, assert_full_marks, assert_not_implemented, points_by_exercise

A = "03_two_neuron_x2"


def hidden_tests():
    spec = importlib.util.spec_from_file_location(f"hidden_{A}", REPO / "autograder" / f"test_{A}.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # its @exercise marks are registered by the grading plugin, not here
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


HIDDEN = hidden_tests()
WRONG = HIDDEN.WRONG
FULL = sum(sum(tests.values()) for tests in HIDDEN.POINTS.values())

#: correct code written differently from the reference: library losses and fits, other forms of the
#: ReLU, the optimum with the neurons swapped and the scale split otherwise, other draws, Adam. Full marks.
CORRECT_BUT_DIFFERENT = {
    "mse_code": "def mse(prediction, target):\n    return nn.functional.mse_loss(prediction, target)\n",
    "best_linear_fit_code": (
        "def best_linear_fit(x, y):\n    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)\n"
        "    return float(slope), float(intercept)\n"),
    "TwoNeuronNet_code": (
        "class TwoNeuronNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.hidden = nn.Linear(1, 2)\n        self.out = nn.Linear(2, 1)\n\n"
        "    def forward(self, x):\n        return self.out(self.hidden(x).clamp(min=0))\n"),
    "layer_outputs_code": (
        "def layer_outputs(net, x):\n    pre = net.hidden(x).detach()\n    act = nn.functional.relu(pre)\n"
        "    return dict(output=net.out(act).detach().numpy(), activations=act.numpy(), pre_activations=pre.numpy())\n"),
    "set_optimal_weights_code": (
        "def set_optimal_weights(net):\n    with torch.no_grad():\n"
        "        net.hidden.weight[:, 0] = torch.tensor([-2.0, 0.5])\n"
        "        net.hidden.bias[:] = torch.tensor([-2 / 3, -1 / 6])\n"
        "        net.out.weight[0] = torch.tensor([2 / 3, 8 / 3])\n"
        "        net.out.bias.fill_(1 / 27)\n"),
    "init_outward_code": (
        "def init_outward(net, seed):\n    g = torch.Generator().manual_seed(seed)\n    width = net.hidden.out_features\n"
        "    with torch.no_grad():\n        for i in range(width):\n            side = 1.0 if i % 2 == 0 else -1.0\n"
        "            distance, steepness = torch.rand(2, generator=g)\n"
        "            w = side * (0.5 + steepness)\n            net.hidden.weight[i, 0] = w\n"
        "            net.hidden.bias[i] = -w * side * distance\n"
        "            net.out.weight[0, i] = (0.5 + torch.rand(1, generator=g)) * 2 / width\n"
        "        net.out.bias.zero_()\n"),
    "train_code": (
        "def train(net, x, y, steps, seed):\n    init_outward(net, seed)\n"
        "    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)\n    history = []\n"
        "    for _ in range(steps):\n        optimizer.zero_grad()\n        loss = mse(net(x), y)\n"
        "        loss.backward()\n        optimizer.step()\n        history.append(loss.item())\n    return history\n"),
}


@pytest.fixture(scope="module")
def graded(grade_variants):
    """The solution, the student notebook and every variant, graded in one batch."""
    variants = {name: repl for name, (repl, _, _) in WRONG.items()}
    return grade_variants(A, {**variants, "correct_but_different": CORRECT_BUT_DIFFERENT})


@pytest.fixture(scope="module")
def full(graded):
    return {e.name: e.max_points for e in graded["solution"].exercises}


def test_solution_earns_full_marks(graded):
    assert_full_marks(graded["solution"], A, FULL)


def test_student_notebook_earns_nothing(graded):
    assert_not_implemented(graded["assignment"], FULL)


def test_correct_but_different_code_earns_full_marks(graded):
    result = graded["correct_but_different"]
    assert result.score == FULL, [(e.name, e.reason) for e in result.exercises if e.reason]


def test_there_are_at_least_eight_wrong_submissions():
    assert len(WRONG) >= 8


@pytest.mark.parametrize("name", WRONG)
def test_wrong_submission_gets_exact_partial_marks(graded, full, name):
    _, changed, words = WRONG[name]
    result = graded[name]
    assert points_by_exercise(result) == {**full, **changed}
    target = next(iter(changed))  # the exercise the mistake is in; any others follow from it
    reason = next(e.reason for e in result.exercises if e.name == target)
    assert words in reason, reason


def test_slow_training_loses_the_training_points_only_and_says_why(graded):
    result = graded["train_one_point_at_a_time"]
    train = next(e for e in result.exercises if e.name == "train")
    assert {t.status for t in train.tests} == {"timeout"}
    assert "did not return within the limit of 5 s" in train.reason
    assert [e.name for e in result.exercises if e.points < e.max_points] == ["train"]


def test_five_gradings_of_one_submission_give_one_score(grade, write_variant):
    """Training in the child, seeds, timing: nothing makes a grade vary from one run to the next."""
    copies = [write_variant(A, f"graded_five_times_{i}", WRONG["train_never_calls_zero_grad"][0]) for i in range(5)]
    results = grade(copies)  # five submissions of one batch, each in its own child
    assert len({r.notebook for r in results}) == 5 and all(r.seconds > 0 for r in results)
    marks = {tuple((e.name, e.points, e.reason) for e in r.exercises) for r in results}
    assert len(marks) == 1, marks
    assert results[0].score == FULL - 4

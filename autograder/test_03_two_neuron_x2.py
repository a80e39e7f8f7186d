"""Hidden tests for assignment 03, the two-neuron network that learns x².

Every behaviour checked here is stated in the exercise text or the notebook's rules: the
networks' layers (state_dict entries and shapes), their forward pass against
out(relu(hidden(x))), float32 in and out, the dict of layer_outputs, the optimal function,
the ranges and the seeding of init_outward, and train reaching within 1% of the optimum on
every seed, reproducibly, within its time limit.

The networks live in the submission's process: the tests make them with the student's
classes (``student.TwoNeuronNet()`` is a handle), load weights of their own with
``load_state_dict``, hand tensors over (``Tensor``), run them there and read their
``state_dict()`` back as arrays. Every verdict is computed here: outputs are compared with the
reference solution's own networks carrying the same weights, and every fit is measured here
from the weights the student's network ends up with, on a fine grid of [-1, 1]. Nothing the
student's code reports about itself (a loss, a history) decides a grade. Inputs and seeds are
fixed: the same submission always gets the same score.

A test of ``layer_outputs``, ``set_optimal_weights``, ``init_outward`` or ``train`` needs a
``TwoNeuronNet`` first. If that class is not implemented, the test asks the exercise's own
function (with placeholder arguments) whether it is implemented, so that an untouched notebook
reads "train is not implemented yet" rather than blaming another exercise.
"""
import weakref

import numpy as np
import pytest

from relu_course import testing
from relu_course.testing import (Call, StudentError, StudentTimeout, SubmissionFault, Tensor, assert_close,
                                 assert_not_mutated, describe, exercise, expected, kind_of)

#: The points of every hidden test, by exercise and kind of test: their one source.
POINTS = {
    "mse": {"values": 2, "contract": 1},
    "best_linear_fit": {"values": 2, "contract": 1},
    "OneNeuronNet": {"architecture": 1, "forward": 2, "contract": 1},
    "TwoNeuronNet": {"architecture": 1, "forward": 2, "contract": 1},
    "layer_outputs": {"values": 2, "contract": 1},
    "set_optimal_weights": {"optimum": 3, "contract": 1},
    "init_outward": {"outward": 2, "seeded": 1, "contract": 1},
    "train": {"reaches": 3, "reproducible": 1, "seed": 1, "contract": 1},
    "WideNet": {"architecture": 1, "forward": 2, "contract": 1},
}
#: the network classes, each with {width: the class's arguments} for the widths tested
NETWORKS = {"OneNeuronNet": {1: ()}, "TwoNeuronNet": {2: ()}, "WideNet": {1: (1,), 3: (3,), 20: (20,), 37: (37,)}}
#: how many placeholder arguments to call an exercise with, to ask whether it is implemented
ARITY = {"layer_outputs": 2, "set_optimal_weights": 1, "init_outward": 2, "train": 5}
ENTRIES = ("hidden.weight", "hidden.bias", "out.weight", "out.bias")
#: the call the exercise text states: train(net, X, Y, 500, seed) within 5 s
STEPS, TRAIN_SECONDS = 500, 5.0
X = np.linspace(-1, 1, 256, dtype=np.float32).reshape(-1, 1)
Y = X ** 2
#: the midpoints of 20,000 equal cells of [-1, 1]: a mean over them is the mean over the interval
FINE = (-1 + (np.arange(20_000) + 0.5) / 10_000).astype(np.float32).reshape(-1, 1)
#: float32 arithmetic in two processes: rule 4 of the notebook
RULE4 = {"rtol": 1e-5, "atol": 1e-6}


def graded(kind: str, names=tuple(NETWORKS)) -> list:
    return testing.graded(POINTS, kind, list(names))


# -- the trusted side's own networks -------------------------------------------------------------

def reference_output(reference, cls: str, args: tuple, state: dict, x: np.ndarray) -> np.ndarray:
    """The reference's network of that class with these weights, run here on x: float32 (N, 1)."""
    import torch

    net = getattr(reference, cls)(*args)
    net.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in state.items()})
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def fit_error(reference, state: dict) -> np.ndarray:
    """out(relu(hidden(x))) - x² on the fine grid, for a two-neuron network with these weights (float64)."""
    return reference_output(reference, "TwoNeuronNet", (), state, FINE)[:, 0].astype(np.float64) - FINE[:, 0] ** 2


_optimum: dict = {}


def optimum(reference) -> tuple[np.ndarray, float]:
    """The reference's optimal network on the fine grid, and its mean squared error (made once)."""
    if id(reference) not in _optimum:
        import torch

        net = reference.TwoNeuronNet()
        reference.set_optimal_weights(net)
        with torch.no_grad():
            values = net(torch.from_numpy(FINE)).numpy()[:, 0].astype(np.float64)
        _optimum[id(reference)] = values, float(np.mean((values - FINE[:, 0] ** 2) ** 2))
    return _optimum[id(reference)]


def weights_for(width: int, seed: int) -> dict[str, np.ndarray]:
    """Weights of the grader's choosing: hinges inside and outside [-1, 1], both ways, outputs of both signs."""
    rng = np.random.default_rng(seed)
    return {"hidden.weight": rng.normal(0, 1.5, size=(width, 1)).astype(np.float32),
            "hidden.bias": rng.uniform(-1.2, 1.2, size=width).astype(np.float32),
            "out.weight": rng.normal(0, 1.0, size=(1, width)).astype(np.float32),
            "out.bias": rng.normal(0, 0.5, size=1).astype(np.float32)}


# -- the student's networks, behind handles ------------------------------------------------------

#: per submission, the networks the tests made and what was done to them, shared by several tests
_runs: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def made(cls: str, args: tuple) -> str:
    return f"{cls}({', '.join(map(repr, args))})"


def network(student, exercise_name: str, cls: str = "TwoNeuronNet", args: tuple = ()):
    """A new ``cls(*args)`` in the submission's process, for a test of ``exercise_name``."""
    try:
        return getattr(student, cls)(*args)
    except StudentError as exc:
        if exercise_name == cls or not exc.is_a("NotImplementedError"):
            raise
    probe = getattr(student, exercise_name).many([Call(*[None] * ARITY[exercise_name])], seconds=1.0)[0]
    try:
        probe.value
    except StudentError as own:
        if own.is_a("NotImplementedError"):
            raise own from None
    except SubmissionFault:
        pass
    raise AssertionError(f"{exercise_name} needs {cls}, which is not implemented yet") from None


def state_of(net, what: str) -> dict:
    state = net.state_dict()
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise AssertionError(f"{what}.state_dict() returned {kind_of(state)}; expected a dict of tensors")
    return state


def assert_layers(state: dict, width: int, what: str) -> None:
    """The four entries of rule 2, with the shapes of a network of ``width`` hidden neurons."""
    if sorted(state) != sorted(ENTRIES):
        raise AssertionError(f"the state_dict of {what} has the entries {list(state)}; expected {list(ENTRIES)} "
                             "(layers self.hidden and self.out, and nothing else with parameters)")
    wanted = {"hidden.weight": (width, 1), "hidden.bias": (width,), "out.weight": (1, width), "out.bias": (1,)}
    for entry, shape in wanted.items():
        if state[entry].shape != shape:
            raise AssertionError(f"{entry} of {what} has shape {state[entry].shape}; expected {shape}")


def assert_kept(before: dict, after: dict, what: str) -> None:
    """A function that changes a network's weights keeps their entries, shapes and dtypes."""
    if sorted(after) != sorted(before):
        raise AssertionError(f"{what} changed the network's state_dict entries from {list(before)} to {list(after)}")
    for entry, value in after.items():
        if value.shape != before[entry].shape or value.dtype != before[entry].dtype:
            raise AssertionError(f"{what} changed {entry} from {before[entry].dtype} {before[entry].shape} to "
                                 f"{value.dtype} {value.shape}; write into the existing parameters with copy_")


def load(net, state: dict, what: str) -> None:
    try:
        net.load_state_dict({k: Tensor(v) for k, v in state.items()})
    except StudentError as exc:
        raise AssertionError(f"{what}.load_state_dict with the entries {list(ENTRIES)} raised {exc.type_name}: "
                             f"{exc.message.splitlines()[0] if exc.message else ''}") from None


FORWARD_X = [np.array([[0.25]], dtype=np.float32), np.linspace(-2, 2, 9, dtype=np.float32).reshape(-1, 1),
             np.random.default_rng(7).uniform(-3, 3, size=(301, 1)).astype(np.float32)]


@pytest.mark.parametrize("cls", graded("architecture"))
def test_architecture(student, cls):
    """state_dict() has hidden.weight (W, 1), hidden.bias (W,), out.weight (1, W), out.bias (1,)."""
    for width, args in NETWORKS[cls].items():
        net = network(student, cls, cls, args)
        assert_layers(state_of(net, made(cls, args)), width, made(cls, args))


@pytest.mark.parametrize("cls", graded("forward"))
def test_forward(student, reference, cls):
    """With the grader's weights loaded, net(x) is out(relu(hidden(x))) (the reference's network)."""
    for width, args in NETWORKS[cls].items():
        for seed in (1, 2):
            state = weights_for(width, 100 * width + seed)
            net = network(student, cls, cls, args)
            load(net, state, made(cls, args))
            for x in FORWARD_X:
                call = f"{made(cls, args)}(x) with x {describe(Tensor(x))} and the grader's weights"
                assert_close(net(Tensor(x)), reference_output(reference, cls, args, state, x), call, **RULE4)


@pytest.mark.parametrize("cls", graded("contract"))
def test_network_contract(student, cls):
    """float32 parameters; float32 (N, 1) in, float32 (N, 1) out."""
    for width, args in NETWORKS[cls].items():
        net = network(student, cls, cls, args)
        for entry, value in state_of(net, made(cls, args)).items():
            if value.dtype != np.float32:
                raise AssertionError(f"{entry} of {made(cls, args)} is {value.dtype}; expected float32 (rule 2)")
        for x in FORWARD_X:
            out = net(Tensor(x))
            call = f"{made(cls, args)}(x) with x {describe(Tensor(x))}"
            if not isinstance(out, np.ndarray) or out.shape != (len(x), 1) or out.dtype != np.float32:
                raise AssertionError(f"{call} returned {kind_of(out)}; expected a float32 tensor of shape ({len(x)}, 1)")


# -- mse ---------------------------------------------------------------------------------------------

def mse_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(31)
    shapes = [(1, 1), (5, 1), (256, 1), (9,), (3, 4), (2000, 1)]
    cases = [(rng.normal(0, 2, size=s).astype(np.float32), rng.normal(0, 2, size=s).astype(np.float32)) for s in shapes]
    same = rng.normal(size=(4, 1)).astype(np.float32)
    return cases + [(same, same), (np.zeros((3, 1), np.float32), np.array([[1.0], [-2.0], [3.0]], np.float32))]


MSE = mse_cases()


def mse_records(student) -> list:
    return testing.records(student, "mse", "cases", [Call(Tensor(p), Tensor(t)) for p, t in MSE])


@exercise("mse", POINTS["mse"]["values"])
def test_mse_values(student):
    """The mean over all entries of (prediction - target) ** 2, relative error 1e-5."""
    for (prediction, target), record in zip(MSE, mse_records(student)):
        want = np.mean((prediction.astype(np.float64) - target) ** 2)
        assert_close(record.value, want, f"mse(prediction, target) of shape {prediction.shape}", rtol=1e-5, atol=1e-7)


@exercise("mse", POINTS["mse"]["contract"])
def test_mse_contract(student):
    """A 0-d float32 tensor."""
    for (prediction, _), record in zip(MSE, mse_records(student)):
        value = record.value
        if not isinstance(value, np.ndarray) or value.shape != () or value.dtype != np.float32:
            raise AssertionError(f"mse(prediction, target) of shape {prediction.shape} returned {kind_of(value)}; "
                                 "expected a 0-d float32 tensor")


# -- best_linear_fit -----------------------------------------------------------------------------

def line_cases() -> list[tuple]:
    rng = np.random.default_rng(41)
    cases = [(rng.uniform(-2, 2, size=n), rng.normal(size=n)) for n in (2, 3, 17, 500)]
    x = rng.uniform(-1, 1, size=40)
    cases.append((x, 0.5 - 3 * x + rng.normal(0, 0.1, size=40)))
    grid = np.linspace(-1, 1, 101)
    cases += [(grid, grid ** 2), (np.array([-3, 0, 1, 5]), np.array([2, 2, -1, 7])),  # integers
              ([0.0, 1.0, 2.0, 4.0], [1.0, 3.0, 2.0, 5.0]), (list(range(6)), [3 * k - 2 for k in range(6)])]
    return cases


LINES = line_cases()


def line_records(student) -> list:
    return testing.records(student, "best_linear_fit", "cases", [Call(x, y) for x, y in LINES])


def line_text(x) -> str:
    return f"best_linear_fit(x, y) with x {describe(x)}"


def two_numbers(value, call: str) -> tuple:
    if not isinstance(value, tuple) or len(value) != 2:
        raise AssertionError(f"{call} returned {kind_of(value)}; expected a tuple (slope, intercept)")
    for part, name in zip(value, ("slope", "intercept")):
        if not isinstance(part, float):
            raise AssertionError(f"the {name} of {call} is {kind_of(part)}; expected a Python float")
    return value


@exercise("best_linear_fit", POINTS["best_linear_fit"]["values"])
def test_line_values(student, reference):
    """The least-squares slope and intercept, relative error 1e-6 or absolute 1e-9."""
    calls = [Call(x, y) for x, y in LINES]
    for (x, _), record, want in zip(LINES, line_records(student), expected(reference, "best_linear_fit", "cases", calls)):
        slope, intercept = two_numbers(record.value, line_text(x))
        assert_close(slope, want[0], f"the slope of {line_text(x)}", rtol=1e-6, atol=1e-9)
        assert_close(intercept, want[1], f"the intercept of {line_text(x)}", rtol=1e-6, atol=1e-9)


@exercise("best_linear_fit", POINTS["best_linear_fit"]["contract"])
def test_line_contract(student):
    """A tuple of two floats; lists and integers accepted; neither input modified."""
    for (x, _), record in zip(LINES, line_records(student)):
        two_numbers(record.value, line_text(x))
        assert_not_mutated(record.mutated, line_text(x))


# -- layer_outputs ---------------------------------------------------------------------------------

KEYS = ("pre_activations", "activations", "output")


def layer_runs(student) -> list[tuple[dict, np.ndarray, object]]:
    """(weights, x, what layer_outputs returned) for the grader's weights and points, made once per submission."""
    cache = _runs.setdefault(student, {})
    if "layers" not in cache:
        runs = []
        for seed in (5, 6):
            state = weights_for(2, seed)
            net = network(student, "layer_outputs")
            load(net, state, "TwoNeuronNet()")
            for x in FORWARD_X:
                runs.append((state, x, student.layer_outputs(net, Tensor(x))))
        cache["layers"] = runs
    return cache["layers"]


def layer_dict(value, call: str) -> dict:
    if not isinstance(value, dict) or sorted(value) != sorted(KEYS):
        kind = f"a dict with the keys {sorted(value)}" if isinstance(value, dict) else kind_of(value)
        raise AssertionError(f"{call} returned {kind}; expected a dict with the keys {', '.join(KEYS)}")
    return value


@exercise("layer_outputs", POINTS["layer_outputs"]["values"])
def test_layer_values(student, reference):
    """Each entry is what the reference's layer_outputs gives for its network with the same weights."""
    import torch

    for state, x, value in layer_runs(student):
        inputs = f"x {describe(Tensor(x))} and the grader's weights"
        got = layer_dict(value, f"layer_outputs(net, x) with {inputs}")
        net = reference.TwoNeuronNet()
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        want = reference.layer_outputs(net, torch.from_numpy(x))
        for key in KEYS:
            assert_close(got[key], want[key], f'layer_outputs(net, x)["{key}"] with {inputs}', **RULE4)


@exercise("layer_outputs", POINTS["layer_outputs"]["contract"])
def test_layer_contract(student):
    """float32 arrays of shapes (N, 2), (N, 2), (N, 1)."""
    for _, x, value in layer_runs(student):
        call = f"layer_outputs(net, x) with x {describe(Tensor(x))}"
        got = layer_dict(value, call)
        for key, shape in zip(KEYS, ((len(x), 2), (len(x), 2), (len(x), 1))):
            array = got[key]
            if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != np.float32:
                raise AssertionError(f'{call}["{key}"] is {kind_of(array)}; expected a float32 array of shape {shape}')


# -- set_optimal_weights ---------------------------------------------------------------------------

def optimal_run(student) -> tuple[dict, dict]:
    """(the state before, the state after set_optimal_weights(net)) of a new TwoNeuronNet, made once."""
    cache = _runs.setdefault(student, {})
    if "optimal" not in cache:
        net = network(student, "set_optimal_weights")
        before = state_of(net, "TwoNeuronNet()")
        student.set_optimal_weights(net)
        cache["optimal"] = before, state_of(net, "the net after set_optimal_weights(net)")
    return cache["optimal"]


@exercise("set_optimal_weights", POINTS["set_optimal_weights"]["optimum"])
def test_optimal_function(student, reference):
    """The network computes the optimal fit at every point of [-1, 1], absolute error 1e-6."""
    _, state = optimal_run(student)
    assert_layers(state, 2, "the net after set_optimal_weights(net)")
    best, best_mse = optimum(reference)
    error = fit_error(reference, state)
    gap = np.abs(error + FINE[:, 0] ** 2 - best)
    if gap.max() > 1e-6:
        where = float(FINE[np.argmax(gap), 0])
        raise AssertionError(f"after set_optimal_weights(net) the network is {gap.max():.3g} away from the optimal fit "
                             f"at x = {where:.3f}; its MSE on [-1, 1] is {np.mean(error ** 2):.7f}, the optimum's "
                             f"{best_mse:.7f}")


@exercise("set_optimal_weights", POINTS["set_optimal_weights"]["contract"])
def test_optimal_contract(student):
    """The parameters keep their entries, shapes and dtypes."""
    before, after = optimal_run(student)
    assert_kept(before, after, "set_optimal_weights(net)")


# -- init_outward ------------------------------------------------------------------------------------

OUTWARD_SEEDS = (5, 17, 123, 9999)


def outward_runs(student) -> dict:
    """{seed: (state before, state after init_outward(net, seed))}, with seed 17 twice (key "17 again")."""
    cache = _runs.setdefault(student, {})
    if "outward" not in cache:
        runs = {}
        for key, seed in [(s, s) for s in OUTWARD_SEEDS] + [("17 again", 17)]:
            net = network(student, "init_outward")
            before = state_of(net, "TwoNeuronNet()")
            student.init_outward(net, seed)
            runs[key] = before, state_of(net, f"the net after init_outward(net, {seed})")
        cache["outward"] = runs
    return cache["outward"]


@exercise("init_outward", POINTS["init_outward"]["outward"])
def test_outward_ranges(student):
    """Neuron 0 faces right, neuron 1 left, with weights of size 0.5 to 1.5, hinges inside on their
    own side, output weights in [0.5, 1.5] and output bias 0."""
    for seed in OUTWARD_SEEDS:
        _, state = outward_runs(student)[seed]
        what = f"after init_outward(net, {seed})"
        assert_layers(state, 2, f"the net {what}")
        w, b, c = (np.asarray(state[k], dtype=np.float64) for k in ("hidden.weight", "hidden.bias", "out.weight"))
        for i, (low, high, side) in enumerate(((0.5, 1.5, "right"), (-1.5, -0.5, "left"))):
            if not low - 1e-6 <= w[i, 0] <= high + 1e-6:
                raise AssertionError(f"{what}, hidden.weight[{i}, 0] is {w[i, 0]:.4g}; neuron {i} faces {side}: "
                                     f"expected a weight in [{low}, {high}]")
            hinge = -b[i] / w[i, 0]
            inside = (0.0, 1.0) if side == "right" else (-1.0, 0.0)
            if not inside[0] - 1e-6 <= hinge <= inside[1] + 1e-6:
                raise AssertionError(f"{what}, the hinge of neuron {i} is at {hinge:.4g}; it faces {side}: expected "
                                     f"it in [{inside[0]:g}, {inside[1]:g}]")
            if not 0.5 - 1e-6 <= c[0, i] <= 1.5 + 1e-6:
                raise AssertionError(f"{what}, out.weight[0, {i}] is {c[0, i]:.4g}; expected it in [0.5, 1.5]")
        if state["out.bias"][0] != 0:
            raise AssertionError(f"{what}, out.bias is {state['out.bias'][0]:.4g}; expected 0")


def same(a: dict, b: dict) -> bool:
    return sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)


@exercise("init_outward", POINTS["init_outward"]["seeded"])
def test_outward_seeded(student):
    """The same seed gives the same weights bit for bit; different seeds different weights."""
    runs = outward_runs(student)
    if not same(runs[17][1], runs["17 again"][1]):
        raise AssertionError("init_outward(net, 17) on two new networks gave different weights: "
                             "draw every number from torch.Generator().manual_seed(seed)")
    for a, b in zip(OUTWARD_SEEDS, OUTWARD_SEEDS[1:]):
        if same(runs[a][1], runs[b][1]):
            raise AssertionError(f"init_outward(net, {a}) and init_outward(net, {b}) gave the same weights")


@exercise("init_outward", POINTS["init_outward"]["contract"])
def test_outward_contract(student):
    """The parameters keep their entries, shapes and dtypes."""
    for seed, (before, after) in outward_runs(student).items():
        assert_kept(before, after, f"init_outward(net, {str(seed).split()[0]})")


# -- train -------------------------------------------------------------------------------------------

TRAIN_SEEDS = (3, 41, 2718)


def train_call(seed: int) -> str:
    return f"train(net, X, Y, {STEPS}, {seed})"


def train_once(student, net, seed: int):
    """train(net, X, Y, STEPS, seed) in the child, within the stated time limit; the history it returned."""
    record = student.train.many([Call(net, Tensor(X), Tensor(Y), STEPS, seed)], seconds=TRAIN_SECONDS)[0]
    try:
        return record.value
    except StudentTimeout:
        raise StudentTimeout(f"{train_call(seed)} did not return within the limit of {TRAIN_SECONDS:g} s: the "
                             "recipes of the exercise take well under a second; train gets no points") from None


def train_runs(student) -> dict:
    """{seed: (state before, history, state after)} for each seed on a new TwoNeuronNet, and "again":
    the first seed once more, on the network the second seed trained. Made once per submission;
    a fault (a timeout, say) is kept and raised again by every test that needs these runs."""
    cache = _runs.setdefault(student, {})
    if "train" not in cache:
        try:
            runs, net = {}, None
            for seed in TRAIN_SEEDS:
                net = network(student, "train")
                before = state_of(net, "TwoNeuronNet()")
                history = train_once(student, net, seed)
                runs[seed] = before, history, state_of(net, f"the net after {train_call(seed)}")
            before = runs[TRAIN_SEEDS[1]][2]
            history = train_once(student, net, TRAIN_SEEDS[0])
            runs["again"] = before, history, state_of(net, f"the net after {train_call(TRAIN_SEEDS[0])}")
            cache["train"] = runs
        except (SubmissionFault, AssertionError) as fault:
            cache["train"] = fault
    if isinstance(cache["train"], Exception):
        raise cache["train"]
    return cache["train"]


@exercise("train", POINTS["train"]["reaches"])
def test_train_reaches_the_optimum(student, reference):
    """After train(net, X, Y, 500, seed), the MSE on [-1, 1] is within 1% of the optimum, for every seed."""
    _, best_mse = optimum(reference)
    for seed in TRAIN_SEEDS:
        _, _, state = train_runs(student)[seed]
        assert_layers(state, 2, f"the net after {train_call(seed)}")
        if not all(np.isfinite(v).all() for v in state.values()):
            raise AssertionError(f"after {train_call(seed)} some weights are NaN or infinite")
        found = float(np.mean(fit_error(reference, state) ** 2))
        if not found <= 1.01 * best_mse:
            raise AssertionError(f"after {train_call(seed)} the MSE on [-1, 1] is {found:.6g}, {found / best_mse:.3g} "
                                 f"times the optimum {best_mse:.6g}; expected within 1% of it")


@exercise("train", POINTS["train"]["reproducible"])
def test_train_reproducible(student):
    """The same seed gives the same weights bit for bit, whatever the network's weights before."""
    runs = train_runs(student)
    if not same(runs[TRAIN_SEEDS[0]][2], runs["again"][2]):
        raise AssertionError(f"{train_call(TRAIN_SEEDS[0])} gave other weights on a network trained before than on a "
                             "new one: start from init_outward(net, seed) and draw nothing else at random")


@exercise("train", POINTS["train"]["seed"])
def test_train_uses_the_seed(student):
    """Different seeds end with weights that are not bit for bit the same."""
    runs = train_runs(student)
    for a, b in zip(TRAIN_SEEDS, TRAIN_SEEDS[1:]):
        if same(runs[a][2], runs[b][2]):
            raise AssertionError(f"{train_call(a)} and {train_call(b)} ended with the same weights, bit for bit: "
                                 "the seed is not used (init_outward(net, seed))")


@exercise("train", POINTS["train"]["contract"])
def test_train_contract(student):
    """A list of 1 to 500 floats; the parameters keep their entries, shapes and dtypes."""
    for seed, (before, history, after) in train_runs(student).items():
        call = train_call(TRAIN_SEEDS[0] if seed == "again" else seed)
        if not isinstance(history, list) or not 1 <= len(history) <= STEPS or \
                not all(isinstance(v, float) for v in history):
            length = f" of length {len(history)}" if isinstance(history, (list, tuple)) else ""
            raise AssertionError(f"{call} returned {kind_of(history)}{length}; expected a list of 1 to {STEPS} floats "
                                 "(loss.item() at the start of each step)")
        assert_kept(before, after, call)


# -- wrong but plausible submissions, and the marks each must get ------------------------------------
# name -> ({grade_id: replacement source}, {exercise: expected points where not full}, words in the reason)
# The first exercise named is the one with the mistake (the words are in its reason, and in the reason of
# one of its public checks); any after it lose points because they build on it (train trains the
# student's TwoNeuronNet with the student's mse and init_outward; layer_outputs runs the student's layers).

_NET = ("class TwoNeuronNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.hidden = nn.Linear(1, 2{dtype})\n        self.out = nn.Linear(2, 1{dtype})\n\n"
        "    def forward(self, x):\n        return {forward}\n")
_TRAIN = ("def train(net, x, y, steps, seed):\n    init_outward(net, {seed})\n"
          "    optimizer = torch.optim.LBFGS(net.parameters(), max_iter=20, line_search_fn='strong_wolfe')\n\n"
          "    def closure():\n{zero}        loss = mse(net(x), y)\n        loss.backward()\n        return loss\n\n"
          "    history = []\n    for _ in range(steps):\n        loss = optimizer.step(closure).item()\n"
          "        if history and not loss < history[-1]:\n            break\n        history.append(loss)\n"
          "    return history\n")
_INIT = ("def init_outward(net, seed):\n    width = net.hidden.out_features\n"
         "    generator = torch.Generator().manual_seed(seed)\n    side = {side}\n"
         "    weight = side * (0.5 + torch.rand(width, generator=generator))\n"
         "    hinge = side * torch.rand(width, generator=generator)\n"
         "    out_weight = (0.5 + torch.rand(width, generator=generator)) * 2 / width\n"
         "    with torch.no_grad():\n        net.hidden.weight.copy_(weight[:, None])\n"
         "        net.hidden.bias.copy_(-weight * hinge)\n        net.out.weight.copy_(out_weight[None, :])\n"
         "        net.out.bias.zero_()\n")
_OPTIMAL = ("def set_optimal_weights(net):\n    with torch.no_grad():\n"
            "        net.hidden.weight.copy_(torch.tensor([[1.0], [-1.0]]))\n"
            "        net.hidden.bias.copy_(torch.tensor([{hinge}, {hinge}]))\n"
            "        net.out.weight.copy_(torch.tensor([[4 / 3, 4 / 3]]))\n"
            "        net.out.bias.copy_(torch.tensor([{level}]))\n")

WRONG = {
    "no_relu": (
        {"TwoNeuronNet_code": _NET.format(dtype="", forward="self.out(self.hidden(x))")},
        {"TwoNeuronNet": 2, "train": 3}, "TwoNeuronNet()(x)"),
    "relu_after_the_output_layer": (
        {"TwoNeuronNet_code": _NET.format(dtype="", forward="torch.relu(self.out(self.hidden(x)))")},
        {"TwoNeuronNet": 2, "train": 3}, "TwoNeuronNet()(x)"),
    "float64_weights_for_float32_input": (
        {"TwoNeuronNet_code": _NET.format(dtype=", dtype=torch.float64",
                                          forward="self.out(torch.relu(self.hidden(x.double())))")},
        {"TwoNeuronNet": 3, "layer_outputs": 0}, "float64; expected float32"),
    "hinges_on_one_side": (
        {"init_outward_code": _INIT.format(side="torch.ones(width)")},
        {"init_outward": 2, "train": 3}, "neuron 1 faces left"),
    "mse_is_the_sum": (
        {"mse_code": "def mse(prediction, target):\n    return ((prediction - target) ** 2).sum()\n"},
        {"mse": 1}, "mse(prediction, target) of shape"),
    "mse_is_the_mean_absolute_error": (
        {"mse_code": "def mse(prediction, target):\n    return (prediction - target).abs().mean()\n"},
        {"mse": 1, "train": 3}, "mse(prediction, target) of shape"),
    "train_ignores_the_seed": (
        {"train_code": _TRAIN.format(seed="0", zero="        optimizer.zero_grad()\n")},
        {"train": 5}, "the seed is not used"),
    "train_never_calls_zero_grad": (
        {"train_code": _TRAIN.format(seed="seed", zero="")},
        {"train": 2}, "after train(net, X, Y, 500,"),  # the gradients pile up; a rerun also starts from the last run's
    "layer_outputs_with_the_layers_swapped": (
        {"layer_outputs_code": "def layer_outputs(net, x):\n    with torch.no_grad():\n"
                               "        pre = net.hidden(x)\n        act = torch.relu(pre)\n"
                               "        return {'pre_activations': act.numpy(), 'activations': pre.numpy(),\n"
                               "                'output': net.out(act).numpy()}\n"},
        {"layer_outputs": 1}, 'layer_outputs(net, x)["pre_activations"]'),
    "optimum_not_lowered": (
        {"set_optimal_weights_code": _OPTIMAL.format(hinge="-1 / 3", level="1 / 9")},
        {"set_optimal_weights": 1}, "after set_optimal_weights(net) the"),
    "best_line_through_the_origin": (
        {"best_linear_fit_code": "def best_linear_fit(x, y):\n    x, y = np.asarray(x, float), np.asarray(y, float)\n"
                                 "    slope = np.sum(x * y) / np.sum(x * x)\n"
                                 "    return float(slope), float(np.mean(y) - slope * np.mean(x))\n"},
        {"best_linear_fit": 1}, "the slope of best_linear_fit("),
    "wide_net_ignores_its_width": (
        {"WideNet_code": "class WideNet(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n"
                         "        self.hidden = nn.Linear(1, 2)\n        self.out = nn.Linear(2, 1)\n\n"
                         "    def forward(self, x):\n        return self.out(torch.relu(self.hidden(x)))\n"},
        {"WideNet": 1}, "hidden.weight of WideNet(1) has shape (2, 1)"),
    "train_one_point_at_a_time": (
        {"train_code": "def train(net, x, y, steps, seed):\n    init_outward(net, seed)\n"
                       "    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)\n    history = []\n"
                       "    for _ in range(steps):\n        for j in range(len(x)):\n"
                       "            optimizer.zero_grad()\n            loss = mse(net(x[j:j + 1]), y[j:j + 1])\n"
                       "            loss.backward()\n            optimizer.step()\n"
                       "        history.append(mse(net(x), y).item())\n    return history\n"},
        {"train": 0}, "did not return within"),
}

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

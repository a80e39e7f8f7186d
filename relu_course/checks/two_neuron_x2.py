"""Public checks of assignment 03: shapes, known values and properties, no reference solution.

The checks build networks with the notebook's own classes and run them, here (``check()``
in the notebook: real modules and tensors) or in the sandbox (``relu-course check``: remote
handles, tensors handed over with ``fns.tensor``). :func:`attempt` makes both alike: values
come back as NumPy arrays, and whatever a step raises becomes a failure that names the step.
Every fit is measured here, from the network's weights; nothing the student's code reports
about itself is used.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..testing import NotDefined, StudentError, SubmissionFault, describe_error
from .core import Calls, CheckFailure, NotImplementedYet, public_check, short

ASSIGNMENT = "03_two_neuron_x2"
A = ASSIGNMENT
#: the four entries of a network's state_dict, in order
ENTRIES = ("hidden.weight", "hidden.bias", "out.weight", "out.bias")
#: x² on [-1, 1]: the midpoints of 20,000 equal cells, so a mean over them is the mean over the interval
MIDPOINTS = -1 + (np.arange(20_000) + 0.5) / 10_000
#: the training data of the notebook
X = np.linspace(-1, 1, 256, dtype=np.float32).reshape(-1, 1)
OPTIMUM = 4 / 3645


# -- calling the notebook's code, here or in the sandbox ---------------------------------------

def as_data(value: Any) -> Any:
    """Tensors (a local call's results) as NumPy arrays, inside dicts, lists and tuples too."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: as_data(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(as_data(v) for v in value)
    return value


def attempt(fns: Any, exercise: str, step: str, fn: Callable, *args: Any) -> Any:
    """``fn(*args)``, one step of a check of ``exercise``: a method of a local or remote network,
    or a function of the notebook. Whatever it raises becomes a CheckFailure naming ``step``."""
    try:
        return fn(*args)
    except CheckFailure:
        raise
    except NotDefined as exc:
        raise Calls(fns).not_defined(step.split("(")[0], exc) from None
    except SubmissionFault as exc:  # a call into the sandbox, already described there
        error = exc
    except Exception as exc:  # noqa: BLE001 - a call here, in the notebook: describe it alike
        error = StudentError(step, describe_error(exc))
    if isinstance(error, StudentError):
        failure = Calls(fns).explain_error(exercise, step, error)  # its input names the step
        if isinstance(failure, NotImplementedYet) and not step.startswith(exercise):
            name = step.split("(")[0].split(".")[0]
            failure = NotImplementedYet(f"{exercise} needs {name}, which is not implemented yet")
        raise failure from None
    raise CheckFailure(f"{step}: {error.summary}") from None


def call(fns: Any, exercise: str, name: str, *args: Any, text: str | None = None) -> Any:
    """The notebook's ``name(*args)`` (a function or a class), its value as data where it is data."""
    step = text or f"{name}(...)"
    return as_data(attempt(fns, exercise, step, lambda: getattr(fns, name).record(*args).value))


class Network:
    """A network made by the notebook's class, here or in the sandbox, with its calls as data."""

    def __init__(self, fns: Any, exercise: str, cls: str, *args: Any):
        self.fns, self.exercise = fns, exercise
        self.made = f"{cls}({', '.join(map(repr, args))})"
        self.obj = attempt(fns, exercise, self.made, lambda: getattr(fns, cls).record(*args).value)

    def __call__(self, x: np.ndarray) -> Any:
        return as_data(attempt(self.fns, self.exercise, f"{self.made}(x)", self.obj, self.fns.tensor(x)))

    def state(self) -> dict:
        state = as_data(attempt(self.fns, self.exercise, f"{self.made}.state_dict()", self.obj.state_dict))
        if not isinstance(state, dict):
            raise CheckFailure(f"{self.made}.state_dict() returned {short(state)}; expected a dict")
        return state

    def load(self, state: dict) -> None:
        tensors = {k: self.fns.tensor(v) for k, v in state.items()}
        attempt(self.fns, self.exercise, f"{self.made}.load_state_dict(...)", self.obj.load_state_dict, tensors)


def shapes(width: int) -> dict[str, tuple]:
    return {"hidden.weight": (width, 1), "hidden.bias": (width,), "out.weight": (1, width), "out.bias": (1,)}


def expect_layers(state: dict, width: int, what: str, float32: bool = True) -> dict[str, np.ndarray]:
    """The state of a network of ``width`` hidden neurons: its four entries, their shapes and (if
    ``float32``) their dtype, as float64 arrays."""
    if sorted(state) != sorted(ENTRIES):
        raise CheckFailure(f"the state_dict() of {what} has the entries {list(state)}; expected "
                           f"{list(ENTRIES)}: layers self.hidden and self.out, and nothing else with parameters")
    for entry, shape in shapes(width).items():
        array = np.asarray(state[entry])
        if array.shape != shape:
            raise CheckFailure(f"{entry} of {what} has shape {array.shape}; expected {shape}")
        if float32 and array.dtype != np.float32:
            raise CheckFailure(f"{entry} of {what} has dtype {array.dtype}; expected float32 (PyTorch's default)")
    return {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}


def layers_of(state: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hidden(x), relu(hidden(x)), out(relu(hidden(x)))) from the weights, in float64; x of shape (N, 1)."""
    s = {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}
    pre = np.asarray(x, dtype=np.float64) @ s["hidden.weight"].T + s["hidden.bias"]
    act = np.maximum(pre, 0.0)
    return pre, act, act @ s["out.weight"].T + s["out.bias"]


def fit_mse(state: dict) -> float:
    """The mean squared error against x² over [-1, 1] of the network with these weights."""
    return float(np.mean((layers_of(state, MIDPOINTS[:, None])[2][:, 0] - MIDPOINTS ** 2) ** 2))


def close(got: Any, want: np.ndarray) -> bool:
    got = np.asarray(got, dtype=np.float64)
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-5, atol=1e-6))


def known_weights(width: int) -> dict[str, np.ndarray]:
    """Weights that put every hinge inside [-0.8, 0.8], both ways, and make the output go negative."""
    sides = np.where(np.arange(width) % 2 == 0, 1.0, -1.0)
    hinges = np.linspace(-0.8, 0.8, width) if width > 1 else np.array([0.25])
    return {"hidden.weight": (1.5 * sides)[:, None].astype(np.float32),
            "hidden.bias": (-1.5 * sides * hinges).astype(np.float32),
            "out.weight": np.where(np.arange(width) % 3 == 1, -2.0, 1.0)[None, :].astype(np.float32),
            "out.bias": np.array([-0.5], dtype=np.float32)}


# -- mse --------------------------------------------------------------------------------------

def expect_scalar(value: Any, text: str) -> float:
    array = np.asarray(value) if isinstance(value, (np.ndarray, np.generic)) else None
    if array is None or array.shape != () or array.dtype != np.float32:
        kind = f"shape {array.shape} and dtype {array.dtype}" if array is not None else short(value)
        raise CheckFailure(f"{text} returned {kind}; expected a 0-d float32 tensor (use torch operations, no .item())")
    return float(array)


@public_check(A, "mse", "known values: mse([[1], [2], [3]], [[0], [2], [5]]) = 5/3; mse(y, y) = 0")
def mse_known(fns) -> None:
    prediction = np.array([[1.0], [2.0], [3.0]], dtype=np.float32)
    target = np.array([[0.0], [2.0], [5.0]], dtype=np.float32)
    text = "mse([[1], [2], [3]], [[0], [2], [5]])"
    value = expect_scalar(call(fns, "mse", "mse", fns.tensor(prediction), fns.tensor(target), text=text), text)
    if not np.isclose(value, 5 / 3, rtol=1e-5):
        hint = " (that is the sum of the squares: divide by their number)" if np.isclose(value, 5.0) else ""
        raise CheckFailure(f"{text} gave {value:.6g}; expected 5/3 = 1.66667{hint}")
    same = expect_scalar(call(fns, "mse", "mse", fns.tensor(target), fns.tensor(target), text="mse(y, y)"), "mse(y, y)")
    if same != 0:
        raise CheckFailure(f"mse(y, y) gave {same}; expected 0")


@public_check(A, "mse", "the mean of the squared errors for any shape: (N,), (N, 1), (3, 4)")
def mse_shapes(fns) -> None:
    rng = np.random.default_rng(3)
    for shape in ((7,), (5, 1), (3, 4)):
        prediction, target = (rng.normal(size=shape).astype(np.float32) for _ in range(2))
        text = f"mse(prediction, target) of shape {shape}"
        value = expect_scalar(call(fns, "mse", "mse", fns.tensor(prediction), fns.tensor(target), text=text), text)
        want = np.mean((prediction.astype(np.float64) - target) ** 2)
        if not np.isclose(value, want, rtol=1e-5):
            raise CheckFailure(f"{text} gave {value:.6g}; expected the mean of the squared errors, {want:.6g}")


# -- best_linear_fit --------------------------------------------------------------------------

def line_of(value: Any, text: str) -> tuple[float, float]:
    if not isinstance(value, tuple) or len(value) != 2 or not all(isinstance(v, float) for v in value):
        raise CheckFailure(f"{text} returned {short(value)}; expected a tuple (slope, intercept) of two floats")
    return value


def expect_line(value: tuple, want: tuple[float, float], text: str) -> None:
    for part, got, expected in zip(("slope", "intercept"), value, want):
        if not np.isclose(got, expected, rtol=1e-6, atol=1e-9):
            raise CheckFailure(f"the {part} of {text} is {got:.6g}; expected {expected:.6g}")


@public_check(A, "best_linear_fit", "points on a line give that line: ([0, 1, 2, 3], [-1, 1, 3, 5]) -> (2.0, -1.0)")
def line_exact(fns) -> None:
    text = "best_linear_fit([0, 1, 2, 3], [-1, 1, 3, 5])"
    line = line_of(call(fns, "best_linear_fit", "best_linear_fit", [0, 1, 2, 3], [-1, 1, 3, 5], text=text), text)
    expect_line(line, (2.0, -1.0), text)


@public_check(A, "best_linear_fit", "x² on a symmetric grid: slope 0, intercept the mean of x²")
def line_of_square(fns) -> None:
    x = np.linspace(-1, 1, 11)
    text = "best_linear_fit(x, x ** 2) with x = np.linspace(-1, 1, 11)"
    line = line_of(call(fns, "best_linear_fit", "best_linear_fit", x, x ** 2, text=text), text)
    expect_line(line, (0.0, float(np.mean(x ** 2))), text)


# -- the networks -----------------------------------------------------------------------------

def network_checks(cls: str, widths: dict[int, tuple]) -> None:
    """The checks of a network class; ``widths`` maps each width checked to the class's arguments."""
    listed = ", ".join(map(str, widths))

    @public_check(A, cls, f"layers hidden = nn.Linear(1, W) and out = nn.Linear(W, 1), float32 (W = {listed})")
    def layers(fns) -> None:
        for width, args in widths.items():
            net = Network(fns, cls, cls, *args)
            expect_layers(net.state(), width, net.made)

    @public_check(A, cls, "forward is out(relu(hidden(x))), on weights with hinges both ways")
    def forward(fns) -> None:
        x = np.linspace(-2, 2, 41, dtype=np.float32).reshape(-1, 1)
        for width, args in widths.items():
            net = Network(fns, cls, cls, *args)
            weights = known_weights(width)
            net.load(weights)
            got = net(x)
            pre, act, want = layers_of(weights, x)
            if close(got, want):
                continue
            out_of = act @ weights["out.weight"].T.astype(np.float64)
            if close(got, pre @ weights["out.weight"].T + weights["out.bias"]):
                why = "it equals out(hidden(x)): the ReLU between the hidden and the output layer is missing"
            elif close(got, np.maximum(pre @ weights["out.weight"].T + weights["out.bias"], 0)):
                why = "it equals relu(out(hidden(x))): the ReLU must go after the hidden layer, not the output layer"
            elif close(got, np.maximum(out_of + weights["out.bias"], 0)):
                why = "it equals relu(out(relu(hidden(x)))): no ReLU after the output layer (it must go negative)"
            else:
                why = "the output layer is not applied to relu(hidden(x))"
            raise CheckFailure(f"{net.made}(x) on x in [-2, 2] with known weights is not out(relu(hidden(x))): {why}",
                               returned=short(np.asarray(got)[:4, 0] if np.ndim(got) == 2 else got),
                               expected=short(want[:4, 0]))

    @public_check(A, cls, "float32 (N, 1) in, float32 (N, 1) out, for N = 1 and N = 7")
    def contract(fns) -> None:
        for width, args in widths.items():
            net = Network(fns, cls, cls, *args)
            for n in (1, 7):
                got = net(np.zeros((n, 1), dtype=np.float32))
                if not isinstance(got, np.ndarray) or got.shape != (n, 1) or got.dtype != np.float32:
                    kind = f"shape {got.shape} and dtype {got.dtype}" if isinstance(got, np.ndarray) else short(got)
                    raise CheckFailure(f"{net.made}(x) with x of shape ({n}, 1) returned {kind}; "
                                       f"expected a float32 tensor of shape ({n}, 1)")


network_checks("OneNeuronNet", {1: ()})
network_checks("TwoNeuronNet", {2: ()})


# -- layer_outputs ----------------------------------------------------------------------------

KEYS = ("pre_activations", "activations", "output")


def layer_outputs_of(fns, weights: dict, x: np.ndarray) -> dict:
    net = Network(fns, "layer_outputs", "TwoNeuronNet")
    net.load(weights)
    text = "layer_outputs(net, x)"
    got = attempt(fns, "layer_outputs", text, lambda: fns.layer_outputs.record(net.obj, fns.tensor(x)).value)
    if not isinstance(got, dict) or sorted(got) != sorted(KEYS):
        raise CheckFailure(f"{text} returned {short(got)}; expected a dict with the keys {', '.join(KEYS)}")
    for key, shape in zip(KEYS, ((len(x), 2), (len(x), 2), (len(x), 1))):
        value = got[key]
        if not isinstance(value, np.ndarray):
            raise CheckFailure(f'{text}["{key}"] is {short(value)}; expected a NumPy array '
                               "(inside torch.no_grad(), tensor.numpy())")
        if value.shape != shape or value.dtype != np.float32:
            raise CheckFailure(f'{text}["{key}"] has shape {value.shape} and dtype {value.dtype}; '
                               f"expected shape {shape} and float32")
    return got


@public_check(A, "layer_outputs", "a dict of float32 NumPy arrays: pre_activations (N, 2), activations (N, 2), output (N, 1)")
def layer_outputs_contract(fns) -> None:
    for n in (1, 9):
        layer_outputs_of(fns, known_weights(2), np.linspace(-1, 1, n, dtype=np.float32).reshape(-1, 1))


@public_check(A, "layer_outputs", "pre_activations = hidden(x), activations = relu of them, output = out(activations)")
def layer_outputs_values(fns) -> None:
    weights, x = known_weights(2), np.linspace(-1.5, 1.5, 31, dtype=np.float32).reshape(-1, 1)
    got = layer_outputs_of(fns, weights, x)
    pre, act, out = layers_of(weights, x)
    if close(got["pre_activations"], act) and close(got["activations"], pre):
        raise CheckFailure('layer_outputs(net, x)["pre_activations"] is relu(hidden(x)) and ["activations"] is '
                           "hidden(x): they are swapped (pre-activations come before the ReLU, activations after)")
    for key, want, what in zip(KEYS, (pre, act, out), ("hidden(x), the hidden layer before the ReLU",
                                                       "relu(hidden(x)), the hidden layer after the ReLU",
                                                       "out(relu(hidden(x))), the output layer")):
        if not close(got[key], want):
            raise CheckFailure(f'layer_outputs(net, x)["{key}"] is not {what}', returned=short(got[key][:3]),
                               expected=short(want[:3].astype(np.float32)))


# -- set_optimal_weights ----------------------------------------------------------------------

def optimal_state(fns) -> tuple[dict, dict]:
    """The state of a new TwoNeuronNet before and after set_optimal_weights(net)."""
    net = Network(fns, "set_optimal_weights", "TwoNeuronNet")
    before = net.state()
    attempt(fns, "set_optimal_weights", "set_optimal_weights(net)",
            lambda: fns.set_optimal_weights.record(net.obj).value)
    return before, net.state()


@public_check(A, "set_optimal_weights", "afterwards the MSE on [-1, 1] is 4/3645 ≈ 0.0010974, from the net's weights")
def optimal_mse(fns) -> None:
    state = expect_layers(optimal_state(fns)[1], 2, "the net after set_optimal_weights(net)", float32=False)
    found = fit_mse(state)
    if not np.isclose(found, OPTIMUM, rtol=1e-4):
        w, b = state["hidden.weight"][:, 0], state["hidden.bias"]
        with np.errstate(divide="ignore", invalid="ignore"):
            hinges = [round(float(h), 4) for h in -b / w]
        raise CheckFailure(f"after set_optimal_weights(net) the MSE on [-1, 1] is {found:.7f}; expected "
                           f"4/3645 = {OPTIMUM:.7f}. The hidden layer's hinges -bias/weight are at {hinges} "
                           "(expected -1/3 and 1/3, one neuron facing each way); check the output layer's "
                           "weights (the slopes) and bias (the flat level) too")


def expect_kept(before: dict, after: dict, what: str) -> None:
    """A function that changes a network's weights keeps their entries, shapes and dtypes."""
    for entry, value in before.items():
        changed = after.get(entry)
        if changed is None or np.shape(changed) != np.shape(value) or changed.dtype != value.dtype:
            now = "gone" if changed is None else f"{changed.dtype} {np.shape(changed)}"
            raise CheckFailure(f"{what} changed {entry} from {value.dtype} {np.shape(value)} to {now}: write into "
                               "the existing parameters (inside torch.no_grad(), with copy_), do not replace them")


@public_check(A, "set_optimal_weights", "the parameters keep their dtype and shapes")
def optimal_contract(fns) -> None:
    expect_kept(*optimal_state(fns), "set_optimal_weights(net)")


# -- init_outward -----------------------------------------------------------------------------

def outward_state(fns, seed: int, exercise: str = "init_outward") -> dict:
    net = Network(fns, exercise, "TwoNeuronNet")
    before = net.state()
    attempt(fns, exercise, f"init_outward(net, {seed})", lambda: fns.init_outward.record(net.obj, seed).value)
    after = net.state()
    expect_kept(before, after, f"init_outward(net, {seed})")
    return expect_layers(after, 2, f"the net after init_outward(net, {seed})", float32=False)


def outward_problem(state: dict, width: int) -> str | None:
    """What is wrong with an outward start, naming the layer and the neuron; None if nothing."""
    w, b = state["hidden.weight"][:, 0], state["hidden.bias"]
    for i in range(width):
        right = i % 2 == 0
        low, high = (0.5, 1.5) if right else (-1.5, -0.5)
        if not low - 1e-6 <= w[i] <= high + 1e-6:
            return (f"hidden.weight[{i}, 0] is {w[i]:.4g}; neuron {i} faces {'right' if right else 'left'}, "
                    f"so its weight must be in [{low}, {high}]")
        hinge = -b[i] / w[i]
        low, high = (0.0, 1.0) if right else (-1.0, 0.0)
        if not low - 1e-6 <= hinge <= high + 1e-6:
            return (f"the hinge -hidden.bias[{i}] / hidden.weight[{i}, 0] of neuron {i} is at {hinge:.4g}; it must be "
                    f"in [{low:g}, {high:g}], on the side the neuron faces")
        c = state["out.weight"][0, i]
        if not 0.5 * 2 / width - 1e-6 <= c <= 1.5 * 2 / width + 1e-6:
            return f"out.weight[0, {i}] is {c:.4g}; expected a value in [0.5, 1.5] * 2 / {width}"
    if state["out.bias"][0] != 0:
        return f"out.bias is {state['out.bias'][0]:.4g}; expected 0"
    return None


@public_check(A, "init_outward", "neuron 0 faces right, neuron 1 left, hinges inside on their own side, "
                                 "output weights in [0.5, 1.5], bias 0 (seeds 0 to 4)")
def outward_ranges(fns) -> None:
    for seed in range(5):
        problem = outward_problem(outward_state(fns, seed), 2)
        if problem:
            raise CheckFailure(f"after init_outward(net, {seed}): {problem}")


@public_check(A, "init_outward", "the same seed gives the same weights, another seed other weights")
def outward_seeded(fns) -> None:
    first, again, other = outward_state(fns, 7), outward_state(fns, 7), outward_state(fns, 8)
    if any(not np.array_equal(first[k], again[k]) for k in ENTRIES):
        raise CheckFailure("init_outward(net, 7) twice gave different weights: draw every number from "
                           "torch.Generator().manual_seed(seed)")
    if all(np.array_equal(first[k], other[k]) for k in ENTRIES):
        raise CheckFailure("init_outward(net, 7) and init_outward(net, 8) gave the same weights: use the seed")


# -- train --------------------------------------------------------------------------------------

def trained(fns, seed: int) -> tuple[dict, Any]:
    """(the state after train(net, X, X ** 2, 500, seed), what train returned)."""
    net = Network(fns, "train", "TwoNeuronNet")
    text = f"train(net, X, Y, 500, {seed})"
    history = call(fns, "train", "train", net.obj, fns.tensor(X), fns.tensor(X ** 2), 500, seed, text=text)
    return expect_layers(net.state(), 2, f"the net after {text}", float32=False), history


@public_check(A, "train", "train(net, X, Y, 500, seed) ends within 1% of 4/3645 (seeds 0 and 1), measured from the weights")
def train_reaches(fns) -> None:
    for seed in (0, 1):
        state, _ = trained(fns, seed)
        if not all(np.isfinite(v).all() for v in state.values()):
            raise CheckFailure(f"after train(net, X, Y, 500, {seed}) some weights are NaN or infinite: the steps "
                               "blew up (are the gradients zeroed at every step?)")
        found = fit_mse(state)
        if found <= 1.01 * OPTIMUM:
            continue
        start = fit_mse(outward_state(fns, seed, "train"))
        how = "so train made it no better" if found >= start * (1 - 1e-6) else "so train lowered it, but not enough"
        raise CheckFailure(f"after train(net, X, Y, 500, {seed}) the MSE on [-1, 1] is {found:.6g}, "
                           f"{found / OPTIMUM:.3g} times the optimum 4/3645; right after init_outward(net, {seed}) "
                           f"it was {start:.4g}, {how} (both measured from the weights)")


@public_check(A, "train", "the same seed gives the same weights, bit for bit")
def train_reproducible(fns) -> None:
    first, _ = trained(fns, 3)
    again, _ = trained(fns, 3)
    if any(not np.array_equal(first[k], again[k]) for k in ENTRIES):
        raise CheckFailure("train(net, X, Y, 500, 3) twice gave different weights: start with init_outward(net, seed) "
                           "and draw nothing else at random")


@public_check(A, "train", "different seeds end with weights that are not bit for bit the same (seeds 0 and 1)")
def train_uses_the_seed(fns) -> None:
    first, _ = trained(fns, 0)
    other, _ = trained(fns, 1)
    if all(np.array_equal(first[k], other[k]) for k in ENTRIES):
        raise CheckFailure("train(net, X, Y, 500, 0) and train(net, X, Y, 500, 1) ended with the same weights, bit "
                           "for bit: the seed is not used (start with init_outward(net, seed))")


@public_check(A, "train", "returns the history: a list of at most 500 floats, at least one")
def train_history(fns) -> None:
    _, history = trained(fns, 0)
    if not isinstance(history, list) or not 1 <= len(history) <= 500 or not all(isinstance(v, float) for v in history):
        raise CheckFailure(f"train(net, X, Y, 500, 0) returned {short(history)}; expected a list of 1 to 500 Python "
                           "floats (loss.item() at the start of each step)")


network_checks("WideNet", {1: (1,), 3: (3,), 20: (20,)})

"""Hidden tests for assignment 01, activation functions.

Every behaviour checked here is stated in the exercise text: values within the accuracy
rule, 0 and -0.0, |x| up to 1e4 without warnings, shapes (), (n,), (n, m) and more,
float32 and integer input (int8, uint8 and int16 included), non-contiguous views, Python
scalars, floating output of the input's shape, no mutation, and ValueError for alpha outside
[0, 1), NaN included. Points are for work: the contract and alpha tests of a function pay out
only when its values are right on the typical inputs. Inputs are fixed (seeded): the same
submission always gets the same score.

``WRONG`` holds wrong but plausible submissions with the marks each must get (tests/ grades
them, and checks that the public checks catch every mistake the hidden tests take points for).
"""
import numpy as np
import pytest

from relu_course import testing
from relu_course.testing import (Call, View, assert_close, assert_floating_array, assert_no_warnings,
                                 assert_not_mutated, assert_raises, describe, exercise, expected, local, records,
                                 tolerances)

#: The points of every hidden test, by exercise and kind of test: their one source.
POINTS = {
    "collapse_linear": {"values": 2, "composition": 1, "contract": 1},
    "sigmoid": {"values": 2, "edge_cases": 1, "contract": 1},
    "tanh": {"values": 2, "edge_cases": 1, "contract": 1},
    "relu": {"values": 2, "edge_cases": 1, "contract": 1},
    "leaky_relu": {"values": 2, "edge_cases": 1, "contract": 1, "alpha": 1},
    "sigmoid_grad": {"values": 2, "edge_cases": 1, "contract": 1},
    "tanh_grad": {"values": 2, "edge_cases": 1, "contract": 1},
    "relu_grad": {"values": 2, "edge_cases": 1, "contract": 1},
    "leaky_relu_grad": {"values": 2, "edge_cases": 1, "contract": 1, "alpha": 1},
}
ELEMENTWISE = [name for name in POINTS if name != "collapse_linear"]
WITH_ALPHA = [name for name in POINTS if "alpha" in POINTS[name]]


def graded(kind: str) -> list:
    return testing.graded(POINTS, kind, ELEMENTWISE)


def sample_inputs() -> list:
    """Typical inputs of every accepted kind; none is exactly 0 (that is an edge case)."""
    rng = np.random.default_rng(101)
    wide = rng.normal(0, 3, size=(6, 8))
    return [
        float(rng.normal()), -3, np.float64(1.75),
        np.array(rng.normal(0, 3)), rng.normal(0, 3, size=7), rng.normal(0, 3, size=(4, 5)),
        rng.normal(0, 3, size=(2, 3, 4)), rng.normal(0, 3, size=6).astype(np.float32),
        np.array([-3, -1, 2, 5]), np.array([-6, -2, 1, 9], dtype=np.int8), np.array([2, 7, 250], dtype=np.uint8),
        np.array([-400, -3, 6, 2000], dtype=np.int16), View(wide, (slice(None), slice(None, None, 2))),
        View(rng.normal(0, 3, size=(5, 3)), "T"),
    ]


EDGE_VALUES = [0.0, -0.0, 1e4, -1e4, 710.0, -710.0, 40.0, -40.0, 1e-300, -1e-300]


def edge_inputs() -> list:
    return [0, 0.0, -0.0, 1e4, -1e4, np.array(EDGE_VALUES), np.array(EDGE_VALUES, dtype=np.float32),
            np.array(EDGE_VALUES).reshape(2, 5)]


SAMPLE, EDGE = sample_inputs(), edge_inputs()  # fixed: every submission gets the same inputs


ALPHAS = [{"alpha": 0.0}, {"alpha": 0.2}, {"alpha": 0.5}]


def cases_for(name: str, inputs: list) -> list[tuple]:
    """(x, kwargs) pairs: every input with the defaults, and a 2-d one with other legal alphas."""
    cases = [(x, {}) for x in inputs]
    if name in WITH_ALPHA:
        matrix = next(x for x in inputs if isinstance(x, np.ndarray) and x.ndim == 2)
        cases += [(matrix, kwargs) for kwargs in ALPHAS]
    return cases


def call_text(name: str, x, kwargs: dict):
    """The call as text, for a failure message (made only if needed)."""
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return lambda: f"{name}({describe(x)}{extra})"


def check_against_reference(student, reference, name: str, key: str, inputs: list, warnings_matter: bool) -> None:
    cases = cases_for(name, inputs)
    calls = [Call(x, **kwargs) for x, kwargs in cases]
    for (x, kwargs), record, want in zip(cases, records(student, name, key, calls), expected(reference, name, key, calls)):
        call = call_text(name, x, kwargs)
        assert_close(record.value, want, call, **tolerances(x))
        if warnings_matter:
            assert_no_warnings(record.warnings, call)


@pytest.mark.parametrize("name", graded("values"))
def test_values(student, reference, name):
    """Values agree with the reference on typical inputs of every accepted kind."""
    check_against_reference(student, reference, name, "sample", SAMPLE, warnings_matter=False)


@pytest.mark.parametrize("name", graded("edge_cases"))
def test_edge_cases(student, reference, name):
    """0, -0.0, +-1e4 and friends, float64 and float32: right values and no warnings."""
    check_against_reference(student, reference, name, "edge", EDGE, warnings_matter=True)


def values_are_right(student, reference, name: str, what: str) -> None:
    """Points are for work: the test of ``what`` pays out only when the values on the typical inputs are right."""
    try:
        check_against_reference(student, reference, name, "sample", SAMPLE, warnings_matter=False)
    except AssertionError as exc:
        raise AssertionError(f"{exc} (no points for the {what} while the values are wrong)") from None


@pytest.mark.parametrize("name", graded("contract"))
def test_contract(student, reference, name):
    """A floating numpy array of the input's shape, and the input left unchanged; the values right."""
    values_are_right(student, reference, name, "contract")
    cases = cases_for(name, SAMPLE) + [(x, {}) for x in (0, -0.0, np.empty((0, 3)))]
    sample = records(student, name, "sample", [Call(x, **kwargs) for x, kwargs in cases_for(name, SAMPLE)])
    extra = getattr(student, name).many([Call(x, **kwargs) for x, kwargs in cases[len(sample):]])
    for (x, kwargs), record in zip(cases, sample + extra):
        call = call_text(name, x, kwargs)
        assert_floating_array(record.value, np.shape(local(x)), call)
        assert_not_mutated(record.mutated, call)


@pytest.mark.parametrize("name", graded("alpha"))
def test_alpha(student, reference, name):
    """0 <= alpha < 1 is accepted; anything else, NaN included, raises ValueError; the values right."""
    values_are_right(student, reference, name, "alpha rule")
    x = np.array([-2.0, 0.5])
    legal, illegal = (0.0, 0.5, 0.999), (-0.1, 1.0, 1.5, float("nan"))
    records = getattr(student, name).many([Call(x, alpha=a) for a in legal + illegal], stop_on_error=False)
    for alpha, record in zip(legal + illegal, records):
        if alpha in legal:
            record.value  # noqa: B018 - raises if the call did
        else:
            assert_raises(lambda: record.value, "ValueError", f"{name}(x, alpha={alpha!r})")


# -- collapse_linear ---------------------------------------------------------------------

def layer_pairs() -> list[tuple]:
    """(W1, b1, W2, b2) for several (n, h, m): float64, one integer and one float32 pair."""
    rng = np.random.default_rng(202)
    pairs = []
    for n, h, m in [(4, 3, 2), (1, 1, 1), (2, 5, 3), (3, 1, 4)]:
        pairs.append((rng.normal(size=(h, n)), rng.normal(size=h), rng.normal(size=(m, h)), rng.normal(size=m)))
    pairs.append((rng.integers(-3, 4, size=(3, 2)), rng.integers(-3, 4, size=3),
                  rng.integers(-3, 4, size=(2, 3)), rng.integers(-3, 4, size=2)))
    pairs.append(tuple(rng.normal(size=s).astype(np.float32) for s in ((4, 3), (4,), (2, 4), (2,))))
    return pairs


PAIRS = layer_pairs()


def collapse_call(layers: tuple) -> str:
    (h, n), (m, _) = layers[0].shape, layers[2].shape
    return f"collapse_linear(W1, b1, W2, b2) with n={n}, h={h}, m={m}, dtype {layers[0].dtype}"


def two_arrays(value, call: str) -> tuple:
    if not isinstance(value, tuple) or len(value) != 2:
        kind = f"a {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (list, tuple)) else "")
        raise AssertionError(f"{call} returned {kind}; expected a tuple (W3, b3)")
    return value


def collapse_values_are_right(student, reference) -> None:
    """W3 and b3 agree with the reference (float32 layers: to the float32 accuracy)."""
    pairs = PAIRS
    for layers, record in zip(pairs, records(student, "collapse_linear", "pairs", [Call(*layers) for layers in pairs])):
        call = collapse_call(layers)
        W3, b3 = two_arrays(record.value, call)
        W3_ref, b3_ref = reference.collapse_linear(*layers)
        assert_close(W3, W3_ref, f"W3 of {call}", **tolerances(layers[0]))
        assert_close(b3, b3_ref, f"b3 of {call}", **tolerances(layers[0]))


@exercise("collapse_linear", POINTS["collapse_linear"]["values"])
def test_collapse_values(student, reference):
    """W3 and b3 agree with the reference."""
    collapse_values_are_right(student, reference)


@exercise("collapse_linear", POINTS["collapse_linear"]["composition"])
def test_collapse_composition(student):
    """W3 @ x + b3 equals W2 @ (W1 @ x + b1) + b2 for many x."""
    rng = np.random.default_rng(303)
    pairs = PAIRS
    for layers, record in zip(pairs, records(student, "collapse_linear", "pairs", [Call(*layers) for layers in pairs])):
        W1, b1, W2, b2 = layers
        call = collapse_call(layers)
        W3, b3 = (np.asarray(a, dtype=float) for a in two_arrays(record.value, call))
        if W3.shape != (W2.shape[0], W1.shape[1]) or b3.shape != (W2.shape[0],):
            raise AssertionError(f"{call} returned shapes {W3.shape} and {b3.shape}; expected "
                                 f"{(W2.shape[0], W1.shape[1])} and {(W2.shape[0],)}")
        for x in rng.normal(size=(5, W1.shape[1])):
            assert_close(W3 @ x + b3, W2 @ (W1 @ x + b1) + b2, f"W3 @ x + b3 from {call}", **tolerances(W1))


@exercise("collapse_linear", POINTS["collapse_linear"]["contract"])
def test_collapse_contract(student, reference):
    """A tuple of two floating arrays of shapes (m, n) and (m,); inputs left unchanged; the values right."""
    try:
        collapse_values_are_right(student, reference)
    except AssertionError as exc:
        raise AssertionError(f"{exc} (no points for the contract while the values are wrong)") from None
    pairs = PAIRS
    for layers, record in zip(pairs, records(student, "collapse_linear", "pairs", [Call(*layers) for layers in pairs])):
        call = collapse_call(layers)
        W3, b3 = two_arrays(record.value, call)
        m, n = layers[2].shape[0], layers[0].shape[1]
        assert_floating_array(W3, (m, n), f"W3 of {call}")
        assert_floating_array(b3, (m,), f"b3 of {call}")
        assert_not_mutated(record.mutated, call)


# -- wrong but plausible submissions, with the marks each must get ------------------------------
#: name -> ({grade_id: replacement source}, {exercise: expected points where not full}, words expected in the
#: reason). The first exercise named has the mistake, and the words are in its reason.
WRONG = {
    "relu_is_abs": (
        {"relu_code": "def relu(x):\n    return np.abs(np.asarray(x, dtype=float))\n"},
        {"relu": 0}, "relu("),
    "unstable_sigmoid": (
        {"sigmoid_code": "def sigmoid(x):\n    x = np.asarray(x, dtype=float)\n    return 1 / (1 + np.exp(-x))\n"},
        {"sigmoid": 3, "sigmoid_grad": 3}, "overflow"),
    "leaky_alpha_on_positives": (
        {"leaky_relu_code": "def leaky_relu(x, alpha=0.01):\n    if not 0 <= alpha < 1:\n        raise ValueError('alpha')\n"
                            "    x = np.asarray(x, dtype=float)\n    return np.where(x > 0, alpha * x, x)\n"},
        {"leaky_relu": 0}, "leaky_relu("),
    "relu_mutates_input": (
        {"relu_code": "def relu(x):\n    x = np.asarray(x, dtype=float)\n    np.maximum(x, 0, out=x)\n    return x\n"},
        {"relu": 3}, "modified its input"),
    "relu_returns_list": (
        {"relu_code": "def relu(x):\n    return np.maximum(np.asarray(x, dtype=float), 0.0).tolist()\n"},
        {"relu": 3}, "returned a"),
    "relu_grad_one_at_zero": (
        {"relu_grad_code": "def relu_grad(x):\n    return (np.asarray(x) >= 0).astype(float)\n"},
        {"relu_grad": 3}, "relu_grad("),
    "leaky_relu_no_alpha_check": (
        {"leaky_relu_code": "def leaky_relu(x, alpha=0.01):\n    x = np.asarray(x, dtype=float)\n"
                            "    return np.maximum(alpha * x, x)\n"},
        {"leaky_relu": 4}, "ValueError"),
    "leaky_lets_nan_alpha_through": (
        {"leaky_relu_code": "def leaky_relu(x, alpha=0.01):\n    if alpha < 0 or alpha >= 1:\n"
                            "        raise ValueError(f'alpha must be in [0, 1), got {alpha}')\n"
                            "    x = np.asarray(x, dtype=float)\n    return np.maximum(alpha * x, x)\n",
         "leaky_relu_grad_code": "def leaky_relu_grad(x, alpha=0.01):\n    if alpha < 0 or alpha >= 1:\n"
                                 "        raise ValueError(f'alpha must be in [0, 1), got {alpha}')\n"
                                 "    x = np.asarray(x, dtype=float)\n    return np.where(x > 0, 1.0, alpha)\n"},
        {"leaky_relu": 4, "leaky_relu_grad": 4}, "alpha=nan"),
    "collapse_forgets_b2": (
        {"collapse_linear_code": "def collapse_linear(W1, b1, W2, b2):\n    W1, W2 = np.asarray(W1, float), np.asarray(W2, float)\n"
                                 "    return W2 @ W1, W2 @ np.asarray(b1, float)\n"},
        {"collapse_linear": 0}, "b3 of collapse_linear"),
    "collapse_integer_output": (
        {"collapse_linear_code": "def collapse_linear(W1, b1, W2, b2):\n    return W2 @ W1, W2 @ b1 + b2\n"},
        {"collapse_linear": 3}, "floating dtype"),
    "relu_grad_integer_dtype": (
        {"relu_grad_code": "def relu_grad(x):\n    return (np.asarray(x) > 0).astype(int)\n"},
        {"relu_grad": 3}, "floating dtype"),
    "tanh_grad_forgets_square": (
        {"tanh_grad_code": "def tanh_grad(x):\n    return 1 - np.tanh(np.asarray(x, dtype=float))\n"},
        {"tanh_grad": 0}, "tanh_grad("),
    "tanh_float16_for_small_integers": (
        {"tanh_code": "def tanh(x):\n    return np.tanh(x)\n"},
        {"tanh": 1}, "dtype=int8"),
}

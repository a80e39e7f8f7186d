"""Hidden tests for assignment 02, sums of shifted ReLUs.

Every behaviour checked here is stated in the exercise text: values within the accuracy
rule, shapes (), (n,), (n, m) and more, integer input and non-contiguous views, Python
scalars, floating output, no mutation, the tuples the functions return and their order,
the ValueErrors, the properties any correct answer has (the interpolant hits every point
and is straight between knots; the least-squares residual is orthogonal to every feature
column), and one call of relu_sum with 10,000 points and 10,000 units within the call
limit. Inputs are fixed (seeded): the same submission always gets the same score.

approximation_errors takes a function. A function cannot cross the sandbox boundary, so the
targets are made inside the submission's own process from data: NumPy functions such as
``np.sin`` (``student.numpy("sin")``) and polynomials ``np.poly1d(coefficients)`` built there
(see ``remote_target``). The reference gets the same targets made here.

Tests that look at the same calls (values, properties, contract) share one batch of calls
per submission (``records``).
"""
import numpy as np
import pytest

from relu_course import testing
from relu_course.testing import (Call, StudentTimeout, View, assert_close, assert_floating_array, assert_not_mutated,
                                 assert_raises, describe, exercise, expected, kind_of, local, records, tolerances)

#: The points of every hidden test, by exercise and kind of test: their one source.
POINTS = {
    "shifted_relu": {"values": 2, "contract": 1},
    "neuron": {"values": 2, "contract": 1},
    "hinge": {"values": 2, "zero_weight": 1},
    "relu_sum": {"values": 2, "contract": 1, "size": 2},
    "interpolating_relu_sum": {"values": 2, "interpolates": 2, "invalid": 1, "contract": 1},
    "fit_output_weights": {"values": 2, "orthogonal": 2, "contract": 1},
    "approximation_errors": {"values": 3, "contract": 1},
}
#: the functions of x (any shape) with parameters: (x, *parameters) -> array of x's shape
ELEMENTWISE = ["shifted_relu", "neuron", "relu_sum"]


def graded(kind: str) -> list:
    return testing.graded(POINTS, kind, ELEMENTWISE)


# -- the element-wise functions: shifted_relu, neuron, relu_sum ------------------------------

def sample_inputs() -> list:
    """x of every accepted kind: Python and NumPy scalars, 0-d to 3-d, integers, views."""
    rng = np.random.default_rng(2024)
    wide = rng.normal(0, 2, size=(6, 8))
    return [
        float(rng.normal()), -3, 2, np.float64(1.75), np.array(rng.normal(0, 2)),
        rng.normal(0, 2, size=9), rng.normal(0, 2, size=(4, 5)), rng.normal(0, 2, size=(2, 3, 4)),
        np.array([-3, -1, 0, 2, 5]), np.linspace(-2, 2, 9).reshape(3, 3),
        View(wide, (slice(None), slice(None, None, 2))), View(rng.normal(0, 2, size=(5, 3)), "T"),
    ]


def parameters_for(name: str, count: int) -> list[tuple]:
    """(parameters, kwargs) for each of ``count`` inputs: numbers of every kind, both signs."""
    rng = np.random.default_rng({"shifted_relu": 1, "neuron": 2, "relu_sum": 3}[name])
    if name == "shifted_relu":
        fixed = [(1.5,), (-2,), (0,), (np.float64(0.25),), (3,)]
        return [(fixed[i % len(fixed)], {}) for i in range(count)]
    if name == "neuron":
        fixed = [(2.0, 1.0), (-1.5, 0.5), (0.0, 0.75), (3, -2), (-0.5, 0), (np.float64(0.8), np.float64(-1.2)),
                 (0, -1.0)]
        return [(fixed[i % len(fixed)], {}) for i in range(count)]
    out = []
    for i in range(count):
        k = [1, 3, 8, 20][i % 4]
        weights, shifts = rng.normal(size=k), np.sort(rng.uniform(-3, 3, size=k))
        if i % 3 == 0:
            out.append((([float(w) for w in weights], [float(h) for h in shifts]), {}))  # lists, no bias
        elif i % 3 == 1:
            out.append(((weights, shifts, float(rng.normal())), {}))  # bias by position
        else:
            out.append(((weights, shifts), {"bias": -2}))  # bias by keyword
    return out


def elementwise_cases(name: str, inputs: list) -> list[tuple]:
    """(x, parameters, kwargs) for each input; relu_sum once more with integer parameters."""
    cases = [(x, p, k) for x, (p, k) in zip(inputs, parameters_for(name, len(inputs)))]
    if name == "relu_sum" and len(inputs) > 5:
        cases.append((inputs[5], (np.array([2, -1, 3]), np.array([-1, 0, 2])), {"bias": 1}))
    return cases


SAMPLE = sample_inputs()  # fixed: every submission gets the same inputs
CASES = {name: elementwise_cases(name, SAMPLE) for name in ELEMENTWISE}
EXTRA = {name: elementwise_cases(name, [0, -0.0, np.empty((0, 3))]) for name in ELEMENTWISE}


def sample_records(student, name: str) -> list:
    """The records of the sample calls of ``name``: one batch for its values and contract tests."""
    return records(student, name, "sample", [Call(x, *p, **k) for x, p, k in CASES[name]])


def short(value) -> str:
    """A parameter for a message: short lists as written, long ones by their length."""
    if isinstance(value, list):
        text = repr(value)
        return text if len(text) <= 40 else f"a list of {len(value)} numbers"
    return describe(value)


def call_text(name: str, x, params: tuple, kwargs: dict):
    """The call as text, for a failure message (made only if needed)."""
    def text() -> str:
        parts = [describe(x), *(short(p) for p in params), *(f"{k}={v!r}" for k, v in kwargs.items())]
        return f"{name}({', '.join(parts)})"
    return text


@pytest.mark.parametrize("name", graded("values"))
def test_values(student, reference, name):
    """Values agree with the reference on inputs of every accepted kind."""
    calls = [Call(x, *p, **k) for x, p, k in CASES[name]]
    for (x, p, k), record, want in zip(CASES[name], sample_records(student, name), expected(reference, name, "sample", calls)):
        assert_close(record.value, want, call_text(name, x, p, k), **tolerances(x))


@pytest.mark.parametrize("name", graded("contract"))
def test_contract(student, name):
    """A floating numpy array of x's shape; no argument modified."""
    extra = getattr(student, name).many([Call(x, *p, **k) for x, p, k in EXTRA[name]])
    for (x, p, k), record in zip(CASES[name] + EXTRA[name], sample_records(student, name) + extra):
        call = call_text(name, x, p, k)
        assert_floating_array(record.value, np.shape(local(x)), call)
        assert_not_mutated(record.mutated, call)


def large_case() -> tuple:
    """(x, weights, shifts): 10,000 points and 10,000 units."""
    rng = np.random.default_rng(10_000)
    x = rng.uniform(-1.5, 1.5, size=10_000)
    shifts = np.sort(rng.uniform(-1, 1, size=10_000))
    weights = rng.uniform(0, 2e-4, size=10_000)  # of one sign: the exact sum has no cancellation
    return x, weights, shifts


_expected_large: dict = {}


def expected_large(reference) -> np.ndarray:
    """The reference's answer for the large case, a few points at a time (lean on memory), made once."""
    if id(reference) not in _expected_large:
        x, weights, shifts = large_case()
        _expected_large[id(reference)] = np.concatenate(
            [reference.relu_sum(x[i:i + 500], weights, shifts) for i in range(0, len(x), 500)])
    return _expected_large[id(reference)]


@exercise("relu_sum", POINTS["relu_sum"]["size"])
def test_relu_sum_size(student, reference, sandbox):
    """10,000 points and 10,000 units in one call, within the call limit, with the right values."""
    x, weights, shifts = large_case()
    call = "relu_sum(x, weights, shifts) with 10,000 points and 10,000 units"
    try:
        value = student.relu_sum(x, weights, shifts)
    except StudentTimeout:
        raise StudentTimeout(f"{call} did not return within {sandbox.limits.call_seconds:g} s: whole-array "
                             "NumPy code takes a second or two; a Python loop over points and units takes minutes"
                             ) from None
    assert_floating_array(value, x.shape, call)
    assert_close(value, expected_large(reference), call)


# -- hinge -------------------------------------------------------------------------------------

HINGE_CASES = [(2.0, 1.0), (-1.5, 3.0), (4, -2), (-3, 0), (0.5, 0.0), (np.float64(-0.25), np.float64(1.0)),
               (1e-3, 2.0), (-7, -7), (1, 0)]


def as_tuple(value, length: int, call: str, names: str) -> tuple:
    if not isinstance(value, tuple) or len(value) != length:
        kind = kind_of(value) + (f" of length {len(value)}" if isinstance(value, (list, tuple)) else "")
        raise AssertionError(f"{call} returned {kind}; expected a tuple {names}")
    return value


def assert_number(value, call: str) -> None:
    """A single real number: Python int or float, or a NumPy integer or floating scalar (or 0-d array)."""
    ok = (type(value) in (int, float) or isinstance(value, (np.integer, np.floating))
          or isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf")
    if not ok:
        raise AssertionError(f"{call} returned {kind_of(value)}; expected a single number")


@exercise("hinge", POINTS["hinge"]["values"])
def test_hinge_values(student):
    """(position, side): position -b/w, side "right" for w > 0 and "left" for w < 0."""
    for (w, b), record in zip(HINGE_CASES, student.hinge.many([Call(w, b) for w, b in HINGE_CASES])):
        call = f"hinge({w!r}, {b!r})"
        position, side = as_tuple(record.value, 2, call, "(position, side)")
        assert_number(position, f"the position of {call}")
        assert_close(position, -float(b) / float(w), f"the position of {call}")
        right_side = "right" if w > 0 else "left"
        if side != right_side:
            raise AssertionError(f"the side of {call} is {side!r}; expected {right_side!r}")


@exercise("hinge", POINTS["hinge"]["zero_weight"])
def test_hinge_zero_weight(student):
    """w == 0 (also -0.0 and integer 0) raises ValueError: a constant neuron has no hinge."""
    cases = [(0, 1.0), (0.0, -2.0), (-0.0, 0.0), (np.float64(0.0), 3.0)]
    for (w, b), record in zip(cases, student.hinge.many([Call(w, b) for w, b in cases], stop_on_error=False)):
        assert_raises(lambda: record.value, "ValueError", f"hinge({w!r}, {b!r})")


# -- interpolating_relu_sum ------------------------------------------------------------------

def interpolation_cases() -> list[tuple]:
    """(knots, values): strictly increasing knots, as arrays and lists, floats and integers."""
    rng = np.random.default_rng(77)
    cases = []
    for n in (2, 3, 5, 9, 14):
        knots = np.cumsum(rng.uniform(0.2, 1.0, size=n)) - 2.0
        cases.append((knots, rng.normal(size=n)))
    cases.append(([0.0, 1.0, 3.0], [0.0, 1.0, 0.0]))
    cases.append(([-2, 0, 1, 4], [3, -1, 2, 2]))                       # integers
    knots = np.linspace(-1, 1, 7)
    cases.append((knots, np.sin(np.pi * knots)))
    cases.append((np.array([-1.0, 0.0, 1.0]), np.array([1.0, 0.0, 1.0])))   # |x|
    return cases


INTERPOLATION = interpolation_cases()


def interpolation_records(student) -> list:
    return records(student, "interpolating_relu_sum", "valid", [Call(k, v) for k, v in INTERPOLATION])


def interpolation_text(knots, values) -> str:
    return f"interpolating_relu_sum({short(knots)}, {short(values)})"


def three_parts(value, call: str) -> tuple:
    return as_tuple(value, 3, call, "(weights, shifts, bias)")


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["values"])
def test_interpolation_values(student, reference):
    """weights (the first slope, then the slope changes), shifts == knots[:-1], bias == values[0]."""
    for (knots, values), record in zip(INTERPOLATION, interpolation_records(student)):
        call = interpolation_text(knots, values)
        weights, shifts, bias = three_parts(record.value, call)
        ref_weights, ref_shifts, ref_bias = reference.interpolating_relu_sum(knots, values)
        assert_close(weights, ref_weights, f"the weights of {call}")
        assert_close(shifts, ref_shifts, f"the shifts of {call}")
        assert_close(bias, ref_bias, f"the bias of {call}")


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["interpolates"])
def test_interpolation_hits_every_point(student, reference):
    """relu_sum(x, weights, shifts, bias) passes through every point and is straight between knots."""
    rng = np.random.default_rng(78)
    for (knots, values), record in zip(INTERPOLATION, interpolation_records(student)):
        call = interpolation_text(knots, values)
        weights, shifts, bias = (np.asarray(p, dtype=float) for p in three_parts(record.value, call))
        knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)
        try:
            at_knots = reference.relu_sum(knots, weights, shifts, bias)
        except ValueError as exc:
            raise AssertionError(f"{call} returned weights and shifts that do not fit together ({exc})") from None
        assert_close(at_knots, values, f"the course's relu_sum at the knots, with what {call} returned")
        between = rng.uniform(knots[0], knots[-1], size=50)
        assert_close(reference.relu_sum(between, weights, shifts, bias), np.interp(between, knots, values),
                     f"the course's relu_sum between the knots, with what {call} returned")


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["invalid"])
def test_interpolation_invalid(student):
    """Unsorted or repeated knots, lengths that differ and fewer than two knots raise ValueError."""
    cases = [([0.0, 2.0, 1.0], [0.0, 1.0, 2.0]), ([3.0, 2.0, 1.0], [1.0, 2.0, 3.0]),
             ([0.0, 1.0, 1.0, 2.0], [0.0, 1.0, 2.0, 3.0]), (np.array([-1.0, 0.5, 0.5]), np.array([1.0, 1.0, 1.0])),
             ([0.0, 1.0, 2.0], [0.0, 1.0]), ([1.0], [2.0]), ([], [])]
    results = student.interpolating_relu_sum.many([Call(k, v) for k, v in cases], stop_on_error=False)
    for (knots, values), record in zip(cases, results):
        assert_raises(lambda: record.value, "ValueError", interpolation_text(knots, values))


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["contract"])
def test_interpolation_contract(student):
    """Two floating arrays of shape (n - 1,) and a number; the inputs left unchanged."""
    for (knots, values), record in zip(INTERPOLATION, interpolation_records(student)):
        call = interpolation_text(knots, values)
        weights, shifts, bias = three_parts(record.value, call)
        n = len(knots)
        assert_floating_array(weights, (n - 1,), f"the weights of {call}")
        assert_floating_array(shifts, (n - 1,), f"the shifts of {call}")
        assert_number(bias, f"the bias of {call}")
        assert_not_mutated(record.mutated, call)


# -- fit_output_weights ----------------------------------------------------------------------

def features(shifts: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The feature matrix of the exercise: relu(x - shifts[i]) for each i, then a column of ones."""
    return np.column_stack([np.maximum(x[:, None] - shifts, 0.0), np.ones_like(x)])


def fit_cases() -> list[tuple]:
    """(target, shifts, x) with a feature matrix of full column rank and a moderate condition number."""
    rng = np.random.default_rng(404)
    cases = []
    for m, k, noise in ((40, 1, 0.1), (60, 3, 0.3), (200, 6, 0.05), (120, 10, 0.0), (25, 4, 1.0)):
        x = np.sort(rng.uniform(-2, 2, size=m))
        shifts = np.quantile(x, np.linspace(0.0, 0.85, k)) if k > 1 else np.array([x[m // 3]])
        target = np.sin(2 * x) + 0.5 * x ** 2 + noise * rng.normal(size=m)
        cases.append((target, shifts, x))
    x = rng.uniform(-1, 1, size=80)                         # unsorted points
    shifts = np.array([-0.8, -0.1, 0.3, 0.6])
    cases.append((np.abs(x) + 0.1 * rng.normal(size=80), shifts, x))
    x = np.linspace(-1, 1, 41)                              # a target the model represents exactly
    cases.append((0.5 + 2.0 * np.maximum(x + 0.5, 0) - 3.0 * np.maximum(x - 0.25, 0), np.array([-0.5, 0.25]), x))
    for target, shifts, x in cases:
        A = features(shifts, x)
        assert np.linalg.matrix_rank(A) == A.shape[1] and np.linalg.cond(A) < 1e4, "a bad hidden test input"
    return cases


FIT = fit_cases()


def fit_records(student) -> list:
    return records(student, "fit_output_weights", "cases", [Call(*case) for case in FIT])


def fit_text(target, shifts, x) -> str:
    plural = "s" if len(shifts) != 1 else ""
    return f"fit_output_weights(target, shifts, x) with {len(shifts)} shift{plural} and {len(x)} points"


def two_parts(value, call: str) -> tuple:
    return as_tuple(value, 2, call, "(weights, bias)")


@exercise("fit_output_weights", POINTS["fit_output_weights"]["values"])
def test_fit_values(student, reference):
    """The least-squares weights and bias agree with the reference."""
    for (target, shifts, x), record in zip(FIT, fit_records(student)):
        call = fit_text(target, shifts, x)
        weights, bias = two_parts(record.value, call)
        ref_weights, ref_bias = reference.fit_output_weights(target, shifts, x)
        assert_close(weights, ref_weights, f"the weights of {call}")
        assert_close(bias, ref_bias, f"the bias of {call}")


@exercise("fit_output_weights", POINTS["fit_output_weights"]["orthogonal"])
def test_fit_residual_is_orthogonal(student):
    """The residual is orthogonal to every feature column, the column of ones included."""
    for (target, shifts, x), record in zip(FIT, fit_records(student)):
        call = fit_text(target, shifts, x)
        weights, bias = two_parts(record.value, call)
        weights = np.asarray(weights, dtype=float)
        if weights.shape != shifts.shape:
            raise AssertionError(f"{call} returned weights of shape {weights.shape}; expected {shifts.shape}")
        A = features(shifts, x)
        residual = target - A @ np.append(weights, float(bias))
        inner = np.abs(A.T @ residual)
        bound = 1e-8 * np.linalg.norm(A, axis=0) * np.linalg.norm(target)
        if not (inner <= bound).all():
            k = int(np.argmax(inner / bound))
            column = "the column of ones" if k == len(shifts) else f"column {k} (relu(x - shifts[{k}]))"
            raise AssertionError(f"with what {call} returned, the residual is not orthogonal to {column}: "
                                 f"|a . r| = {inner[k]:.3g} > {bound[k]:.3g}")


@exercise("fit_output_weights", POINTS["fit_output_weights"]["contract"])
def test_fit_contract(student):
    """A floating array of shape (K,) and a number; the inputs left unchanged."""
    for (target, shifts, x), record in zip(FIT, fit_records(student)):
        call = fit_text(target, shifts, x)
        weights, bias = two_parts(record.value, call)
        assert_floating_array(weights, shifts.shape, f"the weights of {call}")
        assert_number(bias, f"the bias of {call}")
        assert_not_mutated(record.mutated, call)


# -- approximation_errors --------------------------------------------------------------------

def remote_target(student, spec: tuple):
    """A target living in the submission's process, made there from data: ("numpy", "sin") is
    ``np.sin``; ("poly1d", coefficients) is ``np.poly1d(coefficients)``."""
    kind, what = spec
    if kind == "numpy":
        return student.numpy(what)
    return student.numpy("poly1d")(list(what))


def local_target(spec: tuple):
    kind, what = spec
    return getattr(np, what) if kind == "numpy" else np.poly1d(list(what))


def target_text(spec: tuple) -> str:
    kind, what = spec
    return f"np.{what}" if kind == "numpy" else f"np.poly1d({[round(float(c), 3) for c in what]})"


def approximation_cases() -> list[tuple]:
    """(target, unit_counts): NumPy functions and polynomials, unit counts from 1 to 100, as lists and arrays."""
    rng = np.random.default_rng(5)
    return [
        (("numpy", "square"), [1, 2, 3, 4, 6, 10, 25, 50, 100]),
        (("numpy", "sin"), np.array([1, 3, 8, 20])),
        (("numpy", "abs"), [1, 2, 3, 4, 5, 16, 17]),
        (("numpy", "tanh"), [2, 7, 30]),
        (("numpy", "exp"), [1, 12]),
        (("numpy", "cos"), [6]),
        (("poly1d", tuple(rng.normal(size=4))), [1, 5, 12]),
        (("poly1d", tuple(rng.normal(size=6))), np.array([9, 2, 40])),
    ]


APPROXIMATION = approximation_cases()


def approximation_records(student) -> list:
    """One batch of calls for the values and contract tests; the targets are made in the child."""
    student.approximation_errors.many([])  # "not defined" is reported as such, before any target is made
    calls = [Call(remote_target(student, spec), counts) for spec, counts in APPROXIMATION]
    return records(student, "approximation_errors", "cases", calls)


def approximation_text(spec: tuple, counts) -> str:
    return f"approximation_errors({target_text(spec)}, {short(counts)})"


def two_arrays(value, call: str) -> tuple:
    return as_tuple(value, 2, call, "(max_errors, mses)")


@exercise("approximation_errors", POINTS["approximation_errors"]["values"])
def test_approximation_values(student, reference):
    """The max errors and mean squared errors agree with the reference."""
    for (spec, counts), record in zip(APPROXIMATION, approximation_records(student)):
        call = approximation_text(spec, counts)
        max_errors, mses = two_arrays(record.value, call)
        ref_max, ref_mse = reference.approximation_errors(local_target(spec), counts)
        assert_close(max_errors, ref_max, f"the max errors of {call}")
        assert_close(mses, ref_mse, f"the mean squared errors of {call}")


@exercise("approximation_errors", POINTS["approximation_errors"]["contract"])
def test_approximation_contract(student):
    """Two floating arrays of shape (len(unit_counts),); unit_counts left unchanged."""
    for (spec, counts), record in zip(APPROXIMATION, approximation_records(student)):
        call = approximation_text(spec, counts)
        max_errors, mses = two_arrays(record.value, call)
        assert_floating_array(max_errors, (len(counts),), f"the max errors of {call}")
        assert_floating_array(mses, (len(counts),), f"the mean squared errors of {call}")
        assert_not_mutated(record.mutated, call)

"""Hidden tests for assignment 02, sums of shifted ReLUs.

Every behaviour checked here is stated in the exercise text: values within the accuracy
rule, 0 and -0.0, shapes (), (n,), (n, m) and more, integer input (int8, uint8 and int16
included) and non-contiguous views, Python and NumPy scalars, floating output, no mutation,
the tuples the functions return and their order, the ValueErrors, the properties any correct
answer has (the interpolant hits every point and is straight between knots; the
least-squares residual is orthogonal to every feature column), and one call of relu_sum with
3,000 points and 3,000 units within 1 second. Points are for work: the contract and
argument-checking tests of a function pay out only when its values are right on the typical
inputs. What a submission returns is checked for size and shape before the reference sees
it. Inputs are fixed (seeded): the same submission always gets the same score.

approximation_errors takes a function. A function cannot cross the sandbox boundary, so the
targets are made inside the submission's own process from data: NumPy functions such as
``np.sin`` (``student.numpy("sin")``) and polynomials ``np.poly1d(coefficients)`` built there
(see ``remote_target``). The reference gets the same targets made here.

Tests that look at the same calls (values, properties, contract) share one batch of calls
per submission (``records``).

``WRONG`` holds wrong but plausible submissions with the marks each must get, and
``CORRECT_BUT_DIFFERENT`` correct code written unlike the reference, which must get full marks
(tests/ grades both, and checks that the public checks catch every mistake the hidden tests
take points for).
"""
import numpy as np
import pytest

from relu_course import testing
from relu_course.testing import (Call, StudentTimeout, View, assert_close, assert_floating_array, assert_not_mutated,
                                 assert_raises, describe, exercise, expected, is_number, kind_of, local, records,
                                 tolerances)

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
        np.array([-4, -1, 2, 6], dtype=np.int8), np.array([0, 3, 9, 250], dtype=np.uint8),
        np.array([-700, -2, 1, 900], dtype=np.int16),
    ]


def parameters_for(name: str, count: int) -> list[tuple]:
    """(parameters, kwargs) for each of ``count`` inputs: numbers of every kind, both signs."""
    rng = np.random.default_rng({"shifted_relu": 1, "neuron": 2, "relu_sum": 3}[name])
    if name == "shifted_relu":
        fixed = [(1.5,), (-2,), (0,), (np.float64(0.25),), (3,), (np.int64(-1),)]
        return [(fixed[i % len(fixed)], {}) for i in range(count)]
    if name == "neuron":
        fixed = [(2.0, 1.0), (-1.5, 0.5), (0.0, 0.75), (3, -2), (-0.5, 0), (np.float64(0.8), np.float64(-1.2)),
                 (0, -1.0), (np.int64(2), np.int64(-3))]
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


def extra_records(student, name: str) -> list:
    """The records of the calls at 0, -0.0 and an empty array, for the values and contract tests."""
    return records(student, name, "extra", [Call(x, *p, **k) for x, p, k in EXTRA[name]])


def values_are_right(student, reference, name: str) -> None:
    """The values agree with the reference on the typical inputs, and at 0 and -0.0."""
    calls = [Call(x, *p, **k) for x, p, k in CASES[name] + EXTRA[name]]
    got = sample_records(student, name) + extra_records(student, name)
    for (x, p, k), record, want in zip(CASES[name] + EXTRA[name], got, expected(reference, name, "sample", calls)):
        assert_close(record.value, want, call_text(name, x, p, k), **tolerances(x))


def for_work(check, what: str) -> None:
    """Points are for work: ``check()`` (that the values are right) must pass before the test of ``what`` pays."""
    try:
        check()
    except AssertionError as exc:
        raise AssertionError(f"{exc} (no points for the {what} while the values are wrong)") from None


@pytest.mark.parametrize("name", graded("values"))
def test_values(student, reference, name):
    """Values agree with the reference on inputs of every accepted kind, and at 0 and -0.0."""
    values_are_right(student, reference, name)


@pytest.mark.parametrize("name", graded("contract"))
def test_contract(student, reference, name):
    """A floating numpy array of x's shape; no argument modified; the values right."""
    for_work(lambda: values_are_right(student, reference, name), "contract")
    extra = extra_records(student, name)
    for (x, p, k), record in zip(CASES[name] + EXTRA[name], sample_records(student, name) + extra):
        call = call_text(name, x, p, k)
        assert_floating_array(record.value, np.shape(local(x)), call)
        assert_not_mutated(record.mutated, call)


#: the size test: (points, units) and the time its one call may take. Whole-array NumPy code
#: takes tens of milliseconds; a Python loop over the 9 million (point, unit) pairs, seconds.
LARGE, LARGE_SECONDS = 3_000, 1.0


def large_case() -> tuple:
    """(x, weights, shifts): LARGE points and LARGE units."""
    rng = np.random.default_rng(10_000)
    x = rng.uniform(-1.5, 1.5, size=LARGE)
    shifts = np.sort(rng.uniform(-1, 1, size=LARGE))
    weights = rng.uniform(0, 2e-3, size=LARGE)  # of one sign: the exact sum has no cancellation
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
def test_relu_sum_size(student, reference):
    """LARGE points and LARGE units in one call, within LARGE_SECONDS, with the right values."""
    x, weights, shifts = large_case()
    call = f"relu_sum(x, weights, shifts) with {LARGE:,} points and {LARGE:,} units"
    [record] = student.relu_sum.many([Call(x, weights, shifts)], seconds=LARGE_SECONDS)
    try:
        value = record.value
    except StudentTimeout:
        raise StudentTimeout(f"{call} did not return within {LARGE_SECONDS:g} s: whole-array NumPy code takes "
                             "tens of milliseconds; a Python loop over points and units takes seconds") from None
    assert_floating_array(value, x.shape, call)
    assert_close(value, expected_large(reference), call)


def raises_value_error(record, call: str, why: str) -> None:
    """The call of ``record`` raised ValueError, as the rule ``why`` says it must."""
    try:
        assert_raises(lambda: record.value, "ValueError", call)
    except AssertionError as exc:
        raise AssertionError(f"{exc} ({why})") from None


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
    if not is_number(value):
        raise AssertionError(f"{call} returned {kind_of(value)}; expected a single number")


def hinge_values_are_right(student) -> None:
    """(position, side): position -b/w, side "right" for w > 0 and "left" for w < 0."""
    for (w, b), record in zip(HINGE_CASES, records(student, "hinge", "cases", [Call(w, b) for w, b in HINGE_CASES])):
        call = f"hinge({w!r}, {b!r})"
        position, side = as_tuple(record.value, 2, call, "(position, side)")
        assert_number(position, f"the position of {call}")
        assert_close(position, -float(b) / float(w), f"the position of {call}")
        right_side = "right" if w > 0 else "left"
        if side != right_side:
            raise AssertionError(f"the side of {call} is {side!r}; expected {right_side!r}")


@exercise("hinge", POINTS["hinge"]["values"])
def test_hinge_values(student):
    """(position, side): position -b/w, side "right" for w > 0 and "left" for w < 0."""
    hinge_values_are_right(student)


@exercise("hinge", POINTS["hinge"]["zero_weight"])
def test_hinge_zero_weight(student):
    """w == 0 (also -0.0 and integer 0) raises ValueError: a constant neuron has no hinge; the values right."""
    for_work(lambda: hinge_values_are_right(student), "w == 0 rule")
    cases = [(0, 1.0), (0.0, -2.0), (-0.0, 0.0), (np.float64(0.0), 3.0)]
    for (w, b), record in zip(cases, student.hinge.many([Call(w, b) for w, b in cases], stop_on_error=False)):
        raises_value_error(record, f"hinge({w!r}, {b!r})", "w == 0: a constant neuron has no hinge")


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


def interpolation_values_are_right(student, reference) -> None:
    """weights (the first slope, then the slope changes), shifts == knots[:-1], bias == values[0]."""
    for (knots, values), record in zip(INTERPOLATION, interpolation_records(student)):
        call = interpolation_text(knots, values)
        weights, shifts, bias = three_parts(record.value, call)
        ref_weights, ref_shifts, ref_bias = reference.interpolating_relu_sum(knots, values)
        assert_close(weights, ref_weights, f"the weights of {call}")
        assert_close(shifts, ref_shifts, f"the shifts of {call}")
        assert_close(bias, ref_bias, f"the bias of {call}")


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["values"])
def test_interpolation_values(student, reference):
    """weights (the first slope, then the slope changes), shifts == knots[:-1], bias == values[0]."""
    interpolation_values_are_right(student, reference)


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["interpolates"])
def test_interpolation_hits_every_point(student, reference):
    """relu_sum(x, weights, shifts, bias) passes through every point and is straight between knots."""
    rng = np.random.default_rng(78)
    for (knots, values), record in zip(INTERPOLATION, interpolation_records(student)):
        call = interpolation_text(knots, values)
        parts = three_parts(record.value, call)
        weights, shifts, bias = (np.asarray(p, dtype=float) for p in parts)
        n = len(knots)
        if weights.shape != (n - 1,) or shifts.shape != (n - 1,) or bias.shape != ():  # before the reference sees them
            raise AssertionError(f"{call} returned weights, shifts and bias of shapes {weights.shape}, {shifts.shape} "
                                 f"and {bias.shape}; expected {(n - 1,)}, {(n - 1,)} and a single number")
        knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)
        try:
            at_knots = reference.relu_sum(knots, weights, shifts, bias)
        except ValueError as exc:
            raise AssertionError(f"{call} returned weights and shifts that do not fit together ({exc})") from None
        assert_close(at_knots, values, f"the course's relu_sum at the knots, with what {call} returned")
        between = rng.uniform(knots[0], knots[-1], size=50)
        assert_close(reference.relu_sum(between, weights, shifts, bias), np.interp(between, knots, values),
                     f"the course's relu_sum between the knots, with what {call} returned")


#: (knots, values, the rule they break)
INVALID_INTERPOLATION = [
    ([0.0, 2.0, 1.0], [0.0, 1.0, 2.0], "knots not strictly increasing"),
    ([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], "knots not strictly increasing"),
    ([0.0, 1.0, 1.0, 2.0], [0.0, 1.0, 2.0, 3.0], "a repeated knot"),
    (np.array([-1.0, 0.5, 0.5]), np.array([1.0, 1.0, 1.0]), "a repeated knot"),
    ([0.0, 1.0, 2.0], [0.0, 1.0], "knots and values of different lengths"),
    ([1.0], [2.0], "fewer than two knots"), ([], [], "fewer than two knots"),
]


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["invalid"])
def test_interpolation_invalid(student, reference):
    """Unsorted or repeated knots, lengths that differ and fewer than two knots raise ValueError; the values right."""
    for_work(lambda: interpolation_values_are_right(student, reference), "ValueError rules")
    cases = INVALID_INTERPOLATION
    results = student.interpolating_relu_sum.many([Call(k, v) for k, v, _ in cases], stop_on_error=False)
    for (knots, values, why), record in zip(cases, results):
        raises_value_error(record, interpolation_text(knots, values), why)


@exercise("interpolating_relu_sum", POINTS["interpolating_relu_sum"]["contract"])
def test_interpolation_contract(student, reference):
    """Two floating arrays of shape (n - 1,) and a number; the inputs left unchanged; the values right."""
    for_work(lambda: interpolation_values_are_right(student, reference), "contract")
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


def fit_values_are_right(student, reference) -> None:
    """The least-squares weights and bias agree with the reference."""
    for (target, shifts, x), record in zip(FIT, fit_records(student)):
        call = fit_text(target, shifts, x)
        weights, bias = two_parts(record.value, call)
        ref_weights, ref_bias = reference.fit_output_weights(target, shifts, x)
        assert_close(weights, ref_weights, f"the weights of {call}")
        assert_close(bias, ref_bias, f"the bias of {call}")


@exercise("fit_output_weights", POINTS["fit_output_weights"]["values"])
def test_fit_values(student, reference):
    """The least-squares weights and bias agree with the reference."""
    fit_values_are_right(student, reference)


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
def test_fit_contract(student, reference):
    """A floating array of shape (K,) and a number; the inputs left unchanged; the values right."""
    for_work(lambda: fit_values_are_right(student, reference), "contract")
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


def approximation_values_are_right(student, reference) -> None:
    """The max errors and mean squared errors agree with the reference."""
    for (spec, counts), record in zip(APPROXIMATION, approximation_records(student)):
        call = approximation_text(spec, counts)
        max_errors, mses = two_arrays(record.value, call)
        ref_max, ref_mse = reference.approximation_errors(local_target(spec), counts)
        assert_close(max_errors, ref_max, f"the max errors of {call}")
        assert_close(mses, ref_mse, f"the mean squared errors of {call}")


@exercise("approximation_errors", POINTS["approximation_errors"]["values"])
def test_approximation_values(student, reference):
    """The max errors and mean squared errors agree with the reference."""
    approximation_values_are_right(student, reference)


@exercise("approximation_errors", POINTS["approximation_errors"]["contract"])
def test_approximation_contract(student, reference):
    """Two floating arrays of shape (len(unit_counts),); unit_counts left unchanged; the values right."""
    for_work(lambda: approximation_values_are_right(student, reference), "contract")
    for (spec, counts), record in zip(APPROXIMATION, approximation_records(student)):
        call = approximation_text(spec, counts)
        max_errors, mses = two_arrays(record.value, call)
        assert_floating_array(max_errors, (len(counts),), f"the max errors of {call}")
        assert_floating_array(mses, (len(counts),), f"the mean squared errors of {call}")
        assert_not_mutated(record.mutated, call)


# -- wrong but plausible submissions, and correct ones written differently ---------------------
#: name -> ({grade_id: replacement source}, {exercise: expected points where not full}, words expected in the
#: reason). The first exercise named has the mistake, and the words are in its reason; any after it lose points
#: because approximation_errors builds on relu_sum and fit_output_weights.
WRONG = {
    "shifted_relu_shifts_left": (
        {"shifted_relu_code": "def shifted_relu(x, h):\n    x = np.asarray(x, dtype=np.float64)\n"
                              "    return np.maximum(x + h, 0.0)\n"},
        {"shifted_relu": 0}, "shifted_relu("),
    "shifted_relu_keeps_integers": (
        {"shifted_relu_code": "def shifted_relu(x, h):\n    x = np.asarray(x)\n    return np.where(x > h, x - h, 0)\n"},
        {"shifted_relu": 0}, "out of bounds for uint8"),
    "neuron_bias_after_relu": (
        {"neuron_code": "def neuron(x, w, b):\n    x = np.asarray(x, dtype=np.float64)\n"
                        "    return np.maximum(w * x, 0.0) + b\n"},
        {"neuron": 0}, "neuron("),
    "neuron_zero_weight_gives_a_number": (
        {"neuron_code": "def neuron(x, w, b):\n    if w == 0:\n        return np.float64(max(b, 0.0))\n"
                        "    x = np.asarray(x, dtype=np.float64)\n    return np.maximum(w * x + b, 0.0)\n"},
        {"neuron": 0}, "returned shape ()"),
    "hinge_b_over_w": (
        {"hinge_code": "def hinge(w, b):\n    if w == 0:\n        raise ValueError('w == 0: no hinge')\n"
                       "    return float(b / w), ('right' if w > 0 else 'left')\n"},
        {"hinge": 0}, "the position of hinge("),
    "hinge_divides_by_zero": (
        {"hinge_code": "def hinge(w, b):\n    return float(-b / w), ('right' if w > 0 else 'left')\n"},
        {"hinge": 2}, "expected ValueError"),
    "relu_sum_forgets_bias": (
        {"relu_sum_code": "def relu_sum(x, weights, shifts, bias=0.0):\n    x = np.asarray(x, dtype=np.float64)\n"
                          "    shifts, weights = np.asarray(shifts, float), np.asarray(weights, float)\n"
                          "    return np.maximum(x[..., None] - shifts, 0.0) @ weights\n"},
        {"relu_sum": 2, "approximation_errors": 0}, "relu_sum("),
    "relu_sum_python_loop": (
        {"relu_sum_code": "def relu_sum(x, weights, shifts, bias=0.0):\n    x = np.asarray(x, dtype=np.float64)\n"
                          "    out = np.full(x.shape, float(bias))\n"
                          "    for index in np.ndindex(x.shape):\n"
                          "        for i in range(len(weights)):\n"
                          "            out[index] += weights[i] * max(0.0, x[index] - shifts[i])\n"
                          "    return out\n"},
        {"relu_sum": 3}, "Python loop over points and units"),
    "interpolation_cumulative_slopes": (
        {"interpolating_relu_sum_code":
            "def interpolating_relu_sum(knots, values):\n"
            "    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)\n"
            "    if knots.ndim != 1 or knots.shape != values.shape or len(knots) < 2 or np.any(np.diff(knots) <= 0):\n"
            "        raise ValueError('bad knots')\n"
            "    slopes = np.diff(values) / np.diff(knots)\n"
            "    return slopes, knots[:-1].copy(), float(values[0])\n"},
        {"interpolating_relu_sum": 0}, "interpolating_relu_sum("),
    "interpolation_no_validation": (
        {"interpolating_relu_sum_code":
            "def interpolating_relu_sum(knots, values):\n"
            "    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)\n"
            "    slopes = np.diff(values) / np.diff(knots)\n"
            "    return np.diff(slopes, prepend=0.0), knots[:-1].copy(), float(values[0])\n"},
        {"interpolating_relu_sum": 5}, "expected it to raise ValueError"),
    "interpolation_without_the_two_knot_rule": (
        {"interpolating_relu_sum_code":
            "def interpolating_relu_sum(knots, values):\n"
            "    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)\n"
            "    if knots.shape != values.shape or np.any(np.diff(knots) <= 0):\n"
            "        raise ValueError('knots must increase, one value per knot')\n"
            "    slopes = np.diff(values) / np.diff(knots)\n"
            "    return np.diff(slopes, prepend=0.0), knots[:-1].copy(), float(values[0])\n"},
        {"interpolating_relu_sum": 5}, "fewer than two knots"),
    "fit_without_bias_column": (
        {"fit_output_weights_code":
            "def fit_output_weights(target, shifts, x):\n    x = np.asarray(x, dtype=float)\n"
            "    A = np.maximum(x[:, None] - np.asarray(shifts, dtype=float), 0.0)\n"
            "    weights, *_ = np.linalg.lstsq(A, target, rcond=None)\n    return weights, 0.0\n"},
        {"fit_output_weights": 0, "approximation_errors": 0}, "fit_output_weights("),
    "approximation_shifts_reach_the_right_end": (
        {"approximation_errors_code":
            "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
            "    max_errors, mses = [], []\n    for n in unit_counts:\n        shifts = np.linspace(-1, 1, n)\n"
            "        weights, bias = fit_output_weights(y, shifts, x)\n"
            "        e = relu_sum(x, weights, shifts, bias) - y\n"
            "        max_errors.append(np.abs(e).max())\n        mses.append(np.mean(e ** 2))\n"
            "    return np.array(max_errors), np.array(mses)\n"},
        {"approximation_errors": 0}, "approximation_errors("),
    "approximation_root_mean_square": (
        {"approximation_errors_code":
            "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
            "    max_errors, mses = [], []\n    for n in unit_counts:\n        shifts = -1 + 2 * np.arange(n) / n\n"
            "        weights, bias = fit_output_weights(y, shifts, x)\n"
            "        e = relu_sum(x, weights, shifts, bias) - y\n"
            "        max_errors.append(np.abs(e).max())\n        mses.append(np.sqrt(np.mean(e ** 2)))\n"
            "    return np.array(max_errors), np.array(mses)\n"},
        {"approximation_errors": 0}, "the mean squared errors of approximation_errors("),
    "approximation_returns_lists": (
        {"approximation_errors_code":
            "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
            "    max_errors, mses = [], []\n    for n in unit_counts:\n        shifts = -1 + 2 * np.arange(n) / n\n"
            "        weights, bias = fit_output_weights(y, shifts, x)\n"
            "        e = relu_sum(x, weights, shifts, bias) - y\n"
            "        max_errors.append(float(np.abs(e).max()))\n        mses.append(float(np.mean(e ** 2)))\n"
            "    return max_errors, mses\n"},
        {"approximation_errors": 3}, "returned a list"),
}

#: correct code written differently from the reference: loops where they are harmless, normal
#: equations, np.where, other shift formulas. It must earn full marks.
CORRECT_BUT_DIFFERENT = {
    "shifted_relu_code": (
        "def shifted_relu(x, h):\n    x = np.array(x, dtype=float)\n    return np.where(x > h, x - h, 0.0)\n"),
    "neuron_code": (
        "def neuron(x, w, b):\n    x = np.asarray(x, dtype=float)\n"
        "    if w > 0:\n        return w * shifted_relu(x, -b / w)\n"
        "    if w < 0:\n        return -w * np.maximum(-b / w - x, 0.0)\n"
        "    return np.full(x.shape, max(float(b), 0.0))\n"),
    "hinge_code": (
        "def hinge(w, b):\n    if not w:\n        raise ValueError(f'w is {w}: a constant neuron has no hinge')\n"
        "    return np.float64(-b) / w, 'right' if w > 0 else 'left'\n"),
    "relu_sum_code": (
        "def relu_sum(x, weights, shifts, bias=0.0):\n    x = np.asarray(x, dtype=float)\n"
        "    total = np.full(x.shape, float(bias))\n"
        "    for w, h in zip(weights, shifts):   # a loop over units, each step over all points\n"
        "        total = total + w * np.maximum(x - h, 0.0)\n    return total\n"),
    "interpolating_relu_sum_code": (
        "def interpolating_relu_sum(knots, values):\n    knots, values = list(knots), list(values)\n"
        "    if len(knots) != len(values) or len(knots) < 2:\n        raise ValueError('need two or more points')\n"
        "    weights, previous = [], 0.0\n"
        "    for j in range(len(knots) - 1):\n"
        "        if not knots[j] < knots[j + 1]:\n            raise ValueError('knots must increase')\n"
        "        slope = (values[j + 1] - values[j]) / (knots[j + 1] - knots[j])\n"
        "        weights.append(slope - previous)\n        previous = slope\n"
        "    return np.array(weights, dtype=float), np.array(knots[:-1], dtype=float), values[0] * 1.0\n"),
    "fit_output_weights_code": (
        "def fit_output_weights(target, shifts, x):\n    x = np.asarray(x, dtype=float)\n"
        "    A = np.hstack([np.ones((len(x), 1)), np.maximum(np.subtract.outer(x, shifts), 0.0)])\n"
        "    theta = np.linalg.solve(A.T @ A, A.T @ target)   # the normal equations\n"
        "    return theta[1:], theta[0]\n"),
    "approximation_errors_code": (
        "def approximation_errors(target, unit_counts):\n    x = np.linspace(-1, 1, 2001)\n    y = target(x)\n"
        "    rows = []\n    for n in unit_counts:\n        shifts = np.linspace(-1, 1, n, endpoint=False)\n"
        "        weights, bias = fit_output_weights(y, shifts, x)\n"
        "        e = relu_sum(x, weights, shifts, bias) - y\n"
        "        rows.append((np.max(np.abs(e)), np.mean(np.square(e))))\n"
        "    rows = np.array(rows, dtype=float).reshape(-1, 2)\n    return rows[:, 0].copy(), rows[:, 1].copy()\n"),
}

"""Public checks of assignment 01: every rule of the notebook, on inputs of every kind it allows.

Expected values come from the formulas in the exercise text, evaluated one number at a time
with Python's ``math`` module: known values, not the reference solution.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..testing import View, local, tolerances
from .core import Calls, CheckFailure, call_text, expect_array, expect_close, expect_tuple, public_check

ASSIGNMENT = "01_activations"
A = ASSIGNMENT
ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu_grad")
WITH_ALPHA = ("leaky_relu", "leaky_relu_grad")
DEFAULT_ALPHA = 0.01

OUTPUT = "rule 2: a floating array of the input's shape"
ACCURACY = "rule 4"
ALPHA = "alpha must satisfy 0 <= alpha < 1"


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


#: each function of the notebook as its formula for one number: (x, alpha) -> value
FORMULAS: dict[str, Callable[[float, float], float]] = {
    "sigmoid": lambda x, alpha: _sigmoid(x),
    "tanh": lambda x, alpha: math.tanh(x),
    "relu": lambda x, alpha: x if x > 0 else 0.0,
    "leaky_relu": lambda x, alpha: x if x > 0 else alpha * x,
    "sigmoid_grad": lambda x, alpha: _sigmoid(x) * _sigmoid(-x),
    "tanh_grad": lambda x, alpha: 0.0 if abs(x) > 300 else 1.0 / math.cosh(x) ** 2,
    "relu_grad": lambda x, alpha: 1.0 if x > 0 else 0.0,
    "leaky_relu_grad": lambda x, alpha: 1.0 if x > 0 else alpha,
}


def exact(name: str, x, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """The formula of ``name`` at every element of ``x`` (any shape), in float64."""
    values = np.asarray(local(x), dtype=np.float64)
    formula = FORMULAS[name]
    return np.array([formula(float(v), alpha) for v in values.ravel()], dtype=np.float64).reshape(values.shape)


def agrees(call: Calls, name: str, x, rule: str = ACCURACY, **kwargs) -> np.ndarray:
    """``name(x, **kwargs)`` is a floating array of x's shape with the formula's values."""
    text = call_text(name, (x,), kwargs)
    array = expect_array(call(name, x, **kwargs), np.shape(local(x)), text, OUTPUT)
    expect_close(array, exact(name, x, kwargs.get("alpha", DEFAULT_ALPHA)), text, rule=rule, **tolerances(x))
    return array


def plot_against_formula(name: str):
    """The student's function on [-5, 5] beside the formula, for a failed check."""

    def plot(fns, ax) -> None:
        grid = np.linspace(-5, 5, 201)  # a fresh grid each time: a function that writes into x spoils only its own
        ax.plot(grid, exact(name, grid), color="gray", linewidth=4, alpha=0.5, label="expected")
        ax.plot(grid, np.asarray(getattr(fns, name).record(grid.copy()).value, dtype=float), label=f"your {name}")
        ax.axhline(0, color="gray", linewidth=0.5)
        ax.axvline(0, color="gray", linewidth=0.5)
        ax.set_title(f"your {name} and the expected curve on [-5, 5]")
        ax.set_xlabel("x")
        ax.set_ylabel(f"{name}(x)")
        ax.legend()

    return plot


# -- inputs of every kind rule 1 allows (the checks' own; the hidden tests use others) --------
SCALARS = [0.75, -2, np.float64(-1.25), np.array(1.5), np.array(-3)]
SHAPES = [np.linspace(-3, 3, 7), np.linspace(-2, 2, 6).reshape(2, 3), np.linspace(-4, 4, 8).reshape(2, 2, 2),
          np.zeros((0, 2))]
INTEGERS = [np.arange(-3, 4), np.array([-5, -1, 2, 7], dtype=np.int8), np.array([1, 3, 200], dtype=np.uint8),
            np.array([-300, -2, 5, 1000], dtype=np.int16)]
FLOAT32 = [np.linspace(-3, 3, 7, dtype=np.float32), np.array([[0.5, -1.5], [2.25, -4.0]], dtype=np.float32)]
VIEWS = [View(np.linspace(-3, 3, 12).reshape(3, 4), (slice(None), slice(None, None, 2))),
         View(np.linspace(-2, 2, 6).reshape(2, 3), "T"), View(np.linspace(-1, 1, 9), (slice(None, None, -2),))]
ZEROS = [0, 0.0, -0.0, np.array([0.0, -0.0]), np.array([-0.0], dtype=np.float32)]
LARGE = [np.array([-1e4, -710.0, -40.0, 40.0, 710.0, 1e4]), np.array([-1e4, -100.0, -40.0, 40.0, 100.0, 1e4], dtype=np.float32)]


def elementwise(name: str) -> None:
    """The checks every activation function and derivative shares: rules 1 to 5."""
    plot = plot_against_formula(name)

    @public_check(A, name, "agrees with the formula at 25 points of [-6, 6] (rule 4)", plot)
    def values(fns) -> None:
        agrees(Calls(fns), name, np.linspace(-6, 6, 25))

    @public_check(A, name, "Python int and float, NumPy scalars and 0-d arrays: a floating 0-d result (rules 1, 2)", plot)
    def scalars(fns) -> None:
        call = Calls(fns)
        for x in SCALARS:
            agrees(call, name, x)

    @public_check(A, name, "arrays of any shape (1-d, 2-d, 3-d, empty): floats of the same shape (rules 1, 2)", plot)
    def shapes(fns) -> None:
        call = Calls(fns)
        for x in SHAPES:
            agrees(call, name, x)

    @public_check(A, name, "integer arrays (int64, int8, uint8, int16): floating output, accurate to 1e-6 "
                           "(rules 1, 2, 4)", plot)
    def integers(fns) -> None:
        call = Calls(fns)
        for x in INTEGERS:
            agrees(call, name, x)

    @public_check(A, name, "float32 arrays: floating output, accurate to 1e-4 (rules 1, 2, 4)", plot)
    def float32(fns) -> None:
        call = Calls(fns)
        for x in FLOAT32:
            agrees(call, name, x)

    @public_check(A, name, "non-contiguous views such as x[:, ::2], x.T and x[::-2] (rule 1)", plot)
    def views(fns) -> None:
        call = Calls(fns)
        for x in VIEWS:
            agrees(call, name, x)

    @public_check(A, name, "never modifies its input (rule 3)")
    def no_mutation(fns) -> None:
        call = Calls(fns)
        for x in (np.linspace(-2, 2, 5), np.linspace(-1, 1, 4, dtype=np.float32), VIEWS[0]):
            call(name, x)  # a modified argument is a failure

    @public_check(A, name, "0 and -0.0, as Python numbers and in arrays (rule 4: -0.0 counts as 0)", plot)
    def zeros(fns) -> None:
        call = Calls(fns)
        for x in ZEROS:
            agrees(call, name, x)

    @public_check(A, name, "accurate and no warnings for |x| up to 1e4, float64 and float32 (rule 5)", plot)
    def stable(fns) -> None:
        call = Calls(fns)
        for x in LARGE:
            agrees(call, name, x, rule="rule 5, accurate for |x| up to 1e4")
            if call.warnings:
                raise CheckFailure(f"emitted a warning: {call.warnings[0]} (rule 5: no warnings for |x| up to 1e4)",
                                   input=call_text(name, (x,), {}))


def alpha_rule(name: str) -> None:
    """leaky_relu and leaky_relu_grad: legal alphas work, any other alpha (NaN too) raises ValueError."""

    @public_check(A, name, "other legal alphas (0, 0.3, 0.999) give the formula's values", plot_against_formula(name))
    def legal(fns) -> None:
        call = Calls(fns)
        for alpha in (0.0, 0.3, 0.999):
            agrees(call, name, np.linspace(-3, 3, 13), alpha=alpha)

    @public_check(A, name, f"{ALPHA}: alpha = -0.1, 1.0, 1.5 and NaN each raise ValueError")
    def illegal(fns) -> None:
        call = Calls(fns)
        for alpha in (-0.1, 1.0, 1.5, float("nan")):
            call.raises(name, "ValueError", np.array([1.0, -1.0]), alpha=alpha,
                        because=f"{ALPHA}; every comparison with NaN is False" if math.isnan(alpha) else ALPHA)


# -- Part 1: collapse_linear -----------------------------------------------------------------
def layers(n: int, h: int, m: int, seed: int, dtype=np.float64) -> tuple:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return tuple(rng.integers(-4, 5, size=s).astype(dtype) for s in ((h, n), (h,), (m, h), (m,)))
    return tuple(rng.normal(size=s).astype(dtype) for s in ((h, n), (h,), (m, h), (m,)))


def layers_text(W1, W2) -> str:
    (h, n), (m, _) = W1.shape, W2.shape
    return f"collapse_linear(W1, b1, W2, b2) with n={n}, h={h}, m={m}, dtype {W1.dtype}"


def collapsed(call: Calls, W1, b1, W2, b2) -> tuple[np.ndarray, np.ndarray]:
    """(W3, b3) for these layers, checked: a tuple of floating arrays of shapes (m, n) and (m,)."""
    text = layers_text(W1, W2)
    W3, b3 = expect_tuple(call("collapse_linear", W1, b1, W2, b2), 2, text, "(W3, b3)")
    rule = "the exercise: floating arrays, W3 of shape (m, n) and b3 of shape (m,)"
    return (expect_array(W3, (W2.shape[0], W1.shape[1]), f"W3 of {text}", rule),
            expect_array(b3, (W2.shape[0],), f"b3 of {text}", rule))


def composes(call: Calls, W1, b1, W2, b2) -> None:
    """W3 @ x + b3 == W2 @ (W1 @ x + b1) + b2 at x = 0 (that is b3), at each unit vector and at a random x."""
    W3, b3 = collapsed(call, W1, b1, W2, b2)
    text = layers_text(W1, W2)
    tol = {"rtol": 1e-4, "atol": 1e-6} if W1.dtype == np.float32 else {"rtol": 1e-6, "atol": 1e-12}
    f64 = [np.asarray(a, dtype=np.float64) for a in (W1, b1, W2, b2)]
    expect_close(b3, f64[2] @ f64[1] + f64[3], f"b3 of {text} (the output at x = 0)", **tol)
    n = W1.shape[1]
    for x in [*np.eye(n), np.linspace(-1.5, 2.0, n)]:
        expect_close(np.asarray(W3, dtype=np.float64) @ x + b3, f64[2] @ (f64[0] @ x + f64[1]) + f64[3],
                     f"W3 @ x + b3 vs W2 @ (W1 @ x + b1) + b2 for x = {np.round(x, 3).tolist()}, from {text}", **tol)


@public_check(A, "collapse_linear", "returns a tuple (W3, b3) of floating arrays of shapes (m, n) and (m,)")
def collapse_shapes(fns) -> None:
    call = Calls(fns)
    for n, h, m in ((2, 3, 1), (1, 1, 1), (3, 2, 4)):
        collapsed(call, *layers(n, h, m, seed=n + 10 * h + 100 * m))


@public_check(A, "collapse_linear", "g(f(x)) = W3 @ x + b3: at x = 0 (b3), at each unit vector and at another x")
def collapse_composition(fns) -> None:
    call = Calls(fns)
    for n, h, m in ((2, 3, 1), (4, 2, 3), (1, 1, 1)):
        composes(call, *layers(n, h, m, seed=7 * n + h + m))


@public_check(A, "collapse_linear", "integer layers give floating W3 and b3 with the exact values")
def collapse_integers(fns) -> None:
    composes(Calls(fns), *layers(3, 2, 2, seed=5, dtype=np.int64))


@public_check(A, "collapse_linear", "float32 layers: accurate to a relative error of 1e-4")
def collapse_float32(fns) -> None:
    composes(Calls(fns), *layers(2, 4, 3, seed=6, dtype=np.float32))


# -- Parts 2 and 3: the activation functions and their derivatives, in notebook order --------
for _name in ELEMENTWISE:
    elementwise(_name)
    if _name in WITH_ALPHA:
        alpha_rule(_name)


@public_check(A, "sigmoid", "symmetry: sigmoid(-x) = 1 - sigmoid(x)", plot_against_formula("sigmoid"))
def sigmoid_symmetry(fns) -> None:
    call = Calls(fns)
    x = np.linspace(-6, 6, 25)
    expect_close(call("sigmoid", -x), 1 - np.asarray(call("sigmoid", x), dtype=float), "sigmoid(-x) vs 1 - sigmoid(x)",
                 atol=1e-9)


@public_check(A, "tanh", "tanh is odd and bounded: tanh(-x) = -tanh(x), |tanh(x)| <= 1", plot_against_formula("tanh"))
def tanh_odd(fns) -> None:
    call = Calls(fns)
    x = np.linspace(-6, 6, 25)
    y = np.asarray(call("tanh", x), dtype=float)
    expect_close(call("tanh", -x), -y, "tanh(-x) vs -tanh(x)", atol=1e-9)
    if np.abs(y).max() > 1:
        raise CheckFailure("tanh(x) went outside [-1, 1]", returned=f"max |tanh| = {np.abs(y).max()}")


@public_check(A, "sigmoid_grad", "agrees with the slope of your sigmoid (finite differences)",
              plot_against_formula("sigmoid_grad"))
def sigmoid_grad_slope(fns) -> None:
    call = Calls(fns)
    x, h = np.linspace(-4, 4, 17), 1e-5
    slope = (np.asarray(call("sigmoid", x + h)) - np.asarray(call("sigmoid", x - h))) / (2 * h)
    expect_close(call("sigmoid_grad", x), slope, "sigmoid_grad(x) vs the slope of your sigmoid", rtol=1e-4, atol=1e-8)

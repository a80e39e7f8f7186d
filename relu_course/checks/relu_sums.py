"""Public checks of assignment 02: known values and properties, no reference solution."""
from __future__ import annotations

import numpy as np

from .core import CheckFailure, Calls, call_text, expect_array, expect_close, public_check, short

A = "02_relu_sums"
GRID = np.linspace(-3, 3, 25)


def plot_curve(name: str, *args):
    """A picture of the student's ``name(GRID, *args)``, for a failed check."""

    def plot(fns, ax) -> None:
        ys = np.asarray(getattr(fns, name).record(GRID, *args).value, dtype=float)
        ax.plot(GRID, ys, marker=".", label=f"your {name}(x, {', '.join(map(str, args))})")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend()

    return plot


def shape_contract(name: str, *args) -> None:
    """Scalars and arrays of any shape in, floats of the same shape out, the input unchanged."""

    @public_check(A, name, "accepts scalars and arrays of any shape; returns floats of the same shape")
    def check(fns) -> None:
        call = Calls(fns)
        for x in (0.5, 3, np.array(-1.5), np.linspace(-2, 2, 5), np.arange(-6.0, 6.0).reshape(3, 4), np.arange(-3, 3),
                  np.arange(12.0).reshape(3, 4)[:, ::2] - 5):
            expect_array(call(name, x, *args), np.shape(x), call_text(name, (x, *args), {}))


shape_contract("shifted_relu", 1.0)
shape_contract("neuron", -2.0, 1.0)


@public_check(A, "shifted_relu", "known values: shifted_relu([-1, 0, 1, 2, 3], 1) = [0, 0, 0, 1, 2]",
              plot_curve("shifted_relu", 1.0))
def shifted_known(fns) -> None:
    x = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])
    expect_close(Calls(fns)("shifted_relu", x, 1.0), [0.0, 0.0, 0.0, 1.0, 2.0], call_text("shifted_relu", (x, 1.0), {}))


@public_check(A, "shifted_relu", "zero left of the hinge h, slope 1 right of it (h = -1.5)", plot_curve("shifted_relu", -1.5))
def shifted_shape(fns) -> None:
    y = np.asarray(Calls(fns)("shifted_relu", GRID, -1.5), dtype=float)
    expect_close(y, np.where(GRID > -1.5, GRID + 1.5, 0.0), "shifted_relu(x, -1.5) on [-3, 3]")


@public_check(A, "neuron", "known values: neuron(x, 2, -2) = 2 relu(x - 1), neuron(x, -1, 1) = relu(1 - x)",
              plot_curve("neuron", 2.0, -2.0))
def neuron_known(fns) -> None:
    call = Calls(fns)
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    expect_close(call("neuron", x, 2.0, -2.0), [0.0, 0.0, 0.0, 2.0], call_text("neuron", (x, 2.0, -2.0), {}))
    expect_close(call("neuron", x, -1.0, 1.0), [2.0, 1.0, 0.0, 0.0], call_text("neuron", (x, -1.0, 1.0), {}))


@public_check(A, "neuron", "w = 0 gives the constant relu(b)")
def neuron_flat(fns) -> None:
    x = np.array([-1.0, 5.0])
    expect_close(Calls(fns)("neuron", x, 0.0, 3.0), [3.0, 3.0], call_text("neuron", (x, 0.0, 3.0), {}))


@public_check(A, "hinge", "hinge(2, -2) = (1.0, 'right') and hinge(-0.5, 1) = (2.0, 'left')")
def hinge_known(fns) -> None:
    call = Calls(fns)
    for (w, b), (position, side) in (((2.0, -2.0), (1.0, "right")), ((-0.5, 1.0), (2.0, "left"))):
        text = call_text("hinge", (w, b), {})
        value = call("hinge", w, b)
        if not isinstance(value, tuple) or len(value) != 2:
            raise CheckFailure("must return a tuple (position, side)", input=text, returned=short(value))
        if value[1] != side:
            raise CheckFailure(f"the side should be {side!r}", input=text, returned=short(value))
        expect_close(value[0], position, text)


@public_check(A, "hinge", "w = 0 raises ValueError (a constant neuron has no hinge)")
def hinge_flat(fns) -> None:
    Calls(fns).raises("hinge", "ValueError", 0.0, 1.0)


shape_contract("relu_sum", [1.0, -2.0, 0.5], [-1.0, 0.0, 1.5])


@public_check(A, "relu_sum", "known values, with and without a bias", plot_curve("relu_sum", [1.0, -2.0], [0.0, 1.0]))
def relu_sum_known(fns) -> None:
    call = Calls(fns)
    x = np.array([[-1.0, 0.5], [1.5, 3.0]])
    expect_close(call("relu_sum", x, [1.0, -2.0], [0.0, 1.0]), [[0.0, 0.5], [0.5, -1.0]],
                 call_text("relu_sum", (x, [1.0, -2.0], [0.0, 1.0]), {}))
    expect_close(call("relu_sum", 0.5, [1.0, -2.0], [0.0, 1.0], bias=1.0), 1.5,
                 call_text("relu_sum", (0.5, [1.0, -2.0], [0.0, 1.0]), {"bias": 1.0}))


@public_check(A, "relu_sum", "the slope changes by weights[i] at shifts[i] (three units)")
def relu_sum_slopes(fns) -> None:
    weights, shifts = [1.0, -3.0, 2.5], [-1.0, 0.5, 1.0]
    x = np.linspace(-2, 2, 401)
    y = np.asarray(Calls(fns)("relu_sum", x, weights, shifts, bias=0.25), dtype=float)
    slopes = np.diff(y) / np.diff(x)
    mid = (x[1:] + x[:-1]) / 2
    for left, right, want in ((-2, -1, 0.0), (-1, 0.5, 1.0), (0.5, 1.0, -2.0), (1.0, 2, 0.5)):
        inside = (mid > left + 0.01) & (mid < right - 0.01)
        expect_close(slopes[inside], np.full(inside.sum(), want), f"the slope of relu_sum between {left} and {right}",
                     rtol=1e-6, atol=1e-6)


@public_check(A, "interpolating_relu_sum", "the sum passes through every given point")
def interpolation_hits(fns) -> None:
    call = Calls(fns)
    knots, values = np.array([-1.0, -0.2, 0.5, 1.0]), np.array([1.0, -0.5, 0.25, 2.0])
    result = call("interpolating_relu_sum", knots, values)
    if not isinstance(result, tuple) or len(result) != 3:
        raise CheckFailure("must return a tuple (weights, shifts, bias)", returned=short(result))
    weights, shifts, bias = (np.asarray(r, dtype=float) for r in result)
    at_knots = np.maximum(knots[:, None] - shifts[None, :], 0) @ weights + bias
    expect_close(at_knots, values, "the ReLU sum at the knots [-1, -0.2, 0.5, 1]", atol=1e-9)


@public_check(A, "interpolating_relu_sum", "unsorted or repeated knots raise ValueError")
def interpolation_invalid(fns) -> None:
    call = Calls(fns)
    for knots in ([0.0, 2.0, 1.0], [0.0, 1.0, 1.0]):
        call.raises("interpolating_relu_sum", "ValueError", np.array(knots), np.array([0.0, 1.0, 2.0]))


@public_check(A, "fit_output_weights", "recovers the weights and bias of an exact ReLU sum")
def fit_exact(fns) -> None:
    x = np.linspace(-1, 1, 11)
    target = 0.5 + 2.0 * np.maximum(x + 0.5, 0) - 3.0 * np.maximum(x - 0.25, 0)
    result = Calls(fns)("fit_output_weights", target, np.array([-0.5, 0.25]), x)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailure("must return a tuple (weights, bias)", returned=short(result))
    expect_close(result[0], [2.0, -3.0], "the weights", atol=1e-8)
    expect_close(result[1], 0.5, "the bias", atol=1e-8)


@public_check(A, "fit_output_weights", "the residual is orthogonal to every feature column and the constant")
def fit_orthogonal(fns) -> None:
    x = np.linspace(-1, 1, 21)
    shifts, target = np.array([-1.0, -0.3, 0.4]), np.cos(3 * x)
    weights, bias = Calls(fns)("fit_output_weights", target, shifts, x)
    features = np.column_stack([np.maximum(x[:, None] - shifts, 0), np.ones_like(x)])
    residual = features[:, :-1] @ np.asarray(weights, dtype=float) + float(bias) - target
    expect_close(features.T @ residual, np.zeros(features.shape[1]), "features.T @ residual", atol=1e-8)


@public_check(A, "approximation_errors", "x² follows the exact law: MSE 4/(45 N^4), max error 2/(3 N^2) for N = 1, 2, 4")
def approximation_law(fns) -> None:
    counts = np.array([1, 2, 4])
    result = Calls(fns)("approximation_errors", fns.numpy("square"), counts)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailure("must return a tuple (max_errors, mses)", returned=short(result))
    text = "approximation_errors(np.square, [1, 2, 4])"
    expect_close(result[1], 4 / (45 * counts.astype(float) ** 4), f"the MSEs of {text}", rtol=0.01)
    expect_close(result[0], 2 / (3 * counts.astype(float) ** 2), f"the max errors of {text}", rtol=0.01)


@public_check(A, "approximation_errors", "|x| is represented exactly by two units")
def approximation_abs(fns) -> None:
    max_errors, _ = Calls(fns)("approximation_errors", fns.numpy("abs"), [2])
    if not float(np.asarray(max_errors)[0]) < 1e-9:
        raise CheckFailure("the max error for |x| with N = 2 should be 0 (up to rounding)",
                           input="approximation_errors(np.abs, [2])", returned=short(max_errors))

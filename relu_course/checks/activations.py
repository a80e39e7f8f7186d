"""Public checks of assignment 01: properties and known values, no reference solution."""
from __future__ import annotations

import numpy as np

from .core import CheckFailure, Calls, call_text, expect_array, expect_close, public_check, short

A = "01_activations"
ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu_grad")
GRID = np.linspace(-5, 5, 41)


def plot_function(name: str):
    """A picture of the student's function on [-5, 5], for a failed check."""

    def plot(fns, ax) -> None:
        ys = np.asarray(getattr(fns, name).record(GRID).value, dtype=float)
        ax.plot(GRID, ys, label=f"your {name}")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(f"your {name} on [-5, 5]")
        ax.legend()

    return plot


def contract(name: str) -> None:
    """Every element-wise function: scalars and arrays of any shape, floats out, input unchanged."""

    @public_check(A, name, "accepts scalars and arrays of any shape; returns floats of the same shape", plot_function(name))
    def check(fns) -> None:
        call = Calls(fns)
        for x in (0.5, 3, np.array(-1.5), np.linspace(-2, 2, 5), np.arange(-6.0, 6.0).reshape(3, 4),
                  np.arange(-3, 3), np.linspace(-1, 1, 6, dtype=np.float32), np.arange(12.0).reshape(3, 4)[:, ::2] - 5):
            expect_array(call(name, x), np.shape(x), call_text(name, (x,), {}))


def stable(name: str) -> None:
    @public_check(A, name, "no warnings and finite values for |x| up to 1e4 (float64 and float32)")
    def check(fns) -> None:
        call = Calls(fns)
        for x in (np.array([-1e4, -710.0, 0.0, 710.0, 1e4]), np.array([-1e4, -100.0, 100.0, 1e4], dtype=np.float32)):
            value = call(name, x)
            expect_array(value, x.shape, call_text(name, (x,), {}))
            if call.warnings:
                raise CheckFailure(f"emitted a warning: {call.warnings[0]}", input=call_text(name, (x,), {}))


def known_values(name: str, pairs: list[tuple], **kwargs) -> None:
    extra = "".join(f", {k}={v}" for k, v in kwargs.items())
    shown = ", ".join(f"{name}({x:.4g}{extra}) = {y:.4g}" for x, y in pairs[:3])

    @public_check(A, name, f"known values: {shown}", plot_function(name))
    def check(fns) -> None:
        call = Calls(fns)
        xs = np.array([x for x, _ in pairs], dtype=float)
        expect_close(call(name, xs, **kwargs), [y for _, y in pairs], call_text(name, (xs,), {}), rtol=1e-6, atol=1e-9)


@public_check(A, "collapse_linear", "g(f(x)) = W3 @ x + b3 for a small example; returns a tuple (W3, b3)")
def collapse_example(fns) -> None:
    call = Calls(fns)
    W1, b1 = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]), np.array([0.5, -1.0, 2.0])
    W2, b2 = np.array([[1.0, -1.0, 0.5]]), np.array([0.25])
    value = call("collapse_linear", W1, b1, W2, b2)
    if not isinstance(value, tuple) or len(value) != 2:
        raise CheckFailure("collapse_linear must return a tuple (W3, b3)", returned=short(value))
    W3, b3 = expect_array(value[0], (1, 2), "W3"), expect_array(value[1], (1,), "b3")
    x = np.array([0.3, -2.0])
    expect_close(W3 @ x + b3, W2 @ (W1 @ x + b1) + b2, "W3 @ x + b3 for x = [0.3, -2.0]")


for fn in ELEMENTWISE:
    contract(fn)
    stable(fn)

known_values("sigmoid", [(0.0, 0.5), (np.log(3), 0.75), (-np.log(3), 0.25)])
known_values("tanh", [(0.0, 0.0), (np.log(2), 0.6), (-np.log(2), -0.6)])
known_values("relu", [(-2.0, 0.0), (0.0, 0.0), (3.5, 3.5)])
known_values("leaky_relu", [(-2.0, -0.02), (0.0, 0.0), (3.5, 3.5)])
known_values("leaky_relu", [(-2.0, -0.4), (4.0, 4.0)], alpha=0.2)
known_values("sigmoid_grad", [(0.0, 0.25), (np.log(3), 0.1875)])
known_values("tanh_grad", [(0.0, 1.0), (np.log(2), 0.64)])
known_values("relu_grad", [(-2.0, 0.0), (0.0, 0.0), (-0.0, 0.0), (3.0, 1.0)])
known_values("leaky_relu_grad", [(-2.0, 0.01), (0.0, 0.01), (3.0, 1.0)])


@public_check(A, "sigmoid", "symmetry: sigmoid(-x) = 1 - sigmoid(x)", plot_function("sigmoid"))
def sigmoid_symmetry(fns) -> None:
    call = Calls(fns)
    x = np.linspace(-6, 6, 25)
    expect_close(call("sigmoid", -x), 1 - np.asarray(call("sigmoid", x), dtype=float), "sigmoid(-x) vs 1 - sigmoid(x)",
                 atol=1e-9)


@public_check(A, "tanh", "tanh is odd and bounded: tanh(-x) = -tanh(x), |tanh(x)| <= 1", plot_function("tanh"))
def tanh_odd(fns) -> None:
    call = Calls(fns)
    x = np.linspace(-6, 6, 25)
    y = np.asarray(call("tanh", x), dtype=float)
    expect_close(call("tanh", -x), -y, "tanh(-x) vs -tanh(x)", atol=1e-9)
    if np.abs(y).max() > 1:
        raise CheckFailure("tanh(x) went outside [-1, 1]", returned=f"max |tanh| = {np.abs(y).max()}")


@public_check(A, "relu", "relu(x) >= 0 everywhere, and relu(x) = x where x > 0", plot_function("relu"))
def relu_shape(fns) -> None:
    call = Calls(fns)
    x = np.linspace(-5, 5, 41)
    y = np.asarray(call("relu", x), dtype=float)
    if (y < 0).any():
        raise CheckFailure("relu(x) is negative somewhere", input="np.linspace(-5, 5, 41)",
                           returned=f"relu({x[np.argmax(y < 0)]}) = {y[np.argmax(y < 0)]}")
    expect_close(y[x > 0], x[x > 0], "relu(x) where x > 0")


for fn in ("leaky_relu", "leaky_relu_grad"):
    @public_check(A, fn, "alpha must satisfy 0 <= alpha < 1: alpha=1.5 and alpha=-0.1 raise ValueError")
    def alpha_rule(fns, fn=fn) -> None:
        call = Calls(fns)
        for alpha in (1.5, -0.1):
            call.raises(fn, "ValueError", np.array([1.0, -1.0]), alpha=alpha)


@public_check(A, "sigmoid_grad", "agrees with the slope of your sigmoid (finite differences)", plot_function("sigmoid_grad"))
def sigmoid_grad_slope(fns) -> None:
    call = Calls(fns)
    x, h = np.linspace(-4, 4, 17), 1e-5
    slope = (np.asarray(call("sigmoid", x + h)) - np.asarray(call("sigmoid", x - h))) / (2 * h)
    expect_close(call("sigmoid_grad", x), slope, "sigmoid_grad(x) vs the slope of sigmoid", rtol=1e-4, atol=1e-8)

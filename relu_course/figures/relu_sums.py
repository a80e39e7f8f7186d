"""Figures of assignment 02: formula labels, an explorer of a ReLU sum, and the fit as N grows.

The explorer and the animation draw with the notebook's own functions (passed in), so
they show the student's code at work. Both are built on :mod:`relu_course.plotting`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..plotting import GIF, Slider, animate, explore

MINUS = "\u2212"


def number(value: float) -> str:
    """A number as a formula shows it: 2.5, 2, −0.5 (a true minus sign)."""
    return f"{float(value):g}".replace("-", MINUS)


def linear(w: float, b: float, variable: str = "x") -> str:
    """w·x + b as written by hand: "2.5x − 2", "x + 1", "−x", "−1.5x", "3"."""
    w, b = float(w), float(b)
    if w == 0:
        return number(b)
    slope = {1.0: "", -1.0: MINUS}.get(w, number(w))
    text = f"{slope}{variable}"
    if b:
        text += f" {'+' if b > 0 else MINUS} {number(abs(b))}"
    return text


def neuron_label(w: float, b: float) -> str:
    """relu(w x + b) as a formula, e.g. "relu(2.5x − 2)"."""
    return f"relu({linear(w, b)})"


def term_label(weight: float, shift: float) -> str:
    """weight·relu(x − shift) as a formula, e.g. "−2·relu(x − 0.5)", "relu(x + 1)"."""
    factor = {1.0: "", -1.0: MINUS}.get(float(weight), f"{number(weight)}·")
    return f"{factor}relu({linear(1.0, -float(shift))})"


def legend_outside(ax: Any, **kwargs: Any) -> None:
    """The legend to the right of the axes, where it covers no curve."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


#: the explorer's starting point: the interpolant of x² at -1, -0.5, 0, 0.5, 1 (four units)
START_SHIFTS = (-1.0, -0.5, 0.0, 0.5)
START_WEIGHTS = (-1.5, 1.0, 1.0, 1.0)
START_BIAS = 1.0


def explore_sum(relu_sum: Callable, target: Callable = np.square, *, interactive: bool = True,
                **values: float) -> Any:
    """An explorer of a sum of N ReLUs against ``target`` on [-1, 1].

    Sliders: ``n`` (how many of the four units are on), the shifts ``h1``..``h4``, the weights
    ``c1``..``c4`` and the ``bias``. Each redraw shows the sum (computed with ``relu_sum``),
    its terms and its error, with the max error and the MSE in the title. With
    ``interactive=False`` (or without ipywidgets) draws the state given by ``values`` once
    and returns the Figure; otherwise returns the widget.
    """
    units = len(START_SHIFTS)
    sliders = {"n": Slider(1, units, units, integer=True, label="N")}
    for i in range(units):
        sliders[f"h{i + 1}"] = Slider(-1.0, 1.0, START_SHIFTS[i], step=0.05, label=f"shift h{i + 1}")
        sliders[f"c{i + 1}"] = Slider(-4.0, 4.0, START_WEIGHTS[i], step=0.1, label=f"weight c{i + 1}")
    sliders["bias"] = Slider(-1.0, 2.0, START_BIAS, step=0.05, label="bias b")
    x = np.linspace(-1, 1, 401)

    def draw(ax: Any, n: int, bias: float, **units_: float) -> None:
        shifts = [units_[f"h{i + 1}"] for i in range(n)]
        weights = [units_[f"c{i + 1}"] for i in range(n)]
        y = np.asarray(target(x), dtype=float)
        fit = np.asarray(relu_sum(x, weights, shifts, bias), dtype=float)
        error = fit - y
        ax.plot(x, y, color="gray", linewidth=5, alpha=0.4, label="target")
        for c, h in zip(weights, shifts):
            ax.plot(x, np.asarray(relu_sum(x, [c], [h]), dtype=float), "--", linewidth=1, label=term_label(c, h))
        ax.plot(x, fit, "k", linewidth=2, label=f"the sum, bias {number(bias)}")
        ax.fill_between(x, y, fit, color="crimson", alpha=0.25, label="its error")
        ax.set_ylim(-1.5, 2.5)
        ax.set_xlabel("$x$")
        ax.set_ylabel("$f(x)$")
        ax.set_title(f"N = {n}: max error {np.max(np.abs(error)):.3f}, MSE {np.mean(error ** 2):.2e}")
        legend_outside(ax, fontsize=8)

    return explore(draw, sliders, interactive=interactive, figsize=(7.5, 4.0), **values)


def evenly_spaced(n: int) -> np.ndarray:
    """The shifts of Part 5's recipe: -1 + 2i/N for i = 0, ..., N - 1."""
    return -1 + 2 * np.arange(n) / n


#: the numbers of units the animation shows: from 1 to 100, in ever larger steps (each frame costs a redraw)
ANIMATION_COUNTS = (1, 2, 3, 4, 6, 8, 12, 16, 25, 40, 64, 100)


def animate_fit(fit_output_weights: Callable, relu_sum: Callable, target: Callable, *,
                counts: Sequence[int] = ANIMATION_COUNTS, path: Path | str | None = None, fps: int = 3) -> GIF:
    """A GIF of the least-squares fit of N evenly spaced ReLUs to ``target`` on [-1, 1], one frame per N.

    Uses the notebook's ``fit_output_weights`` and ``relu_sum``. The GIF is written to ``path``
    where given (see :func:`relu_course.plotting.animate`).
    """
    x = np.linspace(-1, 1, 401)
    y = np.asarray(target(x), dtype=float)
    low, high = y.min(), y.max()
    margin = 0.15 * (high - low or 1.0)
    fits = []  # every fit first, so that an error in the notebook's functions shows as itself
    for n in counts:
        shifts = evenly_spaced(n)
        fitted = fit_output_weights(y, shifts, x)  # (weights, bias)
        fits.append((n, shifts, np.asarray(relu_sum(x, fitted[0], shifts, fitted[1]), dtype=float),
                     np.asarray(relu_sum(shifts, fitted[0], shifts, fitted[1]), dtype=float)))

    def draw(ax: Any, frame: tuple) -> None:
        n, shifts, fit, at_shifts = frame
        ax.plot(x, y, color="gray", linewidth=5, alpha=0.4)
        ax.plot(x, fit, "k", linewidth=1.5)
        ax.plot(shifts, at_shifts, "|", color="crimson", markersize=8)
        ax.set_ylim(low - margin, high + margin)
        ax.set_xlabel("x")  # plain text: mathtext would be drawn again for every frame
        ax.set_ylabel("f(x)")
        ax.set_title(f"{n} ReLU{'s' * (n != 1)} (black, shifts in red) fitted to the target (gray)\n"
                     f"max error {np.max(np.abs(fit - y)):.2e}", fontsize=10)

    return animate(draw, fits, path, fps=fps, figsize=(6.0, 4.0), dpi=72)

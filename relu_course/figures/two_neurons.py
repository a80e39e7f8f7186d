"""Figures, animations and experiments of assignment 03, the two-neuron network that learns x².

Everything here draws or measures networks the notebook built with the student's own
classes and functions; it holds no solution. A *state* is a network's ``state_dict()`` with
layers ``hidden`` (``nn.Linear(1, width)``) and ``out`` (``nn.Linear(width, 1)``), as tensors
or NumPy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from ..plotting import Slider, explore

#: the domain of every fit in the assignment
LOW, HIGH = -1.0, 1.0
#: points at which curves are drawn: the midpoints of 200 cells, so that a mean over them is
#: close to the mean over [-1, 1] (a grid with both ends overweights the ends, where fits are worst)
PLOT_X = LOW + (np.arange(200) + 0.5) * (HIGH - LOW) / 200
#: the midpoints of 20,000 equal cells of [-1, 1]: a mean over them is the MSE over the domain
#: to about 1e-8 (midpoint rule), where a mean over a grid with both ends is off by about 0.2%
MIDPOINTS = LOW + (np.arange(20_000) + 0.5) * (HIGH - LOW) / 20_000
#: the midpoints of 2,000 cells: enough to tell configurations apart, ten times cheaper
COARSE = LOW + (np.arange(2_000) + 0.5) * (HIGH - LOW) / 2_000


def as_arrays(state: dict) -> dict[str, np.ndarray]:
    """A state as float64 NumPy arrays (tensors are detached)."""
    return {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.float64)
            for k, v in state.items()}


def network_fit(state: dict, x: Any) -> np.ndarray:
    """out(relu(hidden(x))) for a 1-d array x, computed from the weights in float64: shape (len(x),)."""
    s = as_arrays(state)
    hidden = np.maximum(np.asarray(x, dtype=np.float64)[:, None] * s["hidden.weight"][:, 0] + s["hidden.bias"], 0.0)
    return hidden @ s["out.weight"][0] + s["out.bias"][0]


def state_mse(state: dict, x: np.ndarray = MIDPOINTS) -> float:
    """The mean squared error of the network against x² over [-1, 1] (the mean over ``x``)."""
    return float(np.mean((network_fit(state, x) - x ** 2) ** 2))


def fit_mse(net: Any) -> float:
    """The mean squared error of ``net`` (an nn.Module, run on float32 input) against x² over [-1, 1]."""
    import torch

    with torch.no_grad():
        out = net(torch.from_numpy(MIDPOINTS.astype(np.float32)).reshape(-1, 1))
    return float(np.mean((out.numpy().astype(np.float64)[:, 0] - MIDPOINTS ** 2) ** 2))


def hinge_positions(state: dict) -> np.ndarray:
    """-b/w of each hidden neuron (where relu(w x + b) bends), NaN where w == 0."""
    s = as_arrays(state)
    w, b = s["hidden.weight"][:, 0], s["hidden.bias"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w != 0, -b / np.where(w != 0, w, 1.0), np.nan)


# -- training, recorded ----------------------------------------------------------------------

@dataclass
class Recording:
    """Snapshots of a training run: the step, the fit on ``grid``, the hinges and the full-batch loss."""

    grid: np.ndarray
    steps: list[int] = field(default_factory=list)
    fits: list[np.ndarray] = field(default_factory=list)
    hinges: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def record_training(net: Any, x: Any, y: Any, *, loss: Callable, optimizer: Any, steps: int, every: int,
                    batch_size: int | None = None, seed: int = 0, grid: np.ndarray = PLOT_X) -> Recording:
    """Train ``net`` on (x, y) with ``optimizer`` for ``steps`` steps, snapshotting every ``every`` steps.

    x, y: float32 tensors of shape (N, 1). Each step minimises ``loss(net(xb), yb)`` on the
    full batch, or with ``batch_size`` on that many points drawn at random (seeded) from
    (x, y). ``optimizer.step`` gets a closure, so any torch optimizer works, L-BFGS included.
    Snapshots (at step 0, every ``every`` steps and at the end) hold the fit on ``grid``, the
    hinges of a net with a ``hidden`` layer (none for a plain nn.Linear) and the full-batch loss.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    grid_tensor = torch.from_numpy(np.asarray(grid, dtype=np.float32)).reshape(-1, 1)
    record = Recording(np.asarray(grid, dtype=float))

    def snapshot(step: int) -> None:
        with torch.no_grad():
            record.fits.append(net(grid_tensor).numpy()[:, 0].astype(float))
            record.losses.append(float(loss(net(x), y)))
        record.steps.append(step)
        hidden = getattr(net, "hidden", None)
        record.hinges.append(hinge_positions({"hidden.weight": hidden.weight, "hidden.bias": hidden.bias})
                             if hidden is not None else np.empty(0))

    snapshot(0)
    for step in range(1, steps + 1):
        if batch_size is None:
            xb, yb = x, y
        else:
            rows = torch.randint(len(x), (batch_size,), generator=generator)
            xb, yb = x[rows], y[rows]

        def closure() -> Any:
            optimizer.zero_grad()
            value = loss(net(xb), yb)
            value.backward()
            return value

        optimizer.step(closure)
        if step % every == 0 or step == steps:
            snapshot(step)
    return record


# -- many seeds at once --------------------------------------------------------------------

def _initial_parameters(make_net: Callable[[], Any], seeds: Iterable[int]) -> list[Any]:
    """The default initialisation of ``make_net()`` after ``torch.manual_seed(seed)``, for each seed,
    stacked: (S, W) first-layer weights and biases, (S, W) output weights, (S,) output biases.
    torch's global random state is left as it was."""
    import torch

    nets = []
    with torch.random.fork_rng():
        for seed in seeds:
            torch.manual_seed(seed)
            nets.append(make_net())
    with torch.no_grad():
        return [torch.stack([n.hidden.weight[:, 0] for n in nets]), torch.stack([n.hidden.bias for n in nets]),
                torch.stack([n.out.weight[0] for n in nets]), torch.stack([n.out.bias[0] for n in nets])]


def _states(w1: Any, b1: Any, w2: Any, b2: Any) -> list[dict[str, np.ndarray]]:
    w1, b1, w2, b2 = (t.detach().numpy().astype(np.float64) for t in (w1, b1, w2, b2))
    return [{"hidden.weight": w1[i][:, None], "hidden.bias": b1[i], "out.weight": w2[i][None, :],
             "out.bias": b2[i:i + 1]} for i in range(len(w1))]


def initial_states(make_net: Callable[[], Any], seeds: Iterable[int]) -> list[dict[str, np.ndarray]]:
    """The state of ``make_net()`` right after PyTorch's default initialisation, one per seed."""
    return _states(*_initial_parameters(make_net, seeds))


def usual_recipe(make_net: Callable[[], Any], seeds: Iterable[int], *, steps: int = 2000, lr: float = 0.01,
                 batch_size: int = 256, batch_seed: int = 0) -> list[dict[str, np.ndarray]]:
    """The usual way to train, once per seed: PyTorch's default initialisation of ``make_net()``
    (after ``torch.manual_seed(seed)``), then plain SGD with learning rate ``lr`` on ``steps``
    random batches of ``batch_size`` points x ~ U(-1, 1), target x². Returns the final states.

    All runs go at once, as one batch of independent networks: run s has its own parameters
    and batches, and its gradient depends on its own loss alone (the loss summed over runs has
    the same gradient for each run's parameters as that run's own loss), so each run is the
    run a loop over seeds would make, a few hundred times faster.
    """
    import torch

    params = [p.clone().requires_grad_() for p in _initial_parameters(make_net, seeds)]
    w1, b1, w2, b2 = params
    generator = torch.Generator().manual_seed(batch_seed)
    optimizer = torch.optim.SGD(params, lr=lr)
    for _ in range(steps):
        xb = torch.rand(len(w1), batch_size, 1, generator=generator) * (HIGH - LOW) + LOW   # (S, B, 1)
        hidden = torch.relu(xb * w1[:, None, :] + b1[:, None, :])                          # (S, B, W)
        out = (hidden * w2[:, None, :]).sum(-1) + b2[:, None]                               # (S, B)
        loss = ((out - xb[..., 0] ** 2) ** 2).mean(dim=1).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return _states(w1, b1, w2, b2)


# -- where a run ends: the configurations of two neurons -------------------------------------

#: each configuration of a two-neuron network on [-1, 1], with the best MSE it can reach
CONFIGURATIONS = {
    "optimum": ("at the optimum (within 1%)", "4/3645 ≈ 0.0011"),
    "apart": ("two hinges facing apart, not there yet", "4/3645 ≈ 0.0011"),
    "same side": ("both hinges facing the same way", "≈ 0.0563"),
    "one straight": ("one hinge, the other neuron straight", "1/180 ≈ 0.0056"),
    "one dead": ("one hinge, the other neuron dead", "≈ 0.0563"),
    "no hinge": ("no hinge inside [-1, 1]: a straight line", "4/45 ≈ 0.0889"),
}


def configuration(state: dict, optimum: float) -> str:
    """Which of :data:`CONFIGURATIONS` a two-neuron state is in; ``optimum`` is the best MSE.

    A neuron is *dead* if relu(w x + b) is 0 on all of [-1, 1], *straight* if it is never 0
    there (no bend inside), and *bends* otherwise, facing right (w > 0) or left (w < 0).
    """
    if state_mse(state, COARSE) <= 1.01 * optimum:
        return "optimum"
    s = as_arrays(state)
    pre = COARSE[:, None] * s["hidden.weight"][:, 0] + s["hidden.bias"]
    dead, straight = ~(pre > 0).any(axis=0), (pre > 0).all(axis=0)
    bends = ~dead & ~straight
    faces = np.sign(s["hidden.weight"][:, 0])[bends]
    if bends.sum() == 0:
        return "no hinge"
    if bends.sum() == 1:
        return "one dead" if dead.any() else "one straight"
    return "same side" if faces[0] == faces[1] else "apart"


def draw_configurations(ax: Any, runs: dict[str, list[str]]) -> None:
    """Bars of the share of runs in each configuration, one group of bars per entry of ``runs``."""
    names = list(CONFIGURATIONS)
    width = 0.8 / max(len(runs), 1)
    for k, (label, found) in enumerate(runs.items()):
        shares = [100 * found.count(n) / len(found) for n in names]
        bars = ax.barh(np.arange(len(names)) + (k - (len(runs) - 1) / 2) * width, shares, height=width,
                       label=f"{label} ({len(found)} runs)")
        ax.bar_label(bars, [f"{s:.0f}%" if s else "" for s in shares], fontsize=7, padding=2)
    ax.set_yticks(range(len(names)), [f"{CONFIGURATIONS[n][0]}\nbest MSE {CONFIGURATIONS[n][1]}" for n in names],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of runs (%)")
    ax.set_ylabel("configuration of the two neurons")
    ax.set_xlim(0, 112)
    ax.legend(fontsize=8, loc="lower right")


# -- the network, layer by layer ------------------------------------------------------------

def draw_layers(x: Any, layers: dict, state: dict) -> Any:
    """Four panels over ``x`` (1-d): the hidden pre-activations, their ReLUs, the output layer's
    weighted terms with their sum, and the output against x². ``layers`` is what
    ``layer_outputs(net, x)`` returned, ``state`` the net's state (for the output weights)."""
    import matplotlib.pyplot as plt

    x = np.asarray(x, dtype=float).reshape(-1)
    pre, act, out = (np.asarray(layers[k], dtype=float) for k in ("pre_activations", "activations", "output"))
    s = as_arrays(state)
    weights, bias = s["out.weight"][0], float(s["out.bias"][0])
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), sharex=True)
    for i in range(pre.shape[1]):
        axes[0].plot(x, pre[:, i], label=f"neuron {i + 1}: {s['hidden.weight'][i, 0]:.2f} x {s['hidden.bias'][i]:+.2f}")
        axes[1].plot(x, act[:, i], label=f"relu of neuron {i + 1}")
        axes[2].plot(x, weights[i] * act[:, i], "--", label=f"{weights[i]:.2f} × relu {i + 1}")
    axes[2].plot(x, act @ weights + bias, "k", linewidth=2, label=f"sum + bias {bias:.3f}")
    axes[3].plot(x, x ** 2, color="gray", linewidth=4, alpha=0.5, label="$x^2$")
    axes[3].plot(x, out[:, 0], "k", linewidth=2, label="output")
    titles = ["1. hidden: two straight lines", "2. ReLU: cut each at zero", "3. out: weigh them and add",
              f"4. the fit (MSE on the plot: {np.mean((out[:, 0] - x ** 2) ** 2):.2g})"]
    ylabels = ["pre-activation $w_i x + b_i$", "activation relu($w_i x + b_i$)", "output layer: terms and sum",
               "output $\\hat y$"]
    for ax, title, ylabel in zip(axes, titles, ylabels):
        ax.axhline(0, color="gray", linewidth=0.5)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("$x$")
        ax.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    return fig


# -- the explorer ------------------------------------------------------------------------------

def v_fit(x: Any, left_hinge: float, right_hinge: float, left_weight: float, right_weight: float,
          bias: float) -> np.ndarray:
    """bias + left_weight * relu(left_hinge - x) + right_weight * relu(x - right_hinge)."""
    x = np.asarray(x, dtype=float)
    return bias + left_weight * np.maximum(left_hinge - x, 0.0) + right_weight * np.maximum(x - right_hinge, 0.0)


def draw_v(ax: Any, left_hinge: float, right_hinge: float, left_weight: float, right_weight: float,
           bias: float) -> None:
    """One state of the explorer: the two-neuron fit ``v_fit`` against x², its terms and its MSE."""
    values = dict(left_hinge=left_hinge, right_hinge=right_hinge, left_weight=left_weight,
                  right_weight=right_weight, bias=bias)
    fit = v_fit(PLOT_X, **values)
    ax.plot(PLOT_X, PLOT_X ** 2, color="gray", linewidth=4, alpha=0.5, label="$x^2$")
    ax.plot(PLOT_X, bias + left_weight * np.maximum(left_hinge - PLOT_X, 0), "--", linewidth=1, label="left neuron")
    ax.plot(PLOT_X, bias + right_weight * np.maximum(PLOT_X - right_hinge, 0), "--", linewidth=1, label="right neuron")
    ax.plot(PLOT_X, fit, "k", linewidth=2, label="fit")
    ax.plot([left_hinge, right_hinge], v_fit(np.array([left_hinge, right_hinge]), **values), "o", color="crimson")
    mse = np.mean((v_fit(MIDPOINTS, **values) - MIDPOINTS ** 2) ** 2)
    ax.set_title(f"MSE on [-1, 1]: {mse:.5f}", fontsize=10)
    ax.set_xlim(LOW, HIGH)
    ax.set_ylim(-0.3, 1.3)
    ax.set_xlabel("$x$")
    ax.set_ylabel("output $\\hat y$")
    ax.legend(fontsize=8, loc="upper center")


#: the explorer's controls; the starting values are a guess, not the optimum
V_SLIDERS = {
    "left_hinge": Slider(-1.0, 1.0, -0.6, step=0.01, label="left hinge"),
    "right_hinge": Slider(-1.0, 1.0, 0.6, step=0.01, label="right hinge"),
    "left_weight": Slider(-1.0, 3.0, 1.0, step=0.01, label="left weight"),
    "right_weight": Slider(-1.0, 3.0, 1.0, step=0.01, label="right weight"),
    "bias": Slider(-0.5, 1.0, 0.0, step=0.005, label="bias"),
}


def explore_two_neurons(interactive: bool = True, **values: float) -> Any:
    """Sliders for the two hinges, the output weights and the bias, with the fit and its MSE.

    With ``interactive`` (and ipywidgets), a widget that redraws as the sliders move; else
    one figure of the state given by ``values`` (any of the slider names) and the defaults.
    """
    return explore(draw_v, V_SLIDERS, interactive=interactive, **values)


def v_values(state: dict) -> dict[str, float]:
    """The explorer's values for a two-neuron state with one neuron facing each way."""
    s = as_arrays(state)
    w, b, c = s["hidden.weight"][:, 0], s["hidden.bias"], s["out.weight"][0]
    left, right = (0, 1) if w[0] < 0 else (1, 0)
    if not (w[left] < 0 < w[right]):
        raise ValueError("the explorer shows a network with one neuron facing each way")
    return {"left_hinge": -b[left] / w[left], "right_hinge": -b[right] / w[right],
            "left_weight": c[left] * -w[left], "right_weight": c[right] * w[right], "bias": float(s["out.bias"][0])}

"""Figures and animations the notebooks draw; headless-safe (Agg) and deterministic.

:func:`animate` is the one way the course makes an animation: it draws each frame with a
function of the frame's data, writes a GIF with matplotlib's PillowWriter, and returns an
object Jupyter shows inline. :func:`animate_training` builds on it to show a fit of a curve
as it is trained, one frame per snapshot.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

#: frames per second of every animation unless a notebook says otherwise
FPS = 8


class GIF:
    """A GIF that Jupyter displays inline (``_repr_png_`` is not enough for animation): its bytes
    (``data``), and the file they were written to (``path``), None where none was asked for."""

    def __init__(self, data: bytes, path: Path | str | None = None):
        self.data = data
        self.path = Path(path) if path is not None else None

    def _repr_html_(self) -> str:
        import base64

        name = self.path.name if self.path is not None else "animation"
        return f'<img src="data:image/gif;base64,{base64.b64encode(self.data).decode("ascii")}" alt="{name}"/>'

    def __repr__(self) -> str:
        return f"GIF({len(self.data)} bytes{f', {str(self.path)!r}' if self.path is not None else ''})"


def animate(draw: Callable[[Any, Any], None], frames: Sequence[Any], path: Path | str | None = None, *, fps: int = FPS,
            figsize: tuple[float, float] = (5.0, 3.5), dpi: int = 80) -> GIF:
    """A GIF with one frame per item of ``frames``; ``draw(ax, frame)`` draws one frame. Written to
    ``path`` where given; else only kept (matplotlib's writer needs a file: a temporary one, removed).

    The axes are cleared before each frame, so ``draw`` draws everything, limits included.
    Raises ValueError for an empty ``frames``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import PillowWriter

    frames = list(frames)
    if not frames:
        raise ValueError("an animation needs at least one frame")
    with tempfile.TemporaryDirectory(prefix="relu-course-") as scratch:
        target = Path(path) if path is not None else Path(scratch, "animation.gif")
        fig, ax = plt.subplots(figsize=figsize)
        writer = PillowWriter(fps=fps)
        try:
            # the writer directly, not FuncAnimation.save, which draws every frame twice
            with writer.saving(fig, str(target), dpi):
                for frame in frames:
                    ax.clear()
                    draw(ax, frame)
                    writer.grab_frame()
        finally:
            plt.close(fig)
        return GIF(target.read_bytes(), path)


def animate_training(x: Any, target: Any, fits: Sequence[Any], path: Path | str | None = None, *,
                     steps: Sequence[int] | None = None, marks: Sequence[Any] | None = None, title: str = "",
                     ylim: tuple[float, float] | None = None, fps: int = FPS,
                     figsize: tuple[float, float] = (5.0, 3.5), dpi: int = 80) -> GIF:
    """A GIF of a fit being trained: frame k draws ``target`` (grey) and ``fits[k]`` over ``x``.

    ``x`` and ``target`` are 1-d arrays of one length, ``fits`` a sequence of arrays of that
    length (one per frame). ``steps`` gives each frame's training step, ``marks`` each frame's
    x positions to mark on the fit (such as the hinges); both have one entry per frame. Each
    frame's title names the step and the mean squared error of the fit against ``target``
    over ``x``, computed here. The y-limits are those of ``ylim``, else fixed to hold the
    target and every fit. Writes to ``path`` where given (see :func:`animate`).
    Raises ValueError for no frames or lengths that do not match.
    """
    x, target = np.asarray(x, dtype=float), np.asarray(target, dtype=float)
    fits = [np.asarray(f, dtype=float).reshape(-1) for f in fits]
    if not fits:
        raise ValueError("an animation needs at least one frame")
    if x.ndim != 1 or target.shape != x.shape:
        raise ValueError(f"x and target must be 1-d of one length, got shapes {x.shape} and {target.shape}")
    if any(f.shape != x.shape for f in fits):
        raise ValueError(f"every fit must have x's length {len(x)}")
    for name, values in (("steps", steps), ("marks", marks)):
        if values is not None and len(values) != len(fits):
            raise ValueError(f"{name} has {len(values)} entries for {len(fits)} frames")
    if ylim is None:
        low, high = min(target.min(), *(f.min() for f in fits)), max(target.max(), *(f.max() for f in fits))
        ylim = (low - 0.08 * (high - low or 1.0), high + 0.08 * (high - low or 1.0))

    def draw(ax: Any, k: int) -> None:
        ax.plot(x, target, color="gray", linewidth=4, alpha=0.5, label="target")
        ax.plot(x, fits[k], color="C0", linewidth=2, label="fit")
        if marks is not None and len(marks[k]):
            at = np.asarray(marks[k], dtype=float)
            ax.plot(at, np.interp(at, x, fits[k]), "o", color="crimson", markersize=6)
        step = f"step {steps[k]}: " if steps is not None else ""
        ax.set_title(f"{title}\n{step}MSE {np.mean((fits[k] - target) ** 2):.4g}".strip(), fontsize=10)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(*ylim)
        ax.legend(loc="upper center", fontsize=8)

    return animate(draw, range(len(fits)), path, fps=fps, figsize=figsize, dpi=dpi)


class Slider:
    """One control of an explorer: a number between ``low`` and ``high``, starting at ``value``."""

    def __init__(self, low: float, high: float, value: float, step: float | None = None,
                 label: str | None = None, integer: bool = False):
        if not low <= value <= high:
            raise ValueError(f"a slider's value {value} is outside [{low}, {high}]")
        self.low, self.high, self.value = low, high, value
        self.step = step if step is not None else (1 if integer else (high - low) / 100)
        self.label = label
        self.integer = integer

    def widget(self, name: str) -> Any:
        import ipywidgets

        kind = ipywidgets.IntSlider if self.integer else ipywidgets.FloatSlider
        return kind(min=self.low, max=self.high, step=self.step, value=self.value, description=self.label or name,
                    continuous_update=False)


def explore(draw: Callable[..., None], sliders: dict[str, Slider], *, interactive: bool = True,
            figsize: tuple[float, float] = (6.0, 3.5), **values: float) -> Any:
    """An explorer: ``draw(ax, **values)`` draws one state of the figure.

    With ``interactive`` (and ipywidgets installed) returns a widget with one slider per
    entry of ``sliders`` that redraws the figure as they move. Otherwise, and for tests,
    draws once with the sliders' values (overridden by ``values``) and returns the Figure.
    """
    import matplotlib.pyplot as plt

    unknown = set(values) - set(sliders)
    if unknown:
        raise TypeError(f"no slider named {', '.join(sorted(unknown))}; the sliders are {', '.join(sliders)}")
    state = {name: values.get(name, s.value) for name, s in sliders.items()}
    if interactive:
        try:
            import ipywidgets
        except ImportError:
            interactive = False
    if not interactive:
        fig, ax = plt.subplots(figsize=figsize)
        draw(ax, **state)
        return fig

    def redraw(**current: float) -> None:
        fig, ax = plt.subplots(figsize=figsize)
        draw(ax, **current)
        plt.show()

    controls = {name: s.widget(name) for name, s in sliders.items()}
    for name, control in controls.items():
        control.value = state[name]
    return ipywidgets.interactive(redraw, **controls)

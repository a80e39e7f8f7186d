"""Figures and animations the notebooks draw; headless-safe (Agg) and deterministic.

:func:`animate` is the one way the course makes an animation: it draws each frame with a
function of the frame's data, writes a GIF with matplotlib's PillowWriter, and returns an
object Jupyter shows inline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

#: frames per second of every animation unless a notebook says otherwise
FPS = 8


class GIF:
    """A GIF on disk that Jupyter displays inline (``_repr_png_`` is not enough for animation)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def _repr_html_(self) -> str:
        import base64

        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        return f'<img src="data:image/gif;base64,{data}" alt="{self.path.name}"/>'

    def __repr__(self) -> str:
        return f"GIF({str(self.path)!r})"


def animate(draw: Callable[[Any, Any], None], frames: Sequence[Any], path: Path | str, *, fps: int = FPS,
            figsize: tuple[float, float] = (5.0, 3.5), dpi: int = 80) -> GIF:
    """Write a GIF with one frame per item of ``frames``; ``draw(ax, frame)`` draws one frame.

    The axes are cleared before each frame, so ``draw`` draws everything, limits included.
    Raises ValueError for an empty ``frames``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    frames = list(frames)
    if not frames:
        raise ValueError("an animation needs at least one frame")
    fig, ax = plt.subplots(figsize=figsize)

    def update(frame: Any) -> list:
        ax.clear()
        draw(ax, frame)
        return []

    try:
        animation = FuncAnimation(fig, update, frames=frames, init_func=lambda: [], blit=False, cache_frame_data=False)
        animation.save(str(path), writer=PillowWriter(fps=fps), dpi=dpi)
    finally:
        plt.close(fig)
    return GIF(path)


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

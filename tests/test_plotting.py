"""The animation helper writes real multi-frame GIFs, headless."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from relu_course.plotting import animate


def test_animate_writes_a_multi_frame_gif_of_the_figure_size(tmp_path):
    x = np.linspace(-1, 1, 50)

    def draw(ax, slope):
        ax.plot(x, slope * x)
        ax.set_ylim(-3, 3)

    gif = animate(draw, [0.5, 1.0, 1.5, 2.0], tmp_path / "lines.gif", figsize=(4, 3), dpi=50)
    with Image.open(gif.path) as image:
        assert image.format == "GIF"
        assert image.n_frames == 4
        assert image.size == (200, 150)
    assert gif._repr_html_().startswith('<img src="data:image/gif;base64,')


def test_animate_refuses_no_frames(tmp_path):
    with pytest.raises(ValueError, match="at least one frame"):
        animate(lambda ax, f: None, [], tmp_path / "none.gif")
    assert not (tmp_path / "none.gif").exists()


def test_explore_as_a_plain_function_draws_the_given_state():
    from relu_course.plotting import Slider, explore

    seen = []

    def draw(ax, slope, shift):
        seen.append((slope, shift))
        ax.plot([0, 1], [shift, shift + slope])

    fig = explore(draw, {"slope": Slider(-2, 2, 1.0), "shift": Slider(-1, 1, 0.0)}, interactive=False, shift=0.5)
    assert seen == [(1.0, 0.5)]
    assert fig.axes[0].lines[0].get_ydata().tolist() == [0.5, 1.5]
    with pytest.raises(TypeError, match="no slider named tilt"):
        explore(draw, {"slope": Slider(-2, 2, 1.0)}, interactive=False, tilt=1.0)


def test_explore_with_widgets_redraws_when_a_slider_moves():
    from relu_course.plotting import Slider, explore

    seen = []
    widget = explore(lambda ax, n: seen.append(n), {"n": Slider(1, 10, 3, integer=True)})
    slider = widget.children[0]
    assert slider.description == "n" and slider.value == 3
    slider.value = 7
    assert seen[-1] == 7

"""The notebooks' figures as a reader sees them, and assignment 02's explorer and animation.

The solution notebooks' cells run here (matplotlib's Agg backend), and every figure they draw
is inspected: each plot has a y label, no legend covers a curve, and the error-law plot of
02 is not stretched down to round-off. The explorer is tried as a plain function and as
widgets, the animation as a GIF, both with the solution notebook's own functions.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from conftest import REPO  # noqa: E402
from relu_course import notebook  # noqa: E402
from relu_course.figures.relu_sums import (ANIMATION_COUNTS, animate_fit, explore_sum, linear, neuron_label,  # noqa: E402
                                           term_label)

SOLUTIONS = sorted(REPO.glob("solutions/*.ipynb"))


def run_cells(path) -> tuple[dict, dict[str, list]]:
    """Run the notebook's cells but its check cells; return the namespace and {cell id: figures drawn}."""
    namespace: dict = {}
    drawn: dict[str, list] = {}
    plt.close("all")
    for cell in notebook.read(path)["cells"]:
        if cell["cell_type"] != "code" or notebook.is_test_cell(cell):
            continue
        before = set(plt.get_fignums())
        exec(compile(notebook.source_of(cell), f"<{cell['id']}>", "exec"), namespace)  # noqa: S102 - our solution
        drawn[cell["id"]] = [plt.figure(n) for n in plt.get_fignums() if n not in before]
    return namespace, drawn


@pytest.fixture(scope="module", params=SOLUTIONS, ids=lambda p: p.stem)
def figures(request):
    _, drawn = run_cells(request.param)
    yield drawn
    plt.close("all")


def plots(drawn: dict[str, list]):
    """(cell id, axes) for every plot drawn; colour bars and empty axes left out."""
    for cid, found in drawn.items():
        for fig in found:
            fig.canvas.draw()
            for ax in fig.axes:
                if ax.has_data():
                    yield cid, ax


def test_every_plot_has_a_y_label(figures):
    missing = [cid for cid, ax in plots(figures) if not ax.get_ylabel()]
    assert missing == []


def test_no_legend_covers_a_curve(figures):
    """No visible point of any line or marker lies under a legend."""
    covered = []
    for cid, ax in plots(figures):
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        inside_axes = ax.get_window_extent()
        for line in ax.lines:
            points = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
            visible = points[np.isfinite(points).all(axis=1)]
            visible = visible[[inside_axes.contains(*p) for p in visible]]
            if any(box.contains(*p) for p in visible):
                covered.append((cid, line.get_label()))
    assert covered == []


def test_the_error_law_plot_is_not_stretched_by_round_off():
    _, drawn = run_cells(REPO / "solutions" / "02_relu_sums.ipynb")
    [fig] = drawn["errors-figure"]
    ax_max, ax_mse = fig.axes
    assert ax_max.get_yscale() == ax_mse.get_yscale() == "log"
    assert ax_max.get_ylim()[0] > 1e-8, ax_max.get_ylim()   # the smallest real max error is about 7e-5
    assert ax_mse.get_ylim()[0] > 1e-13, ax_mse.get_ylim()  # the smallest real MSE is about 9e-10
    plt.close("all")


@pytest.mark.parametrize("made, written", [
    (lambda: neuron_label(2.5, -2), "relu(2.5x − 2)"), (lambda: neuron_label(1, 1), "relu(x + 1)"),
    (lambda: neuron_label(-1.5, 0), "relu(−1.5x)"), (lambda: neuron_label(-1, 0.5), "relu(−x + 0.5)"),
    (lambda: neuron_label(0, 3), "relu(3)"), (lambda: term_label(-2, 0.5), "−2·relu(x − 0.5)"),
    (lambda: term_label(1, -1), "relu(x + 1)"), (lambda: term_label(2, 0), "2·relu(x)"), (lambda: linear(-1, -1), "−x − 1"),
])
def test_labels_read_as_formulas(made, written):
    assert made() == written


@pytest.fixture(scope="module")
def solution_02():
    namespace, _ = run_cells(REPO / "solutions" / "02_relu_sums.ipynb")
    plt.close("all")
    return namespace


def test_the_explorer_as_a_plain_function_draws_the_sum_its_terms_and_its_error(solution_02):
    relu_sum = solution_02["relu_sum"]
    fig = explore_sum(relu_sum, np.square, interactive=False, n=3, h2=-0.2, c3=2.0)
    [ax] = fig.axes
    lines = {line.get_label(): line for line in ax.lines}
    terms = [label for label in lines if "relu(" in label]
    assert terms == ["−1.5·relu(x + 1)", "relu(x + 0.2)", "2·relu(x)"]
    x = lines["target"].get_xdata()
    expected = relu_sum(x, [-1.5, 1.0, 2.0], [-1.0, -0.2, 0.0], 1.0)
    assert np.allclose(lines["the sum, bias 1"].get_ydata(), expected)
    error = np.max(np.abs(expected - x ** 2))
    assert ax.get_title().startswith(f"N = 3: max error {error:.3f}")
    assert any(c.get_label() == "its error" for c in ax.collections)
    plt.close(fig)


def test_the_explorer_with_widgets_redraws_when_a_slider_moves(solution_02):
    widget = explore_sum(solution_02["relu_sum"], np.square)
    sliders = {s.description: s for s in widget.children[:-1]}
    assert {"N", "shift h1", "weight c4", "bias b"} <= set(sliders)
    assert sliders["N"].value == 4
    sliders["N"].value = 2
    ax = plt.gcf().axes[0]
    assert ax.get_title().startswith("N = 2:") and len([l for l in ax.lines if "relu(" in l.get_label()]) == 2
    plt.close("all")


def test_the_animation_is_a_gif_with_a_frame_per_unit_count(solution_02, tmp_path):
    counts = ANIMATION_COUNTS[:3] + ANIMATION_COUNTS[-1:]
    gif = animate_fit(solution_02["fit_output_weights"], solution_02["relu_sum"], solution_02["sin_pi"], counts=counts,
                      path=tmp_path / "fit.gif")
    with Image.open(gif.path) as image:
        assert image.format == "GIF" and image.n_frames == len(counts)
        frames = []
        for i in range(image.n_frames):
            image.seek(i)
            frames.append(np.asarray(image.convert("L")))
    assert all((a != b).any() for a, b in zip(frames, frames[1:])), "every frame differs from the one before"
    assert ANIMATION_COUNTS[0] == 1 and ANIMATION_COUNTS[-1] == 100

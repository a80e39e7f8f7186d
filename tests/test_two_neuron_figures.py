"""Assignment 03's figures, animations and experiments: real GIFs made headless, the explorer
both ways, and the measurements the notebook states (the batched runs are the runs a loop would make)."""
from __future__ import annotations

import io
import tempfile

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO
from relu_course.engine.reference import load_reference
from relu_course.figures import two_neurons as figures
from relu_course.plotting import animate_training

matplotlib.use("Agg")
A = "03_two_neuron_x2"


@pytest.fixture(scope="module")
def solution():
    """The solution notebook's own classes and functions."""
    return load_reference(REPO / "solutions" / f"{A}.ipynb")


@pytest.fixture(scope="module")
def optimal_state(solution):
    net = solution.TwoNeuronNet()
    solution.set_optimal_weights(net)
    return net.state_dict()


def frames_of(path) -> tuple[int, tuple[int, int], str]:
    with Image.open(path) as image:
        return image.n_frames, image.size, image.format


# -- animate_training ------------------------------------------------------------------------------

def test_animate_training_writes_one_gif_frame_per_fit_headless(tmp_path):
    assert matplotlib.get_backend().lower() == "agg"
    x = np.linspace(-1, 1, 50)
    fits = [k * x ** 2 for k in np.linspace(0, 1, 6)]
    gif = animate_training(x, x ** 2, fits, tmp_path / "fit.gif", steps=list(range(0, 60, 10)),
                           marks=[[0.5]] * 6, title="a test", figsize=(4, 3), dpi=50)
    assert gif.path == tmp_path / "fit.gif" and gif.path.read_bytes() == gif.data
    assert frames_of(gif.path) == (6, (200, 150), "GIF")
    assert gif._repr_html_().startswith('<img src="data:image/gif;base64,')


def test_animate_training_without_a_path_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its scratch file goes
    x = np.linspace(-1, 1, 20)
    gif = animate_training(x, x ** 2, [x, x ** 2], dpi=40)
    assert gif.path is None and frames_of(io.BytesIO(gif.data))[0] == 2
    assert list(tmp_path.iterdir()) == []
    assert gif._repr_html_().startswith('<img src="data:image/gif;base64,')


@pytest.mark.parametrize("fits, extra, words", [
    ([], {}, "at least one frame"),
    ([np.zeros(5)], {}, "every fit must have x's length 20"),
    ([np.zeros(20)] * 2, {"steps": [0]}, "steps has 1 entries for 2 frames"),
    ([np.zeros(20)] * 2, {"marks": [[0.1]] * 3}, "marks has 3 entries for 2 frames"),
])
def test_animate_training_refuses_what_does_not_fit(tmp_path, fits, extra, words):
    x = np.linspace(-1, 1, 20)
    with pytest.raises(ValueError, match=words):
        animate_training(x, x ** 2, fits, tmp_path / "bad.gif", **extra)
    assert not (tmp_path / "bad.gif").exists()


# -- the explorer, as a plain function and with widgets ------------------------------------------

def test_the_explorer_as_a_plain_function_draws_the_optimum_with_its_error(optimal_state):
    import matplotlib.pyplot as plt

    values = figures.v_values(optimal_state)
    np.testing.assert_allclose([values["left_hinge"], values["right_hinge"]], [-1 / 3, 1 / 3], rtol=1e-6)
    fig = figures.explore_two_neurons(interactive=False, **values)
    try:
        ax = fig.axes[0]
        assert ax.get_title() == "MSE on [-1, 1]: 0.00110"
        fit = next(line for line in ax.lines if line.get_label() == "fit")
        np.testing.assert_allclose(fit.get_ydata(), figures.v_fit(figures.PLOT_X, **values))
    finally:
        plt.close(fig)
    np.testing.assert_allclose(np.mean((figures.v_fit(figures.MIDPOINTS, **values) - figures.MIDPOINTS ** 2) ** 2),
                               4 / 3645, rtol=1e-6)


def test_the_explorer_with_widgets_has_a_slider_per_parameter_and_redraws_when_one_moves():
    import matplotlib.pyplot as plt

    widget = figures.explore_two_neurons()
    sliders = {child.description: child for child in widget.children if hasattr(child, "value")}
    assert list(sliders) == ["left hinge", "right hinge", "left weight", "right weight", "bias"]
    try:
        sliders["right hinge"].value = 0.0
        state = {name: s.value for name, s in zip(figures.V_SLIDERS, sliders.values())}
        error = np.mean((figures.v_fit(figures.MIDPOINTS, **state) - figures.MIDPOINTS ** 2) ** 2)
        assert plt.gcf().axes[0].get_title() == f"MSE on [-1, 1]: {error:.5f}"
    finally:
        plt.close("all")


def test_the_explorer_refuses_a_network_without_one_neuron_facing_each_way():
    state = {"hidden.weight": np.array([[1.0], [2.0]]), "hidden.bias": np.zeros(2), "out.weight": np.ones((1, 2)),
             "out.bias": np.zeros(1)}
    with pytest.raises(ValueError, match="one neuron facing each way"):
        figures.v_values(state)


# -- measurements -----------------------------------------------------------------------------------

def test_the_fits_measured_from_weights_are_the_networks_own(solution, optimal_state):
    rng = np.random.default_rng(0)
    state = {"hidden.weight": torch.tensor(rng.normal(size=(2, 1)), dtype=torch.float32),
             "hidden.bias": torch.tensor(rng.normal(size=2), dtype=torch.float32),
             "out.weight": torch.tensor(rng.normal(size=(1, 2)), dtype=torch.float32),
             "out.bias": torch.tensor(rng.normal(size=1), dtype=torch.float32)}
    net = solution.TwoNeuronNet()
    net.load_state_dict(state)
    x = np.linspace(-2, 2, 41)
    with torch.no_grad():
        own = net(torch.tensor(x, dtype=torch.float32).reshape(-1, 1)).numpy()[:, 0]
    np.testing.assert_allclose(figures.network_fit(state, x), own, rtol=1e-5, atol=1e-6)
    best = solution.TwoNeuronNet()
    best.load_state_dict(optimal_state)
    assert figures.fit_mse(best) == pytest.approx(4 / 3645, rel=1e-6)
    assert figures.state_mse(optimal_state) == pytest.approx(4 / 3645, rel=1e-6)


def state(w, b, c=(1.0, 1.0), d=0.0) -> dict:
    return {"hidden.weight": np.array(w, dtype=float)[:, None], "hidden.bias": np.array(b, dtype=float),
            "out.weight": np.array([c], dtype=float), "out.bias": np.array([d])}


@pytest.mark.parametrize("weights, name", [
    (state([1, -1], [-0.5, -0.5]), "apart"),                   # hinges at 0.5 and -0.5, facing apart
    (state([1, 1], [-0.2, -0.6]), "same side"),                # both facing right, hinges inside
    (state([1, 1], [0.0, 5.0]), "one straight"),               # the second bends at -5: straight on [-1, 1]
    (state([1, 1], [0.0, -5.0]), "one dead"),                  # the second is below zero on all of [-1, 1]
    (state([1, -1], [-5.0, -5.0]), "no hinge"),                # both dead
    (state([1, -1], [3.0, 3.0]), "no hinge"),                  # both straight
])
def test_configurations(weights, name):
    assert figures.configuration(weights, 4 / 3645) == name


def test_the_optimum_is_its_own_configuration(optimal_state):
    assert figures.configuration(optimal_state, figures.state_mse(optimal_state)) == "optimum"


def test_the_usual_recipe_runs_each_seed_as_a_loop_over_seeds_would(solution):
    """All runs at once give each run's own result: default init after torch.manual_seed(seed), then
    SGD on its own batches (row s of each step's draw), as one network at a time would."""
    seeds, steps = [3, 8, 11], 60
    rng_before = torch.get_rng_state()
    batched = figures.usual_recipe(solution.TwoNeuronNet, seeds, steps=steps)
    assert torch.equal(torch.get_rng_state(), rng_before), "torch's global random state is left alone"
    nets = []
    for seed in seeds:
        torch.manual_seed(seed)
        nets.append(solution.TwoNeuronNet())
    optimizers = [torch.optim.SGD(net.parameters(), lr=0.01) for net in nets]
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        xb = torch.rand(len(seeds), 256, 1, generator=generator) * 2 - 1
        for row, (net, optimizer) in enumerate(zip(nets, optimizers)):
            optimizer.zero_grad()
            solution.mse(net(xb[row]), xb[row] ** 2).backward()
            optimizer.step()
    for net, got in zip(nets, batched):
        for entry, value in net.state_dict().items():
            np.testing.assert_allclose(got[entry], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=entry)


def test_initial_states_are_pytorchs_default_initialisation(solution):
    torch.manual_seed(21)
    net = solution.TwoNeuronNet()
    (got,) = figures.initial_states(solution.TwoNeuronNet, [21])
    for entry, value in net.state_dict().items():
        np.testing.assert_array_equal(got[entry], value.numpy().astype(np.float64))


def test_record_training_snapshots_every_given_step_with_hinges(solution):
    net = solution.TwoNeuronNet()
    solution.init_outward(net, 0)
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    run = figures.record_training(net, x, x ** 2, loss=solution.mse, steps=10, every=4,
                                  optimizer=torch.optim.LBFGS(net.parameters(), max_iter=1))
    assert run.steps == [0, 4, 8, 10]
    assert [f.shape for f in run.fits] == [figures.PLOT_X.shape] * 4 and [h.shape for h in run.hinges] == [(2,)] * 4
    assert run.losses[-1] < run.losses[0]
    line = torch.nn.Linear(1, 1)
    run = figures.record_training(line, x, x ** 2, loss=solution.mse, steps=3, every=1, batch_size=8,
                                  optimizer=torch.optim.SGD(line.parameters(), lr=0.1))
    assert run.steps == [0, 1, 2, 3] and all(h.size == 0 for h in run.hinges)


# -- the notebook's own animations, in a real kernel ----------------------------------------------

@pytest.mark.slow
def test_the_notebooks_animations_are_multi_frame_gifs_of_their_size(tmp_path):
    """Each animation cell of the solution displays a GIF of 5 x 3.5 inches at 80 dpi, with many frames."""
    import base64
    import re

    import nbclient
    import nbformat

    nb = nbformat.read(REPO / "solutions" / f"{A}.ipynb", as_version=4)
    nb = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                 resources={"metadata": {"path": str(tmp_path)}}).execute()
    gifs = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            found = re.search(r'src="data:image/gif;base64,([^"]+)"', html)
            if found:
                path = tmp_path / f"{cell.id}.gif"
                path.write_bytes(base64.b64decode(found.group(1)))
                gifs[cell.id] = frames_of(path)
    assert sorted(gifs) == ["line-train", "one-train", "two-train", "wide-train"]
    for cell_id, (count, size, kind) in gifs.items():
        assert kind == "GIF" and size == (400, 280) and count >= 20, (cell_id, count, size)

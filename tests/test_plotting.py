"""Plotting helpers draw what they say on the axes they are given, and return it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_allclose, assert_array_equal

from gdcourse import datasets, objectives, plotting
from gdcourse.optimizers import gradient_descent


@pytest.fixture
def ax():
    figure = Figure()
    return figure.add_subplot()


def test_function_descent_draws_the_path_on_the_curve(ax):
    p = objectives.parabola
    path = gradient_descent(p.grad, 6.0, learning_rate=0.3).path
    artists = plotting.plot_function_descent(p.f, path, ax=ax, window=(-3, 7))
    xs, ys = artists.descent.path.get_data()
    assert_array_equal(xs, path)
    assert_allclose(ys, p.f(path))
    assert artists.curve.get_xdata().min() == -3
    assert artists.descent.start.get_xdata()[0] == 6.0
    assert artists.curve.axes is ax


def test_contour_path_and_window(ax):
    b = objectives.shifted_bowl
    path = gradient_descent(b.grad, [10.0, 10.0], learning_rate=0.2).path
    artists = plotting.plot_contour_path(b.f, path, ax=ax, window=b.window)
    xs, ys = artists.descent.path.get_data()
    assert_array_equal(xs, path[:, 0])
    assert_array_equal(ys, path[:, 1])
    assert ax.get_xlim() == b.window[0]
    assert len(artists.contour.levels) > 5


def test_log_levels_for_rosenbrock(ax):
    r = objectives.rosenbrock
    artists = plotting.plot_contour_path(r.f, None, ax=ax, window=r.window, log_levels=True)
    levels = np.asarray(artists.contour.levels)
    assert artists.descent is None
    assert np.all(np.diff(np.log(levels)) > 0)
    assert_allclose(np.diff(np.log(levels)), np.diff(np.log(levels))[0])


def test_loss_curve(ax):
    line = plotting.plot_loss([4.0, 2.0, 1.0], ax=ax, log=True, xlabel="epoch")
    assert_array_equal(line.get_ydata(), [4.0, 2.0, 1.0])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"


def test_fit_with_residuals(ax):
    x, y = datasets.thermometer()
    artists = plotting.plot_fit(x, y, 0.5, -17.0, ax=ax, residuals=True)
    assert len(artists.residuals.get_segments()) == 11
    segment = artists.residuals.get_segments()[0]
    assert_allclose(segment, [[x[0], y[0]], [x[0], -17.0 + 0.5 * x[0]]])
    assert "0.5" in artists.line.get_label()


def test_loss_grid_is_the_mse(ax):
    x, y = datasets.thermometer()
    W, B, L = plotting.loss_grid(x, y, (0.0, 1.0), (-20.0, 0.0), n_points=7)
    i, j = 3, 5
    assert_allclose(L[i, j], np.mean((B[i, j] + W[i, j] * x - y) ** 2), rtol=1e-12)
    artists = plotting.plot_loss_surface(
        x, y, w_range=(0, 1), b_range=(-20, 0), ax=ax, path=[[0.1, -1.0], [0.4, -10.0]]
    )
    assert ax.get_xlabel() == "w" and ax.get_ylabel() == "b"
    assert_array_equal(artists.descent.path.get_xdata(), [0.1, 0.4])


def test_style_is_colour_blind_safe_okabe_ito():
    plotting.use_style()
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert cycle[:3] == ["#0072B2", "#D55E00", "#009E73"]
    matplotlib.rcdefaults()


def test_default_axes_is_current_and_no_show(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plotting must not call show"))
    fig = plt.figure()
    try:
        line = plotting.plot_loss([1.0, 0.5])
        assert line.axes is plt.gca()
    finally:
        plt.close(fig)


def test_curves_differ_in_more_than_colour(ax):
    """Successive curves change line style with colour; markers are spread along a curve."""
    plotting.use_style()
    try:
        figure = Figure()
        axes = figure.add_subplot()
        lines = [plotting.plot_loss(np.arange(100.0) + k, ax=axes) for k in range(4)]
        styles = {line.get_linestyle() for line in lines}
        colors = {line.get_color() for line in lines}
        assert len(styles) == 4 and len(colors) == 4
    finally:
        matplotlib.rcdefaults()
    marked = plotting.plot_loss(np.arange(200.0), ax=ax, marker="s", n_markers=10)
    assert marked.get_marker() == "s"
    offset, every = marked.get_markevery()
    assert every == 20 and 0 <= offset < every
    dashed = plotting.plot_loss([1.0, 2.0], ax=ax, linestyle="--")
    assert dashed.get_linestyle() == "--"

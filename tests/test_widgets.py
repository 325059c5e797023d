"""Tests of gdcourse.widgets without a browser: drive the controls, check what is shown."""

from __future__ import annotations

import base64
import dataclasses
import gc
import html

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_allclose

from gdcourse import objectives, optimizers, widgets
from gdcourse.datasets import thermometer

DEMOS = ["descent_1d", "descent_2d", "fit_line", "batch_size", "feature_scaling"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _figures() -> int:
    gc.collect()
    # type(), not isinstance(): isinstance reads __class__, which some of torch's deprecated
    # proxies turn into a FutureWarning (an error under the suite's warning filter).
    return sum(issubclass(type(o), Figure) for o in gc.get_objects())


@pytest.mark.parametrize("name", DEMOS)
def test_demo_shows_a_figure_and_a_status_without_arguments(name: str) -> None:
    """Each demo builds with no arguments into a VBox with a PNG, a status and no error."""
    import ipywidgets

    demo = getattr(widgets, name)()
    assert isinstance(demo, ipywidgets.VBox)
    assert demo.png.startswith(PNG_SIGNATURE)
    assert len(demo.png) > 5_000  # a real figure, not an empty canvas
    assert demo.state["status"] and demo.state["message"]
    assert demo.state["status"].split(" / ")[0] in demo.status.value
    assert demo.state["error"] == "" and demo.error.value == ""
    assert f"gd-demo-{name.replace('_', '-')}" in demo._dom_classes
    # The plot is an <img> with the PNG and an alt text that describes it and its status.
    assert 'class="widget-image gd-plot"' in demo.plot.value
    assert base64.b64encode(demo.png).decode("ascii") in demo.plot.value
    alt = demo.plot.value.split('alt="')[1].split('"')[0]
    assert len(alt) > 60 and html.escape(demo.state["message"], quote=True) in alt


@pytest.mark.parametrize("name", DEMOS)
def test_every_value_control_redraws_the_figure(name: str) -> None:
    """Moving any slider or menu to another value changes the PNG shown."""
    demo = getattr(widgets, name)()
    for control_name, control in demo.controls.items():
        kind = type(control).__name__
        if kind in ("Button", "Play"):
            continue
        before = (demo.png, demo.state["message"])
        if kind == "Dropdown":
            values = [v for _, v in control.options]
            control.value = values[(values.index(control.value) + 1) % len(values)]
        else:
            control.value = control.max if control.value != control.max else control.min
        assert demo.state["error"] == "", demo.state["error"]
        after = (demo.png, demo.state["message"])
        if (name, control_name) == ("fit_line", "learning_rate"):
            assert after[1] != before[1]  # the rate only matters for the next step
        else:
            assert after[0] != before[0], control_name


def test_display_bundle_carries_a_static_figure() -> None:
    """Displayed, a demo offers the widget view, its current figure as PNG and a short text."""
    demo = widgets.fit_line()
    bundle = demo._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == demo.png
    assert bundle["text/plain"] == "gdcourse demo fit-line: manual"


def test_state_is_read_only() -> None:
    """Tests and students can read the state but not change it behind the demo's back."""
    demo = widgets.descent_1d()
    with pytest.raises(TypeError):
        demo.state["status"] = "converged"  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        demo.state["path"][0] = 1.0
    with pytest.raises(TypeError):
        demo.controls["extra"] = None  # type: ignore[index]


# --------------------------------------------------------------------------- descent_1d


def test_descent_1d_path_is_the_optimizers_path() -> None:
    """The path drawn is exactly gradient_descent's path for the controls' values."""
    demo = widgets.descent_1d()
    c = demo.controls
    c["start"].value = 6.0
    c["learning_rate"].value = 0.2
    c["steps"].value = 15
    expected = optimizers.gradient_descent(
        objectives.parabola.grad, 6.0, learning_rate=0.2, max_iter=15, tol=1e-6
    )
    assert_allclose(demo.state["path"], expected.path, rtol=1e-12)
    assert_allclose(demo.state["values"], objectives.parabola.f(expected.path), rtol=1e-12)
    line = demo.figure.axes[0].lines[1]  # the descent steps drawn on the curve
    assert_allclose(line.get_xdata(), expected.path)


@pytest.mark.parametrize(
    ("function", "start", "rate", "steps", "word"),
    [
        ("parabola", 5.0, 0.5, 5, "converged"),  # eta = 1/L: one step to the minimum
        ("parabola", 5.0, 0.9, 20, "oscillating"),  # factor 1 - 1.8 = -0.8
        ("parabola", 5.0, 1.0, 100, "oscillating"),  # factor -1: between 5 and -1 forever
        ("parabola", 5.0, 0.01, 100, "descending"),  # factor 0.98: slow, monotone
        ("steep_parabola", 1.0, 0.06, 20, "diverged"),  # factor 1 - 2.4 = -1.4
        ("cubic", -1.5, 0.1, 100, "diverged"),  # left of the local maximum: to -infinity
        ("cubic", 1.0, 0.01, 100, "converged"),  # into the local minimum sqrt(5/6)
    ],
)
def test_descent_1d_status_names_what_happened(
    function: str, start: float, rate: float, steps: int, word: str
) -> None:
    """The status word is converged / oscillating / diverged / descending, as the run behaves."""
    demo = widgets.descent_1d(function=function, start=start, learning_rate=rate, steps=steps)
    assert demo.state["status"] == word
    assert word in demo.status.value
    if function == "cubic" and word == "converged":
        assert_allclose(demo.state["path"][-1], np.sqrt(5 / 6), atol=1e-4)


def test_descent_1d_divergence_stops_early_and_keeps_sane_axes() -> None:
    """A diverging run stops, says so, and the axes keep the function's window."""
    demo = widgets.descent_1d(function="cubic", start=-1.5, learning_rate=1.0, steps=100)
    assert demo.state["status"] == "diverged"
    assert demo.state["reason"] == "diverged"
    assert len(demo.state["path"]) < 10
    assert demo.figure.axes[0].get_xlim() == objectives.cubic.window[0]
    low, high = demo.figure.axes[1].get_ylim()
    assert -10 < low < high < 40  # the curve's range, not 1e30
    assert "off the plot" in demo.state["message"]


def test_descent_1d_controls_offer_only_valid_values() -> None:
    """Out-of-range values are clamped by the controls, so the computation never sees them."""
    demo = widgets.descent_1d(function="steep_parabola")
    c = demo.controls
    c["learning_rate"].value = -5.0
    assert c["learning_rate"].value == pytest.approx(1e-3)
    c["learning_rate"].value = 1e9
    assert c["learning_rate"].value == pytest.approx(1.0)
    c["start"].value = 1e9
    assert c["start"].value == objectives.steep_parabola.window[0][1]
    c["steps"].value = 0
    assert c["steps"].value == 1
    assert demo.state["error"] == ""


def test_descent_1d_function_menu_resets_the_start_range() -> None:
    """Choosing another function moves the start slider into that function's window."""
    demo = widgets.descent_1d()
    demo.controls["function"].value = "cubic"
    start = demo.controls["start"]
    assert (start.min, start.max) == objectives.cubic.window[0]
    assert demo.state["function"] == "cubic"
    assert demo.state["path"][0] == start.value


def test_descent_1d_rejects_bad_arguments_with_clear_messages() -> None:
    """Bad keyword options raise ValueError naming the argument, the value and what is allowed."""
    with pytest.raises(ValueError, match=r"function must be one of .*'cubic'.*got 'quartic'"):
        widgets.descent_1d(function="quartic")
    with pytest.raises(ValueError, match=r"learning_rate must be between 0.001 and 1, got 2"):
        widgets.descent_1d(learning_rate=2)
    with pytest.raises(ValueError, match=r"start must be between -3 and 7, got 100"):
        widgets.descent_1d(start=100)
    with pytest.raises(ValueError, match=r"objective must be one of .*'rosenbrock'.*got 'x'"):
        widgets.descent_2d(objective="x")
    with pytest.raises(ValueError, match=r"momentum must be between 0 and 0.99, got 1"):
        widgets.descent_2d(momentum=1)
    with pytest.raises(ValueError, match=r"functions\['bowl'\] must be one-dimensional"):
        widgets.descent_1d(functions={"bowl": objectives.bowl}, function="bowl")


# --------------------------------------------------------------------------- descent_2d


def test_descent_2d_without_momentum_is_plain_gradient_descent() -> None:
    """With momentum 0 the path is gradient_descent's; with momentum it is heavy_ball's."""
    demo = widgets.descent_2d(objective="ill_conditioned")
    c = demo.controls
    c["x0"].value, c["y0"].value = -8.0, 2.0
    c["learning_rate"].value = 0.05
    f = objectives.ill_conditioned(25.0)
    plain = optimizers.gradient_descent(
        f.grad, [-8.0, 2.0], learning_rate=0.05, max_iter=150, tol=1e-8
    )
    assert_allclose(demo.state["path"], plain.path, rtol=1e-12)
    c["momentum"].value = 0.5
    ball = optimizers.heavy_ball(
        f.grad, [-8.0, 2.0], learning_rate=0.05, momentum=0.5, max_iter=150, tol=1e-8
    )
    assert_allclose(demo.state["path"], ball.path, rtol=1e-12)
    assert not np.allclose(ball.path, plain.path)


def test_descent_2d_play_step_back_and_reset_move_through_the_run() -> None:
    """reset shows the start only; step and back move one iteration; play's value is the frame."""
    demo = widgets.descent_2d()
    c = demo.controls
    n = len(demo.state["path"]) - 1
    assert demo.state["frame"] == n  # a new run is shown whole
    assert c["play"].max == n  # and play runs to its last iteration, no further
    c["reset"].click()
    assert demo.state["frame"] == 0 and len(demo.state["shown"]) == 1
    c["back"].click()
    assert demo.state["frame"] == 0  # cannot go before the start
    c["step"].click()
    c["step"].click()
    assert demo.state["frame"] == 2
    assert_allclose(demo.state["shown"], demo.state["path"][:3])
    c["back"].click()
    assert demo.state["frame"] == 1
    c["play"].value = 5  # what the Play widget does while playing
    assert demo.state["frame"] == 5
    line = demo.figure.axes[0].lines[0]
    assert len(line.get_xdata()) == 6
    for _ in range(n + 3):
        c["step"].click()
    assert demo.state["frame"] == n  # cannot go past the end


def test_descent_2d_rosenbrock_divergence_is_reported_and_axes_stay() -> None:
    """Too large a learning rate on Rosenbrock diverges quickly, without warnings or wild axes."""
    demo = widgets.descent_2d(objective="rosenbrock")
    demo.controls["learning_rate"].value = 0.1
    assert demo.state["status"] == "diverged"
    assert len(demo.state["path"]) < 20
    ax = demo.figure.axes[0]
    assert ax.get_xlim() == objectives.rosenbrock.window[0]
    assert ax.get_ylim() == objectives.rosenbrock.window[1]
    assert demo.figure.axes[1].get_ylim()[1] <= 1e6


def test_descent_2d_objective_menu_sets_window_start_and_rate() -> None:
    """Choosing an objective moves the start sliders into its window and picks a suitable rate."""
    demo = widgets.descent_2d()
    demo.controls["objective"].value = "rosenbrock"
    c = demo.controls
    assert (c["x0"].min, c["x0"].max) == objectives.rosenbrock.window[0]
    assert (c["y0"].min, c["y0"].max) == objectives.rosenbrock.window[1]
    assert c["learning_rate"].value == pytest.approx(0.001)
    assert demo.state["objective"] == "rosenbrock"
    assert demo.state["status"] != "diverged"
    demo.controls["objective"].value = "round_bowl"
    assert demo.state["status"] == "converged"
    assert_allclose(demo.state["path"][-1], [0.0, 0.0], atol=1e-6)


# --------------------------------------------------------------------------- fit_line


def test_fit_line_shows_the_mse_of_the_sliders() -> None:
    """The MSE in the state and in the status line is that of the line the sliders describe."""
    x, y = thermometer()
    demo = widgets.fit_line()
    demo.controls["w"].value = 0.5
    demo.controls["b"].value = -15.0
    expected = float(np.mean((-15.0 + 0.5 * x - y) ** 2))
    assert demo.state["mse"] == pytest.approx(expected, rel=1e-12)
    assert f"MSE = {expected:.4g}" in demo.state["message"]
    assert f"MSE = {expected:.4g}" in demo.status.value
    residuals = demo.figure.axes[0].collections[1].get_segments()
    assert_allclose([s[1, 1] for s in residuals], -15.0 + 0.5 * x)


def test_fit_line_step_is_one_gradient_descent_step() -> None:
    """The step button moves (w, b) by -eta times the MSE gradient and lowers the MSE."""
    x, y = thermometer()
    demo = widgets.fit_line(w=0.2, b=0.0, learning_rate=1e-4)
    mse0 = demo.state["mse"]
    demo.controls["step"].click()
    dw, db = objectives.mse_gradient(x, y, 0.2, 0.0)
    # The state holds the exact step; the sliders show it to their resolution.
    assert demo.state["w"] == pytest.approx(0.2 - 1e-4 * dw, rel=1e-12)
    assert demo.state["b"] == pytest.approx(0.0 - 1e-4 * db, rel=1e-12)
    for name in ("w", "b"):
        slider = demo.controls[name]
        assert abs(slider.value - demo.state[name]) <= slider.step / 2 + 1e-12
    # The browser snapping a slider to its grid (an echo) changes nothing ...
    demo.controls["b"].value = 0.0
    assert demo.state["b"] == pytest.approx(-1e-4 * db, rel=1e-12)
    assert demo.state["status"] == "descending"
    # ... and many small steps add up even when each is below a slider step.
    for _ in range(40):
        demo.controls["step"].click()
    assert abs(demo.state["b"]) > demo.controls["b"].step / 2
    assert demo.state["mse"] < mse0
    assert demo.state["status"] == "descending"
    assert len(demo.state["trail"]) == 42  # the start, the first step and 40 more
    demo.controls["w"].value = 0.3  # moving a slider by hand starts a new trail
    assert len(demo.state["trail"]) == 1


def test_slider_readouts_show_fixed_decimals() -> None:
    """Readouts show as many decimals as the step, so 0 on a 0.01 grid reads 0.00, not 7e-15."""
    demo = widgets.fit_line()
    assert demo.controls["w"].readout_format == ".3f"
    assert demo.controls["b"].readout_format == ".2f"
    assert f"{-40.0 + 4000 * 0.01:{demo.controls['b'].readout_format}}" == "0.00"
    demo_2d = widgets.descent_2d()
    demo_2d.controls["objective"].value = "rosenbrock"  # window 4 wide: a 0.01 grid
    assert demo_2d.controls["x0"].readout_format == ".2f"


def test_fit_line_too_large_a_step_is_reported() -> None:
    """With eta above 2/L the step overshoots (or leaves the sliders' range), and says so."""
    demo = widgets.fit_line(w=0.6, b=-17.0, learning_rate=1e-3)
    mse0 = demo.state["mse"]
    demo.controls["step"].click()
    assert demo.state["status"] in ("overshot", "clamped")
    assert demo.state["mse"] > mse0
    demo.controls["reset"].click()
    assert (demo.state["w"], demo.state["b"]) == pytest.approx((0.6, -17.0))


def test_fit_line_rejects_values_outside_the_sliders() -> None:
    """Start values outside the sliders' ranges are refused, naming the range."""
    with pytest.raises(ValueError, match=r"w must be between -1.0 and 2.0, got 5"):
        widgets.fit_line(w=5)
    with pytest.raises(ValueError, match=r"learning_rate must be between 1e-6 and 1e-3, got 0.5"):
        widgets.fit_line(learning_rate=0.5)


# --------------------------------------------------------------------------- batch_size


def test_batch_size_runs_are_minibatch_sgd_runs() -> None:
    """The three curves are minibatch_sgd runs with batch sizes n, the slider's value and 1."""
    demo = widgets.batch_size(batch_size=5, learning_rate=0.02, seed=3)
    assert demo.state["n_updates"] == (10, 100, 500)
    inputs, targets = demo._data  # the demo's fixed synthetic data
    for name, size in (("full", 50), ("mini", 5), ("single", 1)):
        run = optimizers.minibatch_sgd(
            inputs, targets, learning_rate=0.02, batch_size=size, epochs=10,
            rng=np.random.default_rng(3),
        )  # fmt: skip
        assert_allclose(demo.state["epoch_losses"][name], run.epoch_losses, rtol=1e-12)
    before = demo.state["epoch_losses"]["mini"].copy()
    demo.controls["seed"].value = 4
    assert not np.allclose(demo.state["epoch_losses"]["mini"], before)


def test_batch_size_divergence_is_reported_without_warnings() -> None:
    """A learning rate too large for single-sample steps diverges there and says so."""
    demo = widgets.batch_size()
    demo.controls["learning_rate"].value = 1.0
    assert demo.state["runs"][0] == "converged"
    assert demo.state["runs"][2] == "diverged"
    assert demo.state["status"] == "diverged"
    assert "diverged" in demo.state["message"]
    for ax in demo.figure.axes:
        assert ax.get_ylim()[1] <= 1e4


def test_batch_size_rejects_bad_arguments() -> None:
    """Bad sizes raise ValueError naming the argument and the allowed range."""
    with pytest.raises(ValueError, match=r"batch_size must be between 1 and 50, got 0"):
        widgets.batch_size(batch_size=0)
    with pytest.raises(ValueError, match=r"n_samples must be between 2 and 200"):
        widgets.batch_size(n_samples=1)


# --------------------------------------------------------------------------- feature_scaling


def test_feature_scaling_lets_a_larger_learning_rate_converge() -> None:
    """At eta = 0.1 the raw inputs diverge and the normalised ones converge to least squares."""
    x, y = thermometer()
    demo = widgets.feature_scaling(learning_rate=0.1, steps=200)
    assert demo.state["status"] == "diverged / converged"
    (w, b) = demo.state["paths"]["normalised"][-1]
    scale, mean = x.std(), x.mean()
    (w_best,), b_best = objectives.least_squares(x, y)
    assert_allclose([w / scale, b - w / scale * mean], [w_best, b_best], rtol=1e-5)
    assert demo.state["max_stable_rate"]["raw"] == pytest.approx(3.39e-4, rel=0.01)
    assert demo.state["max_stable_rate"]["normalised"] == pytest.approx(1.0, rel=1e-9)
    demo.controls["learning_rate"].value = 1e-4
    assert demo.state["runs"]["raw"] != "diverged"


def test_feature_scaling_paths_follow_the_mse_gradient() -> None:
    """The raw path is gradient descent with objectives.mse_gradient, step for step."""
    x, y = thermometer()
    demo = widgets.feature_scaling(learning_rate=2e-4, steps=30)
    expected = optimizers.gradient_descent(
        lambda p: np.array(objectives.mse_gradient(x, y, p[0], p[1])),
        [0.0, 0.0],
        learning_rate=2e-4,
        max_iter=30,
        tol=1e-8,
    )
    assert_allclose(demo.state["paths"]["raw"], expected.path, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- robustness


def test_two_hundred_updates_leak_no_figures() -> None:
    """Updates reuse the demo's one figure: pyplot sees none and no Figure objects pile up."""
    plt.close("all")
    baseline = _figures()
    demo = widgets.descent_2d()
    created = _figures() - baseline
    assert created == 1
    rng = np.random.default_rng(0)
    c = demo.controls
    for i in range(200):
        if i % 4 == 0:
            c["learning_rate"].value = float(10 ** rng.uniform(-4, 0))
        elif i % 4 == 1:
            c["x0"].value = float(rng.uniform(c["x0"].min, c["x0"].max))
        elif i % 4 == 2:
            c["momentum"].value = float(rng.uniform(0, 0.99))
        else:
            c["objective"].value = ["bowl", "rosenbrock", "shifted_bowl"][i % 3]
    assert demo.render_stats["renders"] >= 200
    assert plt.get_fignums() == []
    assert _figures() - baseline == 1
    demo.close()
    del demo
    assert _figures() == baseline


def test_updates_blit_instead_of_redrawing_axes() -> None:
    """A learning-rate change redraws no axes: only the moving artists are drawn."""
    demo = widgets.descent_1d()
    draws = demo.render_stats["axes_draws"] + demo.render_stats["full_draws"]
    for rate in np.geomspace(1e-3, 1.0, 20):
        demo.controls["learning_rate"].value = float(rate)
    assert demo.render_stats["axes_draws"] + demo.render_stats["full_draws"] == draws


def _fragile() -> objectives.Objective:
    """The parabola, with a gradient that fails to the right of x = 3."""

    def grad(x: float) -> float:
        if np.any(np.asarray(x) > 3):
            raise ArithmeticError("gradient undefined beyond x = 3")
        return float(2 * x - 4)

    return dataclasses.replace(objectives.parabola, grad=grad)


def test_failure_inside_a_callback_is_shown_in_the_widget() -> None:
    """An exception in an update is shown in the error line, and cleared by the next good one."""
    demo = widgets.descent_1d(functions={"fragile": _fragile()}, function="fragile", start=1.0)
    assert demo.state["error"] == ""
    good_image = demo.png
    demo.controls["start"].value = 5.0  # must not raise here, in the observer
    assert demo.state["error"] == "ArithmeticError: gradient undefined beyond x = 3"
    assert "gradient undefined beyond x = 3" in demo.error.value
    assert "Traceback" in demo.error.value
    assert demo.png == good_image  # the last good figure stays
    demo.controls["start"].value = 0.0
    assert demo.state["error"] == "" and demo.error.value == ""


def test_demos_share_no_state() -> None:
    """Two demos of the same kind in one notebook move independently."""
    first, second = widgets.descent_1d(), widgets.descent_1d()
    second.controls["learning_rate"].value = 0.9
    assert first.state["learning_rate"] == pytest.approx(0.1)
    assert first.state["status"] != second.state["status"]
    assert first.figure is not second.figure


def test_browser_notebook_shows_every_demo_with_the_canonical_header() -> None:
    """The notebook of the live browser test has the canonical header and calls each demo."""
    import json
    from pathlib import Path

    notebook = json.loads(
        (Path(__file__).parent / "notebooks" / "widgets_demo.ipynb").read_text(encoding="utf-8")
    )
    assert notebook["metadata"]["kernelspec"] == {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    for name in DEMOS:
        assert f"widgets.{name}()" in sources
    assert all(not cell.get("outputs") for cell in notebook["cells"])

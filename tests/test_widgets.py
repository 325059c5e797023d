"""Tests of gdcourse.widgets without a browser: drive the controls, check what is shown.

The browser tests (``test_widgets_browser.py`` live in JupyterLab and Notebook 7,
``test_book_browser.py`` on the static site) check the front end; these check the
Python side and what it sends to the front end.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import traitlets
from numpy.testing import assert_allclose

from gdcourse import objectives, optimizers, widgets
from gdcourse.datasets import thermometer
from gdcourse.widgets import _base, _controls, _ports, _scene

DEMOS = ["descent_1d", "descent_2d", "fit_line", "batch_size", "feature_scaling"]

#: What each demo may add to a page, in kilobytes of saved widget state (README has the
#: measured figures; this catches a scene that grows by accident).
PAGE_WEIGHT_KB = {
    "descent_1d": 60,
    "descent_2d": 100,
    "fit_line": 60,
    "batch_size": 130,
    "feature_scaling": 70,
}


def _synced(demo: widgets.Demo) -> dict:
    return demo.get_state()


@pytest.mark.parametrize("name", DEMOS)
def test_demo_publishes_its_figure_and_status_without_arguments(name: str) -> None:
    """Each demo builds with no arguments into a widget whose synced state the page draws."""
    import ipywidgets

    demo = getattr(widgets, name)()
    assert isinstance(demo, ipywidgets.DOMWidget)
    assert demo.kind == name.replace("_", "-")
    assert demo.state["status"] and demo.state["message"]
    assert demo.state["error"] == "" and demo.error == ""
    assert demo.shown["status"] == demo.state["status"]
    assert demo.shown["message"] == demo.state["message"]
    assert set(demo.values) == {n for n, c in demo.controls.items() if c.kind != "button"}
    assert [i["name"] for i in demo.inputs] == list(demo.controls)
    assert len(demo.alt_text) > 60 and demo.state["message"] in demo.alt_text
    # The front end: the shared script, then the demo's own.
    assert demo._esm.startswith("// The front end of gdcourse's demos")
    assert f'registerDemo("{demo.kind}"' in demo._esm
    assert "export default { render }" in demo._esm


@pytest.mark.parametrize("name", DEMOS)
def test_synced_state_is_strict_json_within_its_page_weight(name: str) -> None:
    """What the page saves is plain JSON (no NaN, which JSON lacks), and stays small."""
    demo = getattr(widgets, name)()
    state = _synced(demo)
    text = json.dumps(state, allow_nan=False)
    assert len(text) / 1000 < PAGE_WEIGHT_KB[name]


@pytest.mark.parametrize("name", DEMOS)
def test_every_value_control_changes_what_is_shown(name: str) -> None:
    """Moving any slider or menu to another value changes what the figure shows."""
    demo = getattr(widgets, name)()
    for control_name, control in demo.controls.items():
        if control.kind in ("button", "play"):
            continue
        before = json.dumps(demo.shown)
        if control.kind == "menu":
            keys = [key for _, key in control.options]
            control.value = keys[(keys.index(control.value) + 1) % len(keys)]
        else:
            low, high = _controls_bounds(control)
            control.value = high if control.value != high else low
        assert demo.state["error"] == "", demo.state["error"]
        assert json.dumps(demo.shown) != before, control_name
        assert demo.values[control_name] == control.json_value()


def _controls_bounds(control: _controls.Control) -> tuple[float, float]:
    if control.kind == "log":
        return control.base**control.min, control.base**control.max
    return control.min, control.max


def test_a_change_from_the_front_end_runs_the_update() -> None:
    """The page writes ``values``; the demo sets the control, computes, and publishes."""
    demo = widgets.descent_1d()
    demo.set_state({"values": {**demo.values, "learning_rate": 0.9}})
    assert demo.controls["learning_rate"].value == 0.9
    assert demo.state["status"] == "oscillating"
    assert demo.shown["status"] == "oscillating"
    demo.set_state({"values": {**demo.values, "steps": 10_000}})  # clamped, and told so
    assert demo.values["steps"] == 100


def test_a_menu_choice_from_the_front_end_keeps_the_values_it_implies() -> None:
    """The page sends all its values with a new objective; the start and the rate that the
    objective brings must not be overwritten by the old ones that came along."""
    demo = widgets.descent_2d()
    demo.set_state({"values": {**demo.values, "objective": "rosenbrock"}})
    assert demo.controls["learning_rate"].value == pytest.approx(1e-3)
    assert (demo.values["x0"], demo.values["y0"]) == (-1.5, 2.0)
    assert demo.state["status"] != "diverged"


def test_the_front_end_pings_and_clicks_through_custom_messages() -> None:
    """A page asks whether a kernel is there (ping/pong); buttons arrive as messages."""
    demo = widgets.descent_2d()
    sent = []
    demo.send = sent.append
    demo._handle_custom_msg({"ping": "abc"}, [])
    assert sent == [{"pong": "abc"}]
    demo._handle_custom_msg({"click": "reset"}, [])
    assert demo.state["frame"] == 0
    demo._handle_custom_msg({"click": "no-such-button"}, [])  # ignored
    assert demo.state["error"] == ""


def test_display_bundle_has_a_short_text() -> None:
    """Displayed, a demo offers the widget view and a one-line text for viewers without one."""
    demo = widgets.fit_line()
    data, _metadata = demo._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "gdcourse demo fit-line: manual"


def test_state_is_read_only() -> None:
    """Tests and students can read the state but not change it behind the demo's back."""
    demo = widgets.descent_1d()
    with pytest.raises(TypeError):
        demo.state["status"] = "converged"  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        demo.state["path"][0] = 1.0
    with pytest.raises(TypeError):
        demo.controls["extra"] = None  # type: ignore[index]


# --------------------------------------------------------------------------- controls


def test_controls_clamp_like_ipywidgets_and_refuse_unknown_options() -> None:
    """Out-of-range values are clamped; a menu refuses a key it does not offer, naming them."""
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
    with pytest.raises(traitlets.TraitError, match=r"must be one of \['parabola'"):
        c["function"].value = "quartic"
    with pytest.raises(traitlets.TraitError, match="must be a number"):
        c["steps"].value = "ten"
    assert demo.state["error"] == ""


def test_slider_specs_tell_the_page_ranges_and_decimals() -> None:
    """The page draws each slider from its spec: range, grid, and decimals of the readout."""
    demo = widgets.fit_line()
    specs = {spec["name"]: spec for spec in demo.inputs}
    assert specs["w"] | {} == {
        "name": "w", "row": 0, "kind": "float", "label": "slope w",
        "min": -1.0, "max": 2.0, "step": 0.001, "decimals": 3,
    }  # fmt: skip
    assert specs["b"]["decimals"] == 2
    assert specs["learning_rate"]["kind"] == "log" and specs["learning_rate"]["min"] == -6
    assert specs["step"]["kind"] == "button"
    assert _controls.decimals(1.0) == 0 and _controls.decimals(0.01) == 2


def test_a_new_range_is_published() -> None:
    """Choosing another function moves the start slider's range, and the page is told."""
    demo = widgets.descent_1d()
    demo.controls["function"].value = "cubic"
    start = next(spec for spec in demo.inputs if spec["name"] == "start")
    assert (start["min"], start["max"]) == objectives.cubic.window[0]
    assert demo.values["start"] == demo.controls["start"].value


# --------------------------------------------------------------------------- descent_1d


def test_descent_1d_path_is_the_optimizers_path() -> None:
    """The path shown is exactly gradient_descent's path for the controls' values."""
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
    assert demo.shown["path"] == expected.path.tolist()


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
    if function == "cubic" and word == "converged":
        assert_allclose(demo.state["path"][-1], np.sqrt(5 / 6), atol=1e-4)


def test_descent_1d_divergence_stops_early_and_says_off_the_plot() -> None:
    """A diverging run stops, says so, and its non-finite values travel as null."""
    demo = widgets.descent_1d(function="cubic", start=-1.5, learning_rate=1.0, steps=100)
    assert demo.state["status"] == "diverged"
    assert demo.state["reason"] == "diverged"
    assert len(demo.state["path"]) < 10
    assert "off the plot" in demo.state["message"]
    json.dumps(demo.shown, allow_nan=False)


def test_descent_1d_function_menu_resets_the_start_range() -> None:
    """Choosing another function moves the start slider into that function's window."""
    demo = widgets.descent_1d()
    demo.controls["function"].value = "cubic"
    start = demo.controls["start"]
    assert (start.min, start.max) == objectives.cubic.window[0]
    assert demo.state["function"] == "cubic"
    assert demo.state["path"][0] == start.value == -2 + 0.8 * 4


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
    assert demo.shown["frame"] == 0 and "Showing iteration 0:" in demo.shown["message"]
    c["back"].click()
    assert demo.state["frame"] == 0  # cannot go before the start
    c["step"].click()
    c["step"].click()
    assert demo.state["frame"] == 2
    assert_allclose(demo.state["shown"], demo.state["path"][:3])
    c["back"].click()
    assert demo.state["frame"] == 1
    c["play"].value = 5  # what the play button does, frame after frame
    assert demo.state["frame"] == 5
    for _ in range(n + 3):
        c["step"].click()
    assert demo.state["frame"] == n  # cannot go past the end


def test_descent_2d_rosenbrock_divergence_is_reported() -> None:
    """Too large a learning rate on Rosenbrock diverges quickly, and the gap stays plottable."""
    demo = widgets.descent_2d(objective="rosenbrock")
    demo.controls["learning_rate"].value = 0.1
    assert demo.state["status"] == "diverged"
    assert len(demo.state["path"]) < 20
    assert np.all(demo.state["gap"] <= demo.scene["objectives"]["rosenbrock"]["gap_top"] * 10)


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


def test_descent_2d_contours_are_the_functions_level_sets() -> None:
    """Each contour line the page draws lies on its level of the objective (to a pixel)."""
    demo = widgets.descent_2d()
    scene = demo.scene["objectives"]["shifted_bowl"]
    (xlo, xhi), (ylo, yhi) = scene["window"]
    checked = 0
    for level in scene["contours"]:
        for line in level["lines"]:
            q = np.cumsum(np.array(line).reshape(-1, 2), axis=0)
            x = xlo + q[:, 0] * (xhi - xlo) / _scene.QUANTUM_STEPS
            y = ylo + q[:, 1] * (yhi - ylo) / _scene.QUANTUM_STEPS
            values = objectives.shifted_bowl.f(np.stack([x, y]))
            assert_allclose(values, level["level"], rtol=0.05, atol=0.5)
            checked += len(x)
    assert checked > 100


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
    assert_allclose(demo.state["fitted"], -15.0 + 0.5 * x)


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
    # A slider showing a value we set, to its resolution, changes nothing ...
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
        assert_allclose(demo.state["batch_losses"][name], run.batch_losses, rtol=1e-12)
    before = demo.state["epoch_losses"]["mini"].copy()
    demo.controls["seed"].value = 4
    assert not np.allclose(demo.state["epoch_losses"]["mini"], before)


def test_batch_size_page_carries_numpys_shuffles() -> None:
    """The page's table holds the order minibatch_sgd's generator visits the rows in."""
    import base64

    demo = widgets.batch_size()
    table = np.frombuffer(base64.b64decode(demo.scene["shuffles"]), dtype=np.uint8)
    table = table.reshape(100, 10, 50)
    for seed in (0, 7, 99):
        rng = np.random.default_rng(seed)
        for epoch in range(10):
            assert table[seed, epoch].tolist() == rng.permutation(50).tolist()


def test_batch_size_divergence_is_reported_without_warnings() -> None:
    """A learning rate too large for single-sample steps diverges there and says so."""
    demo = widgets.batch_size()
    demo.controls["learning_rate"].value = 1.0
    assert demo.state["runs"][0] == "finished"
    assert demo.state["runs"][2] == "diverged"
    assert demo.state["status"] == "diverged"
    assert "diverged" in demo.state["message"]
    assert demo.state["ylim"][1] <= 1e4
    json.dumps(demo.shown, allow_nan=False)


def test_batch_size_calls_no_sgd_run_converged() -> None:
    """SGD at a constant rate never meets a tolerance: a run that did not diverge "finished",
    not "converged" (issue 18), and the word has a colour and a meaning."""
    from gdcourse.widgets import _base

    demo = widgets.batch_size()
    for rate in (0.001, 0.05, 1.0):
        demo.controls["learning_rate"].value = rate
        assert "converged" not in demo.state["runs"] and demo.state["status"] != "converged"
        assert set(demo.state["runs"]) <= {"finished", "diverged"}
    assert "finished" in _base.STATUS_COLORS and "finished" in _base.WORDS


def test_batch_size_rejects_bad_arguments() -> None:
    """Bad sizes raise ValueError naming the argument and the allowed range."""
    with pytest.raises(ValueError, match=r"batch_size must be between 1 and 50, got 0"):
        widgets.batch_size(batch_size=0)
    with pytest.raises(ValueError, match=r"n_samples must be between 2 and 200"):
        widgets.batch_size(n_samples=1)
    with pytest.raises(ValueError, match=r"seed must be between 0 and 99, got 100"):
        widgets.batch_size(seed=100)


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


# --------------------------------------------------------------------------- shared parts


def test_ports_name_the_course_objectives_and_only_those() -> None:
    """The page computes only functions it has a port of; others are left to the kernel."""
    assert _ports.port_of(objectives.rosenbrock) == {"kind": "rosenbrock"}
    assert _ports.port_of(objectives.ill_conditioned(25.0)) == {
        "kind": "ill_conditioned",
        "kappa": 25.0,
    }
    assert _ports.port_of(_fragile()) is None
    demo = widgets.descent_1d(functions={"fragile": _fragile()}, function="fragile", start=1.0)
    assert demo.scene["functions"]["fragile"]["port"] is None


def test_fmt_is_pythons_four_digit_general_format() -> None:
    """Numbers in status lines: four significant digits, ties to even, a real minus sign."""
    assert _base.fmt(13.0625) == "13.06"  # a tie, rounded to even
    assert _base.fmt(-0.0) == "−0"
    assert _base.fmt(1e-5) == "1e−05"
    assert _base.fmt(float("inf")) == "inf"


def test_jsonable_and_quantize() -> None:
    """Non-finite numbers become null; drawing-only coordinates become integers."""
    assert _base.jsonable(np.array([[1.0, np.nan]])) == [[1.0, None]]
    assert _base.jsonable({"a": (1, np.int64(2))}) == {"a": [1, 2]}
    assert _scene.quantize([-1.0, 3.0, np.inf], 0.0, 2.0) == [-2000, 6000, None]


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
    good = dict(demo.shown)
    demo.controls["start"].value = 5.0  # must not raise here, in the observer
    assert demo.state["error"] == "ArithmeticError: gradient undefined beyond x = 3"
    assert demo.error == demo.state["error"]
    assert "Traceback" in demo.error_detail
    assert demo.shown == good  # the last good figure stays
    demo.controls["start"].value = 0.0
    assert demo.state["error"] == "" and demo.error == "" and demo.error_detail == ""


def test_demos_share_no_state() -> None:
    """Two demos of the same kind in one notebook move independently."""
    first, second = widgets.descent_1d(), widgets.descent_1d()
    second.controls["learning_rate"].value = 0.9
    assert first.state["learning_rate"] == pytest.approx(0.1)
    assert first.state["status"] != second.state["status"]


def test_close_releases_the_controls() -> None:
    """After close() a control kept by the caller no longer drives the demo."""
    demo = widgets.descent_1d()
    rate = demo.controls["learning_rate"]
    demo.close()
    before = dict(demo.state)
    rate.value = 0.9
    assert demo.state == before


def test_browser_notebook_shows_every_demo_with_the_canonical_header() -> None:
    """The notebook of the live browser test has the canonical header and calls each demo."""
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

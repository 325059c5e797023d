"""How fast do the demos of ``gdcourse.widgets`` redraw? Run ``python benchmarks/widgets.py``.

For every demo and every control, the benchmark makes changes a student could
make (random values within the control's range, from a seeded generator;
button presses) and times each one in the kernel's own terms: from assigning
``control.value`` (or ``button.click()``) until the observers have returned,
which is when the new PNG is in the demo's plot widget, ready to be sent
to the browser. It prints the median, 95th percentile and maximum per control
and per demo, against the target (median < 30 ms, p95 < 60 ms), with the median
CPU time of this process beside it: on a machine others are loading, the wall
clock also counts the waits for a core, the CPU time does not.

With ``--compare`` it also times the two other ways of drawing the 1-D demo's
figure that ``gdcourse.widgets`` rejected (see its module docstring):
rebuilding the figure and rendering it like the inline backend does (what an
``Output`` widget with ``plt.show()`` costs), and an ipympl canvas doing the
full draw and the PNG diff it makes for each change.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

TARGET_MEDIAN_MS = 30.0
TARGET_P95_MS = 60.0


def _values(control: Any, rng: np.random.Generator, n: int) -> list[Any]:
    """``n`` random values a student could choose with ``control``."""
    name = type(control).__name__
    if name == "Dropdown":
        options = [value for _, value in control.options]
        return [options[i] for i in rng.integers(0, len(options), size=n)]
    if name == "FloatLogSlider":
        exponents = rng.uniform(control.min, control.max, size=n)
        return [float(control.base**e) for e in exponents]
    if name in ("IntSlider", "Play"):
        return [int(v) for v in rng.integers(control.min, control.max + 1, size=n)]
    if name == "FloatSlider":
        return [float(v) for v in rng.uniform(control.min, control.max, size=n)]
    raise TypeError(f"no value generator for {name}")


def _load() -> str:
    """The 1, 5 and 15 minute load averages, when the platform has them."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        return "unknown"


def _percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples), q))


def time_demo(
    factory: Callable[[], Any], n: int, rng: np.random.Generator
) -> dict[str, tuple[list[float], list[float]]]:
    """Milliseconds per change by control name: wall-clock times and this process's CPU times."""
    demo = factory()
    timings: dict[str, tuple[list[float], list[float]]] = {}
    for name, control in demo.controls.items():
        if type(control).__name__ == "Button":
            actions: list[Callable[[], None]] = [control.click] * n
        else:
            actions = [
                (lambda c=control, v=value: setattr(c, "value", v))
                for value in _values(control, rng, n)
            ]
        for action in actions[:3]:  # warm caches (fonts, contour sets) as a student would
            action()
        wall, cpu = [], []
        for action in actions:
            start, start_cpu = time.perf_counter(), time.process_time()
            action()
            wall.append((time.perf_counter() - start) * 1e3)
            cpu.append((time.process_time() - start_cpu) * 1e3)
        timings[name] = (wall, cpu)
        if demo.state["error"]:
            raise RuntimeError(f"{name}: {demo.state['error']}")
    return timings


def _row(label: str, samples: list[float], cpu: list[float] | None = None) -> str:
    median, p95 = statistics.median(samples), _percentile(samples, 95)
    row = f"{label:<32} {len(samples):>5} {median:>9.1f} {p95:>9.1f} {max(samples):>9.1f}"
    if cpu is not None:
        row += f" {statistics.median(cpu):>9.1f}"
    return row


def compare(n: int) -> list[tuple[str, list[float]]]:
    """Time the rejected rendering approaches on the 1-D demo's figure."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    from gdcourse import objectives, optimizers, plotting

    rates = np.geomspace(1e-3, 1.0, n)

    def run(rate: float) -> optimizers.DescentResult:
        return optimizers.gradient_descent(
            objectives.parabola.grad, 5.0, learning_rate=float(rate), max_iter=20,
            f=objectives.parabola.f, divergence_threshold=1e6,
        )  # fmt: skip

    def build(fig: Figure, rate: float) -> None:
        result = run(rate)
        ax_curve, ax_loss = fig.subplots(1, 2)
        plotting.plot_function_descent(
            objectives.parabola.f, result.path, ax=ax_curve, window=(-3.0, 7.0)
        )
        plotting.plot_loss(result.values, ax=ax_loss)

    results = []
    # 1. Output widget: a new figure per change, rendered as the inline backend does.
    samples = []
    with mpl.rc_context(plotting.STYLE):  # type: ignore[arg-type]
        for rate in rates:
            start = time.perf_counter()
            fig = Figure(figsize=(9.0, 3.4), dpi=100)
            build(fig, rate)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", bbox_inches="tight")
            samples.append((time.perf_counter() - start) * 1e3)
    results.append(("Output widget (rebuild + inline)", samples))

    # 2. ipympl: artists updated in place, then the canvas's full draw and PNG diff.
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    except ImportError:  # pragma: no cover - ipympl is in the student extra
        return results
    with mpl.rc_context(plotting.STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(9.0, 3.4), dpi=100)
        canvas = Canvas(fig)
        FigureManager(canvas, 0)
        build(fig, 0.1)
    path_line = fig.axes[0].lines[1]
    loss_line = fig.axes[1].lines[0]
    samples = []
    for rate in rates:
        start = time.perf_counter()
        result = run(rate)
        path_line.set_data(result.path, result.values)
        loss_line.set_data(np.arange(len(result.path)), result.values)
        canvas.draw()
        canvas.get_diff_image()
        samples.append((time.perf_counter() - start) * 1e3)
    results.append(("ipympl (draw + diff PNG)", samples))
    canvas.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="changes per control (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--compare", action="store_true", help="also time the rejected rendering approaches"
    )
    args = parser.parse_args(argv)

    from gdcourse import widgets

    rng = np.random.default_rng(args.seed)
    header = (
        f"{'demo / control':<32} {'n':>5} {'median':>9} {'p95':>9} {'max':>9} "
        f"{'cpu med.':>9}   (ms)"
    )
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}; load average {_load()}")
    print(header)
    print("-" * len(header))
    failures = []
    for name in ("descent_1d", "descent_2d", "fit_line", "batch_size", "feature_scaling"):
        timings = time_demo(getattr(widgets, name), args.n, rng)
        for control, (samples, cpu) in timings.items():
            print(_row(f"  {name}.{control}", samples, cpu))
        everything = [s for samples, _ in timings.values() for s in samples]
        everything_cpu = [s for _, cpu in timings.values() for s in cpu]
        print(_row(f"{name} (all changes)", everything, everything_cpu))
        median, p95 = statistics.median(everything), _percentile(everything, 95)
        if median >= TARGET_MEDIAN_MS or p95 >= TARGET_P95_MS:
            failures.append(name)
    print(f"target: median < {TARGET_MEDIAN_MS:g} ms and p95 < {TARGET_P95_MS:g} ms per demo")
    print(f"# load average after the run: {_load()} (the wall-clock figures grow with it)")
    if args.compare:
        print("\nrejected approaches, 1-D demo figure, learning-rate sweep:")
        for label, samples in compare(args.n):
            print(_row(f"  {label}", samples))
    if failures:
        print(f"MISSED the target: {', '.join(failures)}")
        return 1
    print("all demos meet the target")
    return 0


if __name__ == "__main__":
    sys.exit(main())

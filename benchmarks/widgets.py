"""How fast do the demos of ``gdcourse.widgets`` respond? Run ``python benchmarks/widgets.py``.

**In the kernel** (the default). For every demo and every control, the benchmark
makes the changes a student can make and times each one in the kernel's own terms:
from assigning ``control.value`` (or ``button.click()``) until the observers have
returned and the new ``shown`` state is encoded as the JSON message the kernel sends
to the page. The changes are

* a **sweep** through the control's range: both ends and evenly spaced values between
  them for a slider, every option after every other option for a menu (so every
  function switch is timed), a run of presses for a button;
* ``-n`` **random** values in the range (from a seeded generator).

It prints the median, 95th percentile and maximum per control and per demo, the
worst control, against the target (median <= 30 ms and p95 <= 60 ms for every
control), with the median CPU time of this process beside them: on a machine others
are loading, the wall clock also counts the waits for a core, the CPU time does not.

**In the page** (``--page``, needs the built book: ``gdcourse book``). Debian's Chromium
opens each page with demos from ``file://``, every request that would leave the machine
blocked, and moves every control of every demo through its range with the keyboard
(``tests/widget_sweep.py``), timing each change from the key press (the event's time
stamp) to the next frame the browser draws after the figure changed; "work" is the median
time the page's own code took (the port and the new SVG), the rest is the browser's
style, layout, paint and its wait for the next frame. It also reports
how many kilobytes each demo adds to its page (its saved widget state: the front end,
the scene, the first state) and anywidget's script, which a page with demos loads once.

With ``--compare`` it also times two ways of drawing the 1-D demo's figure in the
kernel that the demos do not use: rebuilding a Matplotlib figure and rendering it as
the inline backend does (an ``Output`` widget with ``plt.show()``), and an ipympl
canvas doing the full draw and the PNG diff it makes for each change.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MEDIAN_MS = 30.0
TARGET_P95_MS = 60.0
PAGE_TARGET_MS = 16.0
DEMOS = ("descent_1d", "descent_2d", "fit_line", "batch_size", "feature_scaling")
#: The pages of the book with demos, and the demos on each, in order.
PAGES = {
    "gradient-descent": ("descent_1d", "descent_2d"),
    "linear-models": ("fit_line",),
    "beyond": ("batch_size", "feature_scaling"),
}


def _load() -> str:
    """The 1, 5 and 15 minute load averages, when the platform has them."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        return "unknown"


def _percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples), q))


def _bounds(control: Any) -> tuple[float, float]:
    if control.kind == "log":
        return control.min, control.max  # exponents
    return control.min, control.max


def _value(control: Any, position: float) -> Any:
    """The value ``position`` (0 to 1) across the control's range."""
    low, high = _bounds(control)
    x = low + position * (high - low)
    if control.kind == "log":
        return float(control.base**x)
    if control.kind in ("int", "play"):
        return round(x)
    return float(x)


def sweep_values(control: Any, points: int = 12) -> list[Any]:
    """The sweep: both ends and evenly spaced values between them; for a menu, every
    option after every other option (each switch from one function to another)."""
    if control.kind == "menu":
        keys = [key for _, key in control.options]
        return [key for a in keys for b in keys if a != b for key in (a, b)]
    positions = [1.0, 0.0, *np.linspace(0, 1, points)[1:-1].tolist(), 1.0, 0.0]
    return [_value(control, p) for p in positions]


def random_values(control: Any, rng: np.random.Generator, n: int) -> list[Any]:
    """``n`` random values a student could choose with ``control``."""
    if control.kind == "menu":
        options = [value for _, value in control.options]
        return [options[i] for i in rng.integers(0, len(options), size=n)]
    return [_value(control, p) for p in rng.uniform(0, 1, size=n)]


def time_demo(
    factory: Callable[[], Any], n: int, rng: np.random.Generator
) -> dict[str, tuple[list[float], list[float]]]:
    """Milliseconds per change by control name: wall-clock times and this process's CPU times."""
    demo = factory()
    timings: dict[str, tuple[list[float], list[float]]] = {}
    for name, control in demo.controls.items():
        if control.kind == "button":
            actions: list[Callable[[], None]] = [control.click] * (n + 12)
        else:
            values = sweep_values(control) + random_values(control, rng, n)
            actions = [(lambda c=control, v=value: setattr(c, "value", v)) for value in values]
        wall, cpu = [], []
        for action in actions:
            start, start_cpu = time.perf_counter(), time.process_time()
            action()
            json.dumps(demo.shown, allow_nan=False)  # the message the kernel sends
            wall.append((time.perf_counter() - start) * 1e3)
            cpu.append((time.process_time() - start_cpu) * 1e3)
        timings[name] = (wall, cpu)
        if demo.state["error"]:
            raise RuntimeError(f"{name}: {demo.state['error']}")
    demo.close()
    return timings


def _row(label: str, samples: list[float], cpu: list[float] | None = None) -> str:
    median, p95 = statistics.median(samples), _percentile(samples, 95)
    row = f"{label:<34} {len(samples):>5} {median:>9.1f} {p95:>9.1f} {max(samples):>9.1f}"
    if cpu is not None:
        row += f" {statistics.median(cpu):>9.1f}"
    return row


def kernel(n: int, seed: int) -> bool:
    """Time every control of every demo in this process; True when all meet the target."""
    from gdcourse import widgets

    rng = np.random.default_rng(seed)
    header = (
        f"{'demo / control':<34} {'n':>5} {'median':>9} {'p95':>9} {'max':>9} "
        f"{'cpu med.':>9}   (ms)"
    )
    print(f"# kernel; {time.strftime('%Y-%m-%d %H:%M:%S')}; load average {_load()}")
    print(header)
    print("-" * len(header))
    worst: tuple[float, str, list[float]] = (-1.0, "", [])
    failures = []
    for name in DEMOS:
        timings = time_demo(getattr(widgets, name), n, rng)
        for control, (samples, cpu) in timings.items():
            print(_row(f"  {name}.{control}", samples, cpu))
            median, p95 = statistics.median(samples), _percentile(samples, 95)
            if p95 > worst[0]:
                worst = (p95, f"{name}.{control}", samples)
            if median > TARGET_MEDIAN_MS or p95 > TARGET_P95_MS:
                failures.append(f"{name}.{control}")
        everything = [s for samples, _ in timings.values() for s in samples]
        everything_cpu = [s for _, cpu in timings.values() for s in cpu]
        print(_row(f"{name} (all changes)", everything, everything_cpu))
    print(_row(f"worst control: {worst[1]}", worst[2]))
    print(f"target: median <= {TARGET_MEDIAN_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms per control")
    print(f"# load average after the run: {_load()} (the wall-clock figures grow with it)")
    if failures:
        print(f"MISSED the target: {', '.join(failures)}")
        return False
    print("every control meets the target")
    return True


# --------------------------------------------------------------------------- in the page


def page_weight(html: str) -> dict[str, dict[str, int]]:
    """Bytes each demo adds to a built page: its saved widget state, by part."""
    match = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S
    )
    if match is None:
        return {}
    state = json.loads(match.group(1))["state"]
    sizes: dict[str, dict[str, int]] = {}
    for model in state.values():
        if model["model_name"] != "AnyModel":
            continue
        s = model["state"]
        layout = state.get(s.get("layout", "").removeprefix("IPY_MODEL_"), {})
        total = len(json.dumps(model)) + len(json.dumps(layout))
        sizes[s["kind"]] = {
            "total": total,
            "front end": len(json.dumps(s["_esm"])) + len(json.dumps(s["_css"])),
            "scene": len(json.dumps(s["scene"])),
            "first state": len(json.dumps(s["shown"])),
        }
    return sizes


def in_page(site: Path) -> bool:
    """Sweep every demo of the built site in Chromium; True when all medians are under a frame."""
    sys.path.insert(0, str(ROOT / "tests"))
    import browser  # tests/browser.py
    import widget_sweep  # tests/widget_sweep.py
    from playwright.sync_api import sync_playwright

    print(f"# in the page (Chromium, file://, network blocked); load average {_load()}")
    header = (
        f"{'demo':<18} {'changes':>7} {'median':>8} {'p95':>8} {'max':>8} {'work':>6}"
        "   (ms)   page weight"
    )
    print(header)
    print("-" * (len(header) + 30))
    ok = True
    vendor = site / "_static" / "vendor" / "anywidget" / "index.js"
    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        context = chromium.new_context(viewport={"width": 1200, "height": 1000})
        blocked = browser.block_external_requests(context)
        page = context.new_page()
        for name, demos in PAGES.items():
            path = site / f"{name}.html"
            weights = page_weight(path.read_text(encoding="utf-8"))
            page.goto(path.as_uri())
            roots = page.locator("main .gd-demo")
            roots.first.wait_for(timeout=30_000)
            for index, demo in enumerate(demos):
                root = roots.nth(index)
                root.scroll_into_view_if_needed()
                _steps, latencies = widget_sweep.sweep(page, root, timing=True)
                work = statistics.median(root.evaluate("root => root.gdcourse.times"))
                kind = demo.replace("_", "-")
                weight = weights.get(kind, {})
                parts = ", ".join(f"{k} {v / 1000:.1f}" for k, v in weight.items() if k != "total")
                median = statistics.median(latencies)
                print(
                    f"{demo:<18} {len(latencies):>7} {median:>8.1f} "
                    f"{_percentile(latencies, 95):>8.1f} {max(latencies):>8.1f} {work:>6.1f}   "
                    f"{weight.get('total', 0) / 1000:.1f} kB ({parts})"
                )
                ok = ok and median < PAGE_TARGET_MS
        chromium.close()
    print(f"anywidget's script, once per page with demos: {vendor.stat().st_size / 1000:.1f} kB")
    if blocked:
        print(f"BLOCKED requests (the page asked the network): {blocked}")
        ok = False
    print(f"target: median < {PAGE_TARGET_MS:g} ms from key press to the next frame drawn")
    print(f"# load average after the run: {_load()}")
    return ok


# --------------------------------------------------------------------------- rejected ways


def compare(n: int) -> list[tuple[str, list[float]]]:
    """Time the rejected ways of drawing the 1-D demo's figure in the kernel."""
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
    parser.add_argument("-n", type=int, default=40, help="random changes per control (40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--page", action="store_true", help="time the demos in the built book, in Chromium"
    )
    parser.add_argument(
        "--compare", action="store_true", help="also time the rejected ways of drawing"
    )
    args = parser.parse_args(argv)
    ok = kernel(args.n, args.seed)
    if args.page:
        from gdcourse.tools import bookbuild

        print()
        ok = in_page(bookbuild.HTML) and ok
    if args.compare:
        print("\nrejected ways, 1-D demo figure, learning-rate sweep:")
        for label, samples in compare(args.n):
            print(_row(f"  {label}", samples))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

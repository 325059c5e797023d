"""Drive the demos in a page without a kernel, and hold what they draw to gdcourse in Python.

Used by the book's browser test (``tests/test_book_browser.py``) and by
``benchmarks/widgets.py --page``. :func:`sweep` moves every control of one demo
through its range with the keyboard (Home and End for the ends, Page Up and the
arrow keys between them), picks every menu option, presses every button, and
records after each action what the page holds (``root.gdcourse``: the controls'
values, what is shown and the numbers of each drawn series). :func:`replay` makes
the same changes on a demo built in Python, in the same order, with the values the
page chose, and returns every difference between the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gdcourse.widgets._base import jsonable

#: Relative (and absolute, near zero) tolerance for numbers the page computed.
RTOL = 1e-9
ATOL = 1e-12

READ = """(root) => {
    const g = root.gdcourse;
    return {values: g.values, shown: g.shown, drawn: g.drawn, live: g.live,
            status: root.querySelector('.gd-status').textContent,
            alt: root.querySelector('svg.gd-figure').getAttribute('aria-label'),
            note: root.querySelector('.gd-note').textContent};
}"""

#: Milliseconds from the key press (the event's time stamp) to the next frame after the figure
#: changed: the listener is installed once per demo, the times are read with LATENCIES.
INSTALL_TIMER = """(root) => {
    if (root.gdLatencies) return;
    root.gdLatencies = [];
    const svg = root.querySelector('svg.gd-figure');
    const take = (event) => {
        const start = event.timeStamp;
        const label = svg.getAttribute('aria-label');
        requestAnimationFrame(() => setTimeout(() => {
            if (svg.getAttribute('aria-label') !== label || root.dataset.gdForce) {
                root.gdLatencies.push(performance.now() - start);
            }
        }, 0));
    };
    root.addEventListener('keydown', take, true);
    root.addEventListener('change', take, true);
}"""
LATENCIES = "(root) => root.gdLatencies.splice(0)"


@dataclass
class Step:
    """One action on the page and what the page held afterwards."""

    control: str
    action: str  # "key:End", "select:cubic", "click"
    page: dict[str, Any] = field(default_factory=dict)


def _keys_for(kind: str) -> list[str]:
    """Keys that move a range input through its range, both ends included."""
    if kind == "play":
        return ["Home", "ArrowRight", "ArrowRight", "End", "ArrowLeft", "PageDown"]
    return [
        "End", "Home", "PageUp", "PageUp", "ArrowRight", "PageUp", "End", "PageDown", "ArrowLeft",
    ]  # fmt: skip


def actions(inputs: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """What :func:`sweep` does to each control, in order: ``(control, action)``."""
    for spec in inputs:
        name, kind = spec["name"], spec["kind"]
        if kind == "menu":
            keys = [key for _, key in spec["options"]]
            for key in [*keys[1:], keys[0]]:
                yield name, f"select:{key}"
        elif kind == "button":
            for _ in range(3):
                yield name, "click"
        else:
            for key in _keys_for(kind):
                yield name, f"key:{key}"


def sweep(page: Any, root: Any, *, timing: bool = False) -> tuple[list[Step], list[float]]:
    """Move every control of the demo ``root`` (a locator of ``.gd-demo``) with the keyboard.

    Returns the steps with what the page held after each, and (with ``timing``) the
    milliseconds from each key press to the next frame with the new figure.
    """
    specs = _specs(root)
    if timing:
        root.evaluate(INSTALL_TIMER)
    steps = []
    for name, action in actions(specs):
        box = root.locator(f".gd-control-{name.replace('_', '-')}")
        if action.startswith("key:"):
            slider = box.locator("input[type=range]")
            slider.focus()
            slider.press(action[4:])
        elif action.startswith("select:"):
            box.locator("select").select_option(action[7:])
        else:
            button = box.locator("button")
            button.focus()
            button.press("Enter")
        steps.append(Step(name, action, root.evaluate(READ)))
    latencies: list[float] = []
    if timing:
        page.wait_for_timeout(100)
        latencies = root.evaluate(LATENCIES)
    return steps, latencies


def _specs(root: Any) -> list[dict[str, Any]]:
    """The demo's controls in the order they are drawn, with their kinds."""
    return root.evaluate(
        """(root) => [...root.querySelectorAll('.gd-control')].map(box => {
            const name = [...box.classList].find(c => c.startsWith('gd-control-'))
                .slice('gd-control-'.length).replace(/-/g, '_');
            const select = box.querySelector('select');
            return {
                name,
                kind: select ? 'menu' : box.querySelector('.gd-play') ? 'play'
                    : box.querySelector('input[type=range]') ? 'slider' : 'button',
                options: select ? [...select.options].map(o => [o.text, o.value]) : null,
            };
        })"""
    )


def _close(a: Any, b: Any, where: str, problems: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            problems.append(f"{where}: keys {sorted(a)} != {sorted(b)}")
            return
        for key in a:
            _close(a[key], b[key], f"{where}.{key}", problems)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append(f"{where}: length {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]", problems)
    elif isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        if a != b:
            problems.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, int | float) and isinstance(b, int | float):
        if not math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL):
            problems.append(f"{where}: {a!r} != {b!r}")
    elif a != b:
        problems.append(f"{where}: {a!r} != {b!r}")


def _finite_or_none(value: Any) -> Any:
    """The page's numbers as Python's JSON has them: non-finite numbers are null."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def replay(factory: Callable[[], Any], steps: list[Step], *, initial: dict[str, Any]) -> list[str]:
    """Make the page's changes on ``factory()`` in Python; return every difference found.

    After each step the page's controls, its ``shown`` (numbers to :data:`RTOL`), its
    status line and its figure's text alternative must be what gdcourse computes, and
    every drawn series must hold the numbers of ``shown`` it draws (``check_drawn``).
    """
    demo = factory()
    problems: list[str] = []
    _close(initial, jsonable(demo.values), "initial values", problems)
    for i, step in enumerate(steps):
        where = f"step {i} ({step.control} {step.action})"
        control = demo.controls[step.control]
        if step.action == "click":
            control.click()
        else:
            control.value = step.page["values"][step.control]
        page = step.page
        if page["note"]:
            problems.append(f"{where}: the page says {page['note']!r}")
            continue
        _close(_finite_or_none(page["values"]), jsonable(demo.values), f"{where} values", problems)
        _close(_finite_or_none(page["shown"]), jsonable(demo.shown), f"{where} shown", problems)
        status = f"{demo.state['status']}: {demo.state['message']}"
        if page["status"] != status:
            problems.append(f"{where}: status line {page['status']!r} != {status!r}")
        if page["alt"] != demo.alt_text:
            problems.append(f"{where}: text alternative {page['alt']!r} != {demo.alt_text!r}")
        check_drawn(demo, page["drawn"], where, problems)
        if len(problems) > 20:
            break
    demo.close()
    return problems


def check_drawn(demo: Any, drawn: dict[str, Any], where: str, problems: list[str]) -> None:
    """Each series the page drew holds gdcourse's numbers (from the Python demo's state)."""
    s = demo.state
    expected: dict[str, tuple[Any, Any]] = {}
    kind = demo.kind
    if kind == "descent-1d":
        expected["path"] = (s["path"], s["values"])
        expected["loss"] = (list(range(len(s["values"]))), s["values"])
    elif kind == "descent-2d":
        shown = s["shown"]
        expected["path"] = (shown[:, 0], shown[:, 1])
        expected["gap"] = (list(range(len(shown))), s["gap"][: len(shown)])
    elif kind == "fit-line":
        expected["trail"] = (s["trail"][:, 0], s["trail"][:, 1])
        expected["point"] = ([s["w"]], [s["b"]])
    elif kind == "batch-size":
        for name in ("full", "mini", "single"):
            losses = s["epoch_losses"][name]
            expected[f"{name}-epochs"] = (list(range(len(losses))), losses)
    elif kind == "feature-scaling":
        for name, path in s["paths"].items():
            expected[f"{name}-path"] = (path[:, 0], path[:, 1])
    for series, (xs, ys) in expected.items():
        if series not in drawn:
            problems.append(f"{where}: series {series!r} was not drawn")
            continue
        got = drawn[series]
        ys_page = got["y"]
        if kind == "batch-size":  # drawn clipped to the plot: compare where it is not
            top = s["ylim"][1] * 100
            ys = [y if math.isfinite(y) and y < top else None for y in ys]
            ys_page = [y if y is not None and y < top else None for y in ys_page]
        label = f"{where} drawn {series}"
        _close(_finite_or_none(got["x"]), jsonable(list(xs)), f"{label}.x", problems)
        _close(_finite_or_none(ys_page), jsonable(list(ys)), f"{label}.y", problems)

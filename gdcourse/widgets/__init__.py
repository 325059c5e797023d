r"""Interactive demos: move a slider, watch gradient descent behave, in Jupyter or on the website.

Five functions, each returning a self-contained :class:`Demo`:

* :func:`descent_1d`: gradient descent on a function of one variable;
* :func:`descent_2d`: a descent path on contour lines, with momentum and a replay;
* :func:`fit_line`: fit a line to the thermometer data by hand, or one gradient step at a time;
* :func:`batch_size`: full-batch, mini-batch and single-sample SGD side by side;
* :func:`feature_scaling`: raw against normalised inputs under the same learning rate.

Each demo keeps its state on the returned object (nothing module-global), so any
number can live in one notebook. Tests and curious students drive a demo without a
browser: ``demo.controls`` maps names to the controls, ``demo.state`` is a read-only
view of what the demo shows (the path, the status word, the MSE, ...).

>>> demo = descent_1d()
>>> demo.controls["learning_rate"].value = 0.9
>>> demo.state["status"]
'oscillating'

How a demo works
----------------
A :class:`Demo` is an ordinary ipywidget (an ``anywidget.AnyWidget``) with one front
end, an ES module shipped in this package (``_base.js``, ``_numbers.js``, ``_plot.js``
and the demo's own ``.js``), the same in JupyterLab, Notebook 7 and the book. The
front end draws the controls (native, labelled ``<input>``, ``<select>`` and
``<button>`` elements: reachable and operable with the keyboard) and the figure (SVG,
an image whose text alternative states what it shows and the status now, in the
course's colour-blind-safe palette). In a kernel, every change goes to Python, which
computes with :mod:`gdcourse.optimizers` and :mod:`gdcourse.objectives` and publishes
the result (the synced ``shown``); the front end draws it.

On a page with no kernel (the published book, from a web server or ``file://``, with
no network), the front end computes ``shown`` itself with the demo's **port**: the same
operations on the same numbers in the same order as gdcourse, so that the figure and
the status line show what gdcourse computes for the same settings. The browser test of
the built site moves every control of every demo through its range and checks every
number behind the figure and every status line against Python, to 1e-9 (the descent
paths in fact agree bit for bit; a function value may differ in its last bit where NumPy
squares with the C library's ``pow``). The choice, per demo, with what the page carries:

* :func:`descent_1d`, :func:`descent_2d` and :func:`feature_scaling`: **ports** of
  gradient descent with heavy-ball momentum (``_descend`` of gdcourse.optimizers), of
  the course's objectives and of the least-squares gradient (NumPy's pairwise sums
  included). Tabulating instead is out of reach: the 1-D start slider alone has 1001
  stops, times 61 learning rates, times up to 101 iterations: six million numbers.
  The page carries only what is drawn and never computed: the 1-D curves (400 points
  each) and the contour lines (from contourpy, simplified to under half a pixel), as
  small integers on a grid of the plot (``_scene.py``).
* :func:`fit_line`: a **port** of the MSE and its gradient on the 11 thermometer points.
  The demo has a history (the steps taken accumulate, the exact ``(w, b)`` lives
  beside the sliders' rounded values), which no table of settings could hold.
* :func:`batch_size`: **NumPy's shuffles tabulated, the arithmetic ported**. The
  random generator decides only the order in which
  :func:`~gdcourse.optimizers.minibatch_sgd` visits the rows, and that order depends on
  the seed alone, not on the batch size or the learning rate. So the page carries, for
  each of the slider's 100 seeds, the permutation of the 50 rows that
  ``np.random.default_rng(seed)`` draws at each of the 10 epochs (50,000 bytes, 67 kB
  as base64), and the front end runs the SGD arithmetic on them. Porting NumPy's PCG64
  and its bounded-integer sampling would be a fragile copy of NumPy's internals;
  tabulating the runs would take 50 batch sizes x 61 learning rates x 100 seeds. The
  arithmetic matches NumPy's to about 1e-15, not bit for bit: NumPy's matrix products
  go through BLAS, which sums in its own order.

A menu entry the front end has no port of (an objective passed in ``functions=`` that
is not one of :mod:`gdcourse.objectives`) responds only with a kernel; on a static
page choosing it says so. Each demo's saved state carries its own copy of the front end;
README says how many kilobytes each demo adds to its page, and ``benchmarks/widgets.py``
measures it, with the time from a key press to the drawn figure, in Chromium.

Adding a demo
-------------
1. A module ``_my_demo.py`` with a :class:`Demo` subclass: ``DESCRIPTION`` (the text
   alternative's first sentence), ``SCRIPT = "my_demo.js"``, controls from
   :mod:`gdcourse.widgets._controls` passed to ``Demo.__init__`` with the ``scene`` (what
   never changes: data, titles, contour lines from :func:`._scene.contour_scene`), and
   ``_compute()``, which returns the state as a dict with ``"status"`` and ``"message"``
   (override ``_changed(name)`` and ``_clicked(name)`` when a control does more than
   ask for a new computation); a function ``my_demo(**options)`` that checks its options
   and returns the demo. Compute with gdcourse.
2. A script ``my_demo.js`` that calls ``registerDemo("my-demo", {figure, update,
   draw})``: ``figure`` sizes the SVG (``{width, height, ncols}``); ``draw(figure,
   scene, shown)`` draws ``shown`` on ``figure.axes`` (``frame()`` for the static part,
   then ``begin()``, ``line()``/``segments()``, ``end()``, see ``_plot.js``); ``update(local,
   event)`` is the port: from ``local.values`` (and ``local.memory`` for a history) it
   returns what ``_compute()`` would, using the helpers of ``_numbers.js``. A demo that
   cannot be ported throws ``NeedsKernel`` from ``update`` and responds only in Jupyter.
3. Export the function here, call it in the book, add it to ``DEMO_PAGES`` in
   ``tests/test_book_browser.py`` (which then sweeps it against Python) and to
   ``tests/notebooks/widgets_demo.ipynb``, and to ``DEMOS`` in
   ``benchmarks/widgets.py``.
"""

from __future__ import annotations

from gdcourse.widgets._base import Demo
from gdcourse.widgets._batch_size import batch_size
from gdcourse.widgets._descent_1d import descent_1d
from gdcourse.widgets._descent_2d import descent_2d
from gdcourse.widgets._feature_scaling import feature_scaling
from gdcourse.widgets._fit_line import fit_line

__all__ = ["Demo", "batch_size", "descent_1d", "descent_2d", "feature_scaling", "fit_line"]

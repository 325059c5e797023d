// Demo 1, gradient descent on a function of one variable: the port of _descent_1d.py.
registerDemo("descent-1d", {
  figure: { width: 900, height: 340, ncols: 2 },

  /** What _Descent1D computes, for the page without a kernel (event: the control changed). */
  update(local, event) {
    const { scene, values } = local;
    if (event.name === "function") {
      const [low, high] = scene.functions[values.function].window;
      setRange(local, "start", low, high, low + 0.8 * (high - low), gridStep(low, high));
    }
    const fn = scene.functions[values.function];
    const { f, grad } = objective(fn.port, fn.name);
    const run = descend(grad, [values.start], {
      rate: values.learning_rate, maxIter: values.steps, tol: scene.tol, f, threshold: scene.threshold,
    });
    const path = run.path.map(([x]) => x);
    const word = classify(run.path, run.reason);
    const last = path[path.length - 1];
    const [low, high] = fn.window;
    const where = low <= last && last <= high
      ? `x = ${fmt(last)}, f(x) = ${fmt(run.values[run.values.length - 1])}`
      : `x = ${fmt(last)} is off the plot`;
    return {
      function: values.function, start: values.start, learning_rate: values.learning_rate,
      steps: values.steps, path, values: run.values, reason: run.reason,
      loss_xmax: niceCeil(Math.max(values.steps, 1)), status: word,
      message: `${WORDS[word]}; after ${run.nIter} steps ${where}`,
    };
  },

  draw(figure, scene, shown) {
    const fn = scene.functions[shown.function];
    const [curve, loss] = figure.axes;
    const [low, high] = fn.window;
    curve.frame({
      key: shown.function, xlim: fn.window, ylim: fn.ylim, title: fn.title, xlabel: "x", ylabel: "f(x)",
      under(ax) {
        const xs = fn.y.map((_, i) => low + (i * (high - low)) / (fn.n - 1));
        ax.line("curve", xs, fn.y.map((q) => unquantize(q, ...fn.ylim)), { color: COLORS.function, width: 2 });
      },
      legend: [
        { label: "f(x)", color: COLORS.function, width: 2 },
        { label: "descent steps", color: COLORS.path, width: 1.2, marker: "o", ms: 4 },
        { label: "start", color: COLORS.start, marker: "s", ms: 8 },
        { label: "end", color: COLORS.end, marker: "*", ms: 11 },
      ],
      legendAt: "upper center",
    });
    const n = shown.path.length;
    curve.begin();
    curve.line("path", shown.path, shown.values, { color: COLORS.path, width: 1.2, marker: "o", ms: 4 });
    curve.line("start", shown.path.slice(0, 1), shown.values.slice(0, 1), { color: COLORS.start, marker: "s", ms: 8 });
    curve.line("end", shown.path.slice(n - 1), shown.values.slice(n - 1), { color: COLORS.end, marker: "*", ms: 11 });
    curve.end();
    loss.frame({
      key: shown.function, xlim: [0, shown.loss_xmax], ylim: fn.ylim, title: "f(xₖ) against iteration k",
      xlabel: "iteration", ylabel: "loss",
    });
    loss.begin();
    loss.line("loss", shown.values.map((_, k) => k), shown.values, { color: COLORS.path, width: 1.5, marker: "o", ms: 3 });
    loss.end();
  },
});

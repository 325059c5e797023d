// Demo 2, a descent path on contour lines with momentum and a replay: the port of _descent_2d.py.
registerDemo("descent-2d", {
  figure: { width: 900, height: 380, ncols: 2 },

  update(local, event) {
    const { scene, values, memory } = local;
    const name = event.name;
    const frameEvent = ["play", "reset", "back", "step"].includes(name);
    if (!frameEvent || !memory.run) {
      if (name === "objective") {
        const o = scene.objectives[values.objective];
        const [[xlo, xhi], [ylo, yhi]] = o.window;
        setRange(local, "x0", xlo, xhi, o.start[0], gridStep(xlo, xhi));
        setRange(local, "y0", ylo, yhi, o.start[1], gridStep(ylo, yhi));
        values.learning_rate = Math.min(Math.max(o.rate, 1e-4), 1);
      }
      const o = scene.objectives[values.objective];
      const { f, grad } = objective(o.port, o.name);
      memory.run = descend(grad, [values.x0, values.y0], {
        rate: values.learning_rate, momentum: values.momentum, maxIter: scene.max_steps,
        tol: scene.tol, f, threshold: scene.threshold,
      });
      local.inputs.play.max = Math.max(memory.run.nIter, 1);
      if (!frameEvent) values.play = memory.run.nIter;
    }
    if (name === "reset") values.play = 0;
    else if (name === "back" || name === "step") {
      values.play = Math.min(Math.max(values.play + (name === "step" ? 1 : -1), 0), local.inputs.play.max);
    }
    values.play = Math.min(Math.max(values.play, 0), local.inputs.play.max);
    return this.frame(scene, values, memory.run);
  },

  /** _Descent2D._compute: the run shown at the iteration values.play. */
  frame(scene, values, run) {
    const o = scene.objectives[values.objective];
    const frame = Math.min(values.play, run.nIter);
    const word = classify(run.path, run.reason);
    const point = run.path[frame].map((v) => fmt(v)).join(", ");
    const top = o.gap_top * 10;
    const gap = run.values.map((v) => {
      const g = v - o.best;
      return Number.isNaN(g) ? g : Math.min(Math.max(g, 1e-13), top);
    });
    return {
      objective: values.objective, start: run.path[0], learning_rate: values.learning_rate,
      momentum: values.momentum, path: run.path, values: run.values, gap, reason: run.reason,
      frame, status: word,
      message: `${WORDS[word]} (the whole run: ${run.nIter} iterations). ` +
        `Showing iteration ${frame}: (${point}), f = ${fmt(run.values[frame])}`,
    };
  },

  draw(figure, scene, shown) {
    const o = scene.objectives[shown.objective];
    const [plane, loss] = figure.axes;
    plane.frame({
      key: shown.objective, xlim: o.window[0], ylim: o.window[1], title: o.title, xlabel: "x", ylabel: "y",
      ylabelOffset: 36,
      under: (ax) => ax.contours(o.contours, ...o.window),
    });
    const frame = shown.frame;
    const path = shown.path.slice(0, frame + 1);
    const xs = path.map((p) => p[0]);
    const ys = path.map((p) => p[1]);
    plane.begin();
    plane.line("path", xs, ys, { color: COLORS.path, width: 1.2, marker: "o", ms: 4 });
    plane.line("start", xs.slice(0, 1), ys.slice(0, 1), { color: COLORS.start, marker: "s", ms: 8 });
    plane.line("end", xs.slice(frame), ys.slice(frame), { color: COLORS.end, marker: "*", ms: 11 });
    plane.end();
    loss.frame({
      key: shown.objective, xlim: [0, scene.max_steps], ylim: [1e-12, o.gap_top], yscale: "log",
      title: "distance to the minimum value", xlabel: "iteration", ylabel: "f(xₖ) − f(x*)",
    });
    const gap = shown.gap.slice(0, frame + 1);
    loss.begin();
    loss.line("gap", gap.map((_, k) => k), gap, { color: COLORS.path, width: 1.5 });
    loss.line("now", [frame], gap.slice(frame), { color: COLORS.end, marker: "*", ms: 10 });
    loss.end();
  },
});

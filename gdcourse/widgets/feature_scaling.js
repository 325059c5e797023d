// Demo 5, raw against normalised inputs: the port of _feature_scaling.py.
registerDemo("feature-scaling", {
  figure: { width: 900, height: 380, ncols: 2 },

  update(local) {
    const { scene, values } = local;
    const y = scene.y;
    const rate = values.learning_rate;
    const steps = values.steps;
    const words = {};
    const paths = {};
    const losses = {};
    const parts = [];
    for (const name of ["raw", "normalised"]) {
      const x = scene.problems[name].x;
      const residuals = (p) => x.map((xi, i) => p[1] + p[0] * xi - y[i]);
      const grad = (p) => {
        const r = residuals(p);
        return [2 * mean(r.map((ri, i) => ri * x[i])), 2 * mean(r)];
      };
      const run = descend(grad, [0, 0], { rate, maxIter: steps, tol: scene.tol, threshold: scene.threshold });
      const word = classify(run.path, run.reason);
      words[name] = word;
      paths[name] = run.path;
      losses[name] = mean(residuals(run.path[run.path.length - 1]).map((r) => r * r));
      const mse = word === "diverged" ? "" : `, MSE ${fmt(losses[name])}`;
      parts.push(`${name} inputs: ${word} after ${run.nIter} steps${mse}`);
    }
    const [wN, bN] = paths.normalised[paths.normalised.length - 1];
    if (words.normalised !== "diverged") {
      const wOrig = wN / scene.scale;
      parts.push(`normalised fit in original units: w = ${fmt(wOrig)}, b = ${fmt(bN - wOrig * scene.mean)}`);
    }
    return {
      learning_rate: rate, steps, paths, runs: words, mse: losses,
      max_stable_rate: Object.fromEntries(["raw", "normalised"].map((k) => [k, scene.problems[k].max_stable_rate])),
      status: `${words.raw} / ${words.normalised}`, message: parts.join("; "),
    };
  },

  draw(figure, scene, shown) {
    ["raw", "normalised"].forEach((name, i) => {
      const p = scene.problems[name];
      const ax = figure.axes[i];
      ax.frame({
        key: name, xlim: p.w_range, ylim: p.b_range, title: p.title, xlabel: "w", ylabel: "b", ylabelOffset: 40,
        under: (a) => {
          a.contours(p.contours, p.w_range, p.b_range);
          a.line(null, [p.best[0]], [p.best[1]], { color: COLORS.start, marker: "P", ms: 9 });
        },
      });
      const path = shown.paths[name];
      const ws = path.map((q) => q[0]);
      const bs = path.map((q) => q[1]);
      const last = path.length - 1;
      ax.begin();
      ax.line(`${name}-path`, ws, bs, { color: COLORS.path, width: 1.2, marker: "o", ms: 4 });
      ax.line(`${name}-start`, ws.slice(0, 1), bs.slice(0, 1), { color: COLORS.start, marker: "s", ms: 8 });
      ax.line(`${name}-end`, ws.slice(last), bs.slice(last), { color: COLORS.end, marker: "*", ms: 11 });
      ax.end();
    });
  },
});

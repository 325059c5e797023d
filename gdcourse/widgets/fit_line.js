// Demo 3, fitting a line by hand or a gradient step at a time: the port of _fit_line.py.
registerDemo("fit-line", {
  figure: { width: 900, height: 360, ncols: 2 },

  update(local, event) {
    const { scene, values, inputs } = local;
    const m = local.memory;
    if (!m.params) {
      // Start from what the kernel showed: the exact (w, b), the steps taken, the last word.
      m.params = [local.shown.w, local.shown.b];
      m.trail = local.shown.trail.map((p) => p.slice());
      m.last = local.shown.status === "manual" ? "" : local.shown.status;
    }
    const mse = (w, b) => mean(scene.x.map((xi, i) => {
      const r = b + w * xi - scene.y[i];
      return r * r;
    }));
    const setParams = (w, b) => {
      const [[wlo, whi], [blo, bhi]] = [scene.w_range, scene.b_range];
      m.params = [Math.min(Math.max(w, wlo), whi), Math.min(Math.max(b, blo), bhi)];
      ["w", "b"].forEach((name, i) => {
        const s = inputs[name];
        const stops = pyRound((m.params[i] - s.min) / s.step);
        values[name] = Math.min(s.min + stops * s.step, s.max);
      });
      return m.params.slice();
    };
    const name = event.name;
    if (name === "w" || name === "b") {
      const i = name === "w" ? 0 : 1;
      if (!(Math.abs(values[name] - m.params[i]) <= inputs[name].step / 2 + 1e-12)) {
        m.params[i] = values[name];
        m.trail = [m.params.slice()];
        m.last = "";
      }
    } else if (name === "step") {
      const [w, b] = m.params;
      const rate = values.learning_rate;
      const [dw, db] = this.gradient(scene, w, b);
      const before = mse(w, b);
      const wanted = [w - rate * dw, b - rate * db];
      const got = setParams(...wanted);
      m.trail.push(got);
      const after = mse(...got);
      if (got[0] !== wanted[0] || got[1] !== wanted[1]) m.last = "clamped";
      else m.last = after > before ? "overshot" : "descending";
    } else if (name === "reset") {
      setParams(...scene.initial);
      m.trail = [m.params.slice()];
      m.last = "";
    }
    const [w, b] = m.params;
    const error = mse(w, b);
    const [dw, db] = this.gradient(scene, w, b);
    const rate = values.learning_rate;
    const [wb, bb, best] = scene.best;
    let message =
      `MSE = ${fmt(error)} at w = ${fmt(w)}, b = ${fmt(b)} ` +
      `(least squares: MSE = ${fmt(best)} at w = ${fmt(wb)}, b = ${fmt(bb)}); ` +
      `gradient (∂/∂w, ∂/∂b) = (${fmt(dw)}, ${fmt(db)})` +
      `; the next step with η = ${fmt(rate)} moves (w, b) by (${fmt(-rate * dw)}, ${fmt(-rate * db)})`;
    const word = m.last || "manual";
    if (word === "overshot") message += `; the last step overshot: η = ${fmt(rate)} is too large here`;
    else if (word === "clamped") message += "; the last step left the sliders' range and was clamped";
    return {
      w, b, mse: error, gradient: [dw, db], learning_rate: rate,
      fitted: scene.x.map((xi) => b + w * xi), trail: m.trail.map((p) => p.slice()),
      best: scene.best, status: word, message,
    };
  },

  /** objectives.mse_gradient. */
  gradient(scene, w, b) {
    const residual = scene.x.map((xi, i) => b + w * xi - scene.y[i]);
    return [2 * mean(residual.map((r, i) => r * scene.x[i])), 2 * mean(residual)];
  },

  draw(figure, scene, shown) {
    const [data, plane] = figure.axes;
    const [x0, x1] = scene.x_range;
    data.frame({
      key: "data", xlim: scene.x_range, ylim: [-25, 45], title: "data, line and residuals",
      xlabel: "reading in unknown units", ylabel: "temperature (°C)", ylabelOffset: 38,
      under: (ax) => ax.line("data", scene.x, scene.y, { color: COLORS.data, marker: "o", ms: 6 }),
      legend: [
        { label: "data", color: COLORS.data, marker: "o", ms: 6 },
        { label: "ŷ = b + wx", color: COLORS.fit, width: 2 },
        { label: "residuals", color: COLORS.residual, width: 1 },
      ],
      legendAt: "upper left",
    });
    data.begin();
    data.segments("residuals", scene.x.map((xi, i) => [xi, scene.y[i], xi, shown.fitted[i]]), { color: COLORS.residual });
    data.line("line", [x0, x1], [shown.b + x0 * shown.w, shown.b + x1 * shown.w], { color: COLORS.fit, width: 2 });
    data.end();
    plane.frame({
      key: "plane", xlim: scene.w_range, ylim: scene.b_range, title: "MSE over (w, b); ✚ least squares",
      xlabel: "w", ylabel: "b", ylabelOffset: 36,
      under: (ax) => {
        ax.contours(scene.contours, scene.w_range, scene.b_range);
        ax.line(null, [scene.best[0]], [scene.best[1]], { color: COLORS.start, marker: "P", ms: 9 });
      },
    });
    const ws = shown.trail.map((p) => p[0]);
    const bs = shown.trail.map((p) => p[1]);
    plane.begin();
    plane.line("trail", ws, bs, { color: COLORS.path, width: 1.2, marker: "o", ms: 4 });
    plane.line("start", ws.slice(0, 1), bs.slice(0, 1), { color: COLORS.start, marker: "s", ms: 8 });
    plane.line("point", [shown.w], [shown.b], { color: COLORS.end, marker: "*", ms: 11 });
    plane.end();
  },
});

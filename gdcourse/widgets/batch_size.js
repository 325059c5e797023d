// Demo 4, full-batch, mini-batch and single-sample SGD: the port of _batch_size.py.
// The shuffles come from the page (NumPy drew them when the page was built); the arithmetic of
// gdcourse.optimizers.minibatch_sgd is ported here.
registerDemo("batch-size", {
  figure: { width: 960, height: 340, ncols: 3, left: 0.08, wspace: 0.3 },

  /** minibatch_sgd on the scene's data, visiting rows in the order the seed's shuffles give. */
  sgd(scene, table, rate, seed, size) {
    const X = scene.inputs;
    const Y = scene.targets;
    const n = Y.length;
    let W = [0, 0];
    let b = 0;
    const loss = (rows) => mean(rows.map((i) => {
      const r = X[i][0] * W[0] + X[i][1] * W[1] + b - Y[i];
      return r * r;
    }));
    const all = Y.map((_, i) => i);
    const batchLosses = [];
    const epochLosses = [loss(all)];
    let updates = 0;
    for (let epoch = 0; epoch < scene.epochs; epoch++) {
      const offset = (seed * scene.epochs + epoch) * n;
      for (let start = 0; start < n; start += size) {
        const rows = [];
        for (let i = start; i < Math.min(start + size, n); i++) rows.push(table[offset + i]);
        const residual = rows.map((i) => X[i][0] * W[0] + X[i][1] * W[1] + b - Y[i]);
        batchLosses.push(mean(residual.map((r) => r * r)));
        const scale = 2.0 / residual.length;
        const g0 = pairwiseSum(residual.map((r, k) => r * X[rows[k]][0]));
        const g1 = pairwiseSum(residual.map((r, k) => r * X[rows[k]][1]));
        W = [W[0] - rate * scale * g0, W[1] - rate * scale * g1];
        b = b - rate * scale * pairwiseSum(residual);
        updates += 1;
      }
      epochLosses.push(loss(all));
      if (!Number.isFinite(epochLosses[epochLosses.length - 1])) break;
    }
    return { batchLosses, epochLosses, updates };
  },

  update(local) {
    const { scene, values, memory } = local;
    if (!memory.table) {
      memory.table = Uint8Array.from(atob(scene.shuffles), (c) => c.charCodeAt(0));
      memory.runs = new Map();
    }
    const rate = values.learning_rate;
    const seed = values.seed;
    const size = values.batch_size;
    const n = scene.targets.length;
    const sizes = [n, size, 1];
    const runs = sizes.map((s) => {
      const key = `${rate}|${seed}|${s}`;
      if (!memory.runs.has(key)) {
        if (memory.runs.size > 12) memory.runs.clear();
        memory.runs.set(key, this.sgd(scene, memory.table, rate, seed, s));
      }
      return memory.runs.get(key);
    });
    const initial = runs[0].epochLosses[0];
    const top = decades(1.0, initial)[1] * 10;
    const finite = runs.flatMap((r) => r.epochLosses.filter(Number.isFinite));
    const low = Math.max(Math.min(...finite), top * 1e-6);
    const bottom = decades(low, 1.0)[0];
    const words = [];
    const parts = [];
    runs.forEach((run, i) => {
      const final = run.epochLosses[run.epochLosses.length - 1];
      const ok = Number.isFinite(final) && final <= initial;
      words.push(ok ? "finished" : "diverged");
      parts.push(`batch size ${sizes[i]}: ${run.updates} updates, final MSE ${ok ? fmt(final) : "grows without bound (diverged)"}`);
    });
    const names = ["full", "mini", "single"];
    return {
      batch_size: size, learning_rate: rate, seed, sizes,
      epoch_losses: Object.fromEntries(names.map((k, i) => [k, runs[i].epochLosses])),
      batch_losses: Object.fromEntries(names.map((k, i) => [k, runs[i].batchLosses])),
      batches_per_epoch: sizes.map((s) => Math.ceil(n / s)),
      n_updates: runs.map((r) => r.updates), runs: words, ylim: [bottom, top],
      status: words.includes("diverged") ? "diverged" : "finished",
      message: `after ${scene.epochs} epochs: ${parts.join("; ")}`,
    };
  },

  draw(figure, scene, shown) {
    const [bottom, top] = shown.ylim;
    const clip = (v) => (v === null || !Number.isFinite(v) ? null : Math.min(v, top * 100));
    const n = scene.targets.length;
    ["full", "mini", "single"].forEach((name, i) => {
      const ax = figure.axes[i];
      const size = shown.sizes[i];
      const title = i === 0 ? `full batch (${n})` : i === 2 ? "single sample (1)" : "mini-batch";
      ax.frame({
        key: name, xlim: [0, scene.epochs], ylim: [bottom, top], yscale: "log", title, xlabel: "epoch",
        ylabel: i === 0 ? "MSE (log scale)" : "", ylabelOffset: 40, xticks: 5,
        legend: i === 0 ? [
          { label: "batch MSE", color: COLORS.function, width: 0.8, alpha: 0.45 },
          { label: "data-set MSE", color: COLORS.path, width: 1.5, marker: "o", ms: 3 },
        ] : null,
      });
      const batch = shown.batch_losses[name];
      const epoch = shown.epoch_losses[name];
      const per = Math.ceil(n / size);
      ax.begin();
      ax.line(`${name}-batches`, batch.map((_, k) => k / per), batch.map(clip), { color: COLORS.function, width: 0.8, alpha: 0.45 });
      ax.line(`${name}-epochs`, epoch.map((_, k) => k), epoch.map(clip), { color: COLORS.path, width: 1.5, marker: "o", ms: 3 });
      ax.end();
    });
  },
});

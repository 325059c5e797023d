// The front end of gdcourse's demos: one ES module for JupyterLab, Notebook 7 and the book.
//
// anywidget loads it from the widget's `_esm`, which gdcourse/widgets/_base.py builds from
// this file followed by the demo's own script (descent_1d.js, ...). This part holds what
// every demo shares:
//   * numbers as gdcourse computes them: Python's "{:.4g}", round-half-even, NumPy's
//     pairwise sum, the descent loop of gdcourse.optimizers, the objectives' formulas;
//   * a small SVG plotting layer (axes, ticks, lines, markers, contour lines, legends);
//   * the controls (native, labelled <input>, <select> and <button> elements);
//   * render(): draws what the kernel computed (the synced `shown`), and without a kernel
//     (the book's static pages) computes `shown` with the demo's port (its update()).
// A demo's script calls registerDemo(kind, {figure, update, draw}); see _base.py and the
// package docstring of gdcourse.widgets for how to add one.

const DEMOS = {};
function registerDemo(kind, demo) {
  DEMOS[kind] = demo;
}

// ------------------------------------------------------------------ numbers, as in Python

const MINUS = "\u2212";

/** 10 to the integer power k, correctly rounded (Math.pow(10, -3) need not be). */
function pow10(k) {
  return Number(`1e${k}`);
}

/** The exact binary value of a finite a > 0: [m, e] with a = m * 2**e (m a BigInt). */
function exactParts(a) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (biased === 0) return [m, -1074];
  m |= 1n << 52n;
  return [m, biased - 1075];
}

/** Is a (> 0) exactly halfway between two multiples of 10**k? */
function isTie(a, k) {
  const [m, e] = exactParts(a);
  let num = 2n * m;
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  if (k >= 0) den *= 10n ** BigInt(k);
  else num *= 10n ** BigInt(-k);
  return num % den === 0n && (num / den) % 2n === 1n;
}

/** Python's format(v, ".{p}g"), with U+2212 for the minus sign (gdcourse's fmt() for p = 4). */
function fmt(v, p = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return `${MINUS}inf`;
  const sign = v < 0 || Object.is(v, -0) ? MINUS : "";
  const a = Math.abs(v);
  if (a === 0) return `${sign}0`;
  let [mantissa, exponent] = a.toExponential(p - 1).split("e");
  let exp = Number(exponent);
  let digits = BigInt(mantissa.replace(".", ""));
  // JavaScript rounds a tie away from zero, Python to the even neighbour.
  if (digits % 2n === 1n && digits !== 10n ** BigInt(p - 1) && isTie(a, exp - p + 1)) {
    digits -= 1n;
  }
  let text = digits.toString();
  if (exp < -4 || exp >= p) {
    let head = text[0];
    let tail = text.slice(1).replace(/0+$/, "");
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${head}${tail ? `.${tail}` : ""}e${exp < 0 ? MINUS : "+"}${e}`;
  }
  const decimals = p - 1 - exp;
  if (decimals <= 0) return sign + text + "0".repeat(-decimals);
  text = text.padStart(decimals + 1, "0");
  let fixed = `${text.slice(0, text.length - decimals)}.${text.slice(text.length - decimals)}`;
  fixed = fixed.replace(/0+$/, "").replace(/\.$/, "");
  return sign + fixed;
}

/** Python's round(x) for a float: ties to even. */
function pyRound(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** NumPy's sum of a float64 array (pairwise, in blocks of 8), bit for bit. */
function pairwiseSum(a, start = 0, n = a.length) {
  if (n < 8) {
    let res = 0;
    for (let i = start; i < start + n; i++) res += a[i];
    return res;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

function mean(a) {
  return pairwiseSum(a) / a.length;
}

function niceCeil(value) {
  const exponent = Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) {
    const candidate = m * pow10(exponent);
    if (candidate >= value * (1 - 1e-12)) return candidate;
  }
  return pow10(exponent + 1);
}

function decades(low, high) {
  return [pow10(Math.floor(Math.log10(low))), pow10(Math.ceil(Math.log10(high)))];
}

function gridStep(low, high) {
  return pow10(Math.floor(Math.log10((high - low) / 100)));
}

// ------------------------------------------------------------------ gdcourse's numerical cores

/** The functions and gradients of gdcourse.objectives, operation for operation. */
const OBJECTIVES = {
  parabola: () => ({ f: ([x]) => x * x - 4 * x - 1, grad: ([x]) => [2 * x - 4] }),
  steep_parabola: () => ({ f: ([x]) => 20 * (x * x), grad: ([x]) => [40 * x] }),
  cubic: () => ({ f: ([x]) => 4 * x ** 3 - 10 * x + 10, grad: ([x]) => [12 * (x * x) - 10] }),
  bowl: () => ({ f: ([x, y]) => x * x + (y * y) / 2, grad: ([x, y]) => [2 * x, y] }),
  shifted_bowl: () => ({
    f: ([x, y]) => (x + 1) * (x + 1) + (y * y) / 2,
    grad: ([x, y]) => [2 * (x + 1), y],
  }),
  ill_conditioned: ({ kappa }) => ({
    f: ([x, y]) => (x * x + kappa * (y * y)) / 2,
    grad: ([x, y]) => [x, kappa * y],
  }),
  rosenbrock: () => ({
    f: ([x, y]) => (1 - x) * (1 - x) + 100 * ((y - x * x) * (y - x * x)),
    grad: ([x, y]) => [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)],
  }),
};

class NeedsKernel extends Error {}

/** The port of an objective named by gdcourse.widgets._ports.port_of. */
function objective(port, name) {
  if (!port || !(port.kind in OBJECTIVES)) {
    throw new NeedsKernel(`${name} is computed by Python: open this page in Jupyter to explore it`);
  }
  return OBJECTIVES[port.kind](port);
}

/** gdcourse.optimizers._descend (gradient descent, with heavy-ball momentum), step for step. */
function descend(grad, x0, { rate, momentum = 0, maxIter, tol, f, threshold }) {
  let x = x0.slice();
  let velocity = x.map(() => 0);
  const path = [x.slice()];
  let reason = "max_iter";
  for (let k = 0; k < maxIter; k++) {
    const g = grad(x.slice());
    velocity = velocity.map((v, i) => momentum * v - rate * g[i]);
    if (!velocity.every(Number.isFinite)) {
      reason = "diverged";
      break;
    }
    if (velocity.every((v) => Math.abs(v) <= tol)) {
      reason = "tolerance";
      break;
    }
    x = x.map((xi, i) => xi + velocity[i]);
    if (!x.every(Number.isFinite)) {
      reason = "diverged";
      break;
    }
    path.push(x.slice());
    if (Math.max(0, ...x.map(Math.abs)) > threshold) {
      reason = "diverged";
      break;
    }
  }
  return { path, values: f ? path.map((p) => f(p)) : null, nIter: path.length - 1, reason };
}

const WORDS = {
  converged: "the steps became smaller than the tolerance",
  oscillating: "each step overshoots the minimum and turns back",
  diverged: "the steps grow instead of shrinking (more than tenfold)",
  descending: "still moving downhill; more steps are needed",
};

/** gdcourse.widgets._base.classify: path is a list of points (arrays). */
function classify(path, reason) {
  if (reason === "diverged") return "diverged";
  if (reason === "tolerance") return "converged";
  const steps = [];
  for (let i = 1; i < path.length; i++) steps.push(path[i].map((v, j) => v - path[i - 1][j]));
  if (!steps.length) return "descending";
  const lengths = steps.map((s) => Math.sqrt(pairwiseSum(s.map((v) => v * v))));
  const n = lengths.length;
  const growing = n >= 3 && lengths[n - 2] - lengths[n - 3] > 0 && lengths[n - 1] - lengths[n - 2] > 0;
  if (growing && lengths[n - 1] > 10 * lengths[0]) return "diverged";
  const turns = [];
  for (let i = 1; i < steps.length; i++) {
    turns.push(pairwiseSum(steps[i].map((v, j) => v * steps[i - 1][j])));
  }
  const t = turns.length;
  if (t >= 2 && turns[t - 1] < 0 && turns[t - 2] < 0) return "oscillating";
  return "descending";
}

/** Move a slider's range and value at once, as _controls.py's set_range does. */
function setRange(local, name, low, high, value, step) {
  const input = local.inputs[name];
  Object.assign(input, { min: low, max: high, step, decimals: decimalsOf(step) });
  local.values[name] = Math.min(Math.max(value, low), high);
}

function decimalsOf(step) {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Drawing-only coordinates travel as integers on QUANTUM steps of their window. */
const QUANTUM = 4000;
function unquantize(q, low, high) {
  return q === null ? null : low + (q * (high - low)) / QUANTUM;
}

// ------------------------------------------------------------------ colours and style

const COLORS = {
  function: "#0072B2",
  path: "#D55E00",
  start: "#009E73",
  end: "#000000",
  data: "#0072B2",
  fit: "#E69F00",
  residual: "#CC79A7",
  reference: "#56B4E9",
};
const PT = 100 / 72; // pixels per point at the figures' 100 dpi, as in Matplotlib

// ------------------------------------------------------------------ the SVG figure

const SVGNS = "http://www.w3.org/2000/svg";
let uid = 0;

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function num(v) {
  return Math.round(v * 100) / 100;
}

/** Tick values and labels of a linear axis, at 1, 2, 2.5 or 5 times a power of ten. */
function linearTicks(lo, hi, most = 6) {
  const span = hi - lo;
  const exponent = Math.floor(Math.log10(span / most));
  let step = pow10(exponent);
  let extra = 0;
  for (const m of [1, 2, 2.5, 5, 10]) {
    step = m * pow10(exponent);
    extra = m === 2.5 ? 1 : 0;
    if (span / step <= most) break;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + extra);
  const ticks = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    const value = k * step;
    let label = Math.abs(value) < step * 1e-9 ? "0" : value.toFixed(decimals);
    ticks.push([value, label.replace("-", MINUS)]);
  }
  return ticks;
}

/** Ticks of a log axis: whole decades, thinned to at most about seven labels. */
function logTicks(lo, hi) {
  const first = Math.ceil(Math.log10(lo) - 1e-9);
  const last = Math.floor(Math.log10(hi) + 1e-9);
  const every = Math.max(1, Math.ceil((last - first + 1) / 7));
  const ticks = [];
  for (let k = first; k <= last; k++) {
    if ((k - first) % every === 0) ticks.push([pow10(k), k]);
  }
  return ticks;
}

const MARKERS = {
  o: (x, y, s) => {
    const r = s / 2;
    return `M${num(x - r)},${num(y)}a${num(r)},${num(r)} 0 1,0 ${num(2 * r)},0a${num(r)},${num(r)} 0 1,0 ${num(-2 * r)},0Z`;
  },
  s: (x, y, s) => {
    const r = s / 2;
    return `M${num(x - r)},${num(y - r)}h${num(s)}v${num(s)}h${num(-s)}Z`;
  },
  "*": (x, y, s) => {
    let d = "";
    for (let i = 0; i < 10; i++) {
      const r = i % 2 ? s * 0.2 : s * 0.5;
      const t = (Math.PI / 5) * i - Math.PI / 2;
      d += `${i ? "L" : "M"}${num(x + r * Math.cos(t))},${num(y + r * Math.sin(t))}`;
    }
    return `${d}Z`;
  },
  P: (x, y, s) => {
    const a = s / 2;
    const b = s / 6;
    return (
      `M${num(x - b)},${num(y - a)}h${num(2 * b)}v${num(a - b)}h${num(a - b)}v${num(2 * b)}` +
      `h${num(b - a)}v${num(a - b)}h${num(-2 * b)}v${num(b - a)}h${num(b - a)}v${num(-2 * b)}` +
      `h${num(a - b)}Z`
    );
  },
};

class Axes {
  constructor(figure, box, index) {
    this.figure = figure;
    this.box = box; // [left, top, right, bottom] in pixels
    this.id = `${figure.id}-${index}`;
    this.key = undefined;
    const [l, t, r, b] = box;
    const g = document.createElementNS(SVGNS, "g");
    g.innerHTML =
      `<clipPath id="${this.id}-clip"><rect x="${l}" y="${t}" width="${r - l}" height="${b - t}"/></clipPath>` +
      `<g class="gd-static"></g><g class="gd-under" clip-path="url(#${this.id}-clip)"></g>` +
      `<g class="gd-data" clip-path="url(#${this.id}-clip)"></g><g class="gd-over"></g>`;
    figure.svg.appendChild(g);
    [this.gStatic, this.gUnder, this.gData, this.gOver] = [...g.children].slice(1);
  }

  x(v) {
    const [l, , r] = this.box;
    const [a, b] = this.xlim;
    const t = this.xscale === "log" ? (Math.log10(v) - Math.log10(a)) / (Math.log10(b) - Math.log10(a)) : (v - a) / (b - a);
    return l + t * (r - l);
  }

  y(v) {
    const [, t, , b] = this.box;
    const [lo, hi] = this.ylim;
    const u = this.yscale === "log" ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
    return b - u * (b - t);
  }

  usable(x, y) {
    return (
      x !== null && y !== null && Number.isFinite(x) && Number.isFinite(y) &&
      (this.xscale !== "log" || x > 0) && (this.yscale !== "log" || y > 0)
    );
  }

  /** An SVG path through the points, broken where a point cannot be drawn (NaN, <= 0 on log). */
  pathData(xs, ys) {
    let d = "";
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      if (!this.usable(xs[i], ys[i])) {
        pen = false;
        continue;
      }
      // Far-off points are pulled in, so that the browser draws the visible part exactly.
      const px = Math.max(-1e5, Math.min(1e5, this.x(xs[i])));
      const py = Math.max(-1e5, Math.min(1e5, this.y(ys[i])));
      d += `${pen ? "L" : "M"}${num(px)},${num(py)}`;
      pen = true;
    }
    return d;
  }

  /** The frame (limits, ticks, labels, title) and the static content; redrawn when key changes. */
  frame(o) {
    const key = JSON.stringify([o.key, o.xlim, o.ylim, o.title]);
    if (key === this.key) return;
    this.key = key;
    Object.assign(this, { xlim: o.xlim, ylim: o.ylim, xscale: o.xscale || "linear", yscale: o.yscale || "linear" });
    const [l, t, r, b] = this.box;
    let s = "";
    const xt = this.xscale === "log" ? logTicks(...this.xlim) : linearTicks(...this.xlim, o.xticks || 6);
    const yt = this.yscale === "log" ? logTicks(...this.ylim) : linearTicks(...this.ylim, o.yticks || 6);
    for (const [v, label] of xt) {
      const px = num(this.x(v));
      s += `<line class="gd-grid" x1="${px}" x2="${px}" y1="${t}" y2="${b}"/>`;
      s += `<line class="gd-tick" x1="${px}" x2="${px}" y1="${b}" y2="${b + 5}"/>`;
      s += `<text class="gd-ticklabel" x="${px}" y="${b + 18}" text-anchor="middle">${this.tickLabel(label, this.xscale)}</text>`;
    }
    for (const [v, label] of yt) {
      const py = num(this.y(v));
      s += `<line class="gd-grid" x1="${l}" x2="${r}" y1="${py}" y2="${py}"/>`;
      s += `<line class="gd-tick" x1="${l - 5}" x2="${l}" y1="${py}" y2="${py}"/>`;
      s += `<text class="gd-ticklabel" x="${l - 8}" y="${py + 4}" text-anchor="end">${this.tickLabel(label, this.yscale)}</text>`;
    }
    s += `<path class="gd-spine" d="M${l},${t}V${b}H${r}"/>`;
    if (o.title) s += `<text class="gd-title" x="${(l + r) / 2}" y="${t - 9}" text-anchor="middle">${esc(o.title)}</text>`;
    if (o.xlabel) s += `<text class="gd-label" x="${(l + r) / 2}" y="${b + 36}" text-anchor="middle">${esc(o.xlabel)}</text>`;
    if (o.ylabel) {
      const x = l - (o.ylabelOffset || 44);
      s += `<text class="gd-label" transform="translate(${x},${(t + b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.ylabel)}</text>`;
    }
    this.gStatic.innerHTML = s;
    this.parts = [];
    if (o.under) o.under(this);
    this.gUnder.innerHTML = this.parts.join("");
    this.gOver.innerHTML = o.legend ? this.legendMarkup(o.legend, o.legendAt || "upper right") : "";
  }

  tickLabel(label, scale) {
    if (scale !== "log") return esc(label);
    const k = String(label).replace("-", MINUS);
    return `10<tspan class="gd-sup" dy="-6">${k}</tspan>`;
  }

  legendMarkup(entries, at) {
    const [l, t, r] = this.box;
    const width = 14 + 26 + Math.max(...entries.map((e) => e.label.length)) * 7;
    const columns = at === "upper center" ? 2 : 1;
    const rows = Math.ceil(entries.length / columns);
    const x0 = at === "upper left" ? l + 8 : at === "upper center" ? (l + r) / 2 - width : r - width - 4;
    let s = "";
    entries.forEach((e, i) => {
      const x = x0 + Math.floor(i / rows) * width;
      const y = t + 12 + (i % rows) * 17;
      if (e.width) s += `<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${e.color}" stroke-width="${e.width * PT}" stroke-opacity="${e.alpha ?? 1}"/>`;
      if (e.marker) s += `<path d="${MARKERS[e.marker](x + 11, y, e.ms * PT)}" fill="${e.color}"/>`;
      s += `<text class="gd-legend" x="${x + 28}" y="${y + 4}">${esc(e.label)}</text>`;
    });
    const height = rows * 17 + 6;
    return `<g class="gd-legendbox"><rect x="${x0 - 4}" y="${t + 2}" width="${columns * width}" height="${height}" fill="white" fill-opacity="0.8"/>${s}</g>`;
  }

  begin() {
    this.parts = [];
  }

  /** A line and/or markers through (xs, ys); `id` names it in figure.drawn. */
  line(id, xs, ys, { color, width = 0, alpha = 1, marker, ms = 6, z } = {}) {
    if (id) this.figure.drawn[id] = { x: Array.from(xs), y: Array.from(ys) };
    if (width > 0) {
      const d = this.pathData(xs, ys);
      if (d) this.parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${width * PT}" stroke-opacity="${alpha}" stroke-linejoin="round"/>`);
    }
    if (marker) {
      let d = "";
      const size = ms * PT;
      for (let i = 0; i < xs.length; i++) {
        if (!this.usable(xs[i], ys[i])) continue;
        const px = this.x(xs[i]);
        const py = this.y(ys[i]);
        if (Math.abs(px) < 1e5 && Math.abs(py) < 1e5) d += MARKERS[marker](px, py, size);
      }
      if (d) this.parts.push(`<path d="${d}" fill="${color}" fill-opacity="${alpha}"/>`);
    }
  }

  /** Straight segments [[x0, y0, x1, y1], ...]. */
  segments(id, segs, { color, width = 1 }) {
    if (id) this.figure.drawn[id] = { segments: segs.map((s) => Array.from(s)) };
    let d = "";
    for (const [x0, y0, x1, y1] of segs) {
      if (this.usable(x0, y0) && this.usable(x1, y1)) d += `M${num(this.x(x0))},${num(this.y(y0))}L${num(this.x(x1))},${num(this.y(y1))}`;
    }
    if (d) this.parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${width * PT}"/>`);
  }

  /** Contour lines from gdcourse.widgets._base.contour_scene (quantized, delta-encoded). */
  contours(levels, [xlo, xhi], [ylo, yhi]) {
    for (const { color, lines } of levels) {
      let d = "";
      for (const flat of lines) {
        let qx = 0;
        let qy = 0;
        for (let i = 0; i < flat.length; i += 2) {
          qx += flat[i];
          qy += flat[i + 1];
          d += `${i ? "L" : "M"}${num(this.x(unquantize(qx, xlo, xhi)))},${num(this.y(unquantize(qy, ylo, yhi)))}`;
        }
      }
      if (d) this.parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${0.8 * PT}"/>`);
    }
  }

  end() {
    this.gData.innerHTML = this.parts.join("");
  }
}

class Figure {
  constructor(parent, { width, height, ncols, left = 0.08, right = 0.98, bottom = 0.15, top = 0.9, wspace = 0.35 }) {
    this.id = `gd-fig-${++uid}-${Math.random().toString(36).slice(2, 8)}`;
    this.svg = document.createElementNS(SVGNS, "svg");
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("class", "gd-figure");
    parent.appendChild(this.svg);
    this.drawn = {};
    const each = ((right - left) * width) / (ncols + wspace * (ncols - 1));
    this.axes = [];
    for (let i = 0; i < ncols; i++) {
      const l = Math.round(left * width + i * each * (1 + wspace));
      this.axes.push(new Axes(this, [l, Math.round((1 - top) * height), Math.round(l + each), Math.round((1 - bottom) * height)], i));
    }
  }
}

// ------------------------------------------------------------------ controls

function controlValue(spec, index) {
  if (spec.kind === "int" || spec.kind === "play") return spec.min + index;
  const raw = spec.min + index * spec.step;
  const value = Number(raw.toFixed(Math.max(spec.decimals, 0) + 2));
  return spec.kind === "log" ? Math.pow(10, value) : value;
}

function controlIndex(spec, value) {
  if (spec.kind === "int" || spec.kind === "play") return Math.round(value - spec.min);
  const v = spec.kind === "log" ? Math.log10(value) : value;
  return Math.round((v - spec.min) / spec.step);
}

function controlSteps(spec) {
  if (spec.kind === "int" || spec.kind === "play") return spec.max - spec.min;
  return Math.round((spec.max - spec.min) / spec.step);
}

function readout(spec, value) {
  if (spec.kind === "log") return fmt(value, 3).replace(MINUS, "-");
  if (spec.kind === "int" || spec.kind === "play") return String(value);
  return value.toFixed(spec.decimals);
}

function bounds(spec) {
  return spec.kind === "log" ? [Math.pow(10, spec.min), Math.pow(10, spec.max)] : [spec.min, spec.max];
}

/** The controls, built once; update() shows new values and ranges. */
class Controls {
  constructor(parent, inputs, id, { onValue, onClick, onPlay }) {
    this.specs = {};
    this.els = {};
    this.playing = null;
    const rows = [];
    for (const spec of inputs) {
      this.specs[spec.name] = { ...spec };
      let row = rows[spec.row];
      if (!row) {
        row = rows[spec.row] = document.createElement("div");
        row.className = "gd-row";
        parent.appendChild(row);
      }
      const box = document.createElement("div");
      box.className = `gd-control gd-control-${spec.name.replace(/_/g, "-")}`;
      row.appendChild(box);
      const inputId = `${id}-${spec.name}`;
      const label = `<label for="${inputId}">${esc(spec.label)}</label>`;
      if (spec.kind === "button") {
        box.innerHTML = `<button type="button" id="${inputId}" title="${esc(spec.tooltip || "")}">${esc(spec.label)}</button>`;
        box.firstChild.addEventListener("click", () => onClick(spec.name));
      } else if (spec.kind === "menu") {
        box.innerHTML = `${label}<select id="${inputId}">${spec.options.map(([text, key]) => `<option value="${esc(key)}">${esc(text)}</option>`).join("")}</select>`;
        box.querySelector("select").addEventListener("change", (e) => onValue(spec.name, e.target.value));
      } else {
        const play = spec.kind === "play" ? `<button type="button" class="gd-play" aria-pressed="false" aria-label="play the iterations">▶ play</button>` : "";
        box.innerHTML =
          `${play}${label}<input type="range" id="${inputId}">` +
          `<input type="text" class="gd-readout widget-readout" inputmode="decimal" size="7" aria-label="${esc(spec.label)}, type a value">`;
        const [range, text] = box.querySelectorAll("input");
        range.addEventListener("input", () => {
          const s = this.specs[spec.name];
          onValue(spec.name, controlValue(s, Number(range.value)));
        });
        text.addEventListener("change", () => {
          const s = this.specs[spec.name];
          let value = Number(text.value.replace(MINUS, "-"));
          if (text.value.trim() === "" || !Number.isFinite(value)) {
            text.value = readout(s, this.values[spec.name]);
            return;
          }
          const [lo, hi] = bounds(s);
          value = Math.min(Math.max(value, lo), hi);
          if (s.kind === "int" || s.kind === "play") value = Math.round(value);
          onValue(spec.name, value);
        });
        text.addEventListener("keydown", (e) => {
          if (e.key === "Enter") text.dispatchEvent(new Event("change"));
        });
        if (play) box.querySelector(".gd-play").addEventListener("click", () => onPlay(spec.name));
      }
      this.els[spec.name] = box;
    }
  }

  update(inputs, values) {
    this.values = values;
    for (const spec of inputs) Object.assign(this.specs[spec.name], spec);
    for (const [name, spec] of Object.entries(this.specs)) {
      const box = this.els[name];
      const value = values[name];
      if (spec.kind === "menu") {
        box.querySelector("select").value = value;
      } else if (spec.kind !== "button") {
        const [range, text] = box.querySelectorAll("input");
        range.min = 0;
        range.max = controlSteps(spec);
        range.step = 1;
        range.value = controlIndex(spec, value);
        const shown = readout(spec, value);
        range.setAttribute("aria-valuetext", shown);
        if (document.activeElement !== text) text.value = shown;
      }
    }
  }

  setPlaying(name, playing) {
    const button = this.els[name]?.querySelector(".gd-play");
    if (!button) return;
    button.setAttribute("aria-pressed", String(playing));
    button.textContent = playing ? "❚❚ pause" : "▶ play";
    button.setAttribute("aria-label", playing ? "pause" : "play the iterations");
  }
}

// ------------------------------------------------------------------ the widget

function statusMarkup(shown, colors) {
  const words = String(shown.status || "").split(" / ");
  const swatches = words
    .map((w) => `<span class="gd-swatch" style="background:${colors[w] || "#000000"}" aria-hidden="true"></span>`)
    .join("");
  return `${swatches}<b>${esc(shown.status || "")}</b>: ${esc(shown.message || "")}`;
}

function render({ model, el }) {
  const kind = model.get("kind");
  const demo = DEMOS[kind];
  const scene = model.get("scene");
  const id = `gd-${++uid}-${Math.random().toString(36).slice(2, 8)}`;
  const root = document.createElement("div");
  root.className = `gd-demo gd-demo-${kind}`;
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", `Interactive demo: ${scene.description}`);
  el.appendChild(root);

  // Without a kernel the demo keeps its own copy of the controls and computes with its port.
  const local = {
    scene,
    values: { ...model.get("values") },
    inputs: Object.fromEntries(model.get("inputs").map((s) => [s.name, { ...s }])),
    shown: model.get("shown"),
    memory: {},
  };
  // Live once the kernel answers a ping: until then (and for good on a static page, where
  // nothing answers) every change is computed here.
  let live = false;
  let timer = null;
  const token = Math.random().toString(36).slice(2);
  model.on("msg:custom", (message) => {
    if (message && message.pong === token && !live) {
      live = true;
      model.set("values", { ...local.values });
      model.save_changes();
    }
  });

  const controlsBox = document.createElement("div");
  controlsBox.className = "gd-controls";
  root.appendChild(controlsBox);
  const figureBox = document.createElement("div");
  figureBox.className = "gd-figure-box";
  root.appendChild(figureBox);
  const status = document.createElement("div");
  status.className = "gd-status";
  status.setAttribute("aria-live", "polite");
  root.appendChild(status);
  const note = document.createElement("div");
  note.className = "gd-note";
  root.appendChild(note);
  const error = document.createElement("div");
  error.className = "gd-error";
  error.setAttribute("role", "alert");
  root.appendChild(error);

  const figure = new Figure(figureBox, demo.figure);

  function draw(shown) {
    figure.drawn = {};
    demo.draw(figure, scene, shown);
    figure.svg.setAttribute("aria-label", `${scene.description} Now ${shown.status}: ${shown.message}`);
    status.innerHTML = statusMarkup(shown, scene.colors);
  }

  function showError() {
    const summary = model.get("error");
    error.innerHTML = summary
      ? `<b>This update failed</b> (the figure shows the last good state): ${esc(summary)}` +
        `<details><summary>traceback</summary><pre>${esc(model.get("error_detail"))}</pre></details>`
      : "";
  }

  /** No kernel: run the demo's port on the local copy, and draw. */
  const times = [];
  function compute(event) {
    const start = performance.now();
    try {
      const shown = demo.update(local, event);
      local.shown = shown;
      note.textContent = "";
      controls.update(Object.values(local.inputs), local.values);
      draw(shown);
    } catch (err) {
      if (!(err instanceof NeedsKernel)) throw err;
      note.textContent = err.message;
    }
    if (times.length < 10000) times.push(performance.now() - start);
  }

  /** Send a change to the kernel; false when there is none (a static page). */
  function send(apply) {
    if (live) apply();
    return live;
  }

  function stop(name) {
    if (timer !== null) clearInterval(timer);
    timer = null;
    controls.setPlaying(name, false);
  }

  const handlers = {
    onValue(name, value) {
      if (local.inputs[name].kind !== "play") stop("play");
      local.values = { ...local.values, [name]: value };
      const sent = send(() => {
        model.set("values", { ...model.get("values"), [name]: value });
        model.save_changes();
      });
      if (!sent) compute({ name, value });
    },
    onClick(name) {
      stop("play");
      if (!send(() => model.send({ click: name }))) compute({ name, click: true });
    },
    onPlay(name) {
      if (timer !== null) return stop(name);
      const spec = local.inputs[name];
      if (local.values[name] >= spec.max) handlers.onValue(name, spec.min);
      controls.setPlaying(name, true);
      timer = setInterval(() => {
        const frame = local.values[name] + 1;
        if (frame > local.inputs[name].max) return stop(name);
        handlers.onValue(name, frame);
      }, spec.interval || 120);
    },
  };
  const controls = new Controls(controlsBox, model.get("inputs"), id, handlers);

  model.on("change:shown", () => {
    local.shown = model.get("shown");
    draw(local.shown);
  });
  model.on("change:values", () => {
    local.values = { ...model.get("values") };
    controls.update(model.get("inputs"), local.values);
  });
  model.on("change:inputs", () => {
    local.inputs = Object.fromEntries(model.get("inputs").map((s) => [s.name, { ...s }]));
    controls.update(model.get("inputs"), local.values);
  });
  model.on("change:error", showError);

  controls.update(model.get("inputs"), local.values);
  draw(local.shown);
  showError();
  try {
    model.send({ ping: token });
  } catch (err) {
    // No comm at all: a static page.
  }
  // What the tests read: the values, what is shown and the numbers each drawn series holds.
  root.gdcourse = {
    get values() {
      return local.values;
    },
    get shown() {
      return local.shown;
    },
    get drawn() {
      return figure.drawn;
    },
    get live() {
      return live;
    },
    /** Milliseconds each change took here, from the event to the figure updated. */
    get times() {
      return times;
    },
  };
  return () => {
    if (timer !== null) clearInterval(timer);
  };
}

export default { render };

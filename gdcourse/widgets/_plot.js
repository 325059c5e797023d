// A small SVG plotting layer for the demos: axes with linear and log scales, ticks, labels,
// legends, lines, markers, segments and contour lines, in the course's colour-blind-safe palette
// (Okabe and Ito's, as gdcourse.plotting). Every series drawn is kept in figure.drawn, so that
// the tests can read the numbers behind the figure. A part of every demo's front end.
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
    const clip = (id) => `<clipPath id="${id}"><rect x="${l}" y="${t}" width="${r - l}" height="${b - t}"/></clipPath>`;
    // The frame and what never moves in the figure's SVG; what moves in the layer above it.
    const g = document.createElementNS(SVGNS, "g");
    g.innerHTML = `${clip(`${this.id}-clip`)}<g class="gd-static"></g><g class="gd-under" clip-path="url(#${this.id}-clip)"></g>`;
    figure.svg.appendChild(g);
    [this.gStatic, this.gUnder] = [...g.children].slice(1);
    const top = document.createElementNS(SVGNS, "g");
    top.innerHTML = `${clip(`${this.id}-clip-data`)}<g class="gd-data" clip-path="url(#${this.id}-clip-data)"></g><g class="gd-over"></g>`;
    figure.layer.appendChild(top);
    [this.gData, this.gOver] = [...top.children].slice(1);
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
    // Two SVGs, one above the other: the figure (an image with a text alternative) and a layer
    // of its own for what moves, so that a change repaints the moving lines, not the contours.
    const make = (cls) => {
      const svg = document.createElementNS(SVGNS, "svg");
      svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
      svg.setAttribute("width", width);
      svg.setAttribute("height", height);
      svg.setAttribute("class", cls);
      parent.appendChild(svg);
      return svg;
    };
    this.svg = make("gd-figure");
    this.svg.setAttribute("role", "img");
    this.layer = make("gd-figure-layer");
    this.layer.setAttribute("aria-hidden", "true");
    this.drawn = {};
    const each = ((right - left) * width) / (ncols + wspace * (ncols - 1));
    this.axes = [];
    for (let i = 0; i < ncols; i++) {
      const l = Math.round(left * width + i * each * (1 + wspace));
      this.axes.push(new Axes(this, [l, Math.round((1 - top) * height), Math.round(l + each), Math.round((1 - bottom) * height)], i));
    }
  }
}

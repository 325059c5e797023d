// gdcourse's numbers in the page: what the demos' ports compute with, operation for operation
// as gdcourse does in Python (Python's "{:.4g}" and round(), NumPy's pairwise sum, the descent
// loop of gdcourse.optimizers, the objectives' formulas). A part of every demo's front end
// (see front_end() in _base.py); the browser tests hold the results to gdcourse's.

const DEMOS = {};
/** A demo's script registers its part of the front end: {figure, update, draw}. */
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
  finished: "ran every epoch and ended below its starting loss (SGD at a constant learning rate has no tolerance to stop at)",
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

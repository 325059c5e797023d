// The front end of gdcourse's demos: one ES module for JupyterLab, Notebook 7 and the book.
//
// anywidget loads it from the widget's `_esm`, which front_end() in _base.py builds from this
// file (the controls and render()), _numbers.js (gdcourse's numbers in the page), _plot.js (the
// SVG figure) and the demo's own script (descent_1d.js, ...), in that order.
// render() draws what the kernel computed (the synced `shown`); with no kernel (the book's
// static pages) it computes `shown` with the demo's port, its update(). A demo's script calls
// registerDemo(kind, {figure, update, draw}); the package docstring of gdcourse.widgets says
// how to add one.

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

  const times = [];
  /** No kernel: run the demo's port on the local copy, and draw. */
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

// Metrics: the daemon's /metrics read every 5 s while the page is open; charts (uPlot) of
// invocations, errors, throttles and cold starts per second, p50/p99 duration and the memory
// budget, for the host or one function, over the last hour of this page's life; and a table per
// function.
import uPlot from "../vendor/uPlot.esm.js";
import * as api from "../api.js";
import { functionStats, histogramQuantile, labelValues, parseMetrics, sum } from "../metrics.js";
import { field, h, replace, showError } from "../ui.js";

const POLL_MS = 5000;
const KEEP_POINTS = 720; // an hour at 5 s

// Kept across visits of the page while the tab lives: leaving and coming back keeps the hour.
const history = { points: [], previous: null };

// Totals that the charts difference into rates, for `fn` ("" = the host).
function totals(samples, fn) {
  const match = fn ? { function: fn } : {};
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== "runtimed_invocation_duration_seconds_bucket") continue;
    if (fn && s.labels.function !== fn) continue;
    buckets.set(s.labels.le, (buckets.get(s.labels.le) || 0) + s.value);
  }
  return {
    invocations: sum(samples, "runtimed_invocations_total", match),
    errors:
      sum(samples, "runtimed_invocations_total", match) -
      sum(samples, "runtimed_invocations_total", { ...match, outcome: "success" }),
    // Throttles carry no function label: the host's.
    throttles: sum(samples, "runtimed_throttles_total"),
    coldStarts: sum(samples, "runtimed_cold_starts_total", match),
    buckets,
  };
}

// The quantile of the observations between two readings of a histogram's buckets.
function intervalQuantile(now, before, q) {
  const samples = [];
  for (const [le, count] of now) {
    samples.push({
      name: "d_bucket",
      labels: { le },
      value: count - ((before && before.get(le)) || 0),
    });
  }
  return histogramQuantile(samples, "d", q);
}

function record(samples) {
  const t = Date.now() / 1000;
  const byFunction = new Map();
  byFunction.set("", totals(samples, ""));
  for (const fn of labelValues(samples, "runtimed_invocations_total", "function"))
    byFunction.set(fn, totals(samples, fn));
  const point = {
    t,
    byFunction,
    memoryUsedMb: sum(samples, "runtimed_memory_used_bytes") / 1048576,
    memoryBudgetMb: sum(samples, "runtimed_memory_budget_bytes") / 1048576,
  };
  history.points.push(point);
  while (history.points.length > KEEP_POINTS) history.points.shift();
  history.previous = samples;
}

// Chart columns for `fn`: rates between consecutive readings.
function series(fn) {
  const cols = { t: [], invocations: [], errors: [], throttles: [], coldStarts: [], p50: [], p99: [], used: [], budget: [] };
  for (let i = 1; i < history.points.length; i++) {
    const a = history.points[i - 1];
    const b = history.points[i];
    const dt = b.t - a.t;
    const now = b.byFunction.get(fn);
    const before = a.byFunction.get(fn);
    cols.t.push(b.t);
    cols.used.push(b.memoryUsedMb);
    cols.budget.push(b.memoryBudgetMb);
    if (!now || dt <= 0) {
      for (const k of ["invocations", "errors", "throttles", "coldStarts", "p50", "p99"]) cols[k].push(null);
      continue;
    }
    const rate = (k) => Math.max(0, (now[k] - ((before && before[k]) || 0)) / dt);
    cols.invocations.push(rate("invocations"));
    cols.errors.push(rate("errors"));
    cols.throttles.push(rate("throttles"));
    cols.coldStarts.push(rate("coldStarts"));
    const p50 = intervalQuantile(now.buckets, before && before.buckets, 0.5);
    const p99 = intervalQuantile(now.buckets, before && before.buckets, 0.99);
    cols.p50.push(p50 === null ? null : p50 * 1000);
    cols.p99.push(p99 === null ? null : p99 * 1000);
  }
  return cols;
}

function chart(container, title, labels, colors, unit) {
  const width = Math.max(280, container.clientWidth - 2);
  const opts = {
    title,
    width,
    height: 180,
    scales: { x: { time: true } },
    axes: [{}, { label: unit, size: 56 }],
    series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 2, spanGaps: false }))],
  };
  const empty = [[], ...labels.map(() => [])];
  return new uPlot(opts, empty, container);
}

export async function metricsPage(main) {
  const errors = h("div.errors", { "aria-live": "polite" });
  const select = h("select", { name: "scope" }, h("option", { value: "" }, "Host (all functions)"));
  const updated = h("small.updated", { role: "status" });
  const charts = h("div.charts", {});
  const table = h("div.table-wrap", {});
  const host = h("div.stats", {});
  replace(
    main,
    h("div.page-head", {}, h("h1", {}, "Metrics"), updated),
    h("div.card", {}, field("Show", select), h("p.hint", {}, "Rates between readings every 5 s, kept for the last hour while this tab is open.")),
    errors,
    host,
    charts,
    h("h2", {}, "Per function (since the daemon started)"),
    table,
  );
  const boxes = [0, 1, 2].map(() => h("div.chart", {}));
  charts.append(...boxes);
  const plots = [
    chart(boxes[0], "Invocations, errors, throttles, cold starts", ["invocations/s", "errors/s", "throttles/s", "cold starts/s"], ["#2563eb", "#dc2626", "#d97706", "#7c3aed"], "per s"),
    chart(boxes[1], "Duration", ["p50 ms", "p99 ms"], ["#059669", "#b91c1c"], "ms"),
    chart(boxes[2], "Memory budget", ["used MB", "budget MB"], ["#2563eb", "#6b7280"], "MB"),
  ];
  const resize = new ResizeObserver(() => {
    plots.forEach((p, i) => p.setSize({ width: Math.max(280, boxes[i].clientWidth - 2), height: 180 }));
  });
  boxes.forEach((b) => resize.observe(b));

  const draw = () => {
    const c = series(select.value);
    plots[0].setData([c.t, c.invocations, c.errors, c.throttles, c.coldStarts]);
    plots[1].setData([c.t, c.p50, c.p99]);
    plots[2].setData([c.t, c.used, c.budget]);
  };
  select.addEventListener("change", draw);

  let timer = null;
  let stopped = false;
  const poll = async () => {
    try {
      const samples = parseMetrics(await api.metricsText());
      record(samples);
      replace(errors);
      renderHost(host, samples);
      renderTable(table, samples);
      const chosen = select.value;
      const names = labelValues(samples, "runtimed_invocations_total", "function");
      replace(
        select,
        h("option", { value: "" }, "Host (all functions)"),
        names.map((n) => h("option", { value: n, selected: n === chosen }, n)),
      );
      draw();
      replace(updated, `updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      showError(errors, e);
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  await poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    resize.disconnect();
    plots.forEach((p) => p.destroy());
  };
}

function renderHost(container, samples) {
  const item = (label, value) => h("div.stat", {}, h("span.stat-value", {}, value), h("span.stat-label", {}, label));
  const env = (state) => sum(samples, "runtimed_environments", { state });
  replace(
    container,
    item("invocations", sum(samples, "runtimed_invocations_total")),
    item("errors", sum(samples, "runtimed_invocations_total") - sum(samples, "runtimed_invocations_total", { outcome: "success" })),
    item("throttles", sum(samples, "runtimed_throttles_total")),
    item("cold starts", sum(samples, "runtimed_cold_starts_total")),
    item("busy / warm / frozen", `${env("busy")} / ${env("warm")} / ${env("frozen")}`),
    item("memory MB", `${Math.round(sum(samples, "runtimed_memory_used_bytes") / 1048576)} / ${Math.round(sum(samples, "runtimed_memory_budget_bytes") / 1048576)}`),
  );
}

function renderTable(container, samples) {
  const stats = functionStats(samples);
  if (!stats.size) {
    replace(container, h("p.empty", {}, "No invocations yet."));
    return;
  }
  const ms = (v) => (v === null ? "–" : `${(v * 1000).toFixed(1)} ms`);
  const rows = [...stats.keys()].sort().map((fn) => {
    const s = stats.get(fn);
    const m = { function: fn };
    return h(
      "tr",
      { "data-function": fn },
      h("th", { scope: "row" }, fn),
      h("td.num", {}, s.invocations),
      h("td.num", {}, s.errors),
      h("td.num", {}, sum(samples, "runtimed_invocations_total", { ...m, outcome: "timeout" })),
      h("td.num", {}, s.coldStarts),
      h("td.num", {}, ms(histogramQuantile(samples, "runtimed_invocation_duration_seconds", 0.5, m))),
      h("td.num", {}, ms(histogramQuantile(samples, "runtimed_invocation_duration_seconds", 0.99, m))),
      h("td.num", {}, ms(histogramQuantile(samples, "runtimed_init_duration_seconds", 0.5, m))),
    );
  });
  replace(
    container,
    h(
      "table.metrics",
      {},
      h(
        "thead",
        {},
        h("tr", {}, ["Function", "Invocations", "Errors", "Timeouts", "Cold starts", "p50", "p99", "Init p50"].map((t) => h("th", { scope: "col" }, t))),
      ),
      h("tbody", {}, rows),
    ),
  );
}

// Logs: a function's log followed live through GET /runtimed/v1/functions/{name}/logs?follow=1 (the
// daemon holds each request up to 20 s for new text), pausable, filtered by text or request id.
import * as api from "../api.js";
import { field, h, logLine, replace, showError } from "../ui.js";

const MAX_LINES = 5000;

export async function logsPage(main, name) {
  const errors = h("div.errors", { "aria-live": "polite" });
  const select = h("select", { name: "function" });
  const filter = h("input", { name: "filter", type: "search", placeholder: "text or request id", autocomplete: "off" });
  const pause = h("button", { type: "button", "aria-pressed": "false" }, "Pause");
  const clear = h("button", { type: "button" }, "Clear");
  const state = h("small.follow-state", { role: "status" });
  const output = h("div.log.log-follow", { tabindex: 0, "aria-label": "Log", role: "log" });
  replace(
    main,
    h("h1", {}, "Logs"),
    h(
      "div.card.log-controls",
      {},
      field("Function", select),
      field("Filter", filter),
      h("div.actions", {}, pause, clear, state),
    ),
    errors,
    output,
  );

  let controller = null;
  let offset;
  let paused = false;
  let stopped = false;
  let pending = ""; // a line not yet ended by "\n"

  const matches = (line) => {
    const f = filter.value.trim().toLowerCase();
    return !f || line.textContent.toLowerCase().includes(f);
  };
  const applyFilter = () => {
    for (const line of output.children) line.hidden = !matches(line);
  };
  filter.addEventListener("input", applyFilter);
  clear.addEventListener("click", () => replace(output));

  const show = (text) => {
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
    const parts = (pending + text).split("\n");
    pending = parts.pop();
    for (const text of parts) {
      const line = logLine(text);
      line.hidden = !matches(line);
      output.append(line);
    }
    while (output.children.length > MAX_LINES) output.firstChild.remove();
    if (atBottom) output.scrollTop = output.scrollHeight;
  };

  const follow = async () => {
    if (!select.value) return;
    const fn = select.value;
    controller = new AbortController();
    const signal = controller.signal;
    replace(state, "following");
    try {
      if (offset === undefined) {
        const first = await api.readLog(fn, { tail: 200, signal });
        show(first.text);
        offset = first.offset;
      }
      while (!signal.aborted) {
        const next = await api.readLog(fn, { offset, follow: true, signal });
        show(next.text);
        offset = next.offset;
      }
    } catch (e) {
      if (e.name === "AbortError") return;
      if (!stopped) {
        showError(errors, e);
        replace(state, "stopped");
      }
    }
  };
  const stop = () => {
    if (controller) controller.abort();
    controller = null;
  };

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    replace(pause, paused ? "Resume" : "Pause");
    if (paused) {
      stop();
      replace(state, "paused");
    } else {
      follow();
    }
  });
  select.addEventListener("change", () => {
    location.hash = `#/logs/${encodeURIComponent(select.value)}`;
  });

  try {
    const functions = await api.listFunctions();
    const names = functions.map((f) => f.FunctionName).sort();
    if (name && !names.includes(name)) names.unshift(name);
    replace(select, names.map((n) => h("option", { value: n, selected: n === name }, n)));
    if (!name && names.length) select.value = names[0];
    if (!names.length) showError(errors, "No functions yet: create one first.");
  } catch (e) {
    showError(errors, e);
  }
  follow();
  // The router calls this when the page is left: the open long poll is cancelled.
  return () => {
    stopped = true;
    stop();
  };
}

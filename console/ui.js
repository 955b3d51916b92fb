// Small DOM helpers shared by the pages: element building (text only, never HTML strings, so a
// function's output cannot inject markup), status messages, errors as the API sent them, and the
// log-line classes that mark START/END/REPORT and Init Duration.
import { ApiError } from "./api.js";

// h("tag.class#id", {attr: value, onclick: fn}, child, "text", …)
export function h(spec, attrs, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/);
  const node = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

// A labelled form field: the label is tied to the control for screen readers and clicks.
let fieldCount = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldCount}`;
  control.id = id;
  return h(
    "div.field",
    {},
    h("label", { for: id }, label),
    control,
    hint ? h("small.hint", { id: `${id}-hint` }, hint) : null,
  );
}

// The page-wide status line (aria-live): what just happened, or an error exactly as the daemon
// answered it (status, x-amzn-ErrorType, message).
export function announce(message, kind = "info") {
  const status = document.getElementById("status");
  status.className = `status ${kind}`;
  replace(status, message);
  status.hidden = !message;
}

export function errorBox(error) {
  if (error instanceof ApiError) {
    return h(
      "div.error",
      { role: "alert" },
      h("strong.error-type", {}, `${error.status || ""} ${error.type}`.trim()),
      " ",
      h("span.error-message", {}, error.message),
      error.requestId ? h("small.request-id", {}, ` (request ${error.requestId})`) : null,
    );
  }
  return h("div.error", { role: "alert" }, String(error && error.message ? error.message : error));
}

export function showError(container, error) {
  replace(container, errorBox(error));
}

// Runs `work` with `button` disabled and marked busy; errors land in `errors`.
export async function busy(button, errors, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (errors) replace(errors);
  try {
    return await work();
  } catch (e) {
    if (errors) showError(errors, e);
    else announce(e instanceof ApiError ? e.describe() : String(e), "error");
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// One log line as an element: START, END and REPORT lines get their own classes, and REPORT's
// "Init Duration: … ms" (a cold start) is wrapped in <mark>.
export function logLine(text) {
  const line = h("div.log-line", {});
  const kind = text.match(/^(START|END|REPORT) RequestId:/);
  if (kind) line.classList.add(`log-${kind[1].toLowerCase()}`);
  const init = kind && kind[1] === "REPORT" ? text.match(/Init Duration: [0-9.]+ ms/) : null;
  if (init) {
    line.classList.add("log-cold");
    append(line, [
      text.slice(0, init.index),
      h("mark.init-duration", { title: "a cold start: this invocation started its environment" },
        init[0]),
      text.slice(init.index + init[0].length),
    ]);
  } else {
    line.textContent = text;
  }
  return line;
}

export function logLines(text) {
  const lines = text.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.map(logLine);
}

export function formatDate(text) {
  if (!text) return "";
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toLocaleString();
}

export function formatAge(ms) {
  if (ms === undefined || ms === null) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

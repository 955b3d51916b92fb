// Invoke: a JSON payload editor checked before sending, RequestResponse or Event, the response,
// the function's error (X-Amz-Function-Error) and the invocation's log tail (X-Amz-Log-Result)
// with START/END/REPORT and Init Duration marked.
import * as api from "../api.js";
import { busy, field, h, logLines, replace, showError } from "../ui.js";

// Where JSON.parse failed, in words: "line 2, column 5: Unexpected token …".
export function checkJson(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    const at = e.message.match(/position (\d+)/);
    if (!at) return e.message;
    const before = text.slice(0, Number(at[1]));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    return `line ${line}, column ${column}: ${e.message}`;
  }
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export async function invokePage(main, name) {
  const errors = h("div.errors", { "aria-live": "polite" });
  const select = h("select", { name: "function" });
  const payload = h("textarea.code", {
    name: "payload",
    rows: 8,
    spellcheck: "false",
    "aria-describedby": "payload-check",
  });
  payload.value = sessionStorage.getItem(`runtimed.console.payload.${name}`) || "{}";
  const check = h("small.check#payload-check", { role: "status" });
  const type = h(
    "select",
    { name: "type" },
    h("option", { value: "RequestResponse" }, "RequestResponse (wait for the result)"),
    h("option", { value: "Event" }, "Event (queue it, answer 202)"),
  );
  const send = h("button.primary", { type: "submit" }, "Invoke");
  const result = h("section.result", { "aria-live": "polite", "aria-label": "Result" });
  const form = h(
    "form.card",
    { "aria-label": "Invoke" },
    field("Function", select),
    field("Payload (JSON)", payload, "Ctrl+Enter invokes"),
    check,
    field("Invocation type", type),
    h("div.actions", {}, send),
    errors,
  );
  replace(main, h("h1", {}, "Invoke"), form, result);

  const validate = () => {
    const problem = checkJson(payload.value);
    check.className = problem ? "check invalid" : "check valid";
    replace(check, problem ? `Not JSON: ${problem}` : "Valid JSON");
    payload.setAttribute("aria-invalid", problem ? "true" : "false");
    return problem;
  };
  payload.addEventListener("input", validate);
  payload.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  select.addEventListener("change", () => {
    location.hash = `#/invoke/${encodeURIComponent(select.value)}`;
  });
  validate();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (validate()) {
      payload.focus();
      return;
    }
    const fn = select.value;
    sessionStorage.setItem(`runtimed.console.payload.${fn}`, payload.value);
    busy(send, errors, async () => {
      replace(result);
      const started = performance.now();
      const r = await api.invoke(fn, payload.value, type.value);
      const elapsed = performance.now() - started;
      replace(result, invocationResult(r, elapsed));
    });
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
}

function invocationResult(r, elapsedMs) {
  const head = h(
    "p.outcome",
    {},
    h("span.http-status", {}, `HTTP ${r.status}`),
    r.functionError
      ? h("span.badge.function-error", { title: "X-Amz-Function-Error" }, `Function error: ${r.functionError}`)
      : h("span.badge.ok", {}, r.status === 202 ? "Queued" : "Succeeded"),
    h("small", {}, ` ${elapsedMs.toFixed(0)} ms round trip · request ${r.requestId}`),
  );
  const parts = [h("h2", {}, "Result"), head];
  if (r.status !== 202) {
    parts.push(h("h3", {}, "Response"), h("pre.response", { tabindex: 0 }, pretty(r.body)));
  }
  if (r.log) {
    parts.push(h("h3", {}, "Log tail"), h("div.log.log-tail", { tabindex: 0 }, logLines(r.log)));
  }
  return parts;
}

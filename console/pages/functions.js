// Functions: the list (with counts from /metrics, each function's environments and the host's from
// health), create
// from a zip or a folder, one function's configuration with edit, code upload and delete.
import * as api from "../api.js";
import { zipSync } from "../vendor/fflate.esm.js";
import { functionStats, parseMetrics } from "../metrics.js";
import {
  announce,
  busy,
  field,
  formatAge,
  formatDate,
  h,
  replace,
  showError,
} from "../ui.js";

export const RUNTIMES = [
  "provided.al2023",
  "provided.al2",
  "provided",
  "python3.13",
  "python3.12",
  "python3.11",
  "python3.10",
  "python3.9",
  "nodejs22.x",
  "nodejs20.x",
  "nodejs18.x",
];

export async function functionsPage(main) {
  const errors = h("div.errors", { "aria-live": "polite" });
  const host = h("section.host", { "aria-label": "Host" });
  const list = h("div.table-wrap", {});
  const refresh = h("button", { type: "button" }, "Refresh");
  replace(
    main,
    h(
      "div.page-head",
      {},
      h("h1", {}, "Functions"),
      h("div.actions", {}, h("a.button.primary", { href: "#/create" }, "Create function"), refresh),
    ),
    host,
    errors,
    list,
  );
  const load = () =>
    busy(refresh, errors, async () => {
      const [functions, metrics, stats, environments] = await Promise.all([
        api.listFunctions(),
        api.metricsText().then(parseMetrics, () => []),
        api.health().catch(() => null),
        api.environments().catch(() => ({})),
      ]);
      if (stats) replace(host, hostSummary(stats));
      replace(list, functionTable(functions, functionStats(metrics), environmentsByFunction(environments)));
    });
  refresh.addEventListener("click", load);
  await load();
}

function hostSummary(s) {
  const item = (label, value) => h("div.stat", {}, h("span.stat-value", {}, value), h("span.stat-label", {}, label));
  return h(
    "div.stats",
    {},
    item("busy", s.busy),
    item("warm", s.idle),
    item("frozen", s.frozen),
    item("prepared", s.prepared),
    item("memory MB", `${s.memoryUsedMB} / ${s.memoryBudgetMB}`),
    item("concurrency", `${s.busy} / ${s.concurrencyLimit}`),
    item("cold / warm starts", `${s.coldStarts} / ${s.warmStarts}`),
    item("throttles", s.throttles),
  );
}

// Every version's environments added up per function: name → {warm, busy, frozen}.
function environmentsByFunction({ Environments: list = [] }) {
  const out = new Map();
  for (const e of list) {
    const sum = out.get(e.FunctionName) || { warm: 0, busy: 0, frozen: 0 };
    sum.warm += e.Warm;
    sum.busy += e.Busy + e.Starting;
    sum.frozen += e.Frozen;
    out.set(e.FunctionName, sum);
  }
  return out;
}

function functionTable(functions, stats, environments) {
  if (!functions.length) {
    return h("p.empty", {}, "No functions yet. ", h("a", { href: "#/create" }, "Create one"), ".");
  }
  const rows = functions
    .sort((a, b) => a.FunctionName.localeCompare(b.FunctionName))
    .map((f) => {
      const s = stats.get(f.FunctionName) || { invocations: 0, errors: 0, coldStarts: 0 };
      const rate = s.invocations ? `${((100 * s.errors) / s.invocations).toFixed(0)}%` : "–";
      const envs = environments.get(f.FunctionName) || { warm: 0, busy: 0, frozen: 0 };
      return h(
        "tr",
        { "data-function": f.FunctionName },
        h("th", { scope: "row" }, h("a", { href: `#/functions/${encodeURIComponent(f.FunctionName)}` }, f.FunctionName)),
        h("td", {}, f.Runtime),
        h("td.num", {}, f.MemorySize),
        h("td.num", {}, `${f.Timeout} s`),
        h("td", {}, f.State || ""),
        h("td", {}, formatDate(f.LastModified)),
        h("td.num", {}, s.invocations),
        h("td.num", {}, `${s.errors} (${rate})`),
        h("td.num", {}, s.coldStarts),
        h("td.num.environments", { title: "warm / busy / frozen" }, `${envs.warm} / ${envs.busy} / ${envs.frozen}`),
        h(
          "td.row-actions",
          {},
          h("a", { href: `#/invoke/${encodeURIComponent(f.FunctionName)}` }, "Invoke"),
          " ",
          h("a", { href: `#/logs/${encodeURIComponent(f.FunctionName)}` }, "Logs"),
        ),
      );
    });
  return h(
    "table.functions",
    {},
    h("caption.visually-hidden", {}, "Functions"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Name", "Runtime", "Memory MB", "Timeout", "State", "Last modified", "Invocations", "Errors", "Cold starts", "Warm / busy / frozen", ""].map(
          (t) => h("th", { scope: "col" }, t),
        ),
      ),
    ),
    h("tbody", {}, rows),
  );
}

// "A=1\nB=two" → {A: "1", B: "two"}; throws on a line without "=".
export function parseEnvironment(text) {
  const variables = {};
  text.split("\n").forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) return;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw new Error(`Environment line ${i + 1} is not NAME=value: ${trimmed}`);
    variables[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1);
  });
  return variables;
}

// The code as Code.ZipFile wants it: the chosen .zip as it is, or the chosen folder zipped here
// (fflate). A browser does not tell a file's mode, so a folder's files are zipped executable
// (0755): a `bootstrap` must be, and the daemon unpacks the rest readable either way.
async function codeBase64(zipInput, folderInput) {
  const zip = zipInput.files && zipInput.files[0];
  const folder = folderInput.files ? [...folderInput.files] : [];
  if (zip && folder.length) throw new Error("Choose a .zip or a folder, not both");
  if (zip) return api.encodeBase64(new Uint8Array(await zip.arrayBuffer()));
  if (!folder.length) throw new Error("Choose a .zip file or a folder with the function's code");
  const entries = {};
  for (const file of folder) {
    // "picked/sub/file.py" → "sub/file.py": the folder's content is the code's root.
    const inside = file.webkitRelativePath.split("/").slice(1).join("/") || file.name;
    entries[inside] = [new Uint8Array(await file.arrayBuffer()), { os: 3, attrs: (0o100755 << 16) >>> 0 }];
  }
  return api.encodeBase64(zipSync(entries, { level: 6 }));
}

function codeInputs() {
  return {
    zip: h("input", { name: "zip", type: "file", accept: ".zip,application/zip" }),
    folder: h("input", { name: "folder", type: "file", webkitdirectory: true, multiple: true }),
  };
}

function runtimeSelect(selected) {
  return h(
    "select",
    { name: "runtime" },
    RUNTIMES.map((r) => h("option", { value: r, selected: r === selected }, r)),
  );
}

export async function createPage(main) {
  const name = h("input", { name: "name", required: true, pattern: "[A-Za-z0-9_\\-]{1,64}", autocomplete: "off" });
  const runtime = runtimeSelect("provided.al2023");
  const handler = h("input", { name: "handler", value: "function.handler" });
  const memory = h("input", { name: "memory", type: "number", min: 128, max: 10240, value: 128 });
  const timeout = h("input", { name: "timeout", type: "number", min: 1, max: 900, value: 3 });
  const role = h("input", { name: "role", value: "arn:aws:iam::000000000000:role/runtimed-console" });
  const description = h("input", { name: "description" });
  const env = h("textarea", { name: "environment", rows: 3, placeholder: "NAME=value, one a line" });
  const code = codeInputs();
  const submit = h("button.primary", { type: "submit" }, "Create function");
  const errors = h("div.errors", { "aria-live": "polite" });
  const form = h(
    "form.card",
    { "aria-label": "Create function" },
    field("Function name", name),
    field("Runtime", runtime),
    field("Handler", handler, "provided runtimes: your bootstrap reads it as _HANDLER"),
    field("Memory (MB)", memory),
    field("Timeout (s)", timeout),
    field("Role", role, "kept as Lambda keeps it; runtimed does not assume it"),
    field("Description", description),
    field("Environment variables", env),
    field("Code (.zip)", code.zip),
    field("…or a folder", code.folder, "zipped in the browser, its files executable"),
    h("div.actions", {}, submit, h("a.button", { href: "#/functions" }, "Cancel")),
    errors,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      const spec = {
        FunctionName: name.value.trim(),
        Runtime: runtime.value,
        Role: role.value.trim(),
        MemorySize: Number(memory.value),
        Timeout: Number(timeout.value),
        Environment: { Variables: parseEnvironment(env.value) },
        Code: { ZipFile: await codeBase64(code.zip, code.folder) },
      };
      if (handler.value.trim()) spec.Handler = handler.value.trim();
      if (description.value.trim()) spec.Description = description.value.trim();
      const created = await api.createFunction(spec);
      announce(`Created ${created.FunctionName}`);
      location.hash = `#/functions/${encodeURIComponent(created.FunctionName)}`;
    });
  });
  replace(main, h("h1", {}, "Create function"), form);
  name.focus();
}

export async function functionPage(main, name) {
  const errors = h("div.errors", { "aria-live": "polite" });
  replace(
    main,
    h(
      "div.page-head",
      {},
      h("h1", {}, name),
      h(
        "div.actions",
        {},
        h("a.button.primary", { href: `#/invoke/${encodeURIComponent(name)}` }, "Invoke"),
        h("a.button", { href: `#/logs/${encodeURIComponent(name)}` }, "Logs"),
      ),
    ),
    errors,
  );
  let fn;
  try {
    fn = await api.getFunction(name);
  } catch (e) {
    showError(errors, e);
    return;
  }
  const c = fn.Configuration;
  const vars = (c.Environment && c.Environment.Variables) || {};
  const summary = h(
    "dl.summary",
    {},
    ...[
      ["ARN", c.FunctionArn],
      ["Runtime", c.Runtime],
      ["Handler", c.Handler || ""],
      ["Memory", `${c.MemorySize} MB`],
      ["Timeout", `${c.Timeout} s`],
      ["State", `${c.State || ""} ${c.LastUpdateStatus ? "(" + c.LastUpdateStatus + ")" : ""}`],
      ["Last modified", formatDate(c.LastModified)],
      ["Code", `${c.CodeSize} bytes, SHA-256 ${c.CodeSha256}`],
      ["Environment", Object.keys(vars).length ? Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") : "none"],
    ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
  const backlog = h("div.backlog", {});
  api
    .asyncBacklog(name)
    .then((b) =>
      replace(
        backlog,
        `Async events: ${b.Queued} queued, ${b.InFlight} in flight, ${b.Retrying} retrying` +
          (b.OldestEventAgeMs !== undefined ? `, oldest ${formatAge(b.OldestEventAgeMs)}` : ""),
      ),
    )
    .catch(() => replace(backlog));

  // Configuration edit.
  const runtime = runtimeSelect(c.Runtime);
  const handler = h("input", { name: "handler", value: c.Handler || "" });
  const memory = h("input", { name: "memory", type: "number", min: 128, max: 10240, value: c.MemorySize });
  const timeout = h("input", { name: "timeout", type: "number", min: 1, max: 900, value: c.Timeout });
  const description = h("input", { name: "description", value: c.Description || "" });
  const env = h("textarea", { name: "environment", rows: 3 });
  env.value = Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n");
  const save = h("button.primary", { type: "submit" }, "Save configuration");
  const configErrors = h("div.errors", { "aria-live": "polite" });
  const configForm = h(
    "form.card",
    { "aria-label": "Configuration" },
    h("h2", {}, "Configuration"),
    field("Runtime", runtime),
    field("Handler", handler),
    field("Memory (MB)", memory),
    field("Timeout (s)", timeout),
    field("Description", description),
    field("Environment variables", env, "NAME=value, one a line"),
    h("div.actions", {}, save),
    configErrors,
  );
  configForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(save, configErrors, async () => {
      const patch = {
        Runtime: runtime.value,
        MemorySize: Number(memory.value),
        Timeout: Number(timeout.value),
        Description: description.value,
        Environment: { Variables: parseEnvironment(env.value) },
        RevisionId: c.RevisionId,
      };
      if (handler.value.trim()) patch.Handler = handler.value.trim();
      await api.updateConfiguration(name, patch);
      announce(`Saved the configuration of ${name}`);
      await functionPage(main, name);
    });
  });

  // Code upload.
  const code = codeInputs();
  const upload = h("button", { type: "submit" }, "Upload code");
  const codeErrors = h("div.errors", { "aria-live": "polite" });
  const codeForm = h(
    "form.card",
    { "aria-label": "Code" },
    h("h2", {}, "Code"),
    field("New code (.zip)", code.zip),
    field("…or a folder", code.folder, "zipped in the browser, its files executable"),
    h("div.actions", {}, upload),
    codeErrors,
  );
  codeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(upload, codeErrors, async () => {
      await api.updateCode(name, await codeBase64(code.zip, code.folder));
      announce(`Uploaded new code for ${name}`);
      await functionPage(main, name);
    });
  });

  const remove = h("button.danger", { type: "button" }, "Delete function");
  const deleteErrors = h("div.errors", { "aria-live": "polite" });
  remove.addEventListener("click", () => {
    if (!confirm(`Delete ${name}? Its code and configuration are removed.`)) return;
    busy(remove, deleteErrors, async () => {
      await api.deleteFunction(name);
      announce(`Deleted ${name}`);
      location.hash = "#/functions";
    });
  });

  main.append(
    summary,
    backlog,
    configForm,
    codeForm,
    h("section.card.danger-zone", { "aria-label": "Delete" }, h("h2", {}, "Delete"), remove, deleteErrors),
  );
}

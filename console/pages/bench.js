// Bench: open a saved `runtimed bench --json` run and see its report. The daemon draws it with the
// same code as `bench --html` (POST /runtimed/v1/bench/report), so the charts are the HTML
// report's; the page places that content in the console, keeping only the report's own elements
// (no script, no links: the content security policy would stop them anyway).
import * as api from "../api.js";
import { announce, busy, field, h, replace } from "../ui.js";

// Elements the report is made of (bench_html.cpp, svg_chart.cpp); anything else is dropped.
const REPORT_ELEMENTS = new Set([
  "h1", "h2", "p", "pre", "table", "thead", "tbody", "tr", "th", "td", "div",
  "svg", "g", "path", "line", "polyline", "rect", "circle", "text", "title", "tspan",
]);

export function benchPage(main) {
  const file = h("input", { type: "file", name: "run", accept: ".json,application/json" });
  const open = h("button.primary", { type: "submit" }, "Open");
  const errors = h("div.errors", { "aria-live": "polite" });
  const report = h("section.bench-report", { "aria-label": "Bench report", "aria-live": "polite" });
  const form = h(
    "form.card",
    { "aria-label": "Open a bench run" },
    field("Saved run", file, "A file written by runtimed bench … --json FILE"),
    h("div.actions", {}, open),
    errors,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(open, errors, async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) throw new Error("Choose a file written by runtimed bench --json");
      const { text } = await api.request("POST", "/runtimed/v1/bench/report", {
        body: await chosen.text(),
      });
      replace(report, ...reportNodes(text));
      announce(`Opened ${chosen.name}`);
    });
  });
  replace(
    main,
    h("div.page-head", {}, h("h1", {}, "Bench reports")),
    h(
      "p.hint",
      {},
      "Run ",
      h("code", {}, "runtimed bench warm --function NAME --json run.json"),
      " (or any other mode), then open the file here to see its charts.",
    ),
    form,
    report,
  );
}

// The report's HTML as nodes of this document, keeping the report's elements and attributes but
// no event handler or link.
function reportNodes(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const keep = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return null;
    const name = node.localName;
    if (!REPORT_ELEMENTS.has(name)) return null;
    const out =
      node.namespaceURI === "http://www.w3.org/2000/svg"
        ? document.createElementNS(node.namespaceURI, name)
        : document.createElement(name);
    for (const attr of node.attributes) {
      const lower = attr.name.toLowerCase();
      if (lower.startsWith("on") || lower === "href" || lower === "src" || lower === "style") continue;
      out.setAttribute(attr.name, attr.value);
    }
    for (const child of node.childNodes) {
      const kept = keep(child);
      if (kept) out.append(kept);
    }
    // A wide table scrolls on its own instead of widening a narrow page.
    return name === "table" ? h("div.table-scroll", {}, out) : out;
  };
  return [...parsed.body.childNodes].map(keep).filter(Boolean);
}

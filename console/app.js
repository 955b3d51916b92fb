// The console's entry point: reads the daemon's settings, asks for a key pair when the daemon
// verifies signatures, and routes #/… to the pages. Each page renders into <main> and may return a
// function that stops what it started (a log follow, a metrics poll) when the page is left.
import * as api from "./api.js";
import { announce, busy, field, h, replace } from "./ui.js";
import { asyncPage } from "./pages/async.js";
import { benchPage } from "./pages/bench.js";
import { createPage, functionPage, functionsPage } from "./pages/functions.js";
import { invokePage } from "./pages/invoke.js";
import { logsPage } from "./pages/logs.js";
import { metricsPage } from "./pages/metrics.js";

const main = document.getElementById("main");
let leave = null;

const routes = [
  [/^#\/functions\/?$/, () => functionsPage(main), "functions"],
  [/^#\/create$/, () => createPage(main), "functions"],
  [/^#\/functions\/(.+)$/, (m) => functionPage(main, decodeURIComponent(m[1])), "functions"],
  [/^#\/invoke(?:\/(.*))?$/, (m) => invokePage(main, m[1] ? decodeURIComponent(m[1]) : ""), "invoke"],
  [/^#\/logs(?:\/(.*))?$/, (m) => logsPage(main, m[1] ? decodeURIComponent(m[1]) : ""), "logs"],
  [/^#\/metrics$/, () => metricsPage(main), "metrics"],
  [/^#\/async$/, () => asyncPage(main), "async"],
  [/^#\/bench$/, () => benchPage(main), "bench"],
];

async function render() {
  if (leave) {
    leave();
    leave = null;
  }
  renderAccount();
  if (api.needsSignIn()) {
    signInPage();
    return;
  }
  const hash = location.hash || "#/functions";
  for (const [pattern, page, section] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    for (const link of document.querySelectorAll("nav a")) {
      if (link.dataset.section === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    const stop = await page(m);
    // A page left before it finished loading stops at once.
    if (typeof stop === "function") {
      if ((location.hash || "#/functions") === hash) leave = stop;
      else stop();
    }
    return;
  }
  replace(main, h("h1", {}, "Not found"), h("p", {}, "No page ", hash, ". ", h("a", { href: "#/functions" }, "Functions")));
}

function renderAccount() {
  const account = document.getElementById("account");
  const keys = api.credentials();
  if (!api.signInRequired() || !keys) {
    replace(account);
    return;
  }
  const out = h("button.link", { type: "button" }, "Sign out");
  out.addEventListener("click", () => {
    api.signOut();
    announce("Signed out");
    render();
  });
  replace(account, h("span.who", {}, keys.accessKeyId), " ", out);
}

function signInPage() {
  for (const link of document.querySelectorAll("nav a")) link.removeAttribute("aria-current");
  const key = h("input", { name: "accessKeyId", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("input", { name: "secretAccessKey", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button.primary", { type: "submit" }, "Sign in");
  const errors = h("div.errors", { "aria-live": "polite" });
  const form = h(
    "form.card.sign-in",
    { "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    h(
      "p.hint",
      {},
      `This daemon verifies SigV4 signatures (region ${api.region()}). The key pair stays in this tab's ` +
        "session storage and only signs requests; it is gone when the tab closes.",
    ),
    field("Access key ID", key),
    field("Secret access key", secret),
    h("div.actions", {}, submit),
    errors,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      api.setCredentials(key.value.trim(), secret.value);
      try {
        await api.health(); // a signed request the daemon checks: a wrong key fails here
      } catch (e) {
        api.signOut();
        throw e;
      }
      announce(`Signed in as ${key.value.trim()}`);
      await render();
    });
  });
  replace(main, form);
  key.focus();
}

async function start() {
  try {
    await api.loadSettings();
  } catch (e) {
    replace(main, h("div.error", { role: "alert" }, `The console cannot start: ${e.message}`));
    return;
  }
  window.addEventListener("hashchange", () => {
    announce("");
    render();
  });
  await render();
  document.body.dataset.ready = "true";
}

start();
